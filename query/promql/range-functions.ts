// Kernels of the functions over range vectors, one window at a time:
// samples t[lo..hi), v[lo..hi) of one series (left-open window
// (rangeStart, rangeEnd], staleness markers already removed). Each returns
// the output value, or null for "no output at this step". Semantics follow
// Prometheus 3.x promql/functions.go for float samples (native histograms
// are not stored, so their branches do not apply).
import { execError } from './errors.ts';
import { formatFloatFixed6 } from './go-strconv.ts';
import { kahanInc, quantileOf } from './quantile.ts';

export interface RangeEnv {
  /** exclusive window start and inclusive end, ms */
  rangeStartMs: number;
  rangeEndMs: number;
  rangeMs: number;
  /** the evaluation step's own time (predict_linear's intercept), ms */
  evalTsMs: number;
  /** scalar arguments at this step, in argument order without the range vector */
  args: number[];
}

export type RangeKernel = (t: Float64Array, v: Float64Array, lo: number, hi: number, env: RangeEnv) => number | null;

/**
 * rate/increase/delta with Prometheus's extrapolation (extrapolatedRate):
 * the sampled increase (with counter-reset correction for counters) is
 * extrapolated to the window edges when the first/last samples are within
 * 1.1 average intervals of them, else by half an interval; counters are not
 * extrapolated below zero.
 */
function extrapolatedRate(isCounter: boolean, isRate: boolean): RangeKernel {
  return (t, v, lo, hi, env) => {
    const n = hi - lo;
    if (n < 2) return null;
    const firstT = t[lo] as number;
    const lastT = t[hi - 1] as number;
    let result = (v[hi - 1] as number) - (v[lo] as number);
    if (isCounter) {
      for (let j = lo + 1; j < hi; j++) {
        const prev = v[j - 1] as number;
        if ((v[j] as number) < prev) result += prev;
      }
    }
    let durationToStart = (firstT - env.rangeStartMs) / 1000;
    let durationToEnd = (env.rangeEndMs - lastT) / 1000;
    const sampledInterval = (lastT - firstT) / 1000;
    const averageDurationBetweenSamples = sampledInterval / (n - 1);
    const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
    if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
    if (isCounter) {
      let durationToZero = durationToStart;
      const first = v[lo] as number;
      if (result > 0 && first >= 0) durationToZero = sampledInterval * (first / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
    let factor = 1;
    if (sampledInterval !== 0) factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
    if (isRate) factor /= env.rangeMs / 1000;
    return result * factor;
  };
}

/** irate/idelta (instantValue): the last two samples. */
function instantValue(isRate: boolean): RangeKernel {
  return (t, v, lo, hi) => {
    if (hi - lo < 2) return null;
    const t0 = t[hi - 2] as number;
    const t1 = t[hi - 1] as number;
    const v0 = v[hi - 2] as number;
    const v1 = v[hi - 1] as number;
    const sampledInterval = t1 - t0;
    if (sampledInterval === 0) return null;
    // A counter reset keeps the last value as the increase.
    let result = v1;
    if (!isRate || !(v1 < v0)) result = v1 - v0;
    if (isRate) result /= sampledInterval / 1000;
    return result;
  };
}

/** Least squares over (t, v) with x in seconds relative to interceptTime (Prometheus linearRegression). */
export function linearRegression(t: Float64Array, v: Float64Array, lo: number, hi: number, interceptTimeMs: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = v[lo] as number;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = v[i] as number;
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = ((t[i] as number) - interceptTimeMs) / 1e3;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(y, sumY, cY);
    [sumXY, cXY] = kahanInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

const deriv: RangeKernel = (t, v, lo, hi) => {
  if (hi - lo < 2) return null;
  // Relative to the first sample to avoid float precision loss (prometheus#2674).
  return linearRegression(t, v, lo, hi, t[lo] as number)[0];
};

const predictLinear: RangeKernel = (t, v, lo, hi, env) => {
  if (hi - lo < 2) return null;
  const [slope, intercept] = linearRegression(t, v, lo, hi, env.evalTsMs);
  return slope * (env.args[0] as number) + intercept;
};

const avgOverTime: RangeKernel = (_t, v, lo, hi) => {
  // Direct mean with Kahan summation while the sum does not overflow, then
  // incremental mean (Prometheus funcAvgOverTime, prometheus#16714).
  let sum = v[lo] as number;
  let count = 1;
  let mean = 0;
  let kahanC = 0;
  let incremental = false;
  for (let i = lo + 1; i < hi; i++) {
    const f = v[i] as number;
    count = i - lo + 1;
    if (!incremental) {
      const [newSum, newC] = kahanInc(f, sum, kahanC);
      if (newSum !== Infinity && newSum !== -Infinity) {
        sum = newSum;
        kahanC = newC;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      kahanC /= count - 1;
    }
    const q = (count - 1) / count;
    [mean, kahanC] = kahanInc(f / count, q * mean, q * kahanC);
  }
  if (incremental) return mean + kahanC;
  return sum / count + kahanC / count;
};

const sumOverTime: RangeKernel = (_t, v, lo, hi) => {
  let sum = 0;
  let c = 0;
  for (let i = lo; i < hi; i++) [sum, c] = kahanInc(v[i] as number, sum, c);
  if (sum === Infinity || sum === -Infinity) return sum;
  return sum + c;
};

function compareOverTime(better: (cur: number, best: number) => boolean, returnTimestamp: boolean): RangeKernel {
  return (t, v, lo, hi) => {
    let best = v[lo] as number;
    let bestT = t[lo] as number;
    for (let i = lo; i < hi; i++) {
      const f = v[i] as number;
      if (better(f, best)) {
        best = f;
        bestT = t[i] as number;
      }
    }
    return returnTimestamp ? bestT / 1000 : best;
  };
}

function varianceOverTime(sqrt: boolean): RangeKernel {
  return (_t, v, lo, hi) => {
    let count = 0;
    let mean = 0;
    let cMean = 0;
    let aux = 0;
    let cAux = 0;
    for (let i = lo; i < hi; i++) {
      const f = v[i] as number;
      count++;
      const delta = f - (mean + cMean);
      [mean, cMean] = kahanInc(delta / count, mean, cMean);
      [aux, cAux] = kahanInc(delta * (f - (mean + cMean)), aux, cAux);
    }
    const variance = (aux + cAux) / count;
    return sqrt ? Math.sqrt(variance) : variance;
  };
}

const quantileOverTime: RangeKernel = (_t, v, lo, hi, env) => quantileOf(env.args[0] as number, v.slice(lo, hi));

const madOverTime: RangeKernel = (_t, v, lo, hi) => {
  const values = v.slice(lo, hi);
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i] as number)) return NaN;
  const median = quantileOf(0.5, values);
  for (let i = 0; i < values.length; i++) values[i] = Math.abs((values[i] as number) - median);
  return quantileOf(0.5, values);
};

const changes: RangeKernel = (_t, v, lo, hi) => {
  let n = 0;
  for (let i = lo + 1; i < hi; i++) {
    const cur = v[i] as number;
    const prev = v[i - 1] as number;
    if (cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))) n++;
  }
  return n;
};

