// JSON bodies of the Prometheus HTTP API, written as text (no intermediate
// objects per point): the envelope {status, data, errorType, error,
// warnings, infos} and the query result shapes, with sample timestamps as
// seconds with exactly the millisecond digits Prometheus prints
// (jsonutil.MarshalTimestamp) and values as strings formatted like
// Prometheus's jsonutil.MarshalValue (Go 'f' shortest, 'e' below 1e-6 and
// from 1e21, NaN, +Inf, -Inf).
// https://prometheus.io/docs/prometheus/latest/querying/api/#expression-query-result-formats
import type { Labels } from '../core/index.ts';
import type { QueryResult, QueryValue } from './promql/index.ts';

/** Prometheus jsonutil.MarshalTimestamp: whole seconds, then ".ddd" when there are milliseconds. */
export function formatTimestamp(ms: number): string {
  let t = Math.trunc(ms);
  let sign = '';
  if (t < 0) {
    sign = '-';
    t = -t;
  }
  const s = Math.floor(t / 1000);
  const frac = t - s * 1000;
  if (frac === 0) return `${sign}${s}`;
  return `${sign}${s}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** Prometheus jsonutil.MarshalValue, without the quotes. */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const abs = Math.abs(v);
  const s = String(v);
  if (abs < 1e-6 || abs >= 1e21) {
    // JS prints "1.5e-7"; Go prints "1.5e-07" (at least two exponent digits).
    const i = s.indexOf('e');
    const exp = s.slice(i + 2);
    return `${s.slice(0, i + 2)}${exp.length < 2 ? '0' : ''}${exp}`;
  }
  return s;
}

// Label names and values are nearly always plain ASCII that JSON needs no escapes for.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** A label set as a JSON object text. */
export function labelsJson(l: Labels): string {
  let out = '{';
  for (let i = 0; i < l.names.length; i++) {
    if (i > 0) out += ',';
    out += `${jsonString(l.names[i] as string)}:${jsonString(l.values[i] as string)}`;
  }
  return out + '}';
}

function point(tMs: number, v: number): string {
  return `[${formatTimestamp(tMs)},"${formatValue(v)}"]`;
}

/** `"resultType":...,"result":...` (the fields, without braces) for a query result. */
export function resultFields(v: QueryValue): string {
  switch (v.resultType) {
    case 'vector': {
      const parts: string[] = [];
      for (const s of v.samples) parts.push(`{"metric":${labelsJson(s.labels)},"value":${point(s.timestampMs, s.value)}}`);
      return `"resultType":"vector","result":[${parts.join(',')}]`;
    }
    case 'matrix': {
      const parts: string[] = [];
      for (const s of v.series) {
        const pts: string[] = new Array<string>(s.values.length);
        for (let i = 0; i < s.values.length; i++) pts[i] = point(s.timestampsMs[i] as number, s.values[i] as number);
        parts.push(`{"metric":${labelsJson(s.labels)},"values":[${pts.join(',')}]}`);
      }
      return `"resultType":"matrix","result":[${parts.join(',')}]`;
    }
    case 'scalar':
      return `"resultType":"scalar","result":${point(v.timestampMs, v.value)}`;
    case 'string':
      return `"resultType":"string","result":[${formatTimestamp(v.timestampMs)},${JSON.stringify(v.value)}]`;
  }
}

/** The success envelope around a pre-encoded data text. */
export function successJson(dataJson: string, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  let out = `{"status":"success","data":${dataJson}`;
  if (warnings.length) out += `,"warnings":${JSON.stringify(warnings)}`;
  if (infos.length) out += `,"infos":${JSON.stringify(infos)}`;
  return out + '}';
}

/** The data of a query answer: result, and stats when asked for. */
export function queryDataJson(r: QueryResult, statsJson: string | null): string {
  return `{${resultFields(r.value)}${statsJson ? `,"stats":${statsJson}` : ''}}`;
}
