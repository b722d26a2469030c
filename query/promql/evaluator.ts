// The evaluator: walks the AST once, each node evaluated for every step of
// its grid at once (Prometheus's range evaluation, promql/engine.go eval),
// over typed-array columns. Selectors read the samples the engine fetched
// beforehand (engine.ts); subqueries evaluate their inner expression on
// their own step grid; `@` is resolved at the leaves (a selector or
// subquery with @ reads the same window at every step, which is what
// Prometheus's step-invariant wrapping computes).
import type { Labels } from '../../core/index.ts';
import { Annotations } from './annotations.ts';
import { unwrapParens, type AtModifier, type Call, type Duration, type Expr, type MatrixSelector, type SubqueryExpr, type VectorSelector } from './ast.ts';
import { evalAggregate } from './aggregate.ts';
import { evalBinary } from './binary.ts';
import { abortError, badData, tooManySamples } from './errors.ts';
import { UNSUPPORTED_FUNCTIONS } from './functions-table.ts';
import { evalInstantFunction, labelsForAbsent } from './instant-functions.ts';
import { dropMetricName, getLabel } from './label-set.ts';
import { durationMs } from './parse.ts';
import { KEEPS_METRIC_NAME, RANGE_KERNELS, type RangeEnv } from './range-functions.ts';
import type { SeriesSet } from './series-source.ts';
import { SeriesMerger, assertUniqueLabelsets } from './series-merger.ts';
import { countPresent, gridTime, newStepSeries, type Grid, type MatrixValue, type RawSeries, type ScalarValue, type StepSeries, type Value, type VectorValue } from './value.ts';

export interface EvalLimits {
  readonly lookbackDeltaMs: number;
  readonly maxSamples: number;
  /** Step of subqueries written without one (Prometheus: the global evaluation interval, 1m). */
  readonly noStepSubqueryIntervalMs: number;
}

/** Per-query state shared by the evaluators of the main grid and of subqueries. */
export class QueryContext {
  readonly annotations: Annotations;
  currentSamples = 0;
  peakSamples = 0;
  private lastYieldMs = Date.now();

  constructor(
    readonly query: string,
    readonly limits: EvalLimits,
    /** query start/end/step: `@ start()`, `@ end()`, step() and range() refer to them */
    readonly queryStartMs: number,
    readonly queryEndMs: number,
    readonly queryStepMs: number,
    /** fetched samples per selector node */
    readonly data: ReadonlyMap<VectorSelector, readonly SeriesSet[]>,
    /** results a source computed itself (pushdown), per node */
    readonly pushed: ReadonlyMap<Expr, StepSeries[]>,
    private readonly deadlineMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.annotations = new Annotations(query);
  }

  /** Throws the Prometheus timeout/canceled error once the query must stop. */
  checkAbort(env = 'expression evaluation'): void {
    if (this.signal?.aborted) {
      const reason: unknown = this.signal.reason;
      const isTimeout = reason instanceof Error && (reason.name === 'TimeoutError' || (reason as { errorType?: string }).errorType === 'timeout');
      throw abortError(isTimeout ? 'timeout' : 'canceled', env);
    }
    if (Date.now() > this.deadlineMs) throw abortError('timeout', env);
  }

  /** Abort check plus a yield to the event loop every ~20ms, so cancellation can arrive. */
  async tick(): Promise<void> {
    this.checkAbort();
    const now = Date.now();
    if (now - this.lastYieldMs > 20) {
      this.lastYieldMs = now;
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.checkAbort();
    }
  }

  /** Counts samples held in memory against maxSamples. */
  addSamples(n: number): void {
    this.currentSamples += n;
    if (this.currentSamples > this.peakSamples) this.peakSamples = this.currentSamples;
    if (this.currentSamples > this.limits.maxSamples) throw tooManySamples();
  }

  atMs(at: AtModifier | null): number | null {
    if (!at) return null;
    if (at.kind === 'start') return this.queryStartMs;
    if (at.kind === 'end') return this.queryEndMs;
    return at.ms;
  }

  dur(d: Duration | null, allowNegative: boolean): number {
    if (!d) return 0;
    return durationMs(d, { stepMs: this.queryStepMs, rangeMs: this.queryEndMs - this.queryStartMs }, allowNegative);
  }
}

/** Samples of a range-vector argument, per series, and the window geometry. */
export interface RangeArg {
  readonly series: readonly RawSeries[];
  readonly rangeMs: number;
  readonly offsetMs: number;
  readonly atMs: number | null;
}

