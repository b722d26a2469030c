// Step-aligned series and the vector operations LogQL shares with PromQL:
// aggregations (sum by, topk, ...), binary operators with vector matching,
// label_replace. Semantics follow Prometheus, which Loki mirrors:
// https://prometheus.io/docs/prometheus/latest/querying/operators/ and
// https://grafana.com/docs/loki/latest/query/metric_queries/
import { FleetwatchError } from '../../core/index.ts';
import type { BinaryOp, Grouping, VectorMatching, VectorOp } from './ast.ts';
import { COMPARISON_OPS } from './ast.ts';
import { labelsKey } from './pipeline.ts';
import { compileRegex, expandTemplate } from './regex.ts';

export type LabelPairs = [string, string][];

/** One series over the query's steps; `present[i]` says whether step i has a value. */
export interface Series {
  readonly labels: LabelPairs;
  readonly key: string;
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

export interface Matrix {
  readonly steps: number;
  readonly series: Series[];
}

export function keyOf(labels: LabelPairs): string {
  return labelsKey(
    labels.map((l) => l[0]),
    labels.map((l) => l[1]),
  );
}

export function sortPairs(labels: LabelPairs): LabelPairs {
  return labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function newSeries(labels: LabelPairs, steps: number): Series {
  const l = sortPairs(labels.filter((x) => x[1] !== ''));
  return { labels: l, key: keyOf(l), values: new Float64Array(steps), present: new Uint8Array(steps) };
}

/** Prometheus' grouping: `by` keeps the listed labels, `without` drops them. */
export function groupLabels(labels: LabelPairs, g: Grouping | undefined): LabelPairs {
  if (!g) return [];
  if (g.without) return labels.filter((l) => !g.labels.includes(l[0]));
  return labels.filter((l) => g.labels.includes(l[0]));
}

// ---------- aggregation ----------

export function aggregate(m: Matrix, op: VectorOp, param: number | undefined, grouping: Grouping | undefined): Matrix {
  const steps = m.steps;
  if (op === 'sort' || op === 'sort_desc') return m; // ordering is applied to instant results only
  const groups = new Map<string, { labels: LabelPairs; members: Series[] }>();
  for (const s of m.series) {
    const gl = groupLabels(s.labels, grouping ?? { without: false, labels: [] });
    const k = keyOf(gl);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { labels: gl, members: [] }));
    g.members.push(s);
  }
  if (op === 'topk' || op === 'bottomk') {
    const k = param ?? 1;
    const out = new Map<Series, Series>();
    for (const g of groups.values()) {
      for (let i = 0; i < steps; i++) {
        const cand = g.members.filter((s) => s.present[i]);
        if (cand.length === 0) continue;
        // NaN sorts last for topk and bottomk alike (Prometheus)
        cand.sort((a, b) => {
          const x = a.values[i] as number;
          const y = b.values[i] as number;
          if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
          if (Number.isNaN(y)) return -1;
          return op === 'topk' ? y - x : x - y;
        });
        for (const s of cand.slice(0, k)) {
          let o = out.get(s);
          if (!o) out.set(s, (o = { labels: s.labels, key: s.key, values: new Float64Array(steps), present: new Uint8Array(steps) }));
          o.values[i] = s.values[i] as number;
          o.present[i] = 1;
        }
      }
    }
    return { steps, series: [...out.values()] };
  }
  const series: Series[] = [];
  for (const g of groups.values()) {
    const o = newSeries(g.labels, steps);
    for (let i = 0; i < steps; i++) {
      let n = 0;
      let sum = 0;
      let mean = 0;
      let m2 = 0;
      let min = NaN;
      let max = NaN;
      for (const s of g.members) {
        if (!s.present[i]) continue;
        const v = s.values[i] as number;
        n++;
        sum += v;
        const d = v - mean;
        mean += d / n;
        m2 += d * (v - mean);
        if (n === 1 || v < min || Number.isNaN(min)) min = v;
        if (n === 1 || v > max || Number.isNaN(max)) max = v;
      }
      if (n === 0) continue;
      let v: number;
      switch (op) {
        case 'sum':
          v = sum;
          break;
        case 'avg':
          v = mean;
          break;
        case 'count':
          v = n;
          break;
        case 'min':
          v = min;
          break;
        case 'max':
          v = max;
          break;
        case 'stdvar':
          v = m2 / n;
          break;
        case 'stddev':
          v = Math.sqrt(m2 / n);
          break;
        default:
          v = NaN;
      }
      o.values[i] = v;
      o.present[i] = 1;
    }
    series.push(o);
  }
  return { steps, series };
}

