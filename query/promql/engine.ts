// The PromQL engine: parse → plan (which samples each selector needs, as
// Prometheus's populateSeries/getTimeRangesForSelector computes them) →
// offer sub-expressions to the source for pushdown → fetch the remaining
// selectors in parallel → evaluate over the step grid → typed result.
// Limits as Prometheus: max samples in memory, 11,000 points per series for
// range queries, a timeout and caller cancellation (AbortSignal).
import type { Labels } from '../../core/index.ts';
import { typeOf, unwrapParens, walkExpr, documentedType, type Expr, type VectorSelector } from './ast.ts';
import { PromqlError, abortError, badData, isPromqlError } from './errors.ts';
import { Evaluator, QueryContext, type EvalLimits } from './evaluator.ts';
import { formatQuery } from './format.ts';
import { UNSUPPORTED_FUNCTIONS } from './functions-table.ts';
import { compareLabels } from './label-set.ts';
import { parseExpr } from './parse.ts';
import type { PushdownResult, SelectHints, SelectRequest, SeriesSet, SeriesSource } from './series-source.ts';
import { gridTime, makeGrid, type Grid, type InstantSample, type QueryResult, type QueryValue, type RangeSeries, type StepSeries, type Value } from './value.ts';

export interface EngineOptions {
  /** Prometheus --query.lookback-delta (default 5m). */
  readonly lookbackDeltaMs?: number;
  /** Prometheus --query.max-samples (default 50,000,000). */
  readonly maxSamples?: number;
  /** Prometheus --query.timeout (default 2m). */
  readonly timeoutMs?: number;
  /** Points per series a range query may return (Prometheus API: 11,000). */
  readonly maxPointsPerSeries?: number;
  /** Step of subqueries written without one (Prometheus: global evaluation_interval, 1m). */
  readonly noStepSubqueryIntervalMs?: number;
}

/** Per-query overrides (Prometheus API lookback_delta and timeout parameters). */
export interface QueryOptions {
  readonly lookbackDeltaMs?: number;
  readonly timeoutMs?: number;
}

export interface Engine {
  instantQuery(source: SeriesSource, query: string, timeMs: number, signal?: AbortSignal, options?: QueryOptions): Promise<QueryResult>;
  rangeQuery(source: SeriesSource, query: string, startMs: number, endMs: number, stepMs: number, signal?: AbortSignal, options?: QueryOptions): Promise<QueryResult>;
  /** Prettified PromQL, as Prometheus's /api/v1/format_query; throws bad_data on a parse error. */
  formatQuery(query: string): string;
  readonly options: Readonly<Required<EngineOptions>>;
}

export const DEFAULT_ENGINE_OPTIONS: Readonly<Required<EngineOptions>> = Object.freeze({
  lookbackDeltaMs: 5 * 60_000,
  maxSamples: 50_000_000,
  timeoutMs: 120_000,
  maxPointsPerSeries: 11_000,
  noStepSubqueryIntervalMs: 60_000,
});

