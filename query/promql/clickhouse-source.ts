// The PromQL engine's SeriesSource over ClickHouse (the Store): a selector's
// series are looked up in metrics_series for the days in range
// (clickhouse-series.ts), then one samples query names exactly those series
// by the samples table's key prefix; samples come back sorted per series in
// ClickHouse as RowBinary Array(Float64) columns that land in typed arrays
// with one copy per series. Values are never converted on the way, so staleness markers
// (NaN 0x7ff0000000000002) arrive bit-exact. Exact duplicates — the same
// series and timestamp written twice, as a retried remote_write does — are
// folded to one sample.
//
// Tenancy: a source reads only the tenants it was created for (X-Scope-OrgID);
// with several tenants each series carries __tenant_id__ (see clickhouse-sql.ts).
//
// Pushdown (clickhouse-pushdown.ts): range functions and aggregations the
// engine offers are computed in ClickHouse when their result is identical to
// the TypeScript evaluator's.
import { FleetwatchError, isFleetwatchError, type Labels } from '../../core/index.ts';
import { SqlBuilder, ident, type QueryOptions, type Sql, type Store } from '../../storage/index.ts';
import { RowBinaryReader as RowReader } from '../../storage/index.ts';
import { sampleTimeConditions, type TenantScope } from './clickhouse-sql.ts';
import { lookupSeries, seriesKeyColumns, seriesRestriction, type MatchedSeries, type SeriesCache, type SeriesLookup } from './clickhouse-series.ts';
import { PromqlError, abortError, tooManySamples } from './errors.ts';
import { sortedSamples, strictlyIncreasing } from './sample-order.ts';
import type { PushdownRequest, PushdownResult, SelectRequest, SeriesSet, SeriesSource } from './series-source.ts';
import { planPushdown, planSubqueryPushdown, runPushdown, runSubqueryPushdown, windowSamples } from './clickhouse-pushdown.ts';
import { DEFAULT_ENGINE_OPTIONS } from './engine.ts';

export interface ClickHouseSourceOptions {
  readonly store: Store;
  /** The tenants this query may read (X-Scope-OrgID, "A|B" allowed). */
  readonly tenants: readonly string[];
  /** Series one selector may match (Prometheus has no such limit; Thanos/Mimir do). */
  readonly maxSeries?: number;
  /** Samples one selector may load (Prometheus --query.max-samples). */
  readonly maxSamples?: number;
  /** Compute offered sub-expressions in ClickHouse (default true). */
  readonly pushdown?: boolean;
  /** Absolute deadline (Date.now() ms) sent to ClickHouse as max_execution_time, so a timeout stops the work there too. */
  readonly deadlineMs?: number;
  /** The engine's step for subqueries written without one (EngineOptions.noStepSubqueryIntervalMs). */
  readonly noStepSubqueryIntervalMs?: number;
  /** Series look-ups shared across queries (createSeriesCache); without it each query looks series up itself. */
  readonly seriesCache?: SeriesCache;
  /**
   * Pushed aggregations over at most this many per-series points are folded
   * in JS from per-series results (cheaper than grouping in ClickHouse); 0
   * groups every pushed aggregation in ClickHouse.
   */
  readonly smallAggregationPoints?: number;
}

export interface SourceStats {
  /** storage queries run */
  queries: number;
  /** sub-expressions computed in ClickHouse */
  pushedDown: number;
  /** series and samples returned by select() */
  series: number;
  samples: number;
}

export interface ClickHouseSource extends SeriesSource {
  readonly stats: SourceStats;
}

export const DEFAULT_MAX_SERIES = 500_000;
export const DEFAULT_MAX_SAMPLES = 50_000_000;

/** Selects over at most this span read plain rows (see shortSelect). */
const SHORT_WINDOW_MS = 3_600_000;

/** Up to this many per-series points, pushed aggregations are folded in JS from per-series results. */
const SMALL_AGGREGATION_POINTS = 100_000;

/** Settings every query of the source runs with. */
const SOURCE_SETTINGS = { allow_experimental_time_series_aggregate_functions: 1 } as const;