// ---------- binary operators ----------

function arith(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return Math.pow(a, b);
    default:
      return NaN;
  }
}

function compare(op: BinaryOp, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    default:
      return false;
  }
}

/** vector op scalar (or scalar op vector when scalarLeft) */
export function vectorScalar(m: Matrix, scalar: number, op: BinaryOp, scalarLeft: boolean, returnBool: boolean): Matrix {
  const steps = m.steps;
  const out: Series[] = [];
  const isCmp = COMPARISON_OPS.has(op);
  for (const s of m.series) {
    const o: Series = { labels: s.labels, key: s.key, values: new Float64Array(steps), present: new Uint8Array(steps) };
    let any = false;
    for (let i = 0; i < steps; i++) {
      if (!s.present[i]) continue;
      const v = s.values[i] as number;
      const a = scalarLeft ? scalar : v;
      const b = scalarLeft ? v : scalar;
      if (isCmp) {
        const ok = compare(op, a, b);
        if (returnBool) {
          o.values[i] = ok ? 1 : 0;
        } else {
          if (!ok) continue;
          o.values[i] = v;
        }
      } else o.values[i] = arith(op, a, b);
      o.present[i] = 1;
      any = true;
    }
    if (any || returnBool) out.push(o);
  }
  return { steps, series: out };
}

function signature(labels: LabelPairs, matching: VectorMatching | undefined): string {
  if (!matching) return keyOf(labels);
  const l = matching.on ? labels.filter((x) => matching.labels.includes(x[0])) : labels.filter((x) => !matching.labels.includes(x[0]));
  return keyOf(l);
}

function resultLabels(l: LabelPairs, r: LabelPairs, matching: VectorMatching | undefined): LabelPairs {
  if (!matching || matching.card === 'one-to-one') {
    if (!matching) return l;
    return matching.on ? l.filter((x) => matching.labels.includes(x[0])) : l.filter((x) => !matching.labels.includes(x[0]));
  }
  // group_left/right: the "many" side's labels plus the included labels of the "one" side
  const out = new Map(l);
  for (const name of matching.include) {
    const v = r.find((x) => x[0] === name)?.[1];
    if (v !== undefined && v !== '') out.set(name, v);
    else out.delete(name);
  }
  return [...out];
}

export function vectorVector(lhs: Matrix, rhs: Matrix, op: BinaryOp, returnBool: boolean, matching: VectorMatching | undefined): Matrix {
  const steps = lhs.steps;
  if (op === 'and' || op === 'or' || op === 'unless') return setOp(lhs, rhs, op, matching);
  const card = matching?.card ?? 'one-to-one';
  // many-to-one with group_right swaps the sides
  const swap = card === 'one-to-many';
  const many = swap ? rhs : lhs;
  const one = swap ? lhs : rhs;
  const isCmp = COMPARISON_OPS.has(op);
  const out = new Map<string, Series>();
  const oneSig = one.series.map((s) => signature(s.labels, matching));
  const manySig = many.series.map((s) => signature(s.labels, matching));
  for (let i = 0; i < steps; i++) {
    const bySig = new Map<string, Series>();
    one.series.forEach((s, j) => {
      if (!s.present[i]) return;
      const sig = oneSig[j] as string;
      if (bySig.has(sig)) {
        throw new FleetwatchError('FW_ERR_QUERY_EXECUTION', `found duplicate series for the match group ${sig} on the ${swap ? 'left' : 'right'} hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side`);
      }
      bySig.set(sig, s);
    });
    const seenOneToOne = new Set<string>();
    many.series.forEach((s, j) => {
      if (!s.present[i]) return;
      const sig = manySig[j] as string;
      const o = bySig.get(sig);
      if (!o) return;
      if (card === 'one-to-one') {
        if (seenOneToOne.has(sig)) throw new FleetwatchError('FW_ERR_QUERY_EXECUTION', `found duplicate series for the match group ${sig} on the left hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side`);
        seenOneToOne.add(sig);
      }
      const lv = swap ? (o.values[i] as number) : (s.values[i] as number);
      const rv = swap ? (s.values[i] as number) : (o.values[i] as number);
      let v: number;
      if (isCmp) {
        const ok = compare(op, lv, rv);
        if (!returnBool && !ok) return;
        v = returnBool ? (ok ? 1 : 0) : lv;
      } else v = arith(op, lv, rv);
      const labels = resultLabels(s.labels, o.labels, matching);
      const k = keyOf(sortPairs([...labels]));
      let r = out.get(k);
      if (!r) out.set(k, (r = newSeries([...labels], steps)));
      if (r.present[i]) throw new FleetwatchError('FW_ERR_QUERY_EXECUTION', 'vector cannot contain metrics with the same labelset');
      r.values[i] = v;
      r.present[i] = 1;
    });
  }
  return { steps, series: [...out.values()] };
}

