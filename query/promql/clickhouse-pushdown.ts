// Pushdown: sub-expressions the engine offers (series-source.ts
// PushdownRequest) computed inside ClickHouse, when the result is the one the
// TypeScript evaluator would produce (test/promql-pushdown.test.ts runs each
// form both ways and compares).
//
// Supported forms, on the query's own step grid:
//   f(sel[r])                       f in rate, increase, delta, irate, idelta, last_over_time
//   agg [by|without (...)] (f(sel[r]))   agg in sum, avg, min, max, count, group
//   agg [by|without (...)] (sel)         the instant selector with lookback and staleness
// with offsets and @ on the selector. The selector must name its metric with
// `__name__="..."`: range functions drop the name, and series that then
// coincide are an error the evaluator reports, which per-series SQL cannot.
//
// The work is ClickHouse's timeSeries*ToGrid aggregate functions, one state
// per series: rate/increase/delta follow Prometheus 3.x extrapolatedRate
// (left-open window, extrapolation to the window edges within 1.1 average
// intervals, counters not extrapolated below zero), irate/idelta the last two
// samples, last_over_time the last sample, and the instant selector the
// latest sample within the lookback (a staleness marker there means absent).
// Range functions never see staleness markers (Prometheus drops them from
// range vectors), so those rows are filtered before the functions run.
import type { Labels } from '../../core/index.ts';
import { SqlBuilder, type Sql } from '../../storage/index.ts';
import type { AggregateExpr, Call, Expr, LabelMatcher, SubqueryExpr, VectorSelector } from './ast.ts';
import { RowBinaryReader as RowReader } from '../../storage/index.ts';
import { dateTime64Param, METRIC_NAME, pinnedMetricName, sampleTimeConditions, STALE_BITS_SQL, type TenantScope } from './clickhouse-sql.ts';
import { groupIdExpr, labelsWithoutName, lookupSeries, seriesKeyColumns, seriesRestriction, type LookupEnv, type MatchedSeries, type SeriesLookup } from './clickhouse-series.ts';
import { LabelSetIndex } from './label-set.ts';
import { avgStep, kahanInc } from './quantile.ts';
import { sortedSamples, strictlyIncreasing } from './sample-order.ts';
import { durationMs } from './parse.ts';
import { KEEPS_METRIC_NAME, RANGE_KERNELS, type RangeEnv } from './range-functions.ts';
import type { PushdownRequest, PushdownResult } from './series-source.ts';

/** Range functions ClickHouse computes exactly as range-functions.ts does. */
const RANGE_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['rate', 'timeSeriesRateToGrid'],
  ['increase', 'timeSeriesIncreaseToGrid'],
  ['delta', 'timeSeriesDeltaToGrid'],
  ['irate', 'timeSeriesInstantRateToGrid'],
  ['idelta', 'timeSeriesInstantDeltaToGrid'],
  ['last_over_time', 'timeSeriesLastToGrid'],
]);

/** Range functions whose result keeps __name__ (range-functions.ts KEEPS_METRIC_NAME). */
const KEEPS_NAME: ReadonlySet<string> = new Set(['last_over_time']);

type PushedAgg = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group';
const AGGREGATIONS: ReadonlySet<string> = new Set<PushedAgg>(['sum', 'avg', 'min', 'max', 'count', 'group']);

/** rate()/increase() over a metric whose name does not look like a counter gets an info annotation the pushdown cannot add. */
const COUNTER_SUFFIX = /(_total|_sum|_count|_bucket)$/;

export interface PushdownPlan {
  /** the selector's matchers (incl. __name__) */
  readonly matchers: readonly LabelMatcher[];
  /** 'instant' = the instant vector selector with lookback */
  readonly fn: string;
  /** range of the range selector, or the lookback for an instant selector */
  readonly windowMs: number;
  /** the grid ClickHouse evaluates: shifted by the offset, one point for @ */
  readonly evalStartMs: number;
  readonly evalEndMs: number;
  readonly evalStepMs: number;
  /** steps of the request's grid; with @ the single value fills them all */
  readonly n: number;
  readonly pinnedAt: boolean;
  readonly keepName: boolean;
  readonly agg: { readonly op: PushedAgg; readonly grouping: readonly string[]; readonly without: boolean } | null;
}

function unwrap(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr;
  return e;
}

/** The step count of the request's grid. */
function gridSteps(req: PushdownRequest): number {
  if (req.stepMs <= 0 || req.startMs === req.endMs) return 1;
  return Math.floor((req.endMs - req.startMs) / req.stepMs) + 1;
}

