// Building blocks shared by the decoders: label sets with their fingerprint.
import { fingerprintParts, sortLabels, type Labels } from '../core/index.ts';
import type { LogStream, SeriesRef } from './types.ts';

/** A series from label names/values in any order (sorted here, hashed once). */
export function makeSeries(names: readonly string[], values: readonly string[]): SeriesRef {
  const labels = sortLabels(names, values);
  const [fpHi, fpLo] = fingerprintParts(labels.names, labels.values);
  const i = labels.names.indexOf('__name__');
  return { labels, metricName: i >= 0 ? (labels.values[i] as string) : '', fpHi, fpLo, cache: undefined, head: undefined };
}

export function makeStream(names: readonly string[], values: readonly string[]): LogStream {
  const labels = sortLabels(names, values);
  const [fpHi, fpLo] = fingerprintParts(labels.names, labels.values);
  return { labels, fpHi, fpLo, cache: undefined };
}

export const EMPTY_LABELS: Labels = Object.freeze({ names: [], values: [] });

/** Prometheus's staleness marker: a NaN with this exact bit pattern. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

export function isStaleNaN(v: number): boolean {
  f64[0] = v;
  return u64[0] === STALE_NAN_BITS;
}

export function staleNaN(): number {
  u64[0] = STALE_NAN_BITS;
  return f64[0] as number;
}
