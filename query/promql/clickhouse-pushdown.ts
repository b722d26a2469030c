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
import { sortLabels, type Labels } from '../../core/index.ts';
import { SqlBuilder, type Sql } from '../../storage/index.ts';
import type { AggregateExpr, Call, Expr, LabelMatcher, SubqueryExpr, VectorSelector } from './ast.ts';
import { RowReader } from './ch-row-reader.ts';
import { dateTime64Param, isMultiTenant, METRIC_NAME, pinnedMetricName, samplesConditions, seriesFromWhere, splitTenantMatchers, STALE_BITS_SQL, TENANT_LABEL, type TenantScope } from './clickhouse-sql.ts';
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

export interface PushdownEnv {
  readonly db: string;
  readonly scope: TenantScope;
  readonly maxSeries: number;
}

/** Seconds with milliseconds, as a Decimal64(3) parameter. */
function secondsParam(ms: number): string {
  return dateTime64Param(ms);
}

/** The SQL for a plan, or null when nothing can match (no tenant left). */
export function pushdownSql(plan: PushdownPlan, env: PushdownEnv): Sql | null {
  const { tenants, matchers } = splitTenantMatchers(env.scope, plan.matchers);
  if (tenants.length === 0) return null;
  const multi = isMultiTenant(env.scope);
  // Samples in (evalStart - window, evalEnd]; the series rows for those days.
  const sq = { db: env.db, tenants, matchers, startMs: plan.evalStartMs - plan.windowMs + 1, endMs: plan.evalEndMs };
  const q = new SqlBuilder();
  const seriesFrom = seriesFromWhere(q, sq);
  const conds = samplesConditions(q, sq);
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

  q.add(`WITH matched AS (SELECT tenant, metric_name, fingerprint, any(labels) AS lset ${seriesFrom} GROUP BY tenant, metric_name, fingerprint)`);
  const perSeries = [
    `SELECT m.tenant AS tenant, m.lset AS labels, ${perStep} AS r FROM (`,
    `SELECT tenant, fingerprint, ${fnName}(${gridParams})(fromUnixTimestamp64Milli(timestamp_ms), value) AS r0`,
    `FROM ${env.db}.metrics_samples WHERE ${conds.join(' AND ')}`,
    'AND (tenant, metric_name, fingerprint) IN (SELECT tenant, metric_name, fingerprint FROM matched)',
    'GROUP BY tenant, fingerprint) AS d',
    'INNER JOIN matched AS m ON m.tenant = d.tenant AND m.fingerprint = d.fingerprint',
  ].join(' ');

  if (!plan.agg) {
    // One output series per input series, labels without __name__ unless the function keeps it.
    q.add(`SELECT tenant, labels, arrayMap(x -> ifNull(x, 0), r), arrayMap(x -> toUInt8(isNotNull(x)), r) FROM (${perSeries})`);
    q.add('WHERE arrayExists(x -> isNotNull(x), r)');
    q.add(`LIMIT ${q.param('UInt64', env.maxSeries + 1)}`);
    return q.build();
  }

  const { op, grouping, without } = plan.agg;
  // Grouping key columns: by(...) reads each label; without(...) keeps the label map minus the dropped names.
  const keyExprs: string[] = [];
  if (without) {
    const drop = new Set([...grouping, METRIC_NAME]);
    keyExprs.push(`mapFilter((k, v) -> NOT has(${q.param('Array(String)', [...drop])}, k), labels)`);
    keyExprs.push(multi && !drop.has(TENANT_LABEL) ? 'tenant' : "''");
  } else {
    for (const g of grouping) {
      if (g === TENANT_LABEL && multi) keyExprs.push('tenant');
      else if (g === METRIC_NAME && !plan.keepName) keyExprs.push("''");
      else keyExprs.push(`labels[${q.param('String', g)}]`);
    }
  }
  const keys = keyExprs.map((e, i) => `${e} AS k${i}`);
  const keyNames = keyExprs.map((_, i) => `k${i}`);
  let values: string;
  switch (op) {
    case 'sum':
      values = 'arrayMap(x -> ifNull(x, 0), sumKahanForEach(r))';
      break;
    case 'avg':
      values = 'arrayMap(x -> ifNull(x, 0), avgForEach(r))';
      break;
    case 'min':
    case 'max':
      // NaN only when every value is NaN (Prometheus replaces a NaN by any later value).
      values = `arrayMap(x -> ifNull(x, nan), ${op}ForEach(arrayMap(x -> if(isNaN(x), NULL, x), r)))`;
      break;
    case 'count':
      values = 'arrayMap(x -> toFloat64(x), countForEach(r))';
      break;
    case 'group':
      values = 'arrayMap(x -> 1., countForEach(r))';
      break;
  }
  q.add(`SELECT ${keyNames.length ? keyNames.join(', ') + ', ' : ''}${values}, arrayMap(x -> toUInt8(x > 0), countForEach(r)) AS present`);
  q.add(`FROM (SELECT ${[...keys, 'r'].join(', ')} FROM (${perSeries}))`);
  if (keyNames.length) q.add(`GROUP BY ${keyNames.join(', ')}`);
  q.add('HAVING arrayExists(x -> x > 0, present)');
  return q.build();
}

/** Output labels of a pushed aggregation group. */
function groupLabels(plan: PushdownPlan, r: RowReader, multi: boolean): Labels {
  const agg = plan.agg as NonNullable<PushdownPlan['agg']>;
  const names: string[] = [];
  const values: string[] = [];
  if (agg.without) {
    r.stringMap(names, values);
    const tenant = r.string();
    if (multi && tenant !== '') {
      names.push(TENANT_LABEL);
      values.push(tenant);
    }
  } else {
    for (const g of agg.grouping) {
      const v = r.string();
      if (v !== '' && !names.includes(g)) {
        names.push(g);
        values.push(v);
      }
    }
  }
  return sortLabels(names, values);
}

/** Runs a plan; rows decode into one series per output label set. */
export async function runPushdown(plan: PushdownPlan, env: PushdownEnv, run: (q: Sql) => Promise<Uint8Array>): Promise<PushdownResult | null> {
  const q = pushdownSql(plan, env);
  if (!q) return { series: [] };
  const bytes = await run(q);
  const r = RowReader.of(bytes);
  const multi = isMultiTenant(env.scope);
  const series: Array<PushdownResult['series'][number]> = [];
  while (!r.done) {
    let labels: Labels;
    if (plan.agg) labels = groupLabels(plan, r, multi);
    else {
      const tenant = r.string();
      const names: string[] = [];
      const values: string[] = [];
      r.stringMap(names, values);
      if (!plan.keepName) {
        const i = names.indexOf(METRIC_NAME);
        if (i >= 0) {
          names.splice(i, 1);
          values.splice(i, 1);
        }
      }
      if (multi) {
        names.push(TENANT_LABEL);
        values.push(tenant);
      }
      labels = sortLabels(names, values);
    }
    let vals = r.float64Array();
    let present: Uint8Array | null = r.uint8Array();
    if (plan.pinnedAt) {
      // @: the same value at every step.
      vals = new Float64Array(plan.n).fill(vals[0] as number);
      present = new Uint8Array(plan.n).fill(present[0] as number);
    }
    if (vals.length !== plan.n) throw new Error(`pushdown returned ${vals.length} steps for a grid of ${plan.n}`);
    if (!plan.agg && series.length >= env.maxSeries) return null;
    series.push({ labels, values: vals, present: present.every((p) => p === 1) ? null : present });
  }
  return { series };
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