/** Decides whether (and how) a node is pushed down; null leaves it to the evaluator. */
export function planPushdown(req: PushdownRequest, durationStepMs: number = req.stepMs): PushdownPlan | null {
  const node = unwrap(req.expr);
  let agg: PushdownPlan['agg'] = null;
  let inner: Expr = node;
  if (node.type === 'AggregateExpr') {
    if (!AGGREGATIONS.has(node.op) || node.param) return null;
    agg = { op: node.op as PushedAgg, grouping: node.grouping, without: node.without };
    inner = unwrap((node as AggregateExpr).expr);
  }
  // step() and range() in durations mean the query's own step and range
  const ctx = { stepMs: durationStepMs, rangeMs: req.queryEndMs - req.queryStartMs };
  let selector: VectorSelector;
  let fn: string;
  let windowMs: number;
  if (inner.type === 'Call') {
    const call = inner as Call;
    if (!RANGE_FUNCTIONS.has(call.func.name) || call.args.length !== 1) return null;
    const arg = unwrap(call.args[0] as Expr);
    if (arg.type !== 'MatrixSelector') return null;
    selector = arg.selector;
    fn = call.func.name;
    windowMs = durationMs(arg.range, ctx, false);
  } else if (inner.type === 'VectorSelector' && agg) {
    selector = inner;
    fn = 'instant';
    windowMs = req.lookbackDeltaMs;
  } else {
    return null;
  }
  const name = pinnedMetricName(selector.matchers);
  if (name === null) return null;
  if ((fn === 'rate' || fn === 'increase') && !COUNTER_SUFFIX.test(name)) return null;
  if (!(windowMs > 0)) return null;
  const offsetMs = selector.offset ? durationMs(selector.offset, ctx, true) : 0;
  let atMs: number | null = null;
  if (selector.at) atMs = selector.at.kind === 'start' ? req.queryStartMs : selector.at.kind === 'end' ? req.queryEndMs : selector.at.ms;
  const n = gridSteps(req);
  const pinnedAt = atMs !== null;
  return {
    matchers: selector.matchers,
    fn,
    windowMs,
    evalStartMs: (atMs ?? req.startMs) - offsetMs,
    evalEndMs: (atMs ?? (n === 1 ? req.startMs : req.endMs)) - offsetMs,
    evalStepMs: pinnedAt || n === 1 ? 0 : req.stepMs,
    n,
    pinnedAt,
    keepName: fn === 'instant' || KEEPS_NAME.has(fn),
    agg,
  };
}

export interface PushdownEnv extends LookupEnv {
  /**
   * Aggregations over at most this many per-series points are folded here
   * from per-series results (cheaper than grouping in ClickHouse); 0 groups
   * every aggregation in ClickHouse.
   */
  readonly smallAggregationPoints: number;
}

/** Seconds with milliseconds, as a Decimal64(3) parameter. */
function secondsParam(ms: number): string {
  return dateTime64Param(ms);
}

/** The labels a pushed node's per-series result carries: __name__ dropped unless the function keeps it. */
function resultLabels(plan: PushdownPlan, s: MatchedSeries): Labels {
  return plan.keepName ? s.labels : labelsWithoutName(s);
}

/** Prometheus's grouping labels: by(...) keeps the listed labels, without(...) drops them and __name__. */
function groupingLabels(l: Labels, grouping: readonly string[], without: boolean): Labels {
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < l.names.length; i++) {
    const n = l.names[i] as string;
    const keep = without ? n !== METRIC_NAME && !grouping.includes(n) : grouping.includes(n);
    if (keep) {
      names.push(n);
      values.push(l.values[i] as string);
    }
  }
  return { names, values };
}

/** The per-series aggregate (the timeSeries*ToGrid function) and the sample conditions of a plan. */
function perSeriesSql(q: SqlBuilder, plan: PushdownPlan, env: PushdownEnv, series: SeriesLookup): string {
  // Samples in (evalStart - window, evalEnd].
  const conds = [...seriesRestriction(q, series), ...sampleTimeConditions(q, plan.evalStartMs - plan.windowMs + 1, plan.evalEndMs)];
  // Range vectors never contain staleness markers; the instant selector needs them.
  if (plan.fn !== 'instant') conds.push(`reinterpretAsUInt64(value) != ${STALE_BITS_SQL}`);
  const fnName = plan.fn === 'instant' ? 'timeSeriesResampleToGridWithStaleness' : (RANGE_FUNCTIONS.get(plan.fn) as string);
  const gridParams = [
    q.param('DateTime64(3)', dateTime64Param(plan.evalStartMs)),
    q.param('DateTime64(3)', dateTime64Param(plan.evalEndMs)),
    q.param('Decimal64(3)', secondsParam(plan.evalStepMs)),
    q.param('Decimal64(3)', secondsParam(plan.windowMs)),
  ].join(', ');
  // A staleness marker as the latest sample within the lookback means "no value".
  const perStep = plan.fn === 'instant' ? `arrayMap(x -> if(isNotNull(x) AND reinterpretAsUInt64(assumeNotNull(x)) = ${STALE_BITS_SQL}, NULL, x), r0)` : 'r0';
  const keys = seriesKeyColumns(series);
  return [
    `SELECT ${keys}, ${perStep} AS r FROM (`,
    `SELECT ${keys}, ${fnName}(${gridParams})(fromUnixTimestamp64Milli(timestamp_ms), value) AS r0`,
    `FROM ${env.db}.metrics_samples WHERE ${conds.join(' AND ')}`,
    `GROUP BY ${keys})`,
  ].join(' ');
}

