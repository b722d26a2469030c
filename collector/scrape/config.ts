// The collector's scrape configuration: the `global` and `scrape_configs`
// sections of a Prometheus configuration file
// (https://prometheus.io/docs/prometheus/latest/configuration/configuration/),
// with static_configs and file_sd_configs for discovery. Sections the
// collector has no use for (rule_files, alerting, remote_write, ...) are
// ignored; a field it does not implement inside a scrape config is refused,
// so a config never silently means something else than in Prometheus.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FleetwatchError, parseDurationMs } from '../../core/index.ts';
import { compileRelabelConfigs, type RelabelRule } from './relabel.ts';

export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** where the group came from (file_sd file path), for __meta_filepath */
  readonly source: string;
}

export interface FileSdConfig {
  readonly files: readonly string[];
  readonly refreshIntervalMs: number;
}

export interface ScrapeConfig {
  readonly jobName: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly metricsPath: string;
  readonly scheme: 'http' | 'https';
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  /** 0 = no limit */
  readonly sampleLimit: number;
  readonly bodySizeLimitBytes: number;
  /** value for an Authorization header, if configured */
  readonly authorization: string | undefined;
  readonly staticConfigs: readonly TargetGroup[];
  readonly fileSdConfigs: readonly FileSdConfig[];
  readonly relabelConfigs: readonly RelabelRule[];
  readonly metricRelabelConfigs: readonly RelabelRule[];
}

const KNOWN = new Set([
  'job_name',
  'scrape_interval',
  'scrape_timeout',
  'metrics_path',
  'scheme',
  'params',
  'honor_labels',
  'honor_timestamps',
  'sample_limit',
  'body_size_limit',
  'static_configs',
  'file_sd_configs',
  'relabel_configs',
  'metric_relabel_configs',
  'bearer_token',
  'bearer_token_file',
  'basic_auth',
  'authorization',
  'follow_redirects',
  'enable_http2',
]);

function fail(where: string, msg: string): never {
  throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `scrape config ${where}: ${msg}`);
}

function duration(v: unknown, where: string, def: number): number {
  if (v === undefined || v === null) return def;
  const ms = parseDurationMs(String(v));
  if (ms === undefined || ms <= 0) fail(where, `invalid duration ${JSON.stringify(v)}`);
  return ms;
}

function bytes(v: unknown, where: string): number {
  if (v === undefined || v === null || v === 0 || v === '0') return 0;
  const m = /^(\d+)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/i.exec(String(v));
  if (!m) fail(where, `invalid size ${JSON.stringify(v)}`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  return Number(m[1]) * (mult[unit] as number);
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(where, 'expected a mapping of label names to values');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) fail(where, `${JSON.stringify(k)} is not a valid label name`);
    out[k] = String(x);
  }
  return out;
}

/** Target groups as static_configs and file_sd files write them. */
export function parseTargetGroups(v: unknown, where: string, source: string): TargetGroup[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(where, 'expected a list of target groups');
  return v.map((g: unknown, i: number) => {
    if (!g || typeof g !== 'object') fail(`${where}[${i}]`, 'expected a mapping with targets and labels');
    const o = g as Record<string, unknown>;
    const targets = o['targets'] === undefined ? [] : Array.isArray(o['targets']) ? o['targets'].map(String) : fail(`${where}[${i}]`, 'targets must be a list');
    return { targets, labels: stringMap(o['labels'], `${where}[${i}].labels`), source };
  });
}

function readSecret(file: unknown, where: string): string {
  try {
    return readFileSync(String(file), 'utf8').trim();
  } catch (e) {
    return fail(where, `cannot read ${String(file)}: ${(e as Error).message}`);
  }
}

function authorizationOf(o: Record<string, unknown>, where: string): string | undefined {
  if (o['bearer_token'] !== undefined) return `Bearer ${String(o['bearer_token'])}`;
  if (o['bearer_token_file'] !== undefined) return `Bearer ${readSecret(o['bearer_token_file'], where)}`;
  const ba = o['basic_auth'] as Record<string, unknown> | undefined;
  if (ba) {
    const pw = ba['password_file'] !== undefined ? readSecret(ba['password_file'], where) : String(ba['password'] ?? '');
    return `Basic ${Buffer.from(`${String(ba['username'] ?? '')}:${pw}`).toString('base64')}`;
  }
  const az = o['authorization'] as Record<string, unknown> | undefined;
  if (az) {
    const cred = az['credentials_file'] !== undefined ? readSecret(az['credentials_file'], where) : String(az['credentials'] ?? '');
    return `${String(az['type'] ?? 'Bearer')} ${cred}`;
  }
  return undefined;
}

