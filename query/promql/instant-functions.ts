// Functions over instant vectors and scalars (Prometheus promql/functions.go):
// math and trigonometry, rounding and clamping, date parts, label
// manipulation, sorting, absent, vector/scalar, and histogram_quantile /
// histogram_fraction over classic `le` buckets. Functions that transform
// sample values drop the metric name, as Prometheus 3.x does without the
// delayed-name-removal feature.
import type { Labels } from '../../core/index.ts';
import { unwrapParens, type Call, type Expr, type StringLiteral } from './ast.ts';
import { execError } from './errors.ts';
import type { Evaluator } from './evaluator.ts';
import { formatFloatG, parseGoFloat } from './go-strconv.ts';
import { LabelSetIndex, METRIC_NAME, compareLabels, dropMetricName, getLabel, removeLabels, setLabel } from './label-set.ts';
import { bucketFraction, bucketQuantile, type Bucket } from './quantile.ts';
import { compileAnchored, expandTemplate } from './regex.ts';
import { SeriesMerger } from './series-merger.ts';
import { gridTime, type StepSeries, type Value, type VectorValue } from './value.ts';

type MathFn = (x: number) => number;

/** Go math.Max / math.Min: an infinity wins over NaN. */
export function goMax(a: number, b: number): number {
  if (a === Infinity || b === Infinity) return Infinity;
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (a === 0 && b === 0) return Object.is(a, -0) ? b : a;
  return a > b ? a : b;
}

export function goMin(a: number, b: number): number {
  if (a === -Infinity || b === -Infinity) return -Infinity;
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (a === 0 && b === 0) return Object.is(a, -0) ? a : b;
  return a < b ? a : b;
}

const MATH: ReadonlyMap<string, MathFn> = new Map<string, MathFn>([
  ['abs', Math.abs],
  ['ceil', Math.ceil],
  ['floor', Math.floor],
  ['exp', Math.exp],
  ['sqrt', Math.sqrt],
  ['ln', Math.log],
  ['log2', Math.log2],
  ['log10', Math.log10],
  ['sin', Math.sin],
  ['cos', Math.cos],
  ['tan', Math.tan],
  ['asin', Math.asin],
  ['acos', Math.acos],
  ['atan', Math.atan],
  ['sinh', Math.sinh],
  ['cosh', Math.cosh],
  ['tanh', Math.tanh],
  ['asinh', Math.asinh],
  ['acosh', Math.acosh],
  ['atanh', Math.atanh],
  ['rad', (v) => (v * Math.PI) / 180],
  ['deg', (v) => (v * 180) / Math.PI],
  ['sgn', (v) => (v < 0 ? -1 : v > 0 ? 1 : v)],
]);

// ---- dates, from unix seconds, in UTC, without Date's range limits ----

/** Civil date of a day count since 1970-01-01 (H. Hinnant's days_from_civil inverse). */
function civilFromDays(z: number): { y: number; m: number; d: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: m <= 2 ? y + 1 : y, m, d };
}

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

type DateFn = (unixSeconds: number) => number;

function datePart(part: (secs: number, days: number) => number): DateFn {
  return (s) => {
    // Go: time.Unix(int64(f), 0) truncates toward zero.
    if (!Number.isFinite(s) || Math.abs(s) >= 9.2e18) return NaN;
    const secs = Math.trunc(s);
    const days = Math.floor(secs / 86400);
    return part(secs, days);
  };
}

const DATE: ReadonlyMap<string, DateFn> = new Map<string, DateFn>([
  ['year', datePart((_s, d) => civilFromDays(d).y)],
  ['month', datePart((_s, d) => civilFromDays(d).m)],
  ['day_of_month', datePart((_s, d) => civilFromDays(d).d)],
  [
    'day_of_year',
    datePart((_s, d) => {
      const c = civilFromDays(d);
      return (DAYS_BEFORE_MONTH[c.m - 1] as number) + c.d + (c.m > 2 && isLeap(c.y) ? 1 : 0);
    }),
  ],
  ['day_of_week', datePart((_s, d) => (((d % 7) + 11) % 7))],
  [
    'days_in_month',
    datePart((_s, d) => {
      const c = civilFromDays(d);
      if (c.m === 2) return isLeap(c.y) ? 29 : 28;
      return [4, 6, 9, 11].includes(c.m) ? 30 : 31;
    }),
  ],
  ['hour', datePart((s) => Math.floor((((s % 86400) + 86400) % 86400) / 3600))],
  ['minute', datePart((s) => Math.floor((((s % 3600) + 3600) % 3600) / 60))],
]);