function aggregateValuesSql(op: PushedAgg): string {
  switch (op) {
    case 'sum':
      return 'arrayMap(x -> ifNull(x, 0), sumKahanForEach(r))';
    case 'avg':
      return 'arrayMap(x -> ifNull(x, 0), avgForEach(r))';
    case 'min':
    case 'max':
      // NaN only when every value is NaN (Prometheus replaces a NaN by any later value).
      return `arrayMap(x -> ifNull(x, nan), ${op}ForEach(arrayMap(x -> if(isNaN(x), NULL, x), r)))`;
    case 'count':
      return 'arrayMap(x -> toFloat64(x), countForEach(r))';
    case 'group':
      return 'arrayMap(x -> 1., countForEach(r))';
  }
}

interface SeriesRow {
  readonly s: MatchedSeries;
  readonly values: Float64Array;
  readonly present: Uint8Array | null;
}

/** Per-series results of a plan's function on its grid, computed by ClickHouse's timeSeries*ToGrid. */
async function gridRows(plan: PushdownPlan, env: PushdownEnv, series: SeriesLookup, run: (q: Sql) => Promise<Uint8Array>): Promise<SeriesRow[]> {
  const q = new SqlBuilder();
  q.add(`SELECT ${seriesKeyColumns(series)}, arrayMap(x -> ifNull(x, 0), r), arrayMap(x -> toUInt8(isNotNull(x)), r) FROM (${perSeriesSql(q, plan, env, series)})`);
  q.add('WHERE arrayExists(x -> isNotNull(x), r)');
  const r = RowReader.of(await run(q.build()));
  const oneTenant = series.tenants.length === 1 ? (series.tenants[0] as string) : null;
  const rows: SeriesRow[] = [];
  while (!r.done) {
    const tenant = oneTenant ?? r.string();
    const [hi, lo] = r.uint64Parts();
    const values = r.float64Array();
    const present = r.flagsOrNull();
    const s = series.find(tenant, hi, lo);
    if (s) rows.push({ s, values, present });
  }
  return rows;
}

/**
 * Per-series results for a single evaluation time: the window's raw samples
 * (a plain groupArray, the cheapest read) and the evaluator's own kernel
 * (range-functions.ts) over them — for one step this beats the grid
 * functions, whose per-series state costs more than the few samples do.
 * All samples land in two shared arrays (one copy per series, no
 * allocation per series) and the kernels read their [lo, hi) ranges.
 */
interface InstantValues {
  readonly series: MatchedSeries[];
  readonly values: number[];
}

async function instantValues(plan: PushdownPlan, env: PushdownEnv, series: SeriesLookup, run: (q: Sql) => Promise<Uint8Array>): Promise<InstantValues> {
  const q = new SqlBuilder();
  const conds = [...seriesRestriction(q, series), ...sampleTimeConditions(q, plan.evalStartMs - plan.windowMs + 1, plan.evalEndMs)];
  if (plan.fn !== 'instant') conds.push(`reinterpretAsUInt64(value) != ${STALE_BITS_SQL}`);
  return valuesOf(plan, series, await windowSamples(q, env, series, conds, run));
}

/** The samples a single-step plan reads, from wherever they are held (ClickHouse or the in-memory head). */
export interface WindowReader {
  /** the series the plan's matchers select, with samples in [startMs, endMs] */
  lookup(matchers: readonly LabelMatcher[], startMs: number, endMs: number): SeriesLookup;
  /** their samples in [startMs, endMs] (without staleness markers when dropStale) */
  window(series: SeriesLookup, startMs: number, endMs: number, dropStale: boolean): WindowSamples;
}

/** The first timestamp a single-step plan reads, or null when the plan has more than one step. */
export function singleStepStartMs(plan: PushdownPlan): number | null {
  return plan.evalStepMs === 0 ? plan.evalStartMs - plan.windowMs + 1 : null;
}

