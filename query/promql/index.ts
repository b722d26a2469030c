// query/promql — the PromQL engine core: parser → typed AST → evaluator,
// independent of storage. Semantics are Prometheus 3.x's (its documentation
// and promql/promqltest test files); the HTTP API, the ClickHouse-backed
// source and the conformance harness are built on the seams below.
//
// Seams
// -----
// 1. Storage: `SeriesSource` (series-source.ts).
//      select({matchers, startMs, endMs, hints}, signal) → SeriesSet[]
//    Matchers are Prometheus label matchers (=, !=, =~, !~; regexes fully
//    anchored RE2, a missing label matches ""). startMs/endMs are inclusive
//    and already widened by the engine for range, lookback (minus 1 ms, so a
//    sample exactly lookback-delta old is excluded), offset and @. Hints
//    carry the enclosing function/aggregation, range, step and by/without
//    grouping, as Prometheus's SelectHints, so storage may push work down.
//    A SeriesSet is {labels (name-sorted, with __name__), timestampsMs,
//    values} as Float64Arrays sorted by time; values may contain staleness
//    markers (NaN with bits 0x7ff0000000000002), which the engine honours.
//    Optional `pushdown(req)`: the engine offers aggregations and vector
//    functions on the query's own grid (outermost first); a source may answer
//    with the result as typed columns and the engine then skips the subtree.
//    `createMemorySource()` (memory-source.ts) implements select for tests
//    and for components that hold their data in memory (the ruler).
//
// 2. Engine: `createEngine({lookbackDeltaMs, maxSamples, timeoutMs,
//    maxPointsPerSeries, noStepSubqueryIntervalMs})` → Engine with
//      instantQuery(source, query, timeMs, signal?, {lookbackDeltaMs?, timeoutMs?})
//      rangeQuery(source, query, startMs, endMs, stepMs, signal?, options?)
//    both resolving to QueryResult {value, warnings, infos, stats}, where
//    value is {resultType: 'vector'|'matrix'|'scalar'|'string', ...} with
//    typed arrays for matrices; and formatQuery(query) (format_query).
//
// 3. Errors: every failure is a `PromqlError` (a FleetwatchError) whose
//    `errorType` is Prometheus's (bad_data, execution, timeout, canceled,
//    internal) and whose message is Prometheus's text, e.g.
//    "1:5: parse error: unexpected end of input",
//    "query processing would load too many samples into memory in query execution",
//    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".
//
// 4. The AST (ast.ts) is a tagged union with positions; `parseExpr`/
//    `parseQuery` build it, `walkExpr` visits it, `exprToString`/
//    `formatExpr` print it. A pushdown implementation switches on it.
export { createEngine, DEFAULT_ENGINE_OPTIONS } from './engine.ts';
export type { Engine, EngineOptions, QueryOptions } from './engine.ts';
export { createMemorySource, matchesAll, STALE } from './memory-source.ts';
export type { MemorySource, MemorySeriesInput } from './memory-source.ts';
export type { SeriesSource, SelectRequest, SelectHints, SeriesSet, PushdownRequest, PushdownResult } from './series-source.ts';
export type { QueryResult, QueryValue, QueryStats, InstantSample, RangeSeries } from './value.ts';
export { parseExpr, parseQuery, formatParseError, positionString, matcherMatchesEmpty } from './parse.ts';
export type { ParseError, ParseResult } from './parse.ts';
export { formatQuery, formatExpr, exprToString } from './format.ts';
export { PromqlError, isPromqlError } from './errors.ts';
export type { PromqlErrorType } from './errors.ts';
export { typeOf, walkExpr, children, documentedType } from './ast.ts';
export type {
  Expr,
  ValueType,
  LabelMatcher,
  MatchType,
  PosRange,
  AtModifier,
  Duration,
  DurationExpr,
  BinaryOp,
  TrimOp,
  AggregateOp,
  Cardinality,
  VectorMatching,
  FunctionSignature,
  NumberLiteral,
  StringLiteral,
  VectorSelector,
  MatrixSelector,
  SubqueryExpr,
  Call,
  AggregateExpr,
  BinaryExpr,
  UnaryExpr,
  ParenExpr,
} from './ast.ts';
export { FUNCTIONS, UNSUPPORTED_FUNCTIONS } from './functions-table.ts';
export { compileAnchored, RegexSyntaxError } from './regex.ts';
export { formatDurationMs, parseDurationMs, formatFloatF, formatFloatG } from './go-strconv.ts';
export { labelsToString, compareLabels } from './label-set.ts';
// ClickHouse-backed SeriesSource (select + pushdown), used by the Prometheus API.
export { createClickHouseSource, DEFAULT_MAX_SERIES, DEFAULT_MAX_SAMPLES } from './clickhouse-source.ts';
export type { ClickHouseSource, ClickHouseSourceOptions, SourceStats } from './clickhouse-source.ts';
export { TENANT_LABEL, isMultiTenant, matcherConditions, seriesFromWhere, splitTenantMatchers } from './clickhouse-sql.ts';
export type { TenantScope } from './clickhouse-sql.ts';
export { createSeriesCache } from './clickhouse-series.ts';
// The in-memory head of recent samples in front of the ClickHouse source.
export { createHeadSource } from './head-source.ts';
export type { HeadSource, HeadSourceOptions, HeadSourceStats } from './head-source.ts';
export type { SeriesCache } from './clickhouse-series.ts';
// Thanos Querier deduplication over any SeriesSource.
export { createDedupSource, dedupSeries } from './dedup-source.ts';
