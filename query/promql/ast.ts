// The typed PromQL AST: a tagged union built once from the lezer tree
// (parse.ts) and read by the type checker, the printer (format.ts), the
// evaluator and any storage pushdown. Mirrors the node kinds of Prometheus's
// promql/parser/ast.go; positions are zero-based character offsets into the
// query (Prometheus's posrange.PositionRange).

export interface PosRange {
  readonly start: number;
  readonly end: number;
}

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

/** `@ <time>` or `@ start()` / `@ end()`. */
export type AtModifier = { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

/**
 * A duration as written: a literal (milliseconds) or a duration expression
 * (Prometheus's experimental `promql-duration-expr`: `step()`, `range()`,
 * `min_of`, `max_of`, arithmetic), resolved per query.
 */
export type Duration = { readonly kind: 'literal'; readonly ms: number } | { readonly kind: 'expr'; readonly expr: DurationExpr };

export type DurationExpr =
  | { readonly op: 'number'; readonly seconds: number; readonly isDuration: boolean; readonly pos: PosRange }
  | { readonly op: 'step' | 'range'; readonly pos: PosRange }
  | { readonly op: 'min_of' | 'max_of' | '+' | '-' | '*' | '/' | '%' | '^'; readonly lhs: DurationExpr; readonly rhs: DurationExpr; readonly pos: PosRange }
  | { readonly op: 'neg' | 'paren'; readonly expr: DurationExpr; readonly pos: PosRange };

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
/** Native-histogram bucket trimming (`</` keeps buckets below, `>/` above a bound). */
export type TrimOp = '</' | '>/';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp | TrimOp;

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values'
  | 'limitk'
  | 'limit_ratio';

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  readonly card: Cardinality;
  /** true for on(...), false for ignoring(...) or no clause */
  readonly on: boolean;
  readonly labels: readonly string[];
  /** extra labels named in group_left(...)/group_right(...) */
  readonly include: readonly string[];
}

export interface FunctionSignature {
  readonly name: string;
  readonly argTypes: readonly ValueType[];
  /** 0: exact arity; n > 0: up to n optional trailing args of the last type; -1: unlimited */
  readonly variadic: number;
  readonly returnType: ValueType;
  /** Behind Prometheus's --enable-feature=promql-experimental-functions. */
  readonly experimental: boolean;
}

export interface NumberLiteral {
  readonly type: 'NumberLiteral';
  readonly value: number;
  /** written as a duration (`5m`), printed back as one */
  readonly isDuration: boolean;
  readonly pos: PosRange;
}

export interface StringLiteral {
  readonly type: 'StringLiteral';
  readonly value: string;
  readonly pos: PosRange;
}

export interface VectorSelector {
  readonly type: 'VectorSelector';
  /** metric name written before the braces, or '' */
  readonly name: string;
  /** all matchers, including the one for a name written before the braces (last) */
  readonly matchers: readonly LabelMatcher[];
  readonly offset: Duration | null;
  readonly at: AtModifier | null;
  readonly pos: PosRange;
}

export interface MatrixSelector {
  readonly type: 'MatrixSelector';
  readonly selector: VectorSelector;
  readonly range: Duration;
  readonly pos: PosRange;
}

export interface SubqueryExpr {
  readonly type: 'SubqueryExpr';
  readonly expr: Expr;
  readonly range: Duration;
  /** null: the engine's default subquery step (the query step, as Prometheus) */
  readonly step: Duration | null;
  readonly offset: Duration | null;
  readonly at: AtModifier | null;
  readonly pos: PosRange;
}

export interface Call {
  readonly type: 'Call';
  readonly func: FunctionSignature;
  readonly args: readonly Expr[];
  readonly pos: PosRange;
}

export interface AggregateExpr {
  readonly type: 'AggregateExpr';
  readonly op: AggregateOp;
  readonly expr: Expr;
  /** k for topk/bottomk/limitk, q for quantile, r for limit_ratio, label for count_values */
  readonly param: Expr | null;
  readonly grouping: readonly string[];
  readonly without: boolean;
  readonly pos: PosRange;
}

export interface BinaryExpr {
  readonly type: 'BinaryExpr';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly returnBool: boolean;
  /** null unless both sides are instant vectors */
  readonly matching: VectorMatching | null;
  readonly pos: PosRange;
}

export interface UnaryExpr {
  readonly type: 'UnaryExpr';
  readonly op: '-' | '+';
  readonly expr: Expr;
  readonly pos: PosRange;
}

export interface ParenExpr {
  readonly type: 'ParenExpr';
  readonly expr: Expr;
  readonly pos: PosRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr;

export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
export const SET_OPS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['and', 'or', 'unless']);

export function isComparisonOp(op: BinaryOp): op is ComparisonOp {
  return COMPARISON_OPS.has(op);
}

export function isSetOp(op: BinaryOp): op is SetOp {
  return SET_OPS.has(op);
}

/** The static type of an expression (Prometheus Expr.Type()). */
export function typeOf(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'Call':
      return e.func.returnType;
    case 'AggregateExpr':
      return 'vector';
    case 'BinaryExpr':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'UnaryExpr':
    case 'ParenExpr':
      return typeOf(e.expr);
  }
}

/** Prometheus DocumentedType: the names used in error messages. */
export function documentedType(t: ValueType | 'none'): string {
  switch (t) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    default:
      return t;
  }
}

/** The expression inside any number of parentheses (Prometheus unwrapParenExpr). */
export function unwrapParens(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr;
  return e;
}

/** Calls `visit` for `e` and every sub-expression, parents first, with the ancestor path. */
export function walkExpr(e: Expr, visit: (node: Expr, path: readonly Expr[]) => void, path: Expr[] = []): void {
  visit(e, path);
  path.push(e);
  for (const c of children(e)) walkExpr(c, visit, path);
  path.pop();
}

export function children(e: Expr): readonly Expr[] {
  switch (e.type) {
    case 'MatrixSelector':
      return [e.selector];
    case 'SubqueryExpr':
    case 'UnaryExpr':
    case 'ParenExpr':
      return [e.expr];
    case 'Call':
      return e.args;
    case 'AggregateExpr':
      return e.param ? [e.param, e.expr] : [e.expr];
    case 'BinaryExpr':
      return [e.lhs, e.rhs];
    default:
      return [];
  }
}
