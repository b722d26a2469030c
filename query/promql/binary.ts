// Binary operators (Prometheus engine.go VectorBinop, VectorscalarBinop,
// VectorAnd/Or/Unless, scalarBinop): arithmetic, comparisons with and
// without `bool`, set operators, and vector matching one-to-one,
// many-to-one (group_left) and one-to-many (group_right) with on/ignoring.
// Match signatures are computed once per series; the per-step work is a
// scan over typed arrays.
import type { Labels } from '../../core/index.ts';
import { isComparisonOp, isSetOp, typeOf, type BinaryExpr, type BinaryOp, type VectorMatching } from './ast.ts';
import { execError } from './errors.ts';
import type { Evaluator } from './evaluator.ts';
import { LabelSetIndex, METRIC_NAME, dropMetricName, getLabel, keepLabels, labelsToString, removeLabels, setLabel } from './label-set.ts';
import { goPow } from './quantile.ts';
import { SeriesMerger } from './series-merger.ts';
import type { StepSeries, Value } from './value.ts';

/** Arithmetic changes what a series measures, so its name goes (changesMetricSchema). */
function changesMetricSchema(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '^' || op === '%' || op === 'atan2';
}

function isTrimOp(op: BinaryOp): boolean {
  return op === '</' || op === '>/';
}

function arith(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '^':
      return goPow(l, r);
    case '%':
      return l % r; // same special cases as Go's math.Mod
    case 'atan2':
      return Math.atan2(l, r);
    default:
      throw new Error(`internal: ${op} is not arithmetic`);
  }
}

function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '<':
      return l < r;
    case '>=':
      return l >= r;
    case '<=':
      return l <= r;
    default:
      throw new Error(`internal: ${op} is not a comparison`);
  }
}

/** Scalar op scalar; comparisons need bool and give 0/1. */
function scalarBinop(op: BinaryOp, l: number, r: number): number {
  if (isComparisonOp(op)) return compare(op, l, r) ? 1 : 0;
  return arith(op, l, r);
}

// Scratch result of one element operation; `incompatible` marks a trim of a float.
const elem = { value: 0, keep: false, incompatible: false };

/**
 * vectorElemBinop for floats: arithmetic keeps the result, comparisons keep
 * the left value if true; bucket trimming applies to native histograms only,
 * so a float pair yields nothing (and an info annotation).
 */
function elemBinop(op: BinaryOp, l: number, r: number): void {
  if (isTrimOp(op)) {
    elem.value = 0;
    elem.keep = false;
    elem.incompatible = true;
    return;
  }
  if (isComparisonOp(op)) {
    elem.value = l;
    elem.keep = compare(op, l, r);
  } else {
    elem.value = arith(op, l, r);
    elem.keep = true;
  }
}

/**
 * Labels a series is matched on: on(...) keeps those labels; ignoring(...)
 * drops them and the name. Also Prometheus's labels.MatchLabels, which names
 * the match group in error messages.
 */
export function matchSignature(m: VectorMatching): (l: Labels) => Labels {
  if (m.on) {
    const keep = new Set(m.labels);
    return (l) => keepLabels(l, keep);
  }
  const drop = new Set([...m.labels, METRIC_NAME]);
  return (l) => removeLabels(l, drop);
}

export async function evalBinary(ev: Evaluator, e: BinaryExpr): Promise<Value> {
  const lt = typeOf(e.lhs);
  const rt = typeOf(e.rhs);
  const n = ev.grid.n;
  if (lt === 'scalar' && rt === 'scalar') {
    // Prometheus scalarBinop has no trimming.
    if (isTrimOp(e.op)) throw execError(`operator ${JSON.stringify(e.op)} not allowed for Scalar operations`);
    const l = (await ev.evalScalar(e.lhs)).values;
    const r = (await ev.evalScalar(e.rhs)).values;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = scalarBinop(e.op, l[i] as number, r[i] as number);
    return { kind: 'scalar', values };
  }
  if (lt === 'vector' && rt === 'vector') {
    const lhs = (await ev.evalVector(e.lhs)).series;
    const rhs = (await ev.evalVector(e.rhs)).series;
    const m = e.matching as VectorMatching;
    if (isSetOp(e.op)) return { kind: 'vector', series: setOp(e.op, lhs, rhs, m, n) };
    elem.incompatible = false;
    const out = vectorBinop(e, lhs, rhs, m, n);
    if (elem.incompatible) ev.ctx.annotations.info(`incompatible sample types encountered for binary operator ${JSON.stringify(e.op)}: float ${e.op} float`, e.pos);
    return { kind: 'vector', series: out };
  }
  // One side is a scalar.
  const swap = lt === 'scalar';
  let scalar: Float64Array;
  let series: StepSeries[];
  if (swap) {
    scalar = (await ev.evalScalar(e.lhs)).values;
    series = (await ev.evalVector(e.rhs)).series;
  } else {
    series = (await ev.evalVector(e.lhs)).series;
    scalar = (await ev.evalScalar(e.rhs)).values;
  }
  elem.incompatible = false;
  const out = vectorScalarBinop(e.op, series, scalar, swap, e.returnBool, n);
  if (elem.incompatible) ev.ctx.annotations.info(`incompatible sample types encountered for binary operator ${JSON.stringify(e.op)}: float ${e.op} float`, e.pos);
  return { kind: 'vector', series: out };
}