/** Runs a single-step plan over a WindowReader: the same kernels and folds as over ClickHouse rows. */
export function runSingleStep(plan: PushdownPlan, reader: WindowReader): PushdownResult {
  const startMs = plan.evalStartMs - plan.windowMs + 1;
  const series = reader.lookup(plan.matchers, startMs, plan.evalEndMs);
  const iv = valuesOf(plan, series, reader.window(series, startMs, plan.evalEndMs, plan.fn !== 'instant'));
  const out: Array<PushdownResult['series'][number]> = [];
  const finish = finisher(plan, out);
  if (!plan.agg) {
    for (let i = 0; i < iv.series.length; i++) finish(resultLabels(plan, iv.series[i] as MatchedSeries), Float64Array.of(iv.values[i] as number), null);
    return { series: out };
  }
  const { groups, groupOf } = grouper(plan);
  const fold = new GroupFold(plan.agg.op, 1);
  for (let i = 0; i < iv.series.length; i++) fold.addOne(groupOf(iv.series[i] as MatchedSeries), iv.values[i] as number);
  fold.finish((g, vals, present) => finish(groups.sets[g] as Labels, vals, present));
  return { series: out };
}

/** A single step's value per series: the range function's kernel over the window, or the latest sample. */
function valuesOf(plan: PushdownPlan, series: SeriesLookup, w: WindowSamples): InstantValues {
  const kernel = plan.fn === 'instant' ? null : RANGE_KERNELS.get(plan.fn);
  if (plan.fn !== 'instant' && !kernel) throw new Error(`no kernel for ${plan.fn}`);
  const end = plan.evalEndMs;
  const envK: RangeEnv = { rangeStartMs: end - plan.windowMs, rangeEndMs: end, rangeMs: plan.windowMs, evalTsMs: end, args: [] };
  const out: InstantValues = { series: [], values: [] };
  for (let i = 0; i < series.series.length; i++) {
    let a = w.from[i] as number;
    let b = w.to[i] as number;
    if (a === b) continue;
    let t = w.t;
    let v = w.v;
    if (!strictlyIncreasing(t, a, b)) {
      [t, v] = sortedSamples(t.slice(a, b), v.slice(a, b));
      a = 0;
      b = t.length;
    }
    let value: number | null;
    if (kernel) value = kernel(t, v, a, b, envK);
    else value = isStale(v, b - 1) ? null : (v[b - 1] as number); // the latest sample, unless it is a staleness marker
    if (value !== null) {
      out.series.push(series.series[i] as MatchedSeries);
      out.values.push(value);
    }
  }
  return out;
}