/** Labels absent() and absent_over_time() give their output (createLabelsForAbsentFunction). */
export function labelsForAbsent(arg: Expr): Labels {
  let matchers;
  if (arg.type === 'VectorSelector') matchers = arg.matchers;
  else if (arg.type === 'MatrixSelector') matchers = arg.selector.matchers;
  else return { names: [], values: [] };
  // Only labels matched once with "=" survive (absent(x{job="a",job="b"}) drops job).
  const seen = new Set<string>();
  let l: Labels = { names: [], values: [] };
  for (const m of matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !seen.has(m.name)) {
      l = setLabel(l, m.name, m.value);
      seen.add(m.name);
    } else l = setLabel(l, m.name, '');
  }
  return l;
}

function stringArg(e: Expr): string {
  return (unwrapParens(e) as StringLiteral).value;
}

/** Label names accepted by Prometheus's UTF-8 validation: non-empty. */
function isValidLabelName(name: string): boolean {
  return name.length > 0 && !/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
}

/** Maps the present values of every series, dropping the metric name. */
function mapValues(ev: Evaluator, v: VectorValue, f: (x: number, step: number) => number): VectorValue {
  const merger = new SeriesMerger(ev.grid.n);
  for (const s of v.series) {
    const values = new Float64Array(s.values.length);
    for (let i = 0; i < values.length; i++) if (s.present[i]) values[i] = f(s.values[i] as number, i);
    merger.add({ labels: dropMetricName(s.labels), values, present: s.present });
  }
  return { kind: 'vector', series: merger.result() };
}

/** Go facette/natsort.Compare as used by sort_by_label: true when a sorts before b. */
export function natLess(a: string, b: string): boolean {
  let pa = 0;
  let pb = 0;
  const la = a.length;
  const lb = b.length;
  const isD = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
  for (;;) {
    if (la <= pa) return lb > pb;
    if (lb <= pb) return false;
    let av = a[pa] as string;
    let bv = b[pb] as string;
    if (isD(av) && isD(bv)) {
      let na = 1;
      let nb = 1;
      for (;;) {
        if (pa + na >= la) break;
        const x = a[pa + na] as string;
        if (av === '0') {
          pa++;
          av = x;
          continue;
        }
        if (isD(x)) na++;
        else break;
      }
      for (;;) {
        if (pb + nb >= lb) break;
        const x = b[pb + nb] as string;
        if (bv === '0') {
          pb++;
          bv = x;
          continue;
        }
        if (isD(x)) nb++;
        else break;
      }
      if (nb > na) return true;
      if (na > nb) return false;
      const sa = a.slice(pa, pa + na);
      const sb = b.slice(pb, pb + nb);
      if (sa < sb) return true;
      if (sa > sb) return false;
      pa += na;
      pb += nb;
      continue;
    }
    if (av === bv) {
      pa++;
      pb++;
      continue;
    }
    return av < bv;
  }
}

/** Classic histograms: series grouped by their labels without `le`, with the parsed bound. */
interface BucketGroups {
  labels: Labels[];
  /** per input series: group id, or -1 for a bad `le` */
  groupOf: Int32Array;
  upper: Float64Array;
}

