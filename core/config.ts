// The one configuration schema. Values come from, in rising precedence:
// defaults < YAML file (--config) < environment (FLEETWATCH_*) < flags.
// They are validated once at start and frozen; nothing else in the code base
// reads process.env (scripts/lint.js checks that).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FleetwatchError } from './errors.ts';

type Kind = 'string' | 'int' | 'number' | 'bool' | 'listen' | 'duration' | 'bytes' | 'list' | 'url';

interface Leaf {
  readonly kind: Kind;
  readonly default: unknown;
  readonly doc: string;
  /** command-line flag without the leading dashes */
  readonly flag?: string;
  readonly enum?: readonly string[];
  readonly min?: number;
  readonly secret?: boolean;
  /** a standard environment variable honoured as well (e.g. OTEL_EXPORTER_OTLP_ENDPOINT) */
  readonly envAlias?: string;
}

/** Dotted key (YAML path) -> leaf. Environment name is FLEETWATCH_ + key upper-snake. */
export const CONFIG_SCHEMA = {
  'server.httpListen': { kind: 'listen', default: '0.0.0.0:9009', flag: 'http-listen', doc: 'HTTP listen address (Prometheus, Loki, OTLP/HTTP, remote_write, admin)' },
  'server.grpcListen': { kind: 'listen', default: '0.0.0.0:4317', flag: 'grpc-listen', doc: 'OTLP/gRPC listen address' },
  'server.shutdownTimeoutMs': { kind: 'duration', default: 20_000, doc: 'how long SIGTERM waits for in-flight work' },
  'storage.dataDir': { kind: 'string', default: './data', flag: 'data-dir', doc: 'data directory (embedded ClickHouse, WAL)' },
  'storage.clickhouseUrl': { kind: 'url', default: '', flag: 'clickhouse-url', doc: 'ClickHouse server URL (http[s]://host:8123); empty = embedded chDB' },
  'storage.user': { kind: 'string', default: 'default', flag: 'clickhouse-user', doc: 'ClickHouse user' },
  'storage.password': { kind: 'string', default: '', flag: 'clickhouse-password', doc: 'ClickHouse password', secret: true },
  'storage.database': { kind: 'string', default: 'fleetwatch', flag: 'clickhouse-database', doc: 'ClickHouse database' },
  'storage.cluster': { kind: 'string', default: '', flag: 'clickhouse-cluster', doc: 'ClickHouse cluster name (Replicated + Distributed tables); empty = single node' },
  'storage.tls.caFile': { kind: 'string', default: '', doc: 'CA certificate for the ClickHouse server' },
  'storage.tls.certFile': { kind: 'string', default: '', doc: 'client certificate for ClickHouse mTLS' },
  'storage.tls.keyFile': { kind: 'string', default: '', doc: 'client key for ClickHouse mTLS' },
  'storage.queryTimeoutMs': { kind: 'duration', default: 120_000, doc: 'default storage query timeout' },
  'retention.metrics': { kind: 'duration', default: 30 * 86_400_000, doc: 'metrics retention (0 = forever)' },
  'retention.logs': { kind: 'duration', default: 14 * 86_400_000, doc: 'logs retention (0 = forever)' },
  'retention.traces': { kind: 'duration', default: 7 * 86_400_000, doc: 'traces retention (0 = forever)' },
  'tenancy.defaultTenant': { kind: 'string', default: 'fake', flag: 'default-tenant', doc: 'tenant used when X-Scope-OrgID is absent (Loki and Mimir use "fake")' },
  'tenancy.requireTenant': { kind: 'bool', default: false, flag: 'require-tenant', doc: 'answer 401 when X-Scope-OrgID is absent' },
  'limits.maxRequestBytes': { kind: 'bytes', default: 64 * 1024 * 1024, doc: 'largest decoded request body' },
  'limits.maxLabelsPerSeries': { kind: 'int', default: 40, min: 0, doc: 'labels per series (0 = off)' },
  'limits.maxLabelNameLength': { kind: 'int', default: 1024, min: 0, doc: 'label name length (0 = off)' },
  'limits.maxLabelValueLength': { kind: 'int', default: 4096, min: 0, doc: 'label value length (0 = off)' },
  'limits.maxSeriesPerRequest': { kind: 'int', default: 0, min: 0, doc: 'series in one request (0 = off)' },
  'limits.maxSampleAgeMs': { kind: 'duration', default: 0, doc: 'reject samples older than this (0 = off)' },
  'limits.maxSampleFutureMs': { kind: 'duration', default: 0, doc: 'reject samples further than this in the future (0 = off)' },
  'limits.maxPendingBytes': { kind: 'bytes', default: 512 * 1024 * 1024, doc: 'decoded data waiting for storage (queued for an insert, or acknowledged in the ingest log but not yet in ClickHouse) before ingest answers 429/503' },
  'ingest.flushIntervalMs': { kind: 'duration', default: 200, doc: 'longest a request waits to be batched with others' },
  'ingest.maxBatchRows': { kind: 'int', default: 500_000, min: 1, doc: 'rows per storage insert' },
  'ingest.maxCollectorBatches': { kind: 'int', default: 4, min: 1, doc: 'collector batches central writes at once; more are answered 429' },
  'ingest.log': { kind: 'string', default: 'auto', enum: ['auto', 'on', 'off'], doc: 'acknowledge remote_write, OTLP and Loki writes once fsynced in a local ingest log under --data-dir and fill ClickHouse from it in large inserts (reads wait for what was acknowledged before them); off = acknowledge once inserted. auto = on with embedded chDB, off with a ClickHouse server (central stays stateless)' },
  'ingest.logFlushBytes': { kind: 'bytes', default: 64 * 1024 * 1024, doc: 'the ingest log inserts into ClickHouse once this many bytes wait' },
  'ingest.logFlushMs': { kind: 'duration', default: 1_000, doc: '... or once its oldest record waited this long' },
  'ingest.logInsertBytes': { kind: 'bytes', default: 64 * 1024 * 1024, doc: 'most bytes of the ingest log one flush inserts' },
  'query.maxSamples': { kind: 'int', default: 50_000_000, min: 1, doc: 'samples one PromQL query may load' },
  'query.maxSeries': { kind: 'int', default: 500_000, min: 1, doc: 'series one query may touch' },
  'query.timeoutMs': { kind: 'duration', default: 120_000, doc: 'default query timeout' },
  'query.lookbackDeltaMs': { kind: 'duration', default: 300_000, doc: 'PromQL lookback delta' },
  'query.replicaLabels': { kind: 'list', default: [], doc: 'Thanos dedup replica labels (comma separated)' },
  'query.seriesCacheTtlMs': { kind: 'duration', default: 5_000, doc: 'how long PromQL reuses a series look-up (a new series shows up in queries at most this late; 0 = off)' },
  'query.head': { kind: 'string', default: 'auto', enum: ['auto', 'on', 'off'], doc: 'keep recent samples in memory and answer queries that need only them from there; auto = on with embedded chDB (this process is the only writer), off with a ClickHouse server (other centrals may write)' },
  'query.headWindowMs': { kind: 'duration', default: 2 * 3_600_000, doc: 'how far back (wall clock) the in-memory head holds samples, as Prometheus keeps about 2 h in its head block; query.headMaxSamples may shorten it' },
  'query.headMaxSamples': { kind: 'int', default: 20_000_000, min: 1, doc: 'samples the in-memory head holds at most (16 bytes each plus per-series overhead); beyond it the head holds a shorter span' },
  'query.maxEntriesLimit': { kind: 'int', default: 5000, min: 1, doc: 'log lines one LogQL query may return (Loki max_entries_limit_per_query)' },
  'query.maxBytesRead': { kind: 'bytes', default: 0, doc: 'bytes one storage query of a LogQL query may read (0 = off; Loki max_query_bytes_read)' },
  'log.level': { kind: 'string', default: 'info', flag: 'log-level', enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], doc: 'log level' },
  'collector.cluster': { kind: 'string', default: '', flag: 'cluster', doc: 'this cluster\'s name (collector)' },
  'collector.central': { kind: 'url', default: '', flag: 'central', doc: 'central URL the collector ships to' },
  'collector.token': { kind: 'string', default: '', flag: 'token', doc: 'bearer token the collector presents to central', secret: true },
  'collector.externalLabels': { kind: 'list', default: [], doc: 'extra external labels name=value (comma separated)' },
  'collector.scrapeConfigFile': { kind: 'string', default: '', flag: 'scrape-config', doc: 'Prometheus-format YAML with scrape_configs' },
  'collector.walMaxBytes': { kind: 'bytes', default: 1024 * 1024 * 1024, doc: 'WAL size cap' },
  'collector.walFsync': { kind: 'string', default: 'batch', enum: ['always', 'batch', 'never'], doc: 'WAL fsync policy' },
  'collector.walFullPolicy': { kind: 'string', default: 'backpressure', enum: ['backpressure', 'drop-oldest'], doc: 'what to do when the WAL is full' },
  'collector.heartbeatIntervalMs': { kind: 'duration', default: 5_000, doc: 'heartbeat interval' },
  'collector.walSegmentBytes': { kind: 'bytes', default: 64 * 1024 * 1024, doc: 'WAL segment file size (at most a quarter of walMaxBytes)' },
  'collector.walFsyncIntervalMs': { kind: 'duration', default: 200, doc: 'with walFsync=batch: how often the WAL is fsynced (what an OS crash can cost)' },
  'collector.shipBatchBytes': { kind: 'bytes', default: 4 * 1024 * 1024, doc: 'largest batch of WAL records the collector ships at once (uncompressed)' },
  'collector.shipConcurrency': { kind: 'int', default: 2, min: 1, doc: 'batches in flight to central' },
  'collector.shipLingerMs': { kind: 'duration', default: 200, doc: 'longest a partial batch waits for more records before it is shipped' },
  'collector.shipTimeoutMs': { kind: 'duration', default: 30_000, doc: 'timeout of one batch send' },
  'collector.shipMinBackoffMs': { kind: 'duration', default: 100, doc: 'first retry delay (doubles per attempt, with jitter)' },
  'collector.shipMaxBackoffMs': { kind: 'duration', default: 5_000, doc: 'longest retry delay' },
  'telemetry.otlpEndpoint': { kind: 'string', default: '', envAlias: 'OTEL_EXPORTER_OTLP_ENDPOINT', doc: 'send fleetwatch\'s own traces to this OTLP/HTTP endpoint; empty = off' },
  'telemetry.serviceName': { kind: 'string', default: 'fleetwatch', envAlias: 'OTEL_SERVICE_NAME', doc: 'service.name of fleetwatch\'s own traces' },
  'demo.clusters': { kind: 'int', default: 3, min: 1, flag: 'clusters', doc: 'simulated clusters (demo role)' },
  'demo.intervalMs': { kind: 'duration', default: 5_000, flag: 'demo-interval', doc: 'how often each simulated cluster sends (demo role)' },
  'auth.clusterTokens': { kind: 'list', default: [], doc: 'collector credentials central accepts: cluster=token or tenant/cluster=token items (comma separated); empty = no collector auth' },
} as const satisfies Record<string, Leaf>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

