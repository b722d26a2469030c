// An in-memory SeriesSource: series held as typed arrays, matched with
// Prometheus label-matcher semantics (a missing label is "", regexes are
// fully anchored RE2). For tests and for components (the ruler) that
// evaluate PromQL over data they already hold.
import { sortLabels, type Labels } from '../../core/index.ts';
import type { LabelMatcher } from './ast.ts';
import { getLabel } from './label-set.ts';
import { compileAnchored } from './regex.ts';
import type { SelectRequest, SeriesSet, SeriesSource } from './series-source.ts';

/** Prometheus's staleness marker, as an input value for the memory source. */
export const STALE = 'stale';

export interface MemorySeriesInput {
  /** labels including __name__, as a record or name-sorted parallel arrays */
  readonly labels: Labels | Readonly<Record<string, string>>;
  readonly timestampsMs: ArrayLike<number>;
  /**
   * Values. Staleness markers are NaNs with a signalling bit pattern that a
   * plain JS array does not preserve (V8 quiets NaNs stored in double
   * arrays), so pass them as STALE, or pass a Float64Array, which keeps bits.
   */
  readonly values: Float64Array | ReadonlyArray<number | typeof STALE>;
}

export interface MemorySource extends SeriesSource {
  /** Adds samples to a series (created if new); samples are kept sorted, a later write to a timestamp wins. */
  add(series: MemorySeriesInput): void;
  /** The select() requests served, in order (tests check the engine's planning). */
  readonly selects: readonly SelectRequest[];
}

interface Stored {
  labels: Labels;
  t: Float64Array;
  /** value bits, so staleness markers survive */
  v: BigUint64Array;
  sorted: boolean;
  frozen: SeriesSet | null;
}

const STALE_BITS = 0x7ff0000000000002n;

export function matchesAll(labels: Labels, matchers: readonly LabelMatcher[]): boolean {
  for (const m of matchers) {
    const v = getLabel(labels, m.name);
    switch (m.type) {
      case '=':
        if (v !== m.value) return false;
        break;
      case '!=':
        if (v === m.value) return false;
        break;
      case '=~':
        if (!compileAnchored(m.value).test(v)) return false;
        break;
      case '!~':
        if (compileAnchored(m.value).test(v)) return false;
        break;
    }
  }
  return true;
}

function toLabels(l: MemorySeriesInput['labels']): Labels {
  if ('names' in l && Array.isArray((l as Labels).names)) {
    const ls = l as Labels;
    return sortLabels(ls.names, ls.values);
  }
  const rec = l as Readonly<Record<string, string>>;
  const names = Object.keys(rec).filter((k) => rec[k] !== '');
  return sortLabels(names, names.map((k) => rec[k] as string));
}

function valueBits(values: MemorySeriesInput['values']): BigUint64Array {
  if (values instanceof Float64Array) return new BigUint64Array(values.slice().buffer);
  const f = new Float64Array(values.length);
  const bits = new BigUint64Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === STALE) bits[i] = STALE_BITS;
    else f[i] = v as number;
  }
  return bits;
}

function concat<T extends Float64Array | BigUint64Array>(a: T, b: T, make: (n: number) => T): T {
  const out = make(a.length + b.length);
  out.set(a as never);
  out.set(b as never, a.length);
  return out;
}

function isStrictlyIncreasing(t: Float64Array): boolean {
  for (let i = 1; i < t.length; i++) if (!((t[i] as number) > (t[i - 1] as number))) return false;
  return true;
}

export function createMemorySource(initial: readonly MemorySeriesInput[] = []): MemorySource {
  const byKey = new Map<string, Stored>();
  const selects: SelectRequest[] = [];

  const add = (input: MemorySeriesInput): void => {
    const labels = toLabels(input.labels);
    if (input.timestampsMs.length !== input.values.length) throw new Error('memory source: timestamps and values differ in length');
    const key = labels.names.map((n, i) => `${n}\u0000${labels.values[i]}`).join('\u0001');
    const t = Float64Array.from(input.timestampsMs);
    const v = valueBits(input.values);
    const s = byKey.get(key);
    if (!s) {
      byKey.set(key, { labels, t, v, sorted: false, frozen: null });
      return;
    }
    s.t = concat(s.t, t, (n) => new Float64Array(n));
    s.v = concat(s.v, v, (n) => new BigUint64Array(n));
    s.sorted = false;
    s.frozen = null;
  };

  const freeze = (s: Stored): SeriesSet => {
    if (s.frozen) return s.frozen;
    if (!s.sorted && isStrictlyIncreasing(s.t)) s.sorted = true;
    if (!s.sorted) {
      // Stable sort by time; the last write to a timestamp wins.
      const idx = Array.from(s.t, (_, i) => i).sort((a, b) => (s.t[a] as number) - (s.t[b] as number) || a - b);
      const t = new Float64Array(idx.length);
      const v = new BigUint64Array(idx.length);
      let k = 0;
      for (const i of idx) {
        if (k > 0 && t[k - 1] === s.t[i]) v[k - 1] = s.v[i] as bigint;
        else {
          t[k] = s.t[i] as number;
          v[k] = s.v[i] as bigint;
          k++;
        }
      }
      s.t = t.slice(0, k);
      s.v = v.slice(0, k);
      s.sorted = true;
    }
    s.frozen = { labels: s.labels, timestampsMs: s.t, values: new Float64Array(s.v.buffer, s.v.byteOffset, s.v.length) };
    return s.frozen;
  };

  for (const i of initial) add(i);

  return {
    add,
    selects,
    async select(req: SelectRequest, signal?: AbortSignal): Promise<SeriesSet[]> {
      signal?.throwIfAborted();
      selects.push(req);
      const out: SeriesSet[] = [];
      for (const s of byKey.values()) {
        if (!matchesAll(s.labels, req.matchers)) continue;
        const all = freeze(s);
        let lo = 0;
        while (lo < all.timestampsMs.length && (all.timestampsMs[lo] as number) < req.startMs) lo++;
        let hi = lo;
        while (hi < all.timestampsMs.length && (all.timestampsMs[hi] as number) <= req.endMs) hi++;
        if (hi === lo) continue;
        out.push({ labels: s.labels, timestampsMs: all.timestampsMs.subarray(lo, hi), values: all.values.subarray(lo, hi) });
      }
      return out;
    },
  };
}