function bucketGroups(ev: Evaluator, v: VectorValue, argPos: Expr['pos']): BucketGroups {
  const index = new LabelSetIndex();
  const groupOf = new Int32Array(v.series.length);
  const upper = new Float64Array(v.series.length);
  // Grouped with the metric name (as Prometheus does); the output drops it.
  const without = new Set(['le']);
  v.series.forEach((s, i) => {
    const le = getLabel(s.labels, 'le');
    const ub = parseGoFloat(le);
    if (ub === null) {
      groupOf[i] = -1;
      // Without delayed name removal Prometheus leaves the metric name out of this warning.
      ev.ctx.annotations.badBucketLabel('', le, argPos);
      return;
    }
    upper[i] = ub;
    groupOf[i] = index.idOf(removeLabels(s.labels, without));
  });
  return { labels: index.sets, groupOf, upper };
}

function forEachGroupStep(ev: Evaluator, v: VectorValue, groups: BucketGroups, fn: (group: number, step: number, buckets: Bucket[]) => void): void {
  const byGroup: number[][] = groups.labels.map(() => []);
  groups.groupOf.forEach((gId, i) => {
    if (gId >= 0) (byGroup[gId] as number[]).push(i);
  });
  for (let step = 0; step < ev.grid.n; step++) {
    for (let gId = 0; gId < byGroup.length; gId++) {
      const buckets: Bucket[] = [];
      for (const si of byGroup[gId] as number[]) {
        const s = v.series[si] as StepSeries;
        if (s.present[step]) buckets.push({ upperBound: groups.upper[si] as number, count: s.values[step] as number });
      }
      if (buckets.length > 0) fn(gId, step, buckets);
    }
  }
}

/** Go labels.FormatOpenMetricsFloat (histogram_quantiles' quantile label). */
function formatOpenMetricsFloat(f: number): string {
  const s = formatFloatG(f);
  if (Number.isNaN(f) || !Number.isFinite(f) || /[e.]/.test(s)) return s;
  return s + '.0';
}

