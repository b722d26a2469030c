// Request parameters as Loki reads them (pkg/loghttp/params.go semantics):
// URL query and form bodies merged, nanosecond / float-second / RFC3339
// timestamps (an integer of up to 10 digits is seconds), Prometheus-style
// or float-second durations, direction in any case.
// https://grafana.com/docs/loki/latest/reference/loki-http-api/#timestamps
import type { FastifyRequest } from 'fastify';
import { FleetwatchError } from '../core/index.ts';

export class LokiParamError extends FleetwatchError {
  constructor(msg: string) {
    super('FW_ERR_QUERY_BAD_DATA', msg);
  }
}

/** All parameters of a request: the URL's, then a form-encoded body's. */
export function requestParams(req: FastifyRequest): URLSearchParams {
  const url = new URL(req.url, 'http://localhost');
  const out = new URLSearchParams(url.search);
  const ct = String(req.headers['content-type'] ?? '');
  if (req.method === 'POST' && ct.startsWith('application/x-www-form-urlencoded') && Buffer.isBuffer(req.body)) {
    for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) out.append(k, v);
  }
  return out;
}

const NS = 1_000_000_000n;

/** Parses an RFC3339(Nano) time to nanoseconds. */
export function parseRfc3339Ns(value: string): bigint | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms)) return undefined;
  let ns = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  const tz = m[8] as string;
  if (tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1n : 1n;
    const off = BigInt(Number(tz.slice(1, 3)) * 3600 + Number(tz.slice(4, 6)) * 60) * NS;
    ns -= sign * off;
  }
  return ns;
}

/** Loki's parseTimestamp: float seconds, integer ns (<= 10 digits: seconds) or RFC3339. */
export function parseTimestampNs(value: string | null, def: bigint, what: string): bigint {
  if (value === null || value === '') return def;
  if (value.includes('.')) {
    const f = Number(value);
    if (value.trim() !== '' && Number.isFinite(f)) {
      const s = Math.trunc(f);
      const frac = Math.round((f - s) * 1000) / 1000;
      return BigInt(s) * NS + BigInt(Math.round(frac * 1e9));
    }
  }
  if (/^-?\d+$/.test(value)) {
    const n = BigInt(value);
    return value.replace('-', '').length <= 10 ? n * NS : n;
  }
  const t = parseRfc3339Ns(value);
  if (t === undefined) throw new LokiParamError(`could not parse '${what}' parameter: cannot parse "${value}" to a valid timestamp`);
  return t;
}

const PROM_UNITS: [string, bigint][] = [
  ['y', 365n * 86_400n * NS],
  ['w', 7n * 86_400n * NS],
  ['d', 86_400n * NS],
  ['h', 3600n * NS],
  ['m', 60n * NS],
  ['s', NS],
  ['ms', 1_000_000n],
];

/** Prometheus model.ParseDuration ("1h30m", "500ms"), in ns. */
export function parsePromDurationNs(s: string): bigint | undefined {
  if (s === '0') return 0n;
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s);
  if (!m || s === '') return undefined;
  let total = 0n;
  PROM_UNITS.forEach(([, size], i) => {
    const v = m[i + 1];
    if (v !== undefined) total += BigInt(v) * size;
  });
  return total;
}

/** A duration as float seconds or a Prometheus duration, in ns. */
export function parseSecondsOrDurationNs(value: string): bigint {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) {
    const f = Number(value);
    const ns = f * 1e9;
    if (!Number.isFinite(ns) || Math.abs(ns) > 9.2e18) throw new LokiParamError(`cannot parse "${value}" to a valid duration. It overflows int64`);
    return BigInt(Math.trunc(ns));
  }
  const d = parsePromDurationNs(value);
  if (d === undefined) throw new LokiParamError(`cannot parse "${value}" to a valid duration`);
  return d;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** start/end/since as Loki determines them (default: the last `defaultSinceNs`). */
export function bounds(p: URLSearchParams, defaultSinceNs: bigint, now = nowNs()): { startNs: bigint; endNs: bigint } {
  let since = defaultSinceNs;
  const sinceText = p.get('since');
  if (sinceText) {
    const d = parsePromDurationNs(sinceText);
    if (d === undefined) throw new LokiParamError(`could not parse 'since' parameter: not a valid duration string: "${sinceText}"`);
    since = d;
  }
  const endNs = parseTimestampNs(p.get('end'), now, 'end');
  const endOrNow = endNs > now ? now : endNs;
  const startNs = parseTimestampNs(p.get('start'), endOrNow - since, 'start');
  return { startNs, endNs };
}

export function parseLimit(p: URLSearchParams, name: string, def: number): number {
  const v = p.get(name);
  if (v === null || v === '') return def;
  if (!/^[+-]?\d+$/.test(v)) throw new LokiParamError(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (n <= 0) throw new LokiParamError('limit must be a positive value');
  if (n > 4294967295) throw new LokiParamError(`limit value ${n} is out of range [0, 4294967295]`);
  return n;
}

export function parseDirection(p: URLSearchParams): 'forward' | 'backward' {
  const v = p.get('direction');
  if (!v) return 'backward';
  const u = v.toUpperCase();
  if (u === 'FORWARD') return 'forward';
  if (u === 'BACKWARD') return 'backward';
  throw new LokiParamError(`invalid direction '${v}'`);
}

export const HOUR_NS = 3600n * NS;
export const SIX_HOURS_NS = 6n * HOUR_NS;

/** Loki's default step: max(floor(range / 250 s), 1) seconds. */
export function defaultStepNs(startNs: bigint, endNs: bigint): bigint {
  const sec = Number(endNs - startNs) / 1e9 / 250;
  return BigInt(Math.max(Math.floor(sec), 1)) * NS;
}

export interface RangeParams {
  readonly query: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepNs: bigint;
  readonly intervalNs: bigint;
  readonly limit: number;
  readonly direction: 'forward' | 'backward';
}

/** /query_range parameters with Loki's checks and messages. */
export function rangeParams(p: URLSearchParams, now = nowNs()): RangeParams {
  const { startNs, endNs } = bounds(p, HOUR_NS, now);
  if (endNs < startNs) throw new LokiParamError('end timestamp must not be before or equal to start time');
  const limit = parseLimit(p, 'limit', 100);
  const direction = parseDirection(p);
  const stepText = p.get('step');
  const stepNs = stepText ? parseSecondsOrDurationNs(stepText) : defaultStepNs(startNs, endNs);
  if (stepNs <= 0n) throw new LokiParamError('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((endNs - startNs) / stepNs > 11000n) throw new LokiParamError('exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter');
  const intervalText = p.get('interval');
  const intervalNs = intervalText ? parseSecondsOrDurationNs(intervalText) : 0n;
  if (intervalNs < 0n) throw new LokiParamError('interval must be >= 0');
  return { query: p.get('query') ?? '', startNs, endNs, stepNs, intervalNs, limit, direction };
}