export interface WindowSamples {
  /** series i's samples are t/v[from[i], to[i]) (empty when equal), in read order */
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/**
 * The samples of a short window as plain rows — no GROUP BY in ClickHouse,
 * which costs more than the rows do — gathered per series here. Rows of a
 * series arrive in runs (a part keeps them together), so the look-up
 * happens once per run and a series read in one run is used where it lies;
 * only a series split over several runs (several parts or threads) is
 * copied together. Values are moved as raw bits.
 */
export async function windowSamples(q: SqlBuilder, env: LookupEnv, series: SeriesLookup, conds: readonly string[], run: (q: Sql) => Promise<Uint8Array>): Promise<WindowSamples> {
  const multi = series.tenants.length !== 1;
  q.add(`SELECT ${multi ? 'tenant, ' : ''}fingerprint, timestamp_ms, value FROM ${env.db}.metrics_samples WHERE ${conds.join(' AND ')}`);
  const bytes = await run(q.build());
  if (!multi) return fixedRows(series, bytes);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = series.series.length;
  const cap = Math.floor(buf.length / 24);
  const t = new Float64Array(cap);
  const vw = new Uint32Array(cap * 2);
  const from = new Int32Array(n);
  const to = new Int32Array(n);
  // runs of series that came in more than one run: [id, begin, end] triples
  const extra: number[] = [];
  let split = false;
  const oneTenant = multi ? null : (series.tenants[0] as string);
  const r = multi ? RowReader.of(bytes) : null;
  let off = 0;
  let rows = 0;
  let lastHi = -1;
  let lastLo = -1;
  let lastTenant = '';
  let lastId = -1;
  let runBegin = 0;
  const closeRun = (): void => {
    if (lastId < 0 || rows === runBegin) return;
    if (from[lastId] === to[lastId]) {
      from[lastId] = runBegin;
      to[lastId] = rows;
    } else {
      split = true;
      extra.push(lastId, runBegin, rows);
    }
  };
  while (off < buf.length) {
    let tenant = oneTenant as string;
    if (r) {
      r.seek(off);
      tenant = r.string();
      off = r.position;
    }
    const lo = view.getUint32(off, true);
    const hi = view.getUint32(off + 4, true);
    if (hi !== lastHi || lo !== lastLo || tenant !== lastTenant) {
      closeRun();
      lastHi = hi;
      lastLo = lo;
      lastTenant = tenant;
      lastId = series.find(tenant, hi, lo)?.index ?? -1;
      runBegin = rows;
    }
    if (lastId >= 0) {
      t[rows] = view.getInt32(off + 12, true) * 4294967296 + view.getUint32(off + 8, true);
      vw[2 * rows] = view.getUint32(off + 16, true);
      vw[2 * rows + 1] = view.getUint32(off + 20, true);
      rows++;
    }
    off += 24;
  }
  closeRun();
  return gather(from, to, t, vw, rows, split ? extra : null);
}

/**
 * One tenant: every row is 24 bytes (fingerprint, timestamp, value), read
 * as 32-bit words (no DataView call per field).
 */
function fixedRows(series: SeriesLookup, bytes: Uint8Array): WindowSamples {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.from(bytes);
  const rowsIn = Math.floor(aligned.byteLength / 24);
  const u = new Uint32Array(aligned.buffer, aligned.byteOffset, rowsIn * 6);
  const i32 = new Int32Array(aligned.buffer, aligned.byteOffset, rowsIn * 6);
  const tenant = series.tenants[0] as string;
  const n = series.series.length;
  const t = new Float64Array(rowsIn);
  const vw = new Uint32Array(rowsIn * 2);
  const from = new Int32Array(n);
  const to = new Int32Array(n);
  const extra: number[] = [];
  let split = false;
  let rows = 0;
  let lastHi = -1;
  let lastLo = -1;
  let lastId = -1;
  let runBegin = 0;
  for (let j = 0; j < rowsIn; j++) {
    const w = 6 * j;
    const lo = u[w] as number;
    const hi = u[w + 1] as number;
    if (hi !== lastHi || lo !== lastLo) {
      if (lastId >= 0 && rows > runBegin) {
        if (from[lastId] === to[lastId]) {
          from[lastId] = runBegin;
          to[lastId] = rows;
        } else {
          split = true;
          extra.push(lastId, runBegin, rows);
        }
      }
      lastHi = hi;
      lastLo = lo;
      lastId = series.find(tenant, hi, lo)?.index ?? -1;
      runBegin = rows;
    }
    if (lastId < 0) continue;
    t[rows] = (i32[w + 3] as number) * 4294967296 + (u[w + 2] as number);
    vw[2 * rows] = u[w + 4] as number;
    vw[2 * rows + 1] = u[w + 5] as number;
    rows++;
  }
  if (lastId >= 0 && rows > runBegin) {
    if (from[lastId] === to[lastId]) {
      from[lastId] = runBegin;
      to[lastId] = rows;
    } else {
      split = true;
      extra.push(lastId, runBegin, rows);
    }
  }
  return gather(from, to, t, vw, rows, split ? extra : null);
}

/** The samples with each series' runs in one place (only series read in several runs are copied). */
function gather(from: Int32Array, to: Int32Array, t: Float64Array, vw: Uint32Array, rows: number, extra: number[] | null): WindowSamples {
  if (!extra) return { from, to, t, v: new Float64Array(vw.buffer, vw.byteOffset, t.length) };
  // Gather each split series' runs into one place after the rows read.
  const more = new Map<number, number[]>();
  for (let k = 0; k < extra.length; k += 3) {
    const id = extra[k] as number;
    let list = more.get(id);
    if (!list) more.set(id, (list = [from[id] as number, to[id] as number]));
    list.push(extra[k + 1] as number, extra[k + 2] as number);
  }
  let total = rows;
  for (const list of more.values()) for (let k = 0; k < list.length; k += 2) total += (list[k + 1] as number) - (list[k] as number);
  const T = new Float64Array(total);
  const VW = new Uint32Array(total * 2);
  T.set(t.subarray(0, rows));
  VW.set(vw.subarray(0, rows * 2));
  let at = rows;
  for (const [id, list] of more) {
    from[id] = at;
    for (let k = 0; k < list.length; k += 2) {
      const a = list[k] as number;
      const b = list[k + 1] as number;
      T.set(t.subarray(a, b), at);
      VW.set(vw.subarray(2 * a, 2 * b), 2 * at);
      at += b - a;
    }
    to[id] = at;
  }
  return { from, to, t: T, v: new Float64Array(VW.buffer) };
}

const staleWords = new Uint32Array(2);
const staleView = new Float64Array(staleWords.buffer);
function isStale(v: Float64Array, i: number): boolean {
  staleView[0] = v[i] as number;
  return staleWords[1] === 0x7ff00000 && staleWords[0] === 2;
}

/**
 * Runs a plan: the series look-up, then one samples query. Per-series
 * results come back by fingerprint; aggregations are folded here from them
 * when they are few points, else grouped in ClickHouse by a group id
 * computed here from the labels (the evaluator's grouping rules), so no
 * label travels through the samples query.
 */
export async function runPushdown(plan: PushdownPlan, env: PushdownEnv, run: (q: Sql) => Promise<Uint8Array>): Promise<PushdownResult | null> {
  const series = await lookupSeries(env, plan.matchers, plan.evalStartMs - plan.windowMs + 1, plan.evalEndMs, run);
  if (series.series.length === 0) return { series: [] };
  const out: Array<PushdownResult['series'][number]> = [];
  const finish = finisher(plan, out);
  const single = plan.evalStepMs === 0;
  if (!plan.agg) {
    if (single) {
      const iv = await instantValues(plan, env, series, run);
      for (let i = 0; i < iv.series.length; i++) finish(resultLabels(plan, iv.series[i] as MatchedSeries), Float64Array.of(iv.values[i] as number), null);
    }
    else for (const row of await gridRows(plan, env, series, run)) finish(resultLabels(plan, row.s), row.values, row.present);
    return { series: out };
  }
  const { op } = plan.agg;
  const { groups, groupOf } = grouper(plan);
  if (single || series.series.length * plan.n <= env.smallAggregationPoints) {
    // Few points: per-series results folded here, as aggregate.ts folds them.
    const fold = new GroupFold(op, single ? 1 : plan.n);
    if (single) {
      const iv = await instantValues(plan, env, series, run);
      for (let i = 0; i < iv.series.length; i++) fold.addOne(groupOf(iv.series[i] as MatchedSeries), iv.values[i] as number);
    } else for (const row of await gridRows(plan, env, series, run)) fold.add(groupOf(row.s), row.values, row.present);
    fold.finish((g, vals, present) => finish(groups.sets[g] as Labels, vals, present));
    return { series: out };
  }
  const q = new SqlBuilder();
  const perSeries = perSeriesSql(q, plan, env, series);
  const gid = groupIdExpr(q, series, (s) => groupOf(s) + 1);
  q.add(`SELECT g, ${aggregateValuesSql(op)}, arrayMap(x -> toUInt8(x > 0), countForEach(r)) AS present`);
  q.add(`FROM (SELECT ${gid} AS g, r FROM (${perSeries})) WHERE g > 0 GROUP BY g`);
  q.add('HAVING arrayExists(x -> x > 0, present)');
  const r = RowReader.of(await run(q.build()));
  while (!r.done) {
    const g = r.uint32();
    const vals = r.float64Array();
    const present = r.flagsOrNull();
    const labels = groups.sets[g - 1];
    if (labels) finish(labels, vals, present);
  }
  return { series: out };
}

/** Collects a plan's output series on its grid; with @ the single value fills every step. */
function finisher(plan: PushdownPlan, out: Array<PushdownResult['series'][number]>): (labels: Labels, vals: Float64Array, present: Uint8Array | null) => void {
  return (labels, valsIn, presentIn) => {
    let vals = valsIn;
    let present = presentIn;
    if (plan.pinnedAt) {
      // @: the same value at every step.
      if (present && !present[0]) return;
      vals = new Float64Array(plan.n).fill(vals[0] as number);
      present = null;
    }
    if (vals.length !== plan.n) throw new Error(`pushdown returned ${vals.length} steps for a grid of ${plan.n}`);
    out.push({ labels, values: vals, present });
  };
}

/**
 * The group id of a series under a plan's aggregation. A series' group
 * label set is made once per grouping (look-ups are cached, and so are the
 * head's series); within this query, equal sets are found by their interned
 * key string.
 */
function grouper(plan: PushdownPlan): { groups: LabelSetIndex; groupOf: (s: MatchedSeries) => number } {
  const { grouping, without } = plan.agg as NonNullable<PushdownPlan['agg']>;
  const groups = new LabelSetIndex();
  const spec = `${plan.keepName ? 1 : 0}${without ? 'w' : 'b'}${grouping.join('\u0000')}`;
  const ids = new Map<string, number>();
  const groupOf = (s: MatchedSeries): number => {
    s.groups ??= new Map();
    let g = s.groups.get(spec);
    if (!g) {
      const labels = groupingLabels(resultLabels(plan, s), grouping, without);
      g = { labels, key: labels.names.map((n, i) => `${n}\u0000${labels.values[i]}`).join('\u0001') };
      s.groups.set(spec, g);
    }
    let id = ids.get(g.key);
    if (id === undefined) {
      id = groups.idOf(g.labels);
      ids.set(g.key, id);
    }
    return id;
  };
  return { groups, groupOf };
}

// ---- range functions over a subquery of a pushed-down expression ----
//
// `f(inner[range:step])` with f a range function and inner a form above:
// ClickHouse computes inner on the subquery's own grid (aligned to multiples
// of its step, as Prometheus evaluates subqueries), and f runs here over
// those points with the evaluator's own kernels (range-functions.ts), window
// by window as evaluator.ts evalRangeFunction does.

/** Outer functions that add no annotations (rate/increase would; quantile_over_time only with a literal in [0, 1]). */
const SUBQUERY_OUTER: ReadonlySet<string> = new Set([
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'present_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'delta',
  'idelta',
  'irate',
  'deriv',
  'changes',
  'resets',
]);

export interface SubqueryPlan {
  readonly fn: string;
  /** scalar arguments (quantile_over_time's q) */
  readonly args: readonly number[];
  readonly inner: PushdownPlan;
  /** the subquery grid the inner plan is evaluated on */
  readonly subStartMs: number;
  readonly subStepMs: number;
  readonly subN: number;
  readonly rangeMs: number;
  readonly offsetMs: number;
  readonly atMs: number | null;
  /** the request's grid */
  readonly startMs: number;
  readonly stepMs: number;
  readonly n: number;
}

function floorDiv(x: number, y: number): number {
  let q = Math.floor(x / y);
  if (q * y > x) q--;
  else if ((q + 1) * y <= x) q++;
  return q;
}

/**
 * Plans `f(inner[range:step])` when inner can be pushed down. The subquery
 * grid follows Prometheus (and evaluator.ts subqueryGrid): from the first
 * multiple of the step after (first step - offset - range) to (last step -
 * offset), or around the @ time.
 */
export function planSubqueryPushdown(req: PushdownRequest, noStepSubqueryIntervalMs: number): SubqueryPlan | null {
  const node = unwrap(req.expr);
  if (node.type !== 'Call' || !SUBQUERY_OUTER.has(node.func.name)) return null;
  const args: number[] = [];
  let sq: SubqueryExpr | null = null;
  for (const a of node.args) {
    const u = unwrap(a);
    if (u.type === 'SubqueryExpr') sq = u;
    else if (u.type === 'NumberLiteral') args.push(u.value);
    else return null;
  }
  if (!sq) return null;
  if (node.func.name === 'quantile_over_time' && !(args.length === 1 && (args[0] as number) >= 0 && (args[0] as number) <= 1)) return null;
  const ctx = { stepMs: req.stepMs, rangeMs: req.queryEndMs - req.queryStartMs };
  const offsetMs = sq.offset ? durationMs(sq.offset, ctx, true) : 0;
  const rangeMs = durationMs(sq.range, ctx, false);
  const stepMs = sq.step ? durationMs(sq.step, ctx, false) : noStepSubqueryIntervalMs;
  if (!(stepMs > 0) || !(rangeMs > 0)) return null;
  let atMs: number | null = null;
  if (sq.at) atMs = sq.at.kind === 'start' ? req.queryStartMs : sq.at.kind === 'end' ? req.queryEndMs : sq.at.ms;
  const n = gridSteps(req);
  const refStart = atMs ?? req.startMs;
  const refEnd = atMs ?? (n === 1 ? req.startMs : req.startMs + (n - 1) * req.stepMs);
  const subStartMs = (floorDiv(refStart - offsetMs - rangeMs, stepMs) + 1) * stepMs;
  const subEnd = refEnd - offsetMs;
  if (subEnd < subStartMs) return null;
  const subN = Math.floor((subEnd - subStartMs) / stepMs) + 1;
  const inner = planPushdown(
    { expr: sq.expr, startMs: subStartMs, endMs: subStartMs + (subN - 1) * stepMs, stepMs: subN > 1 ? stepMs : 0, lookbackDeltaMs: req.lookbackDeltaMs, queryStartMs: req.queryStartMs, queryEndMs: req.queryEndMs },
    req.stepMs,
  );
  if (!inner) return null;
  return { fn: node.func.name, args, inner, subStartMs, subStepMs: stepMs, subN, rangeMs, offsetMs, atMs, startMs: req.startMs, stepMs: req.stepMs, n };
}

/** Runs the inner plan in ClickHouse and the outer range function over its points. */
export async function runSubqueryPushdown(plan: SubqueryPlan, env: PushdownEnv, run: (q: Sql) => Promise<Uint8Array>): Promise<PushdownResult | null> {
  const inner = await runPushdown(plan.inner, env, run);
  if (!inner) return null;
  const kernel = RANGE_KERNELS.get(plan.fn);
  if (!kernel) return null;
  const dropName = !KEEPS_METRIC_NAME.has(plan.fn);
  const envK: RangeEnv = { rangeStartMs: 0, rangeEndMs: 0, rangeMs: plan.rangeMs, evalTsMs: 0, args: [...plan.args] };
  const out: Array<PushdownResult['series'][number]> = [];
  for (const s of inner.series) {
    // the inner result's present steps as samples
    let count = 0;
    for (let i = 0; i < plan.subN; i++) if (!s.present || s.present[i]) count++;
    const t = new Float64Array(count);
    const v = new Float64Array(count);
    let k = 0;
    for (let i = 0; i < plan.subN; i++) {
      if (s.present && !s.present[i]) continue;
      t[k] = plan.subStartMs + i * plan.subStepMs;
      v[k] = s.values[i] as number;
      k++;
    }
    const values = new Float64Array(plan.n);
    const present = new Uint8Array(plan.n);
    let any = false;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < plan.n; i++) {
      const ts = plan.startMs + i * plan.stepMs;
      const end = (plan.atMs ?? ts) - plan.offsetMs;
      const start = end - plan.rangeMs;
      while (hi < t.length && (t[hi] as number) <= end) hi++;
      while (lo < hi && (t[lo] as number) <= start) lo++;
      if (hi === lo) continue;
      envK.rangeStartMs = start;
      envK.rangeEndMs = end;
      envK.evalTsMs = ts;
      const r = kernel(t, v, lo, hi, envK);
      if (r === null) continue;
      values[i] = r;
      present[i] = 1;
      any = true;
    }
    if (!any) continue;
    let labels = s.labels;
    if (dropName) {
      const j = labels.names.indexOf(METRIC_NAME);
      if (j >= 0) labels = { names: labels.names.filter((_, x) => x !== j), values: labels.values.filter((_, x) => x !== j) };
    }
    out.push({ labels, values, present: present.every((p) => p === 1) ? null : present });
  }
  return { series: out };
}