function setOp(lhs: Matrix, rhs: Matrix, op: 'and' | 'or' | 'unless', matching: VectorMatching | undefined): Matrix {
  const steps = lhs.steps;
  const rSig = rhs.series.map((s) => signature(s.labels, matching));
  const lSig = lhs.series.map((s) => signature(s.labels, matching));
  const pick = (s: Series): Series => ({ labels: s.labels, key: s.key, values: new Float64Array(steps), present: new Uint8Array(steps) });
  const outL = lhs.series.map(pick);
  const outR = rhs.series.map(pick);
  for (let i = 0; i < steps; i++) {
    const rightSigs = new Set<string>();
    rhs.series.forEach((s, j) => s.present[i] && rightSigs.add(rSig[j] as string));
    const leftSigs = new Set<string>();
    lhs.series.forEach((s, j) => {
      if (!s.present[i]) return;
      const sig = lSig[j] as string;
      leftSigs.add(sig);
      const keep = op === 'and' ? rightSigs.has(sig) : op === 'unless' ? !rightSigs.has(sig) : true;
      if (keep) {
        (outL[j] as Series).values[i] = s.values[i] as number;
        (outL[j] as Series).present[i] = 1;
      }
    });
    if (op === 'or') {
      rhs.series.forEach((s, j) => {
        if (!s.present[i] || leftSigs.has(rSig[j] as string)) return;
        (outR[j] as Series).values[i] = s.values[i] as number;
        (outR[j] as Series).present[i] = 1;
      });
    }
  }
  const all = op === 'or' ? [...outL, ...outR] : outL;
  return { steps, series: mergeByKey(all.filter((s) => s.present.some((x) => x === 1)), steps) };
}

/** Series with equal labels merged (a step with two values is an error). */
export function mergeByKey(series: Series[], steps: number): Series[] {
  const out = new Map<string, Series>();
  for (const s of series) {
    const o = out.get(s.key);
    if (!o) {
      out.set(s.key, s);
      continue;
    }
    for (let i = 0; i < steps; i++) {
      if (!s.present[i]) continue;
      if (o.present[i]) throw new FleetwatchError('FW_ERR_QUERY_EXECUTION', 'vector cannot contain metrics with the same labelset');
      o.values[i] = s.values[i] as number;
      o.present[i] = 1;
    }
  }
  return [...out.values()];
}

/** label_replace: regex anchored against src; $1/${name} expansion into dst. */
export function labelReplace(m: Matrix, dst: string, replacement: string, src: string, regex: string): Matrix {
  const { re, groupNames } = compileRegex(regex, { anchored: true });
  const series = m.series.map((s) => {
    const srcVal = s.labels.find((l) => l[0] === src)?.[1] ?? '';
    const match = re.exec(srcVal);
    if (!match) return s;
    const value = expandTemplate(replacement, match, groupNames);
    const labels = s.labels.filter((l) => l[0] !== dst);
    if (value !== '') labels.push([dst, value]);
    sortPairs(labels);
    return { labels, key: keyOf(labels), values: s.values, present: s.present };
  });
  return { steps: m.steps, series: mergeByKey(series, m.steps) };
}
