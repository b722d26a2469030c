// The Loki-compatible query API: what Grafana's Loki data source, logcli and
// LogQL rules call. Shapes and error texts follow Loki's HTTP API
// (https://grafana.com/docs/loki/latest/reference/loki-http-api/): JSON
// bodies on success, plain-text bodies with the status on failure.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { counter, histogram, isFleetwatchError, tenantsOf, type Config, type MetricsRegistry } from '../core/index.ts';
import { ident, RowBinaryReader, SqlBuilder, type Store } from '../storage/index.ts';
import {
  createEngine,
  dayString,
  formatExpr,
  formatFloat,
  formatSeconds,
  LogqlParseError,
  matcherSql,
  parseGoDurationNs,
  parseHumanBytes,
  parseLogql,
  TENANT_LABEL,
  compilePipeline,
  LabelsBuilder,
  type Engine,
  type LabelMatcher,
  type LogSelector,
  type QueryResult,
  type StreamRef,
  type StreamOut,
} from './logql/index.ts';
import { bounds, HOUR_NS, LokiParamError, nowNs, parseDirection, parseLimit, parseSecondsOrDurationNs, parseTimestampNs, rangeParams, requestParams, SIX_HOURS_NS, defaultStepNs } from './loki-params.ts';
import { CATEGORIZE_LABELS, labelsObject, queryResponseJson } from './loki-encode.ts';
import { registerLokiTail } from './loki-tail.ts';
import { lokiError } from './loki-errors.ts';

export interface LokiQueryApiDeps {
  readonly config: Config;
  readonly store: Store;
  readonly registry: MetricsRegistry;
  /** Loki's max_entries_limit_per_query (default: query.maxEntriesLimit) */
  readonly maxEntriesLimit?: number;
  /** ClickHouse max_bytes_to_read per storage query (default: query.maxBytesRead; 0 = unlimited) */
  readonly maxBytesRead?: number;
  /** tail poll period (default 1 s) */
  readonly tailPollMs?: number;
}

/** Build info Grafana reads to decide which Loki features to use. */
export const LOKI_BUILD_INFO = Object.freeze({
  // the Loki API level fleetwatch implements (Grafana enables features by version)
  version: '3.5.0',
  revision: 'fleetwatch',
  branch: 'main',
  buildUser: 'fleetwatch',
  buildDate: '',
  goVersion: '',
});

function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  const { status, text } = lokiError(e);
  if (status >= 500 && status !== 504) reply.log.error({ err: e }, 'loki query failed');
  return reply.code(status).header('X-Content-Type-Options', 'nosniff').type('text/plain; charset=utf-8').send(text);
}

function parse(query: string): ReturnType<typeof parseLogql> {
  return parseLogql(query);
}

/** A selector from a `query`/`match[]` parameter; `{}` (match everything) is allowed here. */
function selectorOf(text: string): LogSelector {
  if (/^\s*\{\s*\}\s*$/.test(text)) return { kind: 'log', matchers: [], pipeline: [] };
  const e = parse(text);
  if (e.kind !== 'log') throw new LokiParamError('only label matchers are supported');
  return e;
}

