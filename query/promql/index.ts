// query/promql: the PromQL engine core (parser → typed AST → evaluator),
// independent of storage. See the seam documentation below.
export { parseExpr, parseQuery, formatParseError, positionString } from './parse.ts';
export type { ParseError, ParseResult } from './parse.ts';
export { formatQuery, formatExpr, exprToString } from './format.ts';
export { PromqlError, isPromqlError } from './errors.ts';
export type { PromqlErrorType } from './errors.ts';
export { typeOf, walkExpr } from './ast.ts';
export type { Expr, ValueType, LabelMatcher, MatchType, PosRange, AtModifier, Duration, DurationExpr, BinaryOp, AggregateOp, VectorMatching, FunctionSignature } from './ast.ts';
export { FUNCTIONS } from './functions-table.ts';
