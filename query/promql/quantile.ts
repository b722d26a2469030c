// Numeric helpers shared by functions and aggregations, following
// Prometheus's promql/quantile.go and util/kahansum: quantile of a sample
// set, histogram_quantile and histogram_fraction over classic `le` buckets
// (with the bucket monotonicity fix-ups), Kahan–Neumaier summation, and Go's
// math.Pow special cases.

/** Kahan–Neumaier step (util/kahansum.Inc): returns [sum, compensation]. */
export function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (t > Number.MAX_VALUE || t < -Number.MAX_VALUE) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  return [t, c];
}

/**
 * One value into an avg accumulator at slot i (a later value, not the first):
 * a direct Kahan sum until it would overflow, then an incremental mean, as
 * Prometheus's aggregation() does (prometheus#16714). `val`/`c` hold the sum
 * and its compensation, then the mean's compensation once incremental.
 */
export function avgStep(i: number, f: number, val: Float64Array, c: Float64Array, mean: Float64Array, count: Float64Array, incremental: Uint8Array): void {
  const cnt = (count[i] as number) + 1;
  count[i] = cnt;
  if (!incremental[i]) {
    const [nv, nc] = kahanInc(f, val[i] as number, c[i] as number);
    if (nv !== Infinity && nv !== -Infinity) {
      val[i] = nv;
      c[i] = nc;
      return;
    }
    incremental[i] = 1;
    mean[i] = (val[i] as number) / (cnt - 1);
    c[i] = (c[i] as number) / (cnt - 1);
  }
  const q = (cnt - 1) / cnt;
  const [nm, nc] = kahanInc(f / cnt, q * (mean[i] as number), q * (c[i] as number));
  mean[i] = nm;
  c[i] = nc;
}

/** Go math.Pow: differs from ** for Pow(1, NaN) and Pow(-1, ±Inf), both 1. */
export function goPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/**
 * Quantile of values (Prometheus quantile()): sorts in place, NaN first;
 * linear interpolation between the closest ranks.
 */
export function quantileOf(q: number, values: Float64Array | number[]): number {
  const n = values.length;
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  sortNaNFirst(values);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (values[lower] as number) * (1 - weight) + (values[upper] as number) * weight;
}

/** Ascending, NaN before everything (vectorByValueHeap's Less). */
export function sortNaNFirst(values: Float64Array | number[]): void {
  if (values instanceof Float64Array) {
    // Typed-array sort puts NaN last; move the NaNs to the front.
    values.sort();
    let nans = 0;
    for (let i = values.length - 1; i >= 0 && Number.isNaN(values[i] as number); i--) nans++;
    if (nans > 0) {
      values.copyWithin(nans, 0, values.length - nans);
      values.fill(NaN, 0, nans);
    }
    return;
  }
  values.sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b));
}

export interface Bucket {
  upperBound: number;
  count: number;
}

// Relative deltas below this between adjacent buckets are float noise (quantile.go).
const SMALL_DELTA_TOLERANCE = 1e-12;
const MIN_NORMAL = 2.2250738585072014e-308;

/** util/almost.Equal (NaN equals NaN; staleness markers never occur here). */
function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

function sortBuckets(buckets: Bucket[]): void {
  buckets.sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
}

/** Merges buckets with the same upper bound (input sorted). */
function coalesceBuckets(buckets: Bucket[]): Bucket[] {
  const first = buckets[0] as Bucket;
  let last: Bucket = { upperBound: first.upperBound, count: first.count };
  const out: Bucket[] = [];
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (b.upperBound === last.upperBound) last.count += b.count;
    else {
      out.push(last);
      last = { upperBound: b.upperBound, count: b.count };
    }
  }
  out.push(last);
  return out;
}

export interface MonotonicityFix {
  forced: boolean;
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
}

/** Prometheus ensureMonotonicAndIgnoreSmallDeltas: flattens float noise, removes decreases. */
function ensureMonotonic(buckets: Bucket[]): MonotonicityFix {
  const fix: MonotonicityFix = { forced: false, minBucket: Infinity, maxBucket: -Infinity, maxDiff: 0 };
  let prev = (buckets[0] as Bucket).count;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    const curr = b.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, SMALL_DELTA_TOLERANCE)) {
      b.count = prev;
      continue;
    }
    if (curr < prev) {
      b.count = prev;
      fix.forced = true;
      fix.minBucket = Math.min(fix.minBucket, b.upperBound);
      fix.maxBucket = Math.max(fix.maxBucket, b.upperBound);
      fix.maxDiff = Math.max(fix.maxDiff, prev - curr);
      continue;
    }
    prev = curr;
  }
  return fix;
}

/**
 * histogram_quantile over classic buckets (Prometheus BucketQuantile):
 * linear interpolation inside the bucket, 0 as the lower bound of a first
 * bucket with a positive upper bound, the second-highest bound when the rank
 * falls into the +Inf bucket. Buckets are sorted and may be modified.
 */
export function bucketQuantile(q: number, buckets: Bucket[]): { value: number; fix: MonotonicityFix | null } {
  if (Number.isNaN(q)) return { value: NaN, fix: null };
  if (q < 0) return { value: -Infinity, fix: null };
  if (q > 1) return { value: Infinity, fix: null };
  sortBuckets(buckets);
  if ((buckets[buckets.length - 1] as Bucket).upperBound !== Infinity) return { value: NaN, fix: null };
  const bs = coalesceBuckets(buckets);
  const fix = ensureMonotonic(bs);
  if (bs.length < 2) return { value: NaN, fix };
  const observations = (bs[bs.length - 1] as Bucket).count;
  if (observations === 0) return { value: NaN, fix };
  let rank = q * observations;
  // sort.Search over all but the +Inf bucket: first with count >= rank.
  let lo = 0;
  let hi = bs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bs[mid] as Bucket).count >= rank) hi = mid;
    else lo = mid + 1;
  }
  const b = lo;
  if (b === bs.length - 1) return { value: (bs[bs.length - 2] as Bucket).upperBound, fix };
  if (b === 0 && (bs[0] as Bucket).upperBound <= 0) return { value: (bs[0] as Bucket).upperBound, fix };
  let bucketStart = 0;
  const bucketEnd = (bs[b] as Bucket).upperBound;
  let count = (bs[b] as Bucket).count;
  if (b > 0) {
    bucketStart = (bs[b - 1] as Bucket).upperBound;
    count -= (bs[b - 1] as Bucket).count;
    rank -= (bs[b - 1] as Bucket).count;
  }
  return { value: bucketStart + (bucketEnd - bucketStart) * (rank / count), fix };
}

/** histogram_fraction over classic buckets (Prometheus BucketFraction). */
export function bucketFraction(lower: number, upper: number, buckets: Bucket[]): number {
  sortBuckets(buckets);
  if ((buckets[buckets.length - 1] as Bucket).upperBound !== Infinity) return NaN;
  const bs = coalesceBuckets(buckets);
  const count = (bs[bs.length - 1] as Bucket).count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = (bs[0] as Bucket).upperBound <= 0 ? -Infinity : 0;
  for (let i = 0; i < bs.length; i++) {
    const b = bs[i] as Bucket;
    if (i > 0) lowerBound = (bs[i - 1] as Bucket).upperBound;
    const upperBound = b.upperBound;
    const interpolate = (v: number): number => {
      if (lowerBound === -Infinity) return b.count;
      return rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    };
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}