function vectorScalarBinop(op: BinaryOp, series: readonly StepSeries[], scalar: Float64Array, swap: boolean, returnBool: boolean, n: number): StepSeries[] {
  const cmp = isComparisonOp(op);
  const dropName = changesMetricSchema(op) || returnBool;
  const merger = new SeriesMerger(n);
  for (const s of series) {
    const values = new Float64Array(n);
    const present = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      const v = s.values[i] as number;
      const sc = scalar[i] as number;
      elemBinop(op, swap ? sc : v, swap ? v : sc);
      // With the scalar on the left, a comparison still returns the vector's value.
      let value = cmp && swap ? v : elem.value;
      let keep = elem.keep;
      if (returnBool) {
        value = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      values[i] = value;
      present[i] = 1;
    }
    merger.add({ labels: dropName ? dropMetricName(s.labels) : s.labels, values, present });
  }
  return merger.result();
}

/** Per match signature, the steps at which any of the series has a value. */
function presenceBySig(series: readonly StepSeries[], sigOf: Int32Array, nSig: number, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let s = 0; s < nSig; s++) out.push(new Uint8Array(n));
  series.forEach((x, k) => {
    const p = out[sigOf[k] as number] as Uint8Array;
    for (let i = 0; i < n; i++) if (x.present[i]) p[i] = 1;
  });
  return out;
}

function signatures(sides: ReadonlyArray<readonly StepSeries[]>, m: VectorMatching): { sigs: Int32Array[]; index: LabelSetIndex } {
  const index = new LabelSetIndex();
  const sig = matchSignature(m);
  const sigs = sides.map((side) => Int32Array.from(side, (s) => index.idOf(sig(s.labels))));
  return { sigs, index };
}

function setOp(op: BinaryOp, lhs: readonly StepSeries[], rhs: readonly StepSeries[], m: VectorMatching, n: number): StepSeries[] {
  const { sigs, index } = signatures([lhs, rhs], m);
  const [sigL, sigR] = sigs as [Int32Array, Int32Array];
  const merger = new SeriesMerger(n);
  const filter = (s: StepSeries, keepAt: (i: number) => boolean): void => {
    const values = new Float64Array(n);
    const present = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (!s.present[i] || !keepAt(i)) continue;
      values[i] = s.values[i] as number;
      present[i] = 1;
    }
    merger.add({ labels: s.labels, values, present });
  };
  if (op === 'and' || op === 'unless') {
    const rPresent = presenceBySig(rhs, sigR, index.size, n);
    const want = op === 'and' ? 1 : 0;
    lhs.forEach((s, k) => {
      const p = rPresent[sigL[k] as number] as Uint8Array;
      filter(s, (i) => p[i] === want);
    });
  } else {
    const lPresent = presenceBySig(lhs, sigL, index.size, n);
    for (const s of lhs) merger.add(s);
    rhs.forEach((s, k) => {
      const p = lPresent[sigR[k] as number] as Uint8Array;
      filter(s, (i) => p[i] === 0);
    });
  }
  return merger.result();
}

