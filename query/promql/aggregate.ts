// Aggregation operators (Prometheus engine.go rangeEvalAgg, aggregation,
// aggregationK, aggregationCountValues): sum, avg, min, max, count, group,
// stddev, stdvar, quantile, topk, bottomk, limitk, limit_ratio and
// count_values, with by/without. Groups are computed once per input series;
// per-step state lives in typed arrays, and each group's members are folded
// in input order so floating-point results match Prometheus's.
import type { Labels } from '../../core/index.ts';
import { unwrapParens, type AggregateExpr, type Expr } from './ast.ts';
import { execError } from './errors.ts';
import type { Evaluator } from './evaluator.ts';
import { formatFloatF, formatFloatG } from './go-strconv.ts';
import { LabelSetIndex, METRIC_NAME, keepLabels, removeLabels, setLabel } from './label-set.ts';
import { goMax, goMin } from './instant-functions.ts';
import { avgStep, kahanInc, quantileOf } from './quantile.ts';
import { SeriesMerger } from './series-merger.ts';
import { newStepSeries, type StepSeries, type Value } from './value.ts';
import { prometheusLabelsHash } from './xxhash64.ts';

/**
 * Max, min and NaN presence of a parameter over the grid, folded like
 * Prometheus's fParams (Go math.Max/Min: a NaN poisons the fold unless an
 * infinity wins over it).
 */
function paramStats(values: Float64Array): { max: number; min: number; hasNaN: boolean } {
  let max = -Number.MAX_VALUE;
  let min = Number.MAX_VALUE;
  let hasNaN = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    max = goMax(max, v);
    min = goMin(min, v);
    if (Number.isNaN(v)) hasNaN = true;
  }
  return { max, min, hasNaN };
}

/** The labels an input series is grouped by and the output carries (Prometheus generateGroupingLabels). */
function grouper(grouping: readonly string[], without: boolean): (l: Labels) => Labels {
  if (without) {
    const drop = new Set([...grouping, METRIC_NAME]);
    return (l) => removeLabels(l, drop);
  }
  if (grouping.length === 0) return () => ({ names: [], values: [] });
  const keep = new Set(grouping);
  return (l) => keepLabels(l, keep);
}

interface Groups {
  labels: Labels[];
  members: number[][];
}

function groupSeries(series: readonly StepSeries[], grouping: readonly string[], without: boolean): Groups {
  const index = new LabelSetIndex();
  const members: number[][] = [];
  const groupOf = grouper(grouping, without);
  series.forEach((s, k) => {
    const id = index.idOf(groupOf(s.labels));
    if (id === members.length) members.push([]);
    (members[id] as number[]).push(k);
  });
  return { labels: index.sets, members };
}

export async function evalAggregate(ev: Evaluator, e: AggregateExpr): Promise<Value> {
  const n = ev.grid.n;
  if (e.op === 'count_values') return countValues(ev, e);
  const param = e.param && (e.op === 'topk' || e.op === 'bottomk' || e.op === 'limitk' || e.op === 'limit_ratio' || e.op === 'quantile') ? (await ev.evalScalar(e.param)).values : null;
  const input = (await ev.evalVector(e.expr)).series;
  switch (e.op) {
    case 'topk':
    case 'bottomk':
    case 'limitk':
    case 'limit_ratio':
      return { kind: 'vector', series: aggregateK(ev, e, param as Float64Array, input) };
  }
  if (e.op === 'quantile') {
    const { max, min, hasNaN } = paramStats(param as Float64Array);
    const pos = (e.param as Expr).pos;
    if (hasNaN) ev.ctx.annotations.invalidQuantile(NaN, pos);
    if (max > 1) ev.ctx.annotations.invalidQuantile(max, pos);
    if (min < 0) ev.ctx.annotations.invalidQuantile(min, pos);
  }
  const groups = groupSeries(input, e.grouping, e.without);
  const out: StepSeries[] = [];
  for (let gId = 0; gId < groups.labels.length; gId++) {
    const res = newStepSeries(groups.labels[gId] as Labels, n);
    aggregateGroup(e.op, (groups.members[gId] as number[]).map((k) => input[k] as StepSeries), res, param, n);
    out.push(res);
  }
  return { kind: 'vector', series: out };
}