type KindType<K extends Kind> = K extends 'bool' ? boolean : K extends 'int' | 'number' | 'duration' | 'bytes' ? number : K extends 'list' ? readonly string[] : string;

type Nest<K extends string, V> = K extends `${infer H}.${infer R}` ? { readonly [P in H]: Nest<R, V> } : { readonly [P in K]: V };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Flat = { [K in ConfigKey]: Nest<K, KindType<(typeof CONFIG_SCHEMA)[K]['kind']>> }[ConfigKey];
type Deep<T> = { readonly [K in keyof T]: T[K] extends object ? (T[K] extends readonly unknown[] ? T[K] : Deep<T[K]>) : T[K] };
/** The validated, frozen configuration. */
export type Config = Deep<UnionToIntersection<Flat>>;

export function envName(key: string): string {
  return 'FLEETWATCH_' + key.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** Parses Prometheus-style durations ("1m30s", "500ms") or plain milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    consumed = re.lastIndex;
  }
  return consumed === text.length && text.length > 0 ? total : undefined;
}

function parseBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = BYTE_UNITS[(m[2] ?? '').toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

function invalid(key: string, source: string, value: unknown, allowed: string): FleetwatchError {
  return new FleetwatchError('FW_ERR_CONFIG_INVALID', `${key} (from ${source}) = ${JSON.stringify(value)}: ${allowed}`);
}

function coerce(key: string, leaf: Leaf, raw: unknown, source: string): unknown {
  const fromText = typeof raw === 'string';
  switch (leaf.kind) {
    case 'string':
    case 'url': {
      if (typeof raw !== 'string' && typeof raw !== 'number') throw invalid(key, source, raw, 'expected a string');
      const s = String(raw);
      if (leaf.enum && !leaf.enum.includes(s)) throw invalid(key, source, raw, `allowed: ${leaf.enum.join(', ')}`);
      if (leaf.kind === 'url' && s !== '') {
        let u: URL;
        try {
          u = new URL(s);
        } catch {
          throw invalid(key, source, raw, 'expected a URL such as http://host:8123');
        }
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(key, source, raw, 'expected an http:// or https:// URL');
      }
      return s;
    }
    case 'int':
    case 'number': {
      const n = fromText ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n) || (leaf.kind === 'int' && !Number.isInteger(n))) throw invalid(key, source, raw, `expected ${leaf.kind === 'int' ? 'an integer' : 'a number'}`);
      if (leaf.min !== undefined && n < leaf.min) throw invalid(key, source, raw, `must be >= ${leaf.min}`);
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      throw invalid(key, source, raw, 'expected true or false');
    }
    case 'duration': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDurationMs(raw) : undefined;
      if (n === undefined || n < 0) throw invalid(key, source, raw, 'expected a duration such as 500ms, 30s, 1m30s or 14d (plain numbers are milliseconds)');
      return n;
    }
    case 'bytes': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseBytes(raw) : undefined;
      if (n === undefined || n < 0) throw invalid(key, source, raw, 'expected a size such as 512MiB or 1GB');
      return n;
    }
    case 'list': {
      if (Array.isArray(raw)) return raw.map(String);
      if (typeof raw === 'string') return raw === '' ? [] : raw.split(',').map((s) => s.trim()).filter(Boolean);
      throw invalid(key, source, raw, 'expected a list or comma-separated string');
    }
    case 'listen': {
      if (typeof raw !== 'string') throw invalid(key, source, raw, 'expected HOST:PORT');
      const m = /^(.*):(\d{1,5})$/.exec(raw);
      if (!m || Number(m[2]) > 65535) throw invalid(key, source, raw, 'expected HOST:PORT, e.g. 0.0.0.0:9009 or 127.0.0.1:0');
      return raw;
    }
  }
}