export function registerLokiQueryApi(app: FastifyInstance, deps: LokiQueryApiDeps): { engine: Engine } {
  const { config, store, registry } = deps;
  const maxEntries = deps.maxEntriesLimit ?? config.query.maxEntriesLimit;
  const engine = createEngine({
    store,
    limits: { maxStreams: config.query.maxSeries, maxSeries: config.query.maxSeries, timeoutMs: config.query.timeoutMs, maxBytesRead: deps.maxBytesRead ?? config.query.maxBytesRead },
  });
  const tenancy = { defaultTenant: config.tenancy.defaultTenant, requireTenant: config.tenancy.requireTenant };
  const db = ident(store.database);
  const queries = counter(registry, 'fleetwatch_logql_queries_total', 'LogQL queries by endpoint and outcome', ['endpoint', 'outcome']);
  const seconds = histogram(registry, 'fleetwatch_logql_query_duration_seconds', 'LogQL query latency by endpoint', ['endpoint'], [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);

  const tenantsFor = (req: FastifyRequest): string[] => tenantsOf(req.headers['x-scope-orgid'], tenancy);
  const categorizeOf = (req: FastifyRequest): boolean => String(req.headers['x-loki-response-encoding-flags'] ?? '').split(',').map((s) => s.trim()).includes(CATEGORIZE_LABELS);

  /** Runs a handler with Loki's error shape, a timeout that cancels storage work, and metrics. */
  const handle =
    (endpoint: string, fn: (req: FastifyRequest, reply: FastifyReply, p: URLSearchParams, signal: AbortSignal) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const started = performance.now();
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new DOMException('query timed out', 'TimeoutError')), config.query.timeoutMs);
      const onClose = (): void => {
        if (!reply.sent) ac.abort(new DOMException('client went away', 'AbortError'));
      };
      req.raw.once('close', onClose);
      try {
        const out = await fn(req, reply, requestParams(req), ac.signal);
        queries.inc({ endpoint, outcome: 'ok' });
        return out;
      } catch (e) {
        // storage reports an abort as a cancellation; the reason says whether it was our timeout
        const err = ac.signal.aborted && !(e instanceof LogqlParseError) ? ac.signal.reason : e;
        queries.inc({ endpoint, outcome: lokiError(err).status < 500 ? 'user_error' : 'error' });
        return sendError(reply, err);
      } finally {
        clearTimeout(timer);
        req.raw.off('close', onClose);
        seconds.observe({ endpoint }, (performance.now() - started) / 1000);
      }
    };

  const json = (reply: FastifyReply, body: string | object): FastifyReply => reply.type('application/json; charset=utf-8').send(typeof body === 'string' ? body : JSON.stringify(body));

  const runQuery = async (reply: FastifyReply, req: FastifyRequest, r: Parameters<Engine['query']>[0]): Promise<FastifyReply> => {
    const t0 = performance.now();
    const res: QueryResult = await engine.query(r);
    const exec = (performance.now() - t0) / 1000;
    return json(reply, queryResponseJson(res, exec, categorizeOf(req), r.direction === 'backward'));
  };

  // ---------- queries ----------

  const instant = handle('query', async (req, reply, p, signal) => {
    const query = p.get('query') ?? '';
    const limit = parseLimit(p, 'limit', 100);
    const direction = parseDirection(p);
    const t = parseTimestampNs(p.get('time'), nowNs(), 'time');
    const expr = parse(query);
    if (expr.kind === 'log') throw new LokiParamError('log queries are not supported as an instant query type, please change your query to a range query type');
    return runQuery(reply, req, { expr, tenants: tenantsFor(req), startNs: t, endNs: t, stepNs: 0n, intervalNs: 0n, direction, limit, instant: true, signal });
  });
  app.get('/loki/api/v1/query', instant);
  app.post('/loki/api/v1/query', instant);

  const range = handle('query_range', async (req, reply, p, signal) => {
    const r = rangeParams(p);
    const expr = parse(r.query);
    if (expr.kind === 'log' && r.limit > maxEntries) throw new LokiParamError(`max entries limit per query exceeded, limit > max_entries_limit_per_query (${r.limit} > ${maxEntries})`);
    // log queries read [start, end); an equal start and end reads nothing
    return runQuery(reply, req, { expr, tenants: tenantsFor(req), startNs: r.startNs, endNs: r.endNs, stepNs: r.stepNs, intervalNs: r.intervalNs, direction: r.direction, limit: r.limit, instant: false, signal });
  });
  app.get('/loki/api/v1/query_range', range);
  app.post('/loki/api/v1/query_range', range);

  // ---------- labels and series ----------

  const streamsOf = async (req: FastifyRequest, p: URLSearchParams, selectors: string[], defaultSince: bigint, signal: AbortSignal): Promise<StreamRef[]> => {
    const { startNs, endNs } = bounds(p, defaultSince);
    if (endNs < startNs) throw new LokiParamError('end timestamp must not be before or equal to start time');
    const tenants = tenantsFor(req);
    const sels = selectors.length ? selectors.map(selectorOf) : [{ kind: 'log' as const, matchers: [] as LabelMatcher[], pipeline: [] }];
    const seen = new Map<string, StreamRef>();
    for (const s of sels) for (const st of await engine.streams(tenants, s.matchers, startNs, endNs, signal)) seen.set(`${st.tenant}\u0000${st.fp}`, st);
    return [...seen.values()];
  };

  const labelNames = handle('labels', async (req, reply, p, signal) => {
    const q = p.get('query');
    const tenants = tenantsFor(req);
    let names: string[];
    if (q) {
      const streams = await streamsOf(req, p, [q], SIX_HOURS_NS, signal);
      names = [...new Set(streams.flatMap((s) => s.labels.names))];
    } else {
      const { startNs, endNs } = bounds(p, SIX_HOURS_NS);
      const sql = new SqlBuilder();
      sql.add(`SELECT DISTINCT arrayJoin(mapKeys(labels)) FROM ${db}.log_streams WHERE tenant IN ${sql.param('Array(String)', tenants)}`);
      sql.add(`AND date >= ${sql.param('Date', dayString(startNs))} AND date <= ${sql.param('Date', dayString(endNs))}`);
      names = readStrings(await engine.reader.queryBinary(sql, signal));
      if (tenants.length > 1) names.push(TENANT_LABEL);
    }
    names.sort();
    return json(reply, { status: 'success', data: names });
  });
  app.get('/loki/api/v1/labels', labelNames);
  app.post('/loki/api/v1/labels', labelNames);
  app.get('/loki/api/v1/label', labelNames);

  const labelValues = handle('label_values', async (req, reply, p, signal) => {
    const name = (req.params as { name: string }).name;
    const q = p.get('query');
    const tenants = tenantsFor(req);
    let values: string[];
    if (name === TENANT_LABEL && tenants.length > 1) values = [...tenants];
    else if (q) {
      const streams = await streamsOf(req, p, [q], SIX_HOURS_NS, signal);
      values = [...new Set(streams.map((s) => s.labels.map.get(name)).filter((v): v is string => v !== undefined && v !== ''))];
    } else {
      const { startNs, endNs } = bounds(p, SIX_HOURS_NS);
      const sql = new SqlBuilder();
      const key = sql.param('String', name);
      sql.add(`SELECT DISTINCT labels[${key}] FROM ${db}.log_streams WHERE tenant IN ${sql.param('Array(String)', tenants)}`);
      sql.add(`AND date >= ${sql.param('Date', dayString(startNs))} AND date <= ${sql.param('Date', dayString(endNs))} AND mapContains(labels, ${key})`);
      values = readStrings(await engine.reader.queryBinary(sql, signal)).filter((v) => v !== '');
    }
    values.sort();
    return json(reply, { status: 'success', data: values });
  });
  app.get('/loki/api/v1/label/:name/values', labelValues);
  app.post('/loki/api/v1/label/:name/values', labelValues);

  const series = handle('series', async (req, reply, p, signal) => {
    const selectors = [...p.getAll('match[]'), ...p.getAll('match')].filter((s) => s !== '');
    const streams = await streamsOf(req, p, selectors, HOUR_NS, signal);
    const data = streams.map((s) => Object.fromEntries(s.labels.names.map((n, i) => [n, s.labels.values[i] as string])));
    data.sort((a, b) => {
      const x = JSON.stringify(Object.entries(a).sort());
      const y = JSON.stringify(Object.entries(b).sort());
      return x < y ? -1 : x > y ? 1 : 0;
    });
    return json(reply, { status: 'success', data });
  });
  app.get('/loki/api/v1/series', series);
  app.post('/loki/api/v1/series', series);

  // ---------- index stats and volume ----------

  /** WHERE for the rows of a set of streams in [start, end]. */
  const rowsWhere = (sql: SqlBuilder, streams: StreamRef[], startNs: bigint, endNs: bigint): void => {
    const byTenant = new Map<string, bigint[]>();
    for (const s of streams) {
      let a = byTenant.get(s.tenant);
      if (!a) byTenant.set(s.tenant, (a = []));
      a.push(s.fp);
    }
    sql.add(`WHERE (${[...byTenant].map(([t, fps]) => `(tenant = ${sql.param('String', t)} AND stream_fingerprint IN ${sql.param('Array(UInt64)', fps)})`).join(' OR ')})`);
    sql.add(`AND timestamp >= fromUnixTimestamp64Nano(${sql.param('Int64', startNs.toString())}) AND timestamp <= fromUnixTimestamp64Nano(${sql.param('Int64', endNs.toString())})`);
  };

  const indexStats = handle('index_stats', async (req, reply, p, signal) => {
    const q = p.get('query') ?? '{}';
    const streams = await streamsOf(req, p, [q], HOUR_NS, signal);
    if (streams.length === 0) return json(reply, { streams: 0, chunks: 0, entries: 0, bytes: 0 });
    const { startNs, endNs } = bounds(p, HOUR_NS);
    const sql = new SqlBuilder();
    // a "chunk" here is one stream's hour of data: the unit the logs table is ordered by
    sql.add(`SELECT uniqExact(tenant, stream_fingerprint), uniqExact(tenant, stream_fingerprint, toStartOfHour(timestamp)), count(), sum(length(body)) FROM ${db}.logs`);
    rowsWhere(sql, streams, startNs, endNs);
    const r = new RowBinaryReader(await engine.reader.queryBinary(sql, signal));
    return json(reply, { streams: Number(r.uint64()), chunks: Number(r.uint64()), entries: Number(r.uint64()), bytes: Number(r.uint64()) });
  });
  app.get('/loki/api/v1/index/stats', indexStats);
  app.post('/loki/api/v1/index/stats', indexStats);

  const volume = (isRange: boolean) =>
    handle(isRange ? 'volume_range' : 'volume', async (req, reply, p, signal) => {
      const q = p.get('query');
      if (!q) throw new LokiParamError('query parameter is required');
      const sel = selectorOf(q);
      const limitText = p.get('limit');
      const limit = limitText === '0' ? 100 : parseLimit(p, 'limit', 100);
      const aggregateBy = p.get('aggregateBy') || 'series';
      if (aggregateBy !== 'series' && aggregateBy !== 'labels') throw new LokiParamError('invalid aggregation option');
      const targets = (p.get('targetLabels') ?? '').split(',').filter(Boolean);
      const r = isRange ? rangeParams(p) : { ...bounds(p, HOUR_NS), stepNs: 0n };
      const streams = await engine.streams(tenantsFor(req), sel.matchers, r.startNs, r.endNs, signal);
      const stepNs = r.stepNs > 0n ? r.stepNs : r.endNs - r.startNs + 1n;
      const steps: bigint[] = [];
      if (isRange) for (let t = r.startNs; t <= r.endNs; t += stepNs) steps.push(t);
      else steps.push(r.endNs);
      // bytes per stream per step window (t - step, t]
      const perStream = new Map<string, Map<number, number>>();
      if (streams.length) {
        const sql = new SqlBuilder();
        const origin = (steps[0] as bigint) - stepNs;
        sql.add(`SELECT tenant, stream_fingerprint, intDiv(toUnixTimestamp64Nano(timestamp) - ${sql.param('Int64', origin.toString())} - 1, ${sql.param('Int64', stepNs.toString())}) AS b, sum(length(body)) FROM ${db}.logs`);
        rowsWhere(sql, streams, origin + 1n, steps[steps.length - 1] as bigint);
        sql.add('GROUP BY tenant, stream_fingerprint, b');
        const rd = new RowBinaryReader(await engine.reader.queryBinary(sql, signal));
        while (!rd.done) {
          const k = `${rd.string()}\u0000${rd.uint64()}`;
          const b = rd.int64();
          const v = Number(rd.uint64());
          let m = perStream.get(k);
          if (!m) perStream.set(k, (m = new Map()));
          m.set(b, (m.get(b) ?? 0) + v);
        }
      }
      const matcherNames = [...new Set(sel.matchers.map((m) => m.name))];
      const groups = new Map<string, { labels: [string, string][]; values: Map<number, number> }>();
      const add = (labels: [string, string][], vals: Map<number, number>): void => {
        const k = labelsObject(labels);
        let g = groups.get(k);
        if (!g) groups.set(k, (g = { labels, values: new Map() }));
        for (const [b, v] of vals) g.values.set(b, (g.values.get(b) ?? 0) + v);
      };
      for (const s of streams) {
        const vals = perStream.get(`${s.tenant}\u0000${s.fp}`);
        if (!vals) continue;
        if (aggregateBy === 'labels') {
          for (const n of s.labels.names) if (!targets.length || targets.includes(n)) add([[n, '']], vals);
        } else {
          const names = targets.length ? targets : matcherNames;
          const labels = names.filter((n) => s.labels.map.has(n)).sort().map((n) => [n, s.labels.map.get(n) as string] as [string, string]);
          add(labels, vals);
        }
      }
      const list = [...groups.values()].map((g) => ({ ...g, first: g.values.get(Math.min(...g.values.keys())) ?? 0 }));
      list.sort((a, b) => (a.first === b.first ? (labelsObject(a.labels) < labelsObject(b.labels) ? -1 : 1) : b.first - a.first));
      const top = list.slice(0, limit);
      const tsOf = (b: number): string => formatSeconds(Number(((steps[0] as bigint) + BigInt(b) * stepNs) / 1_000_000n));
      const multi = isRange && steps.length > 1;
      const result = top.map((g) => {
        const pts = [...g.values].sort((a, b) => a[0] - b[0]);
        if (!multi) return `{"metric":${labelsObject(g.labels)},"value":[${tsOf(0)},${JSON.stringify(formatFloat(pts.reduce((s, x) => s + x[1], 0)))}]}`;
        return `{"metric":${labelsObject(g.labels)},"values":[${pts.map(([b, v]) => `[${tsOf(b)},${JSON.stringify(formatFloat(v))}]`).join(',')}]}`;
      });
      return json(reply, `{"status":"success","data":{"resultType":"${multi ? 'matrix' : 'vector'}","result":[${result.join(',')}]}}`);
    });
  app.get('/loki/api/v1/index/volume', volume(false));
  app.post('/loki/api/v1/index/volume', volume(false));
  app.get('/loki/api/v1/index/volume_range', volume(true));
  app.post('/loki/api/v1/index/volume_range', volume(true));

  // ---------- detected labels and fields ----------

  const detectedLabels = handle('detected_labels', async (req, reply, p, signal) => {
    const q = p.get('query');
    const streams = await streamsOf(req, p, q ? [q] : [], HOUR_NS, signal);
    const values = new Map<string, Set<string>>();
    for (const s of streams)
      s.labels.names.forEach((n, i) => {
        if (n.startsWith('__')) return;
        let set = values.get(n);
        if (!set) values.set(n, (set = new Set()));
        set.add(s.labels.values[i] as string);
      });
    const detected = [...values].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([label, set]) => ({ label, cardinality: set.size }));
    return json(reply, detected.length ? { detectedLabels: detected } : {});
  });
  app.get('/loki/api/v1/detected_labels', detectedLabels);
  app.post('/loki/api/v1/detected_labels', detectedLabels);

  const detected = (values: boolean) =>
    handle(values ? 'detected_field_values' : 'detected_fields', async (req, reply, p, signal) => {
      const q = p.get('query');
      if (!q) throw new LokiParamError('query parameter is required');
      const expr = parse(q);
      if (expr.kind !== 'log') throw new LokiParamError('only log queries are supported');
      const { startNs, endNs } = bounds(p, HOUR_NS);
      const lineLimit = parseLimit(p, 'line_limit', 100);
      const limit = p.get('limit') ? parseLimit(p, 'limit', 1000) : parseLimit(p, 'field_limit', 1000);
      const res = await engine.query({ expr, tenants: tenantsFor(req), startNs, endNs, stepNs: 0n, intervalNs: 0n, direction: 'backward', limit: lineLimit, instant: false, signal });
      if (res.type !== 'streams') throw new LokiParamError('only log queries are supported');
      const fields = detectFields(res.streams, limit);
      if (values) {
        const name = (req.params as { name: string }).name;
        const vals = [...(fields.get(name)?.values ?? [])].slice(0, limit);
        return json(reply, vals.length ? { values: vals, limit } : {});
      }
      const out = [...fields].map(([label, f]) => ({ label, type: f.type, cardinality: f.values.size, parsers: f.parsers.length ? f.parsers : null }));
      return json(reply, out.length ? { fields: out, limit } : {});
    });
  app.get('/loki/api/v1/detected_fields', detected(false));
  app.post('/loki/api/v1/detected_fields', detected(false));
  app.get('/loki/api/v1/detected_field/:name/values', detected(true));
  app.post('/loki/api/v1/detected_field/:name/values', detected(true));

  // ---------- misc ----------

  const formatQuery = handle('format_query', async (_req, reply, p) => {
    const expr = parse(p.get('query') ?? '');
    return json(reply, { status: 'success', data: formatExpr(expr) });
  });
  app.get('/loki/api/v1/format_query', formatQuery);
  app.post('/loki/api/v1/format_query', formatQuery);

  app.get('/loki/api/v1/status/buildinfo', async (_req, reply) => json(reply, LOKI_BUILD_INFO));

  registerLokiTail(app, { engine, tenantsFor: (h) => tenantsOf(h, tenancy), pollMs: deps.tailPollMs ?? 1000, maxEntries });
  return { engine };
}