export function createEngine(options: EngineOptions = {}): Engine {
  const opts: Required<EngineOptions> = Object.freeze({ ...DEFAULT_ENGINE_OPTIONS, ...stripUndefined(options) });
  for (const [k, v] of Object.entries(opts)) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`createEngine: ${k} must be a positive number, got ${v}`);
  }
  return {
    options: opts,
    formatQuery,
    async instantQuery(source, query, timeMs, signal, qopts) {
      return execute(opts, source, query, timeMs, timeMs, 0, signal, qopts);
    },
    async rangeQuery(source, query, startMs, endMs, stepMs, signal, qopts) {
      if (!(stepMs > 0)) throw badData('zero or negative query resolution step widths are not accepted. Try a positive integer');
      if (endMs < startMs) throw badData('end timestamp must not be before start time');
      if (Math.floor((endMs - startMs) / stepMs) > opts.maxPointsPerSeries) {
        throw badData(`exceeded maximum resolution of ${opts.maxPointsPerSeries.toLocaleString('en-US')} points per timeseries. Try decreasing the query resolution (?step=XX)`);
      }
      return execute(opts, source, query, startMs, endMs, stepMs, signal, qopts);
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface PlannedSelect {
  readonly node: VectorSelector;
  readonly req: SelectRequest;
}

async function execute(
  opts: Required<EngineOptions>,
  source: SeriesSource,
  query: string,
  startMs: number,
  endMs: number,
  stepMs: number,
  signal: AbortSignal | undefined,
  qopts: QueryOptions | undefined,
): Promise<QueryResult> {
  const expr = parseExpr(query);
  const isRange = stepMs > 0;
  if (isRange) {
    const t = typeOf(expr);
    if (t !== 'vector' && t !== 'scalar') throw badData(`invalid expression type ${JSON.stringify(documentedType(t))} for range query, must be Scalar or instant Vector`);
  }
  walkExpr(expr, (n) => {
    if (n.type === 'Call') {
      const why = UNSUPPORTED_FUNCTIONS.get(n.func.name);
      if (why) throw badData(why);
    }
  });

  const timeoutMs = qopts?.timeoutMs ?? opts.timeoutMs;
  const lookbackDeltaMs = qopts?.lookbackDeltaMs ?? opts.lookbackDeltaMs;
  const limits: EvalLimits = { lookbackDeltaMs, maxSamples: opts.maxSamples, noStepSubqueryIntervalMs: opts.noStepSubqueryIntervalMs };
  const deadlineMs = Date.now() + timeoutMs;
  // One controller for the timeout and the caller's signal, its timer cleared
  // when the query ends (AbortSignal.timeout would keep a timer per query
  // alive for the whole timeout, and AbortSignal.any costs tens of µs).
  const stop = new AbortController();
  const combined = stop.signal;
  const timer = setTimeout(() => stop.abort(new DOMException('query timed out', 'TimeoutError')), timeoutMs);
  const onCallerAbort = (): void => stop.abort(signal?.reason);
  if (signal?.aborted) stop.abort(signal.reason);
  else signal?.addEventListener('abort', onCallerAbort, { once: true });
  const grid = makeGrid(startMs, endMs, stepMs);
  const data = new Map<VectorSelector, SeriesSet[]>();
  const pushed = new Map<Expr, StepSeries[]>();
  const ctx = new QueryContext(query, limits, startMs, endMs, stepMs, data, pushed, deadlineMs, combined);

  const aborted = (env: string): PromqlError => (signal?.aborted ? abortError('canceled', env) : abortError('timeout', env));
  try {
    ctx.checkAbort('query preparation');
    if (source.pushdown) await offerPushdown(source, expr, ctx, grid, combined, pushed);
    const plan = planSelects(expr, ctx, grid, pushed);
    let samplesLoaded = 0;
    let seriesFetched = 0;
    await Promise.all(
      plan.map(async (p) => {
        let sets: SeriesSet[];
        try {
          sets = await source.select(p.req, combined);
        } catch (e) {
          if (combined.aborted) throw aborted('query execution');
          if (isPromqlError(e)) throw e;
          throw new PromqlError('internal', `expanding series: ${(e as Error).message ?? String(e)}`, { cause: e });
        }
        // Prometheus evaluates series in label order; so do we.
        sets.sort((a, b) => compareLabels(a.labels, b.labels));
        for (const s of sets) samplesLoaded += s.values.length;
        seriesFetched += sets.length;
        data.set(p.node, sets);
      }),
    );
    ctx.checkAbort();
    const ev = new Evaluator(ctx, grid, true);
    const v = await ev.eval(expr);
    const value = isRange ? toRangeResult(v, grid) : toInstantResult(v, startMs);
    const { warnings, infos } = ctx.annotations.result();
    return { value, warnings, infos, stats: { samplesLoaded, peakSamples: ctx.peakSamples, seriesFetched } };
  } catch (e) {
    if (isPromqlError(e)) throw e;
    if (combined.aborted) throw aborted('expression evaluation');
    throw new PromqlError('internal', `unexpected error: ${(e as Error).message ?? String(e)}`, { cause: e });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * The samples each selector needs (Prometheus getTimeRangesForSelector):
 * the query range, moved by enclosing subqueries' offsets and ranges (reset
 * by an @ on a subquery), pinned by the selector's own @, widened by the
 * lookback (instant selectors, excluding the sample exactly lookback ago) or
 * the range (range selectors, left-open), moved by the selector's offset.
 */
function planSelects(expr: Expr, ctx: QueryContext, grid: Grid, pushed: ReadonlyMap<Expr, unknown>): PlannedSelect[] {
  const out: PlannedSelect[] = [];
  const skip = new Set<Expr>();
  walkExpr(expr, (node, path) => {
    if (pushed.has(node) || path.some((p) => skip.has(p))) {
      skip.add(node);
      return;
    }
    if (node.type !== 'VectorSelector') return;
    const parent = path[path.length - 1];
    const evalRangeMs = parent && parent.type === 'MatrixSelector' ? ctx.dur(parent.range, false) : 0;
    let start = grid.startMs;
    let end = grid.stepMs > 0 ? grid.startMs + (grid.n - 1) * grid.stepMs : grid.startMs;
    let subqOffset = 0;
    let subqRange = 0;
    let subqAt: number | null = null;
    let stepMs = grid.stepMs;
    for (const p of path) {
      if (p.type !== 'SubqueryExpr') continue;
      const off = ctx.dur(p.offset, true);
      const rng = ctx.dur(p.range, false);
      stepMs = p.step ? ctx.dur(p.step, false) : ctx.limits.noStepSubqueryIntervalMs;
      const at = ctx.atMs(p.at);
      if (at !== null) {
        subqOffset = off;
        subqRange = rng;
        subqAt = at;
      } else {
        subqOffset += off;
        subqRange += rng;
      }
    }
    if (subqAt !== null) {
      start = subqAt;
      end = subqAt;
    }
    const at = ctx.atMs(node.at);
    if (at !== null) {
      start = at;
      end = at;
    } else {
      start = start - subqOffset - subqRange;
      end -= subqOffset;
    }
    if (evalRangeMs === 0) start -= ctx.limits.lookbackDeltaMs - 1;
    else start -= evalRangeMs - 1;
    const offsetMs = ctx.dur(node.offset, true);
    start -= offsetMs;
    end -= offsetMs;
    out.push({ node, req: { matchers: node.matchers, startMs: start, endMs: end, hints: selectHints(path, evalRangeMs, stepMs, offsetMs, ctx.limits.lookbackDeltaMs) } });
  });
  return out;
}

/** Prometheus extractFuncFromPath / extractGroupsFromPath. */
function selectHints(path: readonly Expr[], rangeMs: number, stepMs: number, offsetMs: number, lookbackDeltaMs: number): SelectHints {
  let func = '';
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i] as Expr;
    if (p.type === 'AggregateExpr') {
      func = p.op;
      break;
    }
    if (p.type === 'Call') {
      func = p.func.name;
      break;
    }
    if (p.type === 'BinaryExpr') break;
  }
  const parent = path[path.length - 1];
  const agg = parent && parent.type === 'AggregateExpr' ? parent : null;
  return { func, rangeMs, stepMs, by: agg ? !agg.without : false, grouping: agg ? agg.grouping : [], offsetMs, lookbackDeltaMs };
}

/** Offers aggregations and calls on the query's own grid to the source, outermost first. */
async function offerPushdown(source: SeriesSource, expr: Expr, ctx: QueryContext, grid: Grid, signal: AbortSignal, pushed: Map<Expr, StepSeries[]>): Promise<void> {
  const visit = async (e: Expr): Promise<void> => {
    const u = unwrapParens(e);
    if (u.type === 'SubqueryExpr' || u.type === 'MatrixSelector') return; // other grids: not offered
    if (u.type === 'AggregateExpr' || (u.type === 'Call' && u.func.returnType === 'vector')) {
      let res: PushdownResult | null;
      try {
        res = await (source.pushdown as NonNullable<SeriesSource['pushdown']>)(
          {
            expr: u,
            startMs: grid.startMs,
            endMs: grid.stepMs > 0 ? gridTime(grid, grid.n - 1) : grid.startMs,
            stepMs: grid.stepMs,
            lookbackDeltaMs: ctx.limits.lookbackDeltaMs,
            queryStartMs: ctx.queryStartMs,
            queryEndMs: ctx.queryEndMs,
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) throw err;
        if (isPromqlError(err)) throw err;
        throw new PromqlError('internal', `pushdown failed: ${(err as Error).message ?? String(err)}`, { cause: err });
      }
      if (res) {
        pushed.set(u, res.series.map((s) => toStepSeries(s, grid.n)));
        return;
      }
    }
    switch (u.type) {
      case 'AggregateExpr':
        await visit(u.expr);
        return;
      case 'Call':
        for (const a of u.args) await visit(a);
        return;
      case 'BinaryExpr':
        await visit(u.lhs);
        await visit(u.rhs);
        return;
      case 'UnaryExpr':
        await visit(u.expr);
        return;
      default:
        return;
    }
  };
  await visit(expr);
}

function toStepSeries(s: PushdownResult['series'][number], n: number): StepSeries {
  if (s.values.length !== n || (s.present && s.present.length !== n)) {
    throw new PromqlError('internal', `pushdown result has ${s.values.length} values for a grid of ${n} steps`);
  }
  return { labels: s.labels, values: s.values, present: s.present ?? new Uint8Array(n).fill(1) };
}

function toInstantResult(v: Value, timeMs: number): QueryValue {
  switch (v.kind) {
    case 'vector': {
      const samples: InstantSample[] = [];
      for (const s of v.series) if (s.present[0]) samples.push({ labels: s.labels, timestampMs: timeMs, value: s.values[0] as number });
      return { resultType: 'vector', samples };
    }
    case 'scalar':
      return { resultType: 'scalar', timestampMs: timeMs, value: v.values[0] as number };
    case 'string':
      return { resultType: 'string', timestampMs: timeMs, value: v.value };
    case 'matrix': {
      const series = v.series.filter((s) => s.values.length > 0).map((s) => ({ labels: s.labels, timestampsMs: s.timestampsMs, values: s.values }));
      series.sort((a, b) => compareLabels(a.labels, b.labels));
      return { resultType: 'matrix', series };
    }
  }
}

function toRangeResult(v: Value, grid: Grid): QueryValue {
  const series: RangeSeries[] = [];
  const add = (labels: Labels, values: Float64Array, present: Uint8Array | null): void => {
    let count = 0;
    for (let i = 0; i < grid.n; i++) if (!present || present[i]) count++;
    if (count === 0) return;
    const t = new Float64Array(count);
    const vals = new Float64Array(count);
    let k = 0;
    for (let i = 0; i < grid.n; i++) {
      if (present && !present[i]) continue;
      t[k] = gridTime(grid, i);
      vals[k] = values[i] as number;
      k++;
    }
    series.push({ labels, timestampsMs: t, values: vals });
  };
  if (v.kind === 'scalar') add({ names: [], values: [] }, v.values, null);
  else if (v.kind === 'vector') for (const s of v.series) add(s.labels, s.values, s.present);
  else throw new PromqlError('internal', `range query produced a ${v.kind}`);
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { resultType: 'matrix', series };
}