/**
 * Folds per-series step values into groups the way aggregate.ts does:
 * members in input order; sum with Kahan–Neumaier compensation; avg as a
 * compensated sum until it would overflow, then an incremental mean; min and
 * max keep a NaN only until any other value comes; count and group.
 */
class GroupFold {
  private readonly val: Float64Array[] = [];
  private readonly comp: Float64Array[] = [];
  private readonly mean: Float64Array[] = [];
  private readonly count: Float64Array[] = [];
  private readonly incremental: Uint8Array[] = [];
  private readonly seen: Uint8Array[] = [];

  constructor(
    private readonly op: PushedAgg,
    private readonly n: number,
  ) {}

  private group(g: number): void {
    while (this.val.length <= g) {
      this.val.push(new Float64Array(this.n));
      this.seen.push(new Uint8Array(this.n));
      if (this.op === 'sum' || this.op === 'avg') this.comp.push(new Float64Array(this.n));
      if (this.op === 'avg') {
        this.mean.push(new Float64Array(this.n));
        this.count.push(new Float64Array(this.n));
        this.incremental.push(new Uint8Array(this.n));
      }
    }
  }

  private readonly one = new Float64Array(1);

  /** One value at step 0 (single-step folds). */
  addOne(g: number, f: number): void {
    this.one[0] = f;
    this.add(g, this.one, null);
  }