const resets: RangeKernel = (_t, v, lo, hi) => {
  let n = 0;
  for (let i = lo + 1; i < hi; i++) if ((v[i] as number) < (v[i - 1] as number)) n++;
  return n;
};

/** Holt's linear method (funcDoubleExponentialSmoothing); factors are checked by the caller. */
const doubleExponentialSmoothing: RangeKernel = (_t, v, lo, hi, env) => {
  const sf = env.args[0] as number;
  const tf = env.args[1] as number;
  if (sf <= 0 || sf >= 1) throw execError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatFloatFixed6(sf)}`);
  if (tf <= 0 || tf >= 1) throw execError(`invalid trend factor. Expected: 0 < tf < 1, got: ${formatFloatFixed6(tf)}`);
  if (hi - lo < 2) return null;
  let s0 = 0;
  let s1 = v[lo] as number;
  let b = (v[lo + 1] as number) - (v[lo] as number);
  for (let i = 1; i < hi - lo; i++) {
    const x = sf * (v[lo + i] as number);
    // Trend at i-1 (calcTrendValue): the raw first difference at index 0.
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
};

export const RANGE_KERNELS: ReadonlyMap<string, RangeKernel> = new Map<string, RangeKernel>([
  ['rate', extrapolatedRate(true, true)],
  ['increase', extrapolatedRate(true, false)],
  ['delta', extrapolatedRate(false, false)],
  ['irate', instantValue(true)],
  ['idelta', instantValue(false)],
  ['deriv', deriv],
  ['predict_linear', predictLinear],
  ['avg_over_time', avgOverTime],
  ['sum_over_time', sumOverTime],
  ['count_over_time', (_t, _v, lo, hi) => hi - lo],
  ['max_over_time', compareOverTime((cur, best) => cur > best || Number.isNaN(best), false)],
  ['min_over_time', compareOverTime((cur, best) => cur < best || Number.isNaN(best), false)],
  ['ts_of_max_over_time', compareOverTime((cur, best) => cur >= best || Number.isNaN(best), true)],
  ['ts_of_min_over_time', compareOverTime((cur, best) => cur <= best || Number.isNaN(best), true)],
  ['last_over_time', (_t, v, _lo, hi) => v[hi - 1] as number],
  ['first_over_time', (_t, v, lo) => v[lo] as number],
  ['ts_of_last_over_time', (t, _v, _lo, hi) => (t[hi - 1] as number) / 1000],
  ['ts_of_first_over_time', (t, _v, lo) => (t[lo] as number) / 1000],
  ['present_over_time', () => 1],
  ['quantile_over_time', quantileOverTime],
  ['stddev_over_time', varianceOverTime(true)],
  ['stdvar_over_time', varianceOverTime(false)],
  ['mad_over_time', madOverTime],
  ['changes', changes],
  ['resets', resets],
  ['double_exponential_smoothing', doubleExponentialSmoothing],
]);

/** Range functions whose output keeps the metric name (they act like an offset). */
export const KEEPS_METRIC_NAME: ReadonlySet<string> = new Set(['last_over_time', 'first_over_time']);