function readStrings(bytes: Uint8Array): string[] {
  const r = new RowBinaryReader(bytes);
  const out: string[] = [];
  while (!r.done) out.push(r.string());
  return out;
}

interface DetectedField {
  type: string;
  parsers: string[];
  values: Set<string>;
}

/** Loki's type detection for a field value (int, float, boolean, duration, bytes, string). */
export function detectType(v: string): string {
  if (/^[+-]?\d+$/.test(v) && Math.abs(Number(v)) <= 9223372036854775807) return 'int';
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) || /^[+-]?(inf|infinity|nan)$/i.test(v)) return 'float';
  if (/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(v)) return 'boolean';
  if (parseGoDurationNs(v) !== undefined) return 'duration';
  if (parseHumanBytes(v).ok) return 'bytes';
  return 'string';
}

/** Fields in returned lines: structured metadata, then json (or, failing that, logfmt) keys. */
function detectFields(streams: readonly StreamOut[], limit: number): Map<string, DetectedField> {
  const out = new Map<string, DetectedField>();
  const json = compilePipeline([{ kind: 'json', params: [] }]);
  const logfmt = compilePipeline([{ kind: 'logfmt', strict: false, keepEmpty: false, params: [] }]);
  const lb = new LabelsBuilder();
  const note = (name: string, value: string, parser: string | undefined): void => {
    let f = out.get(name);
    if (!f) {
      if (out.size >= limit) return;
      out.set(name, (f = { type: detectType(value), parsers: [], values: new Set() }));
    }
    if (parser && !f.parsers.includes(parser)) f.parsers.push(parser);
    f.values.add(value);
  };
  for (const s of streams) {
    const base = { names: s.streamLabels.map((l) => l[0]), values: s.streamLabels.map((l) => l[1]) };
    const streamLabels = { ...base, map: new Map(s.streamLabels), key: labelsObject(s.streamLabels) };
    for (const e of s.entries) {
      for (const [k, v] of e.structuredMetadata) note(k, v, undefined);
      for (const [k, v] of e.parsed) if (!k.startsWith('__')) note(k, v, undefined);
      lb.reset(streamLabels, undefined);
      let parser = 'json';
      json.process({ line: e.line, tsNs: e.tsNs, lb });
      if (lb.err) {
        lb.reset(streamLabels, undefined);
        parser = 'logfmt';
        logfmt.process({ line: e.line, tsNs: e.tsNs, lb });
        if (lb.err) continue;
      }
      for (const [k, v] of lb.parsed) note(k, v, parser);
    }
  }
  return out;
}

export { defaultStepNs, parseSecondsOrDurationNs };