export function createClickHouseSource(options: ClickHouseSourceOptions): ClickHouseSource {
  const { store } = options;
  const db = ident(store.database);
  const scope: TenantScope = { tenants: options.tenants };
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  const maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const stats: SourceStats = { queries: 0, pushedDown: 0, series: 0, samples: 0 };

  const queryOptions = (signal: AbortSignal | undefined, extra: Record<string, string | number> = {}): QueryOptions => {
    const remaining = options.deadlineMs === undefined ? undefined : Math.max(1, options.deadlineMs - Date.now());
    return {
      ...(signal ? { signal } : {}),
      ...(remaining !== undefined ? { timeoutMs: remaining } : {}),
      settings: { ...SOURCE_SETTINGS, ...extra },
    };
  };

  const runBinary = async (q: Sql, signal: AbortSignal | undefined, extra?: Record<string, string | number>): Promise<Uint8Array> => {
    stats.queries++;
    try {
      return await store.queryBinary(q, 'RowBinary', queryOptions(signal, extra));
    } catch (e) {
      throw storageError(e, signal);
    }
  };

  const lookupEnv = {
    db,
    scope,
    maxSeries,
    memo: new Map<string, Promise<SeriesLookup>>(),
    smallAggregationPoints: options.smallAggregationPoints ?? SMALL_AGGREGATION_POINTS,
    ...(options.seriesCache ? { cache: options.seriesCache } : {}),
  };

  const select = async (req: SelectRequest, signal?: AbortSignal): Promise<SeriesSet[]> => {
    if (req.startMs > req.endMs) return [];
    const run = (q: Sql) => runBinary(q, signal);
    const series = await lookupSeries(lookupEnv, req.matchers, req.startMs, req.endMs, run);
    if (series.series.length === 0) return [];
    const q = new SqlBuilder();
    const conds = [...seriesRestriction(q, series), ...sampleTimeConditions(q, req.startMs, req.endMs)];
    if (req.endMs - req.startMs <= SHORT_WINDOW_MS) return shortSelect(q, series, conds, signal);
    // groupArray keeps read order; sortedSamples puts each series in time order when parts interleave.
    const keys = seriesKeyColumns(series);
    q.add(`SELECT ${keys}, groupArray(toFloat64(timestamp_ms)), groupArray(value)`);
    q.add(`FROM ${db}.metrics_samples WHERE ${conds.join(' AND ')} GROUP BY ${keys}`);
    // A result larger than the sample limit could hold is stopped in ClickHouse.
    const bytes = await runBinary(q.build(), signal, { max_result_bytes: Math.min(2 ** 52, maxSamples * 16 + maxSeries * 64), result_overflow_mode: 'throw' });
    const out: SeriesSet[] = [];
    const r = RowReader.of(bytes);
    let samples = 0;
    const oneTenant = series.tenants.length === 1 ? (series.tenants[0] as string) : null;
    while (!r.done) {
      const tenant = oneTenant ?? r.string();
      const [hi, lo] = r.uint64Parts();
      let t = r.float64Array();
      let v = r.float64Array();
      const s = series.find(tenant, hi, lo);
      if (!s) continue;
      if (!strictlyIncreasing(t, 0, t.length)) [t, v] = sortedSamples(t, v);
      const set: SeriesSet = { labels: s.labels, timestampsMs: t, values: v };
      samples += set.values.length;
      if (samples > maxSamples) throw tooManySamples();
      out.push(set);
    }
    stats.series += out.length;
    stats.samples += samples;
    return out;
  };

  /** A short window: plain rows (cheaper than grouping in ClickHouse), one copy per series of shared arrays. */
  const shortSelect = async (q: SqlBuilder, series: SeriesLookup, conds: string[], signal: AbortSignal | undefined): Promise<SeriesSet[]> => {
    const w = await windowSamples(q, lookupEnv, series, conds, (sql) => runBinary(sql, signal, { max_result_bytes: Math.min(2 ** 52, maxSamples * 24 + maxSeries * 64), result_overflow_mode: 'throw' }));
    const out: SeriesSet[] = [];
    let samples = 0;
    for (let i = 0; i < series.series.length; i++) {
      const a = w.from[i] as number;
      const b = w.to[i] as number;
      if (a === b) continue;
      let t = w.t.subarray(a, b);
      let v = w.v.subarray(a, b);
      if (!strictlyIncreasing(t, 0, t.length)) [t, v] = sortedSamples(t.slice(), v.slice());
      samples += t.length;
      if (samples > maxSamples) throw tooManySamples();
      out.push({ labels: (series.series[i] as MatchedSeries).labels, timestampsMs: t, values: v });
    }
    stats.series += out.length;
    stats.samples += samples;
    return out;
  };

  const pushdown = async (req: PushdownRequest, signal?: AbortSignal): Promise<PushdownResult | null> => {
    const env = lookupEnv;
    const plan = planPushdown(req);
    let res: PushdownResult | null = null;
    const run = (q: Sql) => runBinary(q, signal);
    if (plan) res = await runPushdown(plan, env, run);
    else {
      const sub = planSubqueryPushdown(req, options.noStepSubqueryIntervalMs ?? DEFAULT_ENGINE_OPTIONS.noStepSubqueryIntervalMs);
      if (sub) res = await runSubqueryPushdown(sub, env, run);
    }
    if (res) stats.pushedDown++;
    return res;
  };

  return options.pushdown === false ? { stats, select } : { stats, select, pushdown };
}

/** Storage failures as the engine's errors: timeouts and cancellations keep their Prometheus type. */
export function storageError(e: unknown, signal: AbortSignal | undefined): Error {
  if (e instanceof PromqlError) return e;
  if (isFleetwatchError(e)) {
    if (e.code === 'FW_ERR_QUERY_TIMEOUT') return abortError('timeout', 'query execution');
    if (e.code === 'FW_ERR_QUERY_CANCELED') return signal?.aborted && !isTimeoutReason(signal.reason) ? abortError('canceled', 'query execution') : abortError('timeout', 'query execution');
    // ClickHouse's result-size limit (TOO_MANY_ROWS_OR_BYTES): the sample limit.
    if (/TOO_MANY_ROWS_OR_BYTES|Code: 396/.test(e.message)) return tooManySamples();
    if (e.code === 'FW_ERR_STORAGE_UNAVAILABLE') return new PromqlError('internal', e.message, { cause: e, code: 'FW_ERR_STORAGE_UNAVAILABLE' });
    return new PromqlError('internal', e.message, { cause: e, code: e.code });
  }
  if (signal?.aborted) return abortError(isTimeoutReason(signal.reason) ? 'timeout' : 'canceled', 'query execution');
  return new FleetwatchError('FW_ERR_STORAGE_QUERY', (e as Error)?.message ?? String(e), { cause: e });
}

function isTimeoutReason(reason: unknown): boolean {
  return reason instanceof Error && (reason.name === 'TimeoutError' || (reason as { errorType?: string }).errorType === 'timeout');
}