/** Parses a Prometheus configuration (YAML text) into scrape configs; throws FW_ERR_CONFIG_INVALID. */
export function parseScrapeConfigs(text: string, file = 'scrape config'): ScrapeConfig[] {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (e) {
    throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `${file} is not valid YAML: ${(e as Error).message}`);
  }
  const root = doc as Record<string, unknown>;
  const global = (root['global'] ?? {}) as Record<string, unknown>;
  const gInterval = duration(global['scrape_interval'], 'global.scrape_interval', 60_000);
  const gTimeout = duration(global['scrape_timeout'], 'global.scrape_timeout', 10_000);
  const list = root['scrape_configs'] ?? [];
  if (!Array.isArray(list)) throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `${file}: scrape_configs must be a list`);
  const seen = new Set<string>();
  return list.map((raw: unknown, i: number) => {
    if (!raw || typeof raw !== 'object') fail(`#${i}`, 'expected a mapping');
    const o = raw as Record<string, unknown>;
    const jobName = String(o['job_name'] ?? '');
    const where = jobName ? `"${jobName}"` : `#${i}`;
    if (!jobName) fail(where, 'job_name is required');
    if (seen.has(jobName)) fail(where, 'found multiple scrape configs with this job name');
    seen.add(jobName);
    for (const k of Object.keys(o)) if (!KNOWN.has(k)) fail(where, `${k} is not supported by the fleetwatch collector (service discovery: static_configs and file_sd_configs)`);
    const intervalMs = duration(o['scrape_interval'], `${where}.scrape_interval`, gInterval);
    // as in Prometheus: a job's timeout defaults to the global one, capped by its interval
    const timeoutMs = duration(o['scrape_timeout'], `${where}.scrape_timeout`, Math.min(gTimeout, intervalMs));
    if (timeoutMs > intervalMs) fail(where, `scrape timeout greater than scrape interval`);
    const scheme = String(o['scheme'] ?? 'http');
    if (scheme !== 'http' && scheme !== 'https') fail(where, `invalid scheme ${JSON.stringify(scheme)}`);
    const params: Record<string, string[]> = {};
    for (const [k, v] of Object.entries((o['params'] ?? {}) as Record<string, unknown>)) params[k] = Array.isArray(v) ? v.map(String) : [String(v)];
    const fileSdConfigs = ((o['file_sd_configs'] ?? []) as unknown[]).map((f, j) => {
      const fo = (f ?? {}) as Record<string, unknown>;
      const files = Array.isArray(fo['files']) ? fo['files'].map(String) : fail(`${where}.file_sd_configs[${j}]`, 'files must be a list');
      for (const p of files) if (!/\.(json|ya?ml)$/.test(p)) fail(`${where}.file_sd_configs[${j}]`, `${p}: file_sd files end in .json, .yml or .yaml`);
      return { files, refreshIntervalMs: duration(fo['refresh_interval'], `${where}.file_sd_configs[${j}].refresh_interval`, 300_000) };
    });
    return {
      jobName,
      intervalMs,
      timeoutMs,
      metricsPath: String(o['metrics_path'] ?? '/metrics'),
      scheme,
      params,
      honorLabels: o['honor_labels'] === true,
      honorTimestamps: o['honor_timestamps'] !== false,
      sampleLimit: Number(o['sample_limit'] ?? 0),
      bodySizeLimitBytes: bytes(o['body_size_limit'], `${where}.body_size_limit`),
      authorization: authorizationOf(o, where),
      staticConfigs: parseTargetGroups(o['static_configs'], `${where}.static_configs`, ''),
      fileSdConfigs,
      relabelConfigs: compileRelabelConfigs(o['relabel_configs'], `scrape config ${where}.relabel_configs`),
      metricRelabelConfigs: compileRelabelConfigs(o['metric_relabel_configs'], `scrape config ${where}.metric_relabel_configs`),
    } satisfies ScrapeConfig;
  });
}

export function loadScrapeConfigFile(file: string): ScrapeConfig[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `cannot read the scrape config ${file}: ${(e as Error).message}`);
  }
  return parseScrapeConfigs(text, file);
}