  add(g: number, values: Float64Array, present: Uint8Array | null): void {
    this.group(g);
    const val = this.val[g] as Float64Array;
    const seen = this.seen[g] as Uint8Array;
    for (let i = 0; i < this.n; i++) {
      if (present && !present[i]) continue;
      const f = values[i] as number;
      if (!seen[i]) {
        seen[i] = 1;
        if (this.op === 'count' || this.op === 'group') val[i] = 1;
        else val[i] = f;
        if (this.op === 'avg') {
          (this.mean[g] as Float64Array)[i] = f;
          (this.count[g] as Float64Array)[i] = 1;
        }
        continue;
      }
      switch (this.op) {
        case 'sum': {
          const c = this.comp[g] as Float64Array;
          const [sum, cc] = kahanInc(f, val[i] as number, c[i] as number);
          val[i] = sum;
          c[i] = cc;
          break;
        }
        case 'avg': {
          const c = this.comp[g] as Float64Array;
          const mean = this.mean[g] as Float64Array;
          const count = this.count[g] as Float64Array;
          avgStep(i, f, val, c, mean, count, this.incremental[g] as Uint8Array);
          break;
        }
        case 'count':
          val[i] = (val[i] as number) + 1;
          break;
        case 'group':
          break;
        case 'min':
        case 'max': {
          const cur = val[i] as number;
          if ((this.op === 'max' ? cur < f : cur > f) || Number.isNaN(cur)) val[i] = f;
          break;
        }
      }
    }
  }

  finish(emit: (g: number, values: Float64Array, present: Uint8Array | null) => void): void {
    for (let g = 0; g < this.val.length; g++) {
      const val = this.val[g] as Float64Array;
      const seen = this.seen[g] as Uint8Array;
      let any = false;
      let all = true;
      for (let i = 0; i < this.n; i++) {
        if (!seen[i]) {
          all = false;
          continue;
        }
        any = true;
        if (this.op === 'sum') val[i] = (val[i] as number) + ((this.comp[g] as Float64Array)[i] as number);
        else if (this.op === 'avg') {
          const cnt = (this.count[g] as Float64Array)[i] as number;
          const c = (this.comp[g] as Float64Array)[i] as number;
          val[i] = (this.incremental[g] as Uint8Array)[i] ? ((this.mean[g] as Float64Array)[i] as number) + c : (val[i] as number) / cnt + c / cnt;
        }
      }
      if (any) emit(g, val, all ? null : seen);
    }
  }
}