/** Folds one group's members into res, step by step. */
function aggregateGroup(op: AggregateExpr['op'], members: readonly StepSeries[], res: StepSeries, param: Float64Array | null, n: number): void {
  const val = res.values;
  const seen = res.present;
  switch (op) {
    case 'sum': {
      const c = new Float64Array(n);
      for (const m of members) {
        for (let i = 0; i < n; i++) {
          if (!m.present[i]) continue;
          const f = m.values[i] as number;
          if (!seen[i]) {
            seen[i] = 1;
            val[i] = f;
            continue;
          }
          const [s, cc] = kahanInc(f, val[i] as number, c[i] as number);
          val[i] = s;
          c[i] = cc;
        }
      }
      for (let i = 0; i < n; i++) if (seen[i]) val[i] = (val[i] as number) + (c[i] as number);
      return;
    }
    case 'avg': {
      // Direct mean with Kahan summation until the sum would overflow, then
      // an incremental mean (see Prometheus aggregation(), prometheus#16714).
      const c = new Float64Array(n);
      const mean = new Float64Array(n);
      const count = new Float64Array(n);
      const incremental = new Uint8Array(n);
      for (const m of members) {
        for (let i = 0; i < n; i++) {
          if (!m.present[i]) continue;
          const f = m.values[i] as number;
          if (!seen[i]) {
            seen[i] = 1;
            val[i] = f;
            mean[i] = f;
            count[i] = 1;
            continue;
          }
          avgStep(i, f, val, c, mean, count, incremental);
        }
      }
      for (let i = 0; i < n; i++) {
        if (!seen[i]) continue;
        const cnt = count[i] as number;
        val[i] = incremental[i] ? (mean[i] as number) + (c[i] as number) : (val[i] as number) / cnt + (c[i] as number) / cnt;
      }
      return;
    }
    case 'count':
    case 'group':
      for (const m of members) {
        for (let i = 0; i < n; i++) {
          if (!m.present[i]) continue;
          if (!seen[i]) {
            seen[i] = 1;
            val[i] = 1;
          } else if (op === 'count') val[i] = (val[i] as number) + 1;
        }
      }
      return;
    case 'min':
    case 'max': {
      const isMax = op === 'max';
      for (const m of members) {
        for (let i = 0; i < n; i++) {
          if (!m.present[i]) continue;
          const f = m.values[i] as number;
          if (!seen[i]) {
            seen[i] = 1;
            val[i] = f;
            continue;
          }
          const cur = val[i] as number;
          // A NaN so far is replaced by any later value.
          if ((isMax ? cur < f : cur > f) || Number.isNaN(cur)) val[i] = f;
        }
      }
      return;
    }
    case 'stddev':
    case 'stdvar': {
      // Welford's online variance, as Prometheus; a NaN or Inf first value poisons the group.
      const mean = new Float64Array(n);
      const count = new Float64Array(n);
      for (const m of members) {
        for (let i = 0; i < n; i++) {
          if (!m.present[i]) continue;
          const f = m.values[i] as number;
          if (!seen[i]) {
            seen[i] = 1;
            val[i] = Number.isFinite(f) ? 0 : NaN;
            mean[i] = f;
            count[i] = 1;
            continue;
          }
          const cnt = (count[i] as number) + 1;
          count[i] = cnt;
          const delta = f - (mean[i] as number);
          mean[i] = (mean[i] as number) + delta / cnt;
          val[i] = (val[i] as number) + delta * (f - (mean[i] as number));
        }
      }
      for (let i = 0; i < n; i++) {
        if (!seen[i]) continue;
        const v = (val[i] as number) / (count[i] as number);
        val[i] = op === 'stddev' ? Math.sqrt(v) : v;
      }
      return;
    }
    case 'quantile': {
      const buf: number[] = [];
      for (let i = 0; i < n; i++) {
        buf.length = 0;
        for (const m of members) if (m.present[i]) buf.push(m.values[i] as number);
        if (buf.length === 0) continue;
        seen[i] = 1;
        val[i] = quantileOf((param as Float64Array)[i] as number, buf);
      }
      return;
    }
    default:
      throw new Error(`internal: aggregation ${op}`);
  }
}

// ---- topk, bottomk, limitk, limit_ratio: Go container/heap, so ties resolve as in Prometheus ----

interface HeapItem {
  series: number;
  value: number;
}

type Less = (a: HeapItem, b: HeapItem) => boolean;
// vectorByValueHeap: NaN is smallest. vectorByReverseValueHeap: NaN is largest-first.
const byValue: Less = (a, b) => Number.isNaN(a.value) || a.value < b.value;
const byReverseValue: Less = (a, b) => Number.isNaN(a.value) || a.value > b.value;

function heapUp(h: HeapItem[], j: number, less: Less): void {
  for (;;) {
    const i = Math.trunc((j - 1) / 2);
    if (i === j || !less(h[j] as HeapItem, h[i] as HeapItem)) break;
    [h[i], h[j]] = [h[j] as HeapItem, h[i] as HeapItem];
    j = i;
  }
}

function heapDown(h: HeapItem[], i0: number, n: number, less: Less): boolean {
  let i = i0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && less(h[j2] as HeapItem, h[j1] as HeapItem)) j = j2;
    if (!less(h[j] as HeapItem, h[i] as HeapItem)) break;
    [h[i], h[j]] = [h[j] as HeapItem, h[i] as HeapItem];
    i = j;
  }
  return i > i0;
}

function heapPush(h: HeapItem[], x: HeapItem, less: Less): void {
  h.push(x);
  heapUp(h, h.length - 1, less);
}

function heapFix(h: HeapItem[], i: number, less: Less): void {
  if (!heapDown(h, i, h.length, less)) heapUp(h, i, less);
}

const MAX_INT64 = 9223372036854775807;
const MIN_INT64 = -9223372036854775808;