// Staleness markers: NaN with bits 0x7ff0000000000002 (protocols/series.ts
// STALE_NAN_BITS). Checked on the raw words so no NaN canonicalisation can hide them.
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

/** 1 where the value is a staleness marker; null when there is none. */
export function staleMask(values: Float64Array): Uint8Array | null {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  let mask: Uint8Array | null = null;
  for (let i = 0; i < values.length; i++) {
    if (words[2 * i + 1] === STALE_HI && words[2 * i] === STALE_LO) {
      mask ??= new Uint8Array(values.length);
      mask[i] = 1;
    }
  }
  return mask;
}

/** The samples without staleness markers (range selectors skip them). */
function withoutStale(set: SeriesSet): RawSeries {
  const mask = staleMask(set.values);
  if (!mask) return { labels: set.labels, timestampsMs: set.timestampsMs, values: set.values };
  const keep = set.values.length - countOnes(mask);
  const t = new Float64Array(keep);
  const v = new Float64Array(keep);
  let k = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) continue;
    t[k] = set.timestampsMs[i] as number;
    v[k] = set.values[i] as number;
    k++;
  }
  return { labels: set.labels, timestampsMs: t, values: v };
}

function countOnes(a: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) c += a[i] as number;
  return c;
}

/** First index with t[i] > x. */
export function upperBound(t: Float64Array, x: number, lo = 0, hi = t.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((t[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Go-style floor division for the subquery grid alignment. */
function floorDiv(x: number, y: number): number {
  let q = Math.floor(x / y);
  if (q * y > x) q--;
  else if ((q + 1) * y <= x) q++;
  return q;
}

export function pointsOf(v: Value): number {
  switch (v.kind) {
    case 'vector': {
      let n = 0;
      for (const s of v.series) n += countPresent(s);
      return n;
    }
    case 'scalar':
      return v.values.length;
    case 'matrix': {
      let n = 0;
      for (const s of v.series) n += s.values.length;
      return n;
    }
    default:
      return 0;
  }
}

export class Evaluator {
  constructor(
    readonly ctx: QueryContext,
    readonly grid: Grid,
    /** the query's own grid (pushdown results only apply there) */
    readonly isMainGrid: boolean,
  ) {}

  /** Evaluates a node over the whole grid; the node's output replaces its inputs in the sample count. */
  async eval(e: Expr): Promise<Value> {
    await this.ctx.tick();
    const before = this.ctx.currentSamples;
    const v = await this.evalNode(e);
    this.ctx.currentSamples = before;
    this.ctx.addSamples(pointsOf(v));
    return v;
  }

  async evalVector(e: Expr): Promise<VectorValue> {
    const v = await this.eval(e);
    if (v.kind !== 'vector') throw new Error(`internal: expected an instant vector, got ${v.kind}`);
    return v;
  }

  async evalScalar(e: Expr): Promise<ScalarValue> {
    const v = await this.eval(e);
    if (v.kind !== 'scalar') throw new Error(`internal: expected a scalar, got ${v.kind}`);
    return v;
  }

  scalar(value: number): ScalarValue {
    return { kind: 'scalar', values: new Float64Array(this.grid.n).fill(value) };
  }

  private async evalNode(e: Expr): Promise<Value> {
    if (this.isMainGrid) {
      const pushed = this.ctx.pushed.get(e);
      if (pushed) return { kind: 'vector', series: pushed };
    }
    switch (e.type) {
      case 'NumberLiteral':
        return this.scalar(e.value);
      case 'StringLiteral':
        return { kind: 'string', value: e.value };
      case 'ParenExpr':
        return this.eval(e.expr);
      case 'UnaryExpr':
        return this.evalUnary(e.op, await this.eval(e.expr));
      case 'VectorSelector':
        return this.evalVectorSelector(e, 'value');
      case 'MatrixSelector':
        return this.evalMatrixSelectorRaw(e);
      case 'SubqueryExpr':
        return this.evalSubqueryRaw(e);
      case 'Call':
        return this.evalCall(e);
      case 'AggregateExpr':
        return evalAggregate(this, e);
      case 'BinaryExpr':
        return evalBinary(this, e);
    }
  }

  private evalUnary(op: '-' | '+', v: Value): Value {
    if (op === '+') return v;
    if (v.kind === 'scalar') return { kind: 'scalar', values: v.values.map((x) => -x) };
    if (v.kind !== 'vector') throw new Error(`internal: unary minus on ${v.kind}`);
    // Negation drops the metric name; series that then coincide are merged (mergeSeriesWithSameLabelset).
    const merger = new SeriesMerger(this.grid.n);
    for (const s of v.series) merger.add({ labels: dropMetricName(s.labels), values: s.values.map((x) => -x), present: s.present });
    return { kind: 'vector', series: merger.result() };
  }

  /**
   * An instant vector selector on the grid: at each step the latest sample
   * at or before the step (minus offset, or at the @ time) and after
   * step - lookback; a staleness marker as the latest sample means no value.
   * mode 'timestamp' yields the sample's timestamp in seconds (timestamp()).
   */
  evalVectorSelector(vs: VectorSelector, mode: 'value' | 'timestamp'): VectorValue {
    const sets = this.ctx.data.get(vs) ?? [];
    const offset = this.ctx.dur(vs.offset, true);
    const at = this.ctx.atMs(vs.at);
    const lookback = this.ctx.limits.lookbackDeltaMs;
    const g = this.grid;
    const out: StepSeries[] = [];
    for (const set of sets) {
      this.ctx.checkAbort();
      const t = set.timestampsMs;
      const v = set.values;
      const stale = staleMask(v);
      const s = newStepSeries(set.labels, g.n);
      let any = 0;
      if (at !== null) {
        const ref = at - offset;
        const idx = upperBound(t, ref) - 1;
        if (idx >= 0 && (t[idx] as number) > ref - lookback && !(stale && stale[idx])) {
          const val = mode === 'value' ? (v[idx] as number) : (t[idx] as number) / 1000;
          s.values.fill(val);
          s.present.fill(1);
          any = g.n;
        }
      } else {
        let k = 0;
        for (let i = 0; i < g.n; i++) {
          const ref = g.startMs + i * g.stepMs - offset;
          while (k < t.length && (t[k] as number) <= ref) k++;
          const idx = k - 1;
          if (idx < 0 || (t[idx] as number) <= ref - lookback || (stale && stale[idx])) continue;
          s.values[i] = mode === 'value' ? (v[idx] as number) : (t[idx] as number) / 1000;
          s.present[i] = 1;
          any++;
        }
      }
      if (any > 0) {
        this.ctx.addSamples(any);
        out.push(s);
      }
    }
    return { kind: 'vector', series: out };
  }

  /** A range selector as the query result (instant queries): raw samples in the window. */
  private evalMatrixSelectorRaw(ms: MatrixSelector): MatrixValue {
    const arg = this.matrixSelectorArg(ms);
    const end = (arg.atMs ?? this.grid.startMs) - arg.offsetMs;
    const start = end - arg.rangeMs;
    const out: RawSeries[] = [];
    for (const s of arg.series) {
      const lo = upperBound(s.timestampsMs, start);
      const hi = upperBound(s.timestampsMs, end);
      if (hi > lo) out.push({ labels: s.labels, timestampsMs: s.timestampsMs.slice(lo, hi), values: s.values.slice(lo, hi) });
    }
    return { kind: 'matrix', series: out };
  }

  /** A subquery as the query result (instant queries): its points on its own grid. */
  private async evalSubqueryRaw(sq: SubqueryExpr): Promise<MatrixValue> {
    const arg = await this.subqueryArg(sq);
    return { kind: 'matrix', series: arg.series.slice() };
  }

  matrixSelectorArg(ms: MatrixSelector): RangeArg {
    const vs = ms.selector;
    const sets = this.ctx.data.get(vs) ?? [];
    return {
      series: sets.map(withoutStale),
      rangeMs: this.ctx.dur(ms.range, false),
      offsetMs: this.ctx.dur(vs.offset, true),
      atMs: this.ctx.atMs(vs.at),
    };
  }

  /** The grid a subquery evaluates its expression on (Prometheus subqueryTimeRange). */
  subqueryGrid(sq: SubqueryExpr): { grid: Grid; rangeMs: number; offsetMs: number; atMs: number | null } {
    const offsetMs = this.ctx.dur(sq.offset, true);
    const rangeMs = this.ctx.dur(sq.range, false);
    const stepMs = sq.step ? this.ctx.dur(sq.step, false) : this.ctx.limits.noStepSubqueryIntervalMs;
    const atMs = this.ctx.atMs(sq.at);
    const g = this.grid;
    let refStart: number;
    let refEnd: number;
    if (atMs !== null) {
      refStart = atMs;
      refEnd = atMs;
    } else {
      refStart = g.startMs;
      // The last step the parent actually evaluates.
      refEnd = g.stepMs > 0 ? g.startMs + Math.floor((g.endMs - g.startMs) / g.stepMs) * g.stepMs : g.startMs;
    }
    const from = refStart - offsetMs - rangeMs;
    // First multiple of the step after `from` (left-open range).
    const start = (floorDiv(from, stepMs) + 1) * stepMs;
    const end = refEnd - offsetMs;
    const n = end >= start ? Math.floor((end - start) / stepMs) + 1 : 0;
    return { grid: { startMs: start, endMs: end, stepMs, n }, rangeMs, offsetMs, atMs };
  }

  async subqueryArg(sq: SubqueryExpr): Promise<RangeArg> {
    const { grid, rangeMs, offsetMs, atMs } = this.subqueryGrid(sq);
    const child = new Evaluator(this.ctx, grid, false);
    const series: RawSeries[] = [];
    if (grid.n > 0) {
      const v = await child.evalVector(sq.expr);
      for (const s of v.series) {
        const n = countPresent(s);
        const t = new Float64Array(n);
        const vals = new Float64Array(n);
        let k = 0;
        for (let i = 0; i < grid.n; i++) {
          if (!s.present[i]) continue;
          t[k] = gridTime(grid, i);
          vals[k] = s.values[i] as number;
          k++;
        }
        series.push({ labels: s.labels, timestampsMs: t, values: vals });
      }
    }
    return { series, rangeMs, offsetMs, atMs };
  }

  private async rangeArgOf(e: Expr): Promise<RangeArg> {
    const u = unwrapParens(e);
    if (u.type === 'MatrixSelector') return this.matrixSelectorArg(u);
    if (u.type === 'SubqueryExpr') return this.subqueryArg(u);
    throw new Error(`internal: range vector argument is a ${u.type}`);
  }

  private async evalCall(e: Call): Promise<Value> {
    const name = e.func.name;
    const unsupported = UNSUPPORTED_FUNCTIONS.get(name);
    if (unsupported) throw badData(unsupported);
    const g = this.grid;
    switch (name) {
      case 'time': {
        const values = new Float64Array(g.n);
        for (let i = 0; i < g.n; i++) values[i] = gridTime(g, i) / 1000;
        return { kind: 'scalar', values };
      }
      case 'pi':
        return this.scalar(Math.PI);
      case 'start':
        return this.scalar(this.ctx.queryStartMs / 1000);
      case 'end':
        return this.scalar(this.ctx.queryEndMs / 1000);
      case 'range':
        return this.scalar((this.ctx.queryEndMs - this.ctx.queryStartMs) / 1000);
      case 'step':
        return this.scalar(this.ctx.queryStartMs === this.ctx.queryEndMs ? 0 : this.ctx.queryStepMs / 1000);
      case 'timestamp': {
        // Over a selector, the sample's own timestamp (rangeEvalTimestampFunctionOverVectorSelector).
        const arg = unwrapParens(e.args[0] as Expr);
        if (arg.type === 'VectorSelector') {
          const v = this.evalVectorSelector(arg, 'timestamp');
          return this.renamed(v, true);
        }
        break;
      }
    }
    const matrixIdx = e.args.findIndex((a) => {
      const u = unwrapParens(a);
      return u.type === 'MatrixSelector' || u.type === 'SubqueryExpr';
    });
    if (matrixIdx >= 0) return this.evalRangeFunction(e, matrixIdx);
    return evalInstantFunction(this, e);
  }

  /** Drops __name__ (optionally) and merges series that then coincide. */
  renamed(v: VectorValue, dropName: boolean): VectorValue {
    if (!dropName) return v;
    const merger = new SeriesMerger(this.grid.n);
    for (const s of v.series) merger.add({ labels: dropMetricName(s.labels), values: s.values, present: s.present });
    return { kind: 'vector', series: merger.result() };
  }

  /** A function over a range vector, series by series, sliding the window along the grid. */
  private async evalRangeFunction(e: Call, matrixIdx: number): Promise<Value> {
    const name = e.func.name;
    const scalarArgs: Float64Array[] = [];
    for (let i = 0; i < e.args.length; i++) {
      if (i === matrixIdx) continue;
      scalarArgs.push((await this.evalScalar(e.args[i] as Expr)).values);
    }
    const arg = await this.rangeArgOf(e.args[matrixIdx] as Expr);
    const g = this.grid;
    if (name === 'absent_over_time') return this.absentOverTime(e, arg);
    const kernel = RANGE_KERNELS.get(name);
    if (!kernel) throw badData(`function ${JSON.stringify(name)} is not supported by this engine`);
    // Prometheus checks the quantile only when the function runs, i.e. for a non-empty window.
    const checkQuantile = name === 'quantile_over_time';
    const dropName = !KEEPS_METRIC_NAME.has(name);
    const env: RangeEnv = { rangeStartMs: 0, rangeEndMs: 0, rangeMs: arg.rangeMs, evalTsMs: 0, args: scalarArgs.map(() => 0) };
    const out: StepSeries[] = [];
    const warnNonCounter = name === 'rate' || name === 'increase';
    for (const s of arg.series) {
      await this.ctx.tick();
      const t = s.timestampsMs;
      const v = s.values;
      const res = newStepSeries(dropName ? dropMetricName(s.labels) : s.labels, g.n);
      let lo = 0;
      let hi = 0;
      let any = 0;
      let maxWindow = 0;
      for (let i = 0; i < g.n; i++) {
        const ts = gridTime(g, i);
        const end = (arg.atMs ?? ts) - arg.offsetMs;
        const start = end - arg.rangeMs;
        if (arg.atMs === null || i === 0) {
          if (arg.atMs !== null) {
            lo = upperBound(t, start);
            hi = upperBound(t, end);
          } else {
            while (hi < t.length && (t[hi] as number) <= end) hi++;
            while (lo < hi && (t[lo] as number) <= start) lo++;
          }
        }
        if (hi === lo) continue;
        if (hi - lo > maxWindow) maxWindow = hi - lo;
        env.rangeStartMs = start;
        env.rangeEndMs = end;
        env.evalTsMs = ts;
        for (let j = 0; j < scalarArgs.length; j++) env.args[j] = (scalarArgs[j] as Float64Array)[i] as number;
        if (checkQuantile) {
          const q = env.args[0] as number;
          if (Number.isNaN(q) || q < 0 || q > 1) this.ctx.annotations.invalidQuantile(q, (e.args[0] as Expr).pos);
        }
        const r = kernel(t, v, lo, hi, env);
        if (r === null) continue;
        res.values[i] = r;
        res.present[i] = 1;
        any++;
      }
      // The window samples were in memory while this series was evaluated.
      this.ctx.addSamples(maxWindow);
      this.ctx.currentSamples -= maxWindow;
      if (any === 0) continue;
      this.ctx.addSamples(any);
      out.push(res);
      if (warnNonCounter) {
        const metric = getLabel(s.labels, '__name__');
        if (metric !== '' && !/(_total|_sum|_count|_bucket)$/.test(metric)) this.ctx.annotations.possibleNonCounter(metric, (e.args[matrixIdx] as Expr).pos);
      }
    }
    // Range-vector functions reject equal label sets outright (Prometheus ContainsSameLabelset).
    assertUniqueLabelsets(out);
    return { kind: 'vector', series: out };
  }

  /** absent_over_time: 1 at the steps where no series had a sample in the window. */
  private absentOverTime(e: Call, arg: RangeArg): VectorValue {
    const g = this.grid;
    const found = new Uint8Array(g.n);
    for (const s of arg.series) {
      const t = s.timestampsMs;
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < g.n; i++) {
        const end = (arg.atMs ?? gridTime(g, i)) - arg.offsetMs;
        const start = end - arg.rangeMs;
        if (arg.atMs !== null) {
          lo = upperBound(t, start);
          hi = upperBound(t, end);
        } else {
          while (hi < t.length && (t[hi] as number) <= end) hi++;
          while (lo < hi && (t[lo] as number) <= start) lo++;
        }
        if (hi > lo) found[i] = 1;
      }
    }
    const out = newStepSeries(labelsForAbsent(unwrapParens(e.args[0] as Expr)), g.n);
    let any = false;
    for (let i = 0; i < g.n; i++) {
      if (found[i]) continue;
      out.values[i] = 1;
      out.present[i] = 1;
      any = true;
    }
    return { kind: 'vector', series: any ? [out] : [] };
  }

  /** A label set for an output, as a fresh StepSeries on this grid. */
  newSeries(labels: Labels): StepSeries {
    return newStepSeries(labels, this.grid.n);
  }
}

