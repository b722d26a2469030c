// Sample arrays as ClickHouse's groupArray returns them, put in time order.
// A group keeps the order rows were read in: time order within one part,
// but several parts (or reading threads) can interleave.

export function strictlyIncreasing(t: Float64Array, a: number, b: number): boolean {
  for (let i = a + 1; i < b; i++) if ((t[i] as number) <= (t[i - 1] as number)) return false;
  return true;
}

/**
 * Samples in time order with one sample per timestamp. A group's array
 * keeps the order rows were read in — time order within one part; several
 * parts (or threads) can interleave — so they are sorted here when needed
 * (an insertion sort: nearly sorted, short), value bits moved as two 32-bit
 * words so staleness markers survive. Of two samples with one timestamp
 * the first read stays (as the select path keeps one of exact duplicates).
 */
export function sortedSamples(t: Float64Array, v: Float64Array): [Float64Array, Float64Array] {
  const n = t.length;
  const w = new Uint32Array(v.buffer, v.byteOffset, n * 2);
  if (n > 64) return dedupe(...indexSorted(t, w));
  for (let i = 1; i < n; i++) {
    const ti = t[i] as number;
    const lo = w[2 * i] as number;
    const hi = w[2 * i + 1] as number;
    let j = i - 1;
    while (j >= 0 && (t[j] as number) > ti) {
      t[j + 1] = t[j] as number;
      w[2 * j + 2] = w[2 * j] as number;
      w[2 * j + 3] = w[2 * j + 1] as number;
      j--;
    }
    t[j + 1] = ti;
    w[2 * j + 2] = lo;
    w[2 * j + 3] = hi;
  }
  return dedupe(t, w);
}

/** Long arrays (runs of several parts) take an O(n log n) stable sort of indices. */
function indexSorted(t: Float64Array, w: Uint32Array): [Float64Array, Uint32Array] {
  const n = t.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => (t[a] as number) - (t[b] as number) || a - b);
  const tt = new Float64Array(n);
  const ww = new Uint32Array(n * 2);
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    tt[k] = t[i] as number;
    ww[2 * k] = w[2 * i] as number;
    ww[2 * k + 1] = w[2 * i + 1] as number;
  }
  return [tt, ww];
}

/** Drops all but the first sample of each timestamp (in place). */
function dedupe(t: Float64Array, w: Uint32Array): [Float64Array, Float64Array] {
  const n = t.length;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (k > 0 && t[k - 1] === t[i]) continue;
    t[k] = t[i] as number;
    w[2 * k] = w[2 * i] as number;
    w[2 * k + 1] = w[2 * i + 1] as number;
    k++;
  }
  return [t.subarray(0, k), new Float64Array(w.buffer, w.byteOffset, k)];
}