function aggregateK(ev: Evaluator, e: AggregateExpr, param: Float64Array, input: readonly StepSeries[]): StepSeries[] {
  const n = ev.grid.n;
  const op = e.op;
  const { max, min, hasNaN } = paramStats(param);
  const empty: StepSeries[] = [];
  if (op === 'limit_ratio') {
    if (max === 0 && min === 0) return empty;
    if (hasNaN) throw execError('Ratio value is NaN');
    const pos = (e.param as Expr).pos;
    if (max > 1) ev.ctx.annotations.invalidRatio(max, 1, pos);
    if (min < -1) ev.ctx.annotations.invalidRatio(min, -1, pos);
  } else {
    if (max < 1) return empty;
    if (hasNaN) throw execError('Parameter value is NaN');
    if (min <= MIN_INT64) throw execError(`Scalar value ${formatFloatG(min)} underflows int64`);
    if (max >= MAX_INT64) throw execError(`Scalar value ${formatFloatG(max)} overflows int64`);
  }
  const groups = groupSeries(input, e.grouping, e.without);
  const groupOf = new Int32Array(input.length);
  groups.members.forEach((ms, gId) => ms.forEach((k) => (groupOf[k] = gId)));
  // limit_ratio: each series' fixed sampling offset in [0, 1) from Prometheus's label hash.
  const offsets = op === 'limit_ratio' ? input.map((s) => Number(prometheusLabelsHash(s.labels)) / 18446744073709551615) : null;
  const less = op === 'bottomk' ? byReverseValue : byValue;
  const merger = new SeriesMerger(n);
  // Instant queries keep Prometheus's output order: group by group, heap order within.
  const instantOrder: StepSeries[] = [];
  const heaps: HeapItem[][] = groups.labels.map(() => []);
  const seen = new Uint8Array(groups.labels.length);

  for (let i = 0; i < n; i++) {
    const p = param[i] as number;
    let k = 0;
    let r = 0;
    if (op === 'limit_ratio') {
      if (p === 0) continue;
      r = Math.max(-1, Math.min(1, p));
    } else {
      k = Math.min(Math.trunc(p), input.length);
      if (k < 1) continue;
    }
    seen.fill(0);
    for (const h of heaps) h.length = 0;
    for (let si = 0; si < input.length; si++) {
      const s = input[si] as StepSeries;
      if (!s.present[i]) continue;
      const gId = groupOf[si] as number;
      const h = heaps[gId] as HeapItem[];
      const item: HeapItem = { series: si, value: s.values[i] as number };
      if (op === 'limit_ratio') {
        const off = (offsets as number[])[si] as number;
        seen[gId] = 1;
        if ((r >= 0 && off < r) || (r < 0 && off >= 1 + r)) heapPush(h, item, less);
        continue;
      }
      if (!seen[gId]) {
        seen[gId] = 1;
        h.push(item);
        continue;
      }
      if (op === 'limitk') {
        if (h.length < k) heapPush(h, item, less);
        continue;
      }
      const top = h[0] as HeapItem;
      if (h.length < k) heapPush(h, item, less);
      else if (op === 'topk' ? top.value < item.value || (Number.isNaN(top.value) && !Number.isNaN(item.value)) : top.value > item.value || (Number.isNaN(top.value) && !Number.isNaN(item.value))) {
        h[0] = item;
        if (k > 1) heapFix(h, 0, less);
      }
    }
    for (let gId = 0; gId < heaps.length; gId++) {
      if (!seen[gId]) continue;
      let h = heaps[gId] as HeapItem[];
      if (op === 'topk' || op === 'bottomk') {
        // sort.Reverse of the heap order: topk descending, bottomk ascending, NaN last.
        h = h.slice().sort((a, b) => (less(a, b) ? 1 : less(b, a) ? -1 : 0));
      }
      for (const it of h) {
        const src = input[it.series] as StepSeries;
        const out = merger.get(src.labels);
        if (n === 1 && !out.present.includes(1)) instantOrder.push(out);
        SeriesMerger.set(out, i, it.value);
      }
    }
  }
  return n === 1 ? instantOrder : merger.result();
}

async function countValues(ev: Evaluator, e: AggregateExpr): Promise<Value> {
  const n = ev.grid.n;
  const labelName = (unwrapParens(e.param as Expr) as Expr & { type: 'StringLiteral' }).value;
  if (labelName === '') throw execError(`invalid label name ${JSON.stringify(labelName)}`);
  const input = (await ev.evalVector(e.expr)).series;
  const grouping = e.without ? e.grouping : [...e.grouping, labelName];
  const merger = new SeriesMerger(n);
  const groupOf = grouper(grouping, e.without);
  for (let i = 0; i < n; i++) {
    const counts = new Map<StepSeries, number>();
    for (const s of input) {
      if (!s.present[i]) continue;
      const withValue = setLabel(s.labels, labelName, formatFloatF(s.values[i] as number));
      const out = merger.get(groupOf(withValue));
      counts.set(out, (counts.get(out) ?? 0) + 1);
    }
    for (const [out, c] of counts) SeriesMerger.set(out, i, c);
  }
  return { kind: 'vector', series: merger.result() };
}