function flatten(obj: unknown, prefix: string, out: Map<string, unknown>): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    out.set(prefix, obj);
    return;
  }
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
}

export interface ConfigSources {
  /** parsed flags: flag name (without dashes) -> value */
  readonly flags?: Readonly<Record<string, string | boolean>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** path of a YAML file; its content is read here */
  readonly file?: string;
  /** inline YAML object, for tests */
  readonly fileObject?: unknown;
}

/** Builds the frozen config; throws FW_ERR_CONFIG_INVALID naming the key and what is allowed. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const schema = CONFIG_SCHEMA as Record<string, Leaf>;
  const values = new Map<string, unknown>();
  for (const [key, leaf] of Object.entries(schema)) values.set(key, leaf.default);

  let fileObj = sources.fileObject;
  if (sources.file) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (e) {
      throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `cannot read config file ${sources.file}: ${(e as Error).message}`);
    }
    try {
      fileObj = parseYaml(text) ?? {};
    } catch (e) {
      throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `config file ${sources.file} is not valid YAML: ${(e as Error).message}`);
    }
  }
  if (fileObj !== undefined) {
    const flat = new Map<string, unknown>();
    flatten(fileObj, '', flat);
    for (const [key, raw] of flat) {
      const leaf = schema[key];
      if (!leaf) {
        // a list-valued leaf flattens to itself; anything else is an unknown key
        throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `unknown key "${key}" in config file; known keys: ${Object.keys(schema).join(', ')}`);
      }
      values.set(key, coerce(key, leaf, raw, 'config file'));
    }
  }
  const env = sources.env ?? {};
  for (const [key, leaf] of Object.entries(schema)) {
    for (const name of [leaf.envAlias, envName(key)]) {
      const raw = name ? env[name] : undefined;
      if (raw !== undefined && name) values.set(key, coerce(key, leaf, raw, `environment ${name}`));
    }
  }
  const byFlag = new Map<string, [string, Leaf]>();
  for (const [key, leaf] of Object.entries(schema)) if (leaf.flag) byFlag.set(leaf.flag, [key, leaf]);
  for (const [flag, raw] of Object.entries(sources.flags ?? {})) {
    const hit = byFlag.get(flag);
    if (!hit) throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `unknown flag --${flag}; see --help`);
    values.set(hit[0], coerce(hit[0], hit[1], raw, `flag --${flag}`));
  }

  const root: Record<string, unknown> = {};
  for (const [key, value] of values) {
    const parts = key.split('.');
    let node = root;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1] as string] = value;
  }
  return deepFreeze(root) as unknown as Config;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Flags the CLI knows, for --help. */
export function flagHelp(): string {
  const lines: string[] = [];
  for (const [key, leaf] of Object.entries(CONFIG_SCHEMA as Record<string, Leaf>)) {
    if (!leaf.flag) continue;
    const def = leaf.secret ? '' : ` (default ${JSON.stringify(leaf.default)})`;
    lines.push(`  --${leaf.flag.padEnd(22)} ${leaf.doc}${def}  [${key}, ${envName(key)}]`);
  }
  return lines.join('\n');
}

/** Every key with its environment name and default, for the README. */
export function configReference(): string {
  return Object.entries(CONFIG_SCHEMA as Record<string, Leaf>)
    .map(([key, leaf]) => `| \`${key}\` | \`${envName(key)}\` | ${leaf.flag ? `\`--${leaf.flag}\`` : ''} | ${leaf.secret ? '' : `\`${JSON.stringify(leaf.default)}\``} | ${leaf.doc} |`)
    .join('\n');
}

export function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}