export async function evalInstantFunction(ev: Evaluator, e: Call): Promise<Value> {
  const name = e.func.name;
  const g = ev.grid;
  const args = e.args;

  const math = MATH.get(name);
  if (math) return mapValues(ev, await ev.evalVector(args[0] as Expr), math);

  const date = DATE.get(name);
  if (date) {
    if (args.length === 0) {
      const s = ev.newSeries({ names: [], values: [] });
      for (let i = 0; i < g.n; i++) {
        // Go: time.Unix(enh.Ts/1000, 0), integer division.
        s.values[i] = date(Math.trunc(gridTime(g, i) / 1000));
        s.present[i] = 1;
      }
      return { kind: 'vector', series: [s] };
    }
    return mapValues(ev, await ev.evalVector(args[0] as Expr), date);
  }

  switch (name) {
    case 'vector': {
      const sc = await ev.evalScalar(args[0] as Expr);
      const s = ev.newSeries({ names: [], values: [] });
      s.values.set(sc.values);
      s.present.fill(1);
      return { kind: 'vector', series: [s] };
    }
    case 'scalar': {
      const v = await ev.evalVector(args[0] as Expr);
      const values = new Float64Array(g.n);
      for (let i = 0; i < g.n; i++) {
        let found = 0;
        let val = NaN;
        for (const s of v.series) {
          if (!s.present[i]) continue;
          found++;
          val = s.values[i] as number;
          if (found > 1) break;
        }
        values[i] = found === 1 ? val : NaN;
      }
      return { kind: 'scalar', values };
    }
    case 'absent': {
      const v = await ev.evalVector(args[0] as Expr);
      const s = ev.newSeries(labelsForAbsent(unwrapParens(args[0] as Expr)));
      let any = false;
      for (let i = 0; i < g.n; i++) {
        if (v.series.some((x) => x.present[i])) continue;
        s.values[i] = 1;
        s.present[i] = 1;
        any = true;
      }
      return { kind: 'vector', series: any ? [s] : [] };
    }
    case 'round': {
      const v = await ev.evalVector(args[0] as Expr);
      const to = args[1] ? (await ev.evalScalar(args[1])).values : null;
      return mapValues(ev, v, (x, i) => {
        // Multiplying by the inverse is more accurate (Prometheus funcRound); ties round up.
        const inv = 1 / (to ? (to[i] as number) : 1);
        return Math.floor(x * inv + 0.5) / inv;
      });
    }
    case 'clamp':
    case 'clamp_min':
    case 'clamp_max': {
      const v = await ev.evalVector(args[0] as Expr);
      const a1 = (await ev.evalScalar(args[1] as Expr)).values;
      const a2 = args[2] ? (await ev.evalScalar(args[2])).values : null;
      const lo = (i: number): number => (name === 'clamp_max' ? -Infinity : (a1[i] as number));
      const hi = (i: number): number => (name === 'clamp' ? ((a2 as Float64Array)[i] as number) : name === 'clamp_max' ? (a1[i] as number) : Infinity);
      const merger = new SeriesMerger(g.n);
      for (const s of v.series) {
        const values = new Float64Array(g.n);
        const present = new Uint8Array(g.n);
        for (let i = 0; i < g.n; i++) {
          // max < min yields nothing at that step.
          if (!s.present[i] || hi(i) < lo(i)) continue;
          values[i] = goMax(lo(i), goMin(hi(i), s.values[i] as number));
          present[i] = 1;
        }
        merger.add({ labels: dropMetricName(s.labels), values, present });
      }
      return { kind: 'vector', series: merger.result() };
    }
    case 'timestamp': {
      // Not over a plain selector: every sample is "at" the evaluation time.
      const v = await ev.evalVector(args[0] as Expr);
      return mapValues(ev, v, (_x, i) => gridTime(g, i) / 1000);
    }
    case 'sort':
    case 'sort_desc':
    case 'sort_by_label':
    case 'sort_by_label_desc': {
      const v = await ev.evalVector(args[0] as Expr);
      if (g.n > 1) {
        ev.ctx.annotations.sortInRangeQuery(e.pos);
        return v;
      }
      const series = v.series.slice();
      if (name === 'sort' || name === 'sort_desc') {
        const sign = name === 'sort' ? 1 : -1;
        // NaN sorts last in both directions.
        series.sort((a, b) => {
          const x = a.values[0] as number;
          const y = b.values[0] as number;
          if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
          if (Number.isNaN(y)) return -1;
          return x === y ? 0 : x < y ? -sign : sign;
        });
      } else {
        const names = args.slice(1).map(stringArg);
        const desc = name === 'sort_by_label_desc';
        series.sort((a, b) => {
          for (const l of names) {
            const x = getLabel(a.labels, l);
            const y = getLabel(b.labels, l);
            if (x === y) continue;
            const r = natLess(x, y) ? -1 : 1;
            return desc ? -r : r;
          }
          const c = compareLabels(a.labels, b.labels);
          return desc ? -c : c;
        });
      }
      return { kind: 'vector', series };
    }
    case 'label_replace': {
      const dst = stringArg(args[1] as Expr);
      const repl = stringArg(args[2] as Expr);
      const src = stringArg(args[3] as Expr);
      const regexStr = stringArg(args[4] as Expr);
      let re: RegExp;
      try {
        re = compileAnchored(regexStr);
      } catch {
        throw execError(`invalid regular expression in label_replace(): ${regexStr}`);
      }
      if (!isValidLabelName(dst)) throw execError(`invalid destination label name in label_replace(): ${dst}`);
      const v = await ev.evalVector(args[0] as Expr);
      const merger = new SeriesMerger(g.n);
      for (const s of v.series) {
        const m = re.exec(getLabel(s.labels, src));
        if (!m) {
          merger.add(s);
          continue;
        }
        merger.add({ labels: setLabel(s.labels, dst, expandTemplate(repl, m)), values: s.values, present: s.present });
      }
      return { kind: 'vector', series: merger.result() };
    }
    case 'label_join': {
      const dst = stringArg(args[1] as Expr);
      const sep = stringArg(args[2] as Expr);
      const srcs = args.slice(3).map(stringArg);
      for (const s of srcs) if (!isValidLabelName(s)) throw execError(`invalid source label name in label_join(): ${s}`);
      if (!isValidLabelName(dst)) throw execError(`invalid destination label name in label_join(): ${dst}`);
      const v = await ev.evalVector(args[0] as Expr);
      const merger = new SeriesMerger(g.n);
      for (const s of v.series) {
        const joined = srcs.map((l) => getLabel(s.labels, l)).join(sep);
        merger.add({ labels: setLabel(s.labels, dst, joined), values: s.values, present: s.present });
      }
      return { kind: 'vector', series: merger.result() };
    }
    case 'histogram_quantile': {
      const qs = (await ev.evalScalar(args[0] as Expr)).values;
      const v = await ev.evalVector(args[1] as Expr);
      const groups = bucketGroups(ev, v, (args[1] as Expr).pos);
      for (let i = 0; i < g.n; i++) {
        const q = qs[i] as number;
        if (Number.isNaN(q) || q < 0 || q > 1) ev.ctx.annotations.invalidQuantile(q, (args[0] as Expr).pos);
      }
      const merger = new SeriesMerger(g.n);
      const outOf = groups.labels.map((l) => merger.get(dropMetricName(l)));
      forEachGroupStep(ev, v, groups, (gId, step, buckets) => {
        const { value, fix } = bucketQuantile(qs[step] as number, buckets);
        if (fix?.forced) ev.ctx.annotations.forcedMonotonicity('', (args[1] as Expr).pos, gridTime(g, step), fix.minBucket, fix.maxBucket, fix.maxDiff);
        SeriesMerger.set(outOf[gId] as StepSeries, step, value);
      });
      return { kind: 'vector', series: merger.result() };
    }
    case 'histogram_quantiles': {
      const v = await ev.evalVector(args[0] as Expr);
      const label = stringArg(args[1] as Expr);
      const qArgs: Float64Array[] = [];
      for (const a of args.slice(2)) qArgs.push((await ev.evalScalar(a)).values);
      const groups = bucketGroups(ev, v, (args[0] as Expr).pos);
      const merger = new SeriesMerger(g.n);
      qArgs.forEach((qs, k) => {
        for (let i = 0; i < g.n; i++) {
          const q = qs[i] as number;
          if (Number.isNaN(q) || q < 0 || q > 1) ev.ctx.annotations.invalidQuantile(q, (args[k + 2] as Expr).pos);
        }
        forEachGroupStep(ev, v, groups, (gId, step, buckets) => {
          const q = qs[step] as number;
          const { value, fix } = bucketQuantile(q, buckets);
          if (fix?.forced) ev.ctx.annotations.forcedMonotonicity('', (args[0] as Expr).pos, gridTime(g, step), fix.minBucket, fix.maxBucket, fix.maxDiff);
          const s = merger.get(setLabel(dropMetricName(groups.labels[gId] as Labels), label, formatOpenMetricsFloat(q)));
          SeriesMerger.set(s, step, value);
        });
      });
      return { kind: 'vector', series: merger.result() };
    }
    case 'histogram_fraction': {
      const lower = (await ev.evalScalar(args[0] as Expr)).values;
      const upper = (await ev.evalScalar(args[1] as Expr)).values;
      const v = await ev.evalVector(args[2] as Expr);
      const groups = bucketGroups(ev, v, (args[2] as Expr).pos);
      const merger = new SeriesMerger(g.n);
      const outOf = groups.labels.map((l) => merger.get(dropMetricName(l)));
      forEachGroupStep(ev, v, groups, (gId, step, buckets) => {
        SeriesMerger.set(outOf[gId] as StepSeries, step, bucketFraction(lower[step] as number, upper[step] as number, buckets));
      });
      return { kind: 'vector', series: merger.result() };
    }
    case 'histogram_count':
    case 'histogram_sum':
    case 'histogram_avg':
    case 'histogram_stddev':
    case 'histogram_stdvar': {
      // Native-histogram functions ignore float samples; storage holds only floats.
      await ev.evalVector(args[0] as Expr);
      return { kind: 'vector', series: [] };
    }
  }
  throw execError(`function ${JSON.stringify(name)} is not supported by this engine`);
}
