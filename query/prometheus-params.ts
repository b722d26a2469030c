// Request parameters as Prometheus's HTTP API reads them (web/api/v1/api.go):
// a form-encoded POST body and the URL query merged (body values first, as
// Go's Request.ParseForm orders them), times as float seconds or RFC3339,
// durations as float seconds or Prometheus durations ("1m30s").
// https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview
import type { FastifyRequest } from 'fastify';
import { PromqlError, parseDurationMs } from './promql/index.ts';

/** bad_data with Prometheus's `invalid parameter "x": ...` wording. */
export function invalidParam(name: string, why: string): PromqlError {
  return new PromqlError('bad_data', `invalid parameter ${JSON.stringify(name)}: ${why}`);
}

export interface Params {
  /** The first value, or null. */
  get(name: string): string | null;
  getAll(name: string): string[];
}

/** URL query and a form-encoded body (bodies arrive as raw Buffers: core/http.ts removes fastify's parsers). */
export function requestParams(req: FastifyRequest): Params {
  const q = req.url.indexOf('?');
  const fromUrl = new URLSearchParams(q >= 0 ? req.url.slice(q + 1) : '');
  let fromBody: URLSearchParams | null = null;
  const ct = String(req.headers['content-type'] ?? '').toLowerCase();
  if (req.method === 'POST' && ct.startsWith('application/x-www-form-urlencoded') && Buffer.isBuffer(req.body) && req.body.length > 0) {
    fromBody = new URLSearchParams(req.body.toString('utf8'));
  }
  return {
    get: (name) => fromBody?.get(name) ?? fromUrl.get(name),
    getAll: (name) => [...(fromBody?.getAll(name) ?? []), ...fromUrl.getAll(name)],
  };
}

// Go prints its time bounds with years outside RFC3339's four digits; clients
// (Thanos, client_golang) send them back for "no bound".
const MIN_TIME_TEXT = '-292273086-05-16T16:47:06Z';
const MAX_TIME_TEXT = '292277025-08-18T07:12:54.999999999Z';
/** The widest times a JS Date holds; storage clamps further. */
export const MIN_TIME_MS = -8_640_000_000_000_000;
export const MAX_TIME_MS = 8_640_000_000_000_000;

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Prometheus parseTime, in milliseconds (float seconds rounded to the millisecond, or RFC3339Nano). */
export function parseTimeMs(s: string): number {
  if (FLOAT.test(s)) {
    const t = Number(s);
    const sec = Math.trunc(t);
    const frac = Math.round((t - sec) * 1000);
    const ms = sec * 1000 + frac;
    if (Number.isFinite(ms)) return Math.max(MIN_TIME_MS, Math.min(MAX_TIME_MS, ms));
  }
  const m = RFC3339.exec(s);
  if (m) {
    let ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    ms += Number((m[7] ?? '').padEnd(3, '0').slice(0, 3) || '0');
    if (m[9]) ms -= (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000;
    const valid = Number(m[2]) >= 1 && Number(m[2]) <= 12 && Number(m[3]) >= 1 && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6]) < 60;
    if (valid && Number.isFinite(ms)) return ms;
  }
  if (s === MIN_TIME_TEXT) return MIN_TIME_MS;
  if (s === MAX_TIME_TEXT) return MAX_TIME_MS;
  throw new Error(`cannot parse ${JSON.stringify(s)} to a valid timestamp`);
}

/** A time parameter; absent or empty gives `def`. */
export function timeParam(p: Params, name: string, def: number): number {
  const v = p.get(name);
  if (v === null || v === '') return def;
  try {
    return parseTimeMs(v);
  } catch (e) {
    throw invalidParam(name, (e as Error).message);
  }
}

/** A required time parameter (query_range start/end: an empty one is an error, as in Prometheus). */
export function requiredTimeParam(p: Params, name: string): number {
  const v = p.get(name) ?? '';
  try {
    return parseTimeMs(v);
  } catch (e) {
    throw invalidParam(name, (e as Error).message);
  }
}

/** Prometheus parseDuration, in milliseconds (float seconds or a Prometheus duration). */
export function parseDurationParamMs(s: string): number {
  if (FLOAT.test(s)) {
    const ns = Number(s) * 1e9;
    if (ns > 9.223372036854776e18 || ns < -9.223372036854776e18) throw new Error(`cannot parse ${JSON.stringify(s)} to a valid duration. It overflows int64`);
    return Math.trunc(ns / 1e6);
  }
  try {
    return parseDurationMs(s);
  } catch {
    throw new Error(`cannot parse ${JSON.stringify(s)} to a valid duration`);
  }
}

export function durationParam(p: Params, name: string): number | null {
  const v = p.get(name);
  if (v === null || v === '') return null;
  try {
    return parseDurationParamMs(v);
  } catch (e) {
    throw invalidParam(name, (e as Error).message);
  }
}

/** Prometheus 3.x `limit` on series/labels/values/metadata: a non-negative integer, 0 = no limit. */
export function limitParam(p: Params, name = 'limit'): number {
  const v = p.get(name);
  if (v === null || v === '') return 0;
  if (!/^[+-]?\d+$/.test(v)) throw new PromqlError('bad_data', `${name} must be a number`);
  const n = Number(v);
  if (n < 0) throw new PromqlError('bad_data', `${name} must be non-negative`);
  return n;
}

export function boolParam(p: Params, name: string, def: boolean): boolean {
  const v = p.get(name);
  if (v === null || v === '') return def;
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw invalidParam(name, `strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/**
 * Prometheus 3.x UTF-8 name escaping in URL paths (model.UnescapeName with
 * ValueEncodingEscaping): "U__" then the name with "_" doubled and other
 * characters as "_<hex code point>_". Anything else is returned as given.
 */
export function unescapeLabelName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const body = name.slice(3);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '_') {
      out += c;
      continue;
    }
    if (body[i + 1] === '_') {
      out += '_';
      i++;
      continue;
    }
    const end = body.indexOf('_', i + 1);
    const hex = end > i ? body.slice(i + 1, end) : '';
    if (!/^[0-9a-fA-F]{1,6}$/.test(hex)) return name; // not valid escaping: keep as is
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return name;
    out += String.fromCodePoint(cp);
    i = end;
  }
  return out;
}
