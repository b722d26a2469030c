// The storage seam of the PromQL engine: the engine asks a SeriesSource for
// raw samples of the series a selector matches, over a time range it has
// already widened by range, lookback, offset and @ (Prometheus's
// storage.Querier.Select with SelectHints). A storage implementation may use
// the hints to push work down; the engine never depends on it doing so.
import type { Labels } from '../../core/index.ts';
import type { Expr, LabelMatcher } from './ast.ts';

/** Prometheus storage.SelectHints: what the selected samples will be used for. */
export interface SelectHints {
  /** Enclosing function or aggregation ("rate", "sum", ...), "" if none; stops at binary operators. */
  readonly func: string;
  /** Range of the enclosing range selector or subquery argument in ms; 0 for an instant selector. */
  readonly rangeMs: number;
  /** Evaluation step in ms (the innermost subquery's step inside subqueries); 0 for instant queries. */
  readonly stepMs: number;
  /** true: `grouping` lists by() labels; false: without() labels (only when the direct parent is an aggregation). */
  readonly by: boolean;
  readonly grouping: readonly string[];
  /** The selector's own offset in ms (already applied to startMs/endMs). */
  readonly offsetMs: number;
  /** Lookback delta in ms (already applied to startMs for instant selectors). */
  readonly lookbackDeltaMs: number;
}

export interface SelectRequest {
  /** All matchers of the selector, including `__name__`. A missing label matches as "". */
  readonly matchers: readonly LabelMatcher[];
  /** First millisecond needed, inclusive. */
  readonly startMs: number;
  /** Last millisecond needed, inclusive. */
  readonly endMs: number;
  readonly hints: SelectHints;
}

/** One series' samples, sorted by time with unique timestamps. Values may hold staleness markers. */
export interface SeriesSet {
  /** Name-sorted, including `__name__`, without empty values (Prometheus never stores an empty label). */
  readonly labels: Labels;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
}

/**
 * Optional pushdown: the engine offers a source whole sub-expressions
 * (aggregations and function calls evaluated on the query's own step grid,
 * outermost first) before fetching their selectors. A source that can
 * compute one returns its result on that grid; returning null lets the
 * engine evaluate it from selected samples. Offsets, @ and the lookback
 * inside the node are the source's responsibility when it answers.
 */
export interface PushdownRequest {
  /** An AggregateExpr or Call node of the parsed query. */
  readonly expr: Expr;
  /** The evaluation grid: startMs, startMs + stepMs, ..., up to endMs (stepMs 0 for instant queries). */
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  readonly lookbackDeltaMs: number;
  /** The query's own start and end, for `@ start()` / `@ end()` inside the node. */
  readonly queryStartMs: number;
  readonly queryEndMs: number;
}

/** A pushed-down result: one row per output series, one column per grid step. */
export interface PushdownResult {
  readonly series: ReadonlyArray<{
    readonly labels: Labels;
    /** length = number of grid steps */
    readonly values: Float64Array;
    /** 1 where the series has a value at that step; null when present at every step */
    readonly present: Uint8Array | null;
  }>;
}

export interface SeriesSource {
  select(req: SelectRequest, signal?: AbortSignal): Promise<SeriesSet[]>;
  pushdown?(req: PushdownRequest, signal?: AbortSignal): Promise<PushdownResult | null>;
}