/** Prometheus resultMetric: the output labels of a matched pair (l = the "many" side after swapping). */
function resultMetricFn(op: BinaryOp, m: VectorMatching, returnBool: boolean): (l: Labels, r: Labels) => Labels {
  const dropName = returnBool || changesMetricSchema(op);
  const matching = new Set(m.labels);
  return (l, r) => {
    let out = dropName ? dropMetricName(l) : l;
    if (m.card === 'one-to-one') out = m.on ? keepLabels(out, matching) : removeLabels(out, matching);
    // group_x(extra) copies labels from the "one" side (an empty value removes the label).
    for (const name of m.include) out = setLabel(out, name, getLabel(r, name));
    return out;
  };
}

function vectorBinop(e: BinaryExpr, lhs: readonly StepSeries[], rhs: readonly StepSeries[], m: VectorMatching, n: number): StepSeries[] {
  const op = e.op;
  const returnBool = e.returnBool;
  const oneToMany = m.card === 'one-to-many';
  // Prometheus swaps sides for one-to-many so that R is always the "one" side.
  const L = oneToMany ? rhs : lhs;
  const R = oneToMany ? lhs : rhs;
  const { sigs, index } = signatures([L, R], m);
  const [sigL, sigR] = sigs as [Int32Array, Int32Array];
  const nSig = index.size;
  const rBySig: number[][] = Array.from({ length: nSig }, () => []);
  sigR.forEach((sig, k) => (rBySig[sig] as number[]).push(k));
  const rSigs: number[] = [];
  for (let s = 0; s < nSig; s++) if ((rBySig[s] as number[]).length > 0) rSigs.push(s);
  const chosen = new Int32Array(nSig).fill(-1);
  const matchedStamp = new Int32Array(nSig);
  const insertedStamp = new Map<StepSeries, number>();
  const insertedSig = new Map<StepSeries, number>();
  const pairOut = new Map<number, StepSeries>();
  const merger = new SeriesMerger(n);
  const oneSide = oneToMany ? 'left' : 'right';
  const resultMetric = resultMetricFn(op, m, returnBool);
  const matchedLabels = matchSignature(m);

  for (let i = 0; i < n; i++) {
    // Nothing can match when a side is empty at this step (and no duplicate check runs).
    if (!L.some((s) => s.present[i]) || !R.some((s) => s.present[i])) continue;
    for (const s of rSigs) {
      let c = -1;
      for (const r of rBySig[s] as number[]) {
        if (!(R[r] as StepSeries).present[i]) continue;
        if (c >= 0) {
          const a = labelsToString((R[r] as StepSeries).labels);
          const b = labelsToString((R[c] as StepSeries).labels);
          const [d1, d2] = a > b ? [b, a] : [a, b];
          throw execError(
            `found duplicate series for the match group ${labelsToString(matchedLabels((R[r] as StepSeries).labels))} on the ${oneSide} hand-side of the operation: [${d1}, ${d2}];many-to-many matching not allowed: matching labels must be unique on one side`,
          );
        }
        c = r;
      }
      chosen[s] = c;
    }
    for (let l = 0; l < L.length; l++) {
      const ls = L[l] as StepSeries;
      if (!ls.present[i]) continue;
      const sig = sigL[l] as number;
      if ((rBySig[sig] as number[]).length === 0) continue;
      const r = chosen[sig] as number;
      if (r < 0) continue;
      const rs = R[r] as StepSeries;
      const fl = oneToMany ? (rs.values[i] as number) : (ls.values[i] as number);
      const fr = oneToMany ? (ls.values[i] as number) : (rs.values[i] as number);
      elemBinop(op, fl, fr);
      // Prometheus returns before its match checks when the pair cannot be combined.
      if (isTrimOp(op)) continue;
      let value = elem.value;
      if (returnBool) value = elem.keep ? 1 : 0;
      const key = l * R.length + r;
      let out = pairOut.get(key);
      if (!out) {
        out = merger.get(resultMetric(ls.labels, rs.labels));
        pairOut.set(key, out);
      }
      if (m.card === 'one-to-one') {
        if (matchedStamp[sig] === i + 1) throw execError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        matchedStamp[sig] = i + 1;
      } else {
        if (insertedStamp.get(out) === i + 1 && insertedSig.get(out) === sig) throw execError('multiple matches for labels: grouping labels must ensure unique matches');
        insertedStamp.set(out, i + 1);
        insertedSig.set(out, sig);
      }
      if (!elem.keep && !returnBool) continue;
      SeriesMerger.set(out, i, value);
    }
  }
  return merger.result();
}
