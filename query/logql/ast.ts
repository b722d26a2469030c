// The typed LogQL AST. The lezer tree is turned into this once (parse.ts);
// planning, evaluation and printing work on it. Shapes follow Loki's
// grammar: https://grafana.com/docs/loki/latest/query/

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

/** `|=` `!=` `|~` `!~` `|>` `!>`; `values` are or-ed for positive ops, and all excluded for negative ones. */
export type LineFilterOp = '|=' | '!=' | '|~' | '!~' | '|>' | '!>';

export interface LineFilterStage {
  readonly kind: 'line_filter';
  readonly op: LineFilterOp;
  readonly values: readonly string[];
  /** `|= ip("...")` */
  readonly ip: boolean;
}

export type CmpOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

export type LabelFilterExpr =
  | { readonly kind: 'and' | 'or'; readonly left: LabelFilterExpr; readonly right: LabelFilterExpr }
  | { readonly kind: 'string'; readonly matcher: LabelMatcher }
  | { readonly kind: 'number'; readonly name: string; readonly op: CmpOp; readonly value: number }
  | { readonly kind: 'duration'; readonly name: string; readonly op: CmpOp; readonly valueNs: number; readonly text: string }
  | { readonly kind: 'bytes'; readonly name: string; readonly op: CmpOp; readonly value: number; readonly text: string }
  | { readonly kind: 'ip'; readonly name: string; readonly op: '=' | '!='; readonly pattern: string };

export interface LabelFilterStage {
  readonly kind: 'label_filter';
  readonly expr: LabelFilterExpr;
}

export interface ExtractionParam {
  /** label to set */
  readonly label: string;
  /** json path / logfmt key expression */
  readonly expr: string;
}

export interface JsonStage {
  readonly kind: 'json';
  readonly params: readonly ExtractionParam[];
}

export interface LogfmtStage {
  readonly kind: 'logfmt';
  readonly strict: boolean;
  readonly keepEmpty: boolean;
  readonly params: readonly ExtractionParam[];
}

export interface RegexpStage {
  readonly kind: 'regexp';
  readonly pattern: string;
}

export interface PatternStage {
  readonly kind: 'pattern';
  readonly pattern: string;
}

export interface UnpackStage {
  readonly kind: 'unpack';
}

export interface LineFormatStage {
  readonly kind: 'line_format';
  readonly template: string;
}

export type LabelFormatItem = { readonly dst: string; readonly rename: true; readonly src: string } | { readonly dst: string; readonly rename: false; readonly template: string };

export interface LabelFormatStage {
  readonly kind: 'label_format';
  readonly items: readonly LabelFormatItem[];
}

export interface DecolorizeStage {
  readonly kind: 'decolorize';
}

/** a bare name, or a matcher that must match for the label to be dropped/kept */
export type NamedOrMatcher = { readonly name: string; readonly matcher?: LabelMatcher };

export interface DropStage {
  readonly kind: 'drop';
  readonly items: readonly NamedOrMatcher[];
}

export interface KeepStage {
  readonly kind: 'keep';
  readonly items: readonly NamedOrMatcher[];
}

export type Stage = LineFilterStage | LabelFilterStage | JsonStage | LogfmtStage | RegexpStage | PatternStage | UnpackStage | LineFormatStage | LabelFormatStage | DecolorizeStage | DropStage | KeepStage;

export interface LogSelector {
  readonly kind: 'log';
  readonly matchers: readonly LabelMatcher[];
  readonly pipeline: readonly Stage[];
}

export type Conversion = '' | 'duration' | 'duration_seconds' | 'bytes';

export interface Unwrap {
  readonly label: string;
  readonly conversion: Conversion;
  /** label filters after the unwrap (typically `__error__=""`) */
  readonly postFilters: readonly LabelFilterExpr[];
}

export interface Grouping {
  readonly without: boolean;
  readonly labels: readonly string[];
}

export type RangeOp =
  | 'count_over_time'
  | 'rate'
  | 'bytes_over_time'
  | 'bytes_rate'
  | 'absent_over_time'
  | 'rate_counter'
  | 'sum_over_time'
  | 'avg_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'stddev_over_time'
  | 'stdvar_over_time'
  | 'quantile_over_time'
  | 'first_over_time'
  | 'last_over_time';

export interface RangeAggregation {
  readonly kind: 'range';
  readonly op: RangeOp;
  readonly selector: LogSelector;
  readonly unwrap?: Unwrap;
  readonly rangeNs: number;
  readonly offsetNs: number;
  /** quantile_over_time's φ */
  readonly param?: number;
  readonly grouping?: Grouping;
}

export type VectorOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'stddev' | 'stdvar' | 'topk' | 'bottomk' | 'sort' | 'sort_desc';

export interface VectorAggregation {
  readonly kind: 'vector_agg';
  readonly op: VectorOp;
  readonly param?: number;
  readonly grouping?: Grouping;
  readonly expr: MetricExpr;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | '==' | '!=' | '>' | '>=' | '<' | '<=' | 'and' | 'or' | 'unless';

export interface VectorMatching {
  /** on(...) when true, ignoring(...) when false */
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many';
  /** group_left/right(labels) */
  readonly include: readonly string[];
}

export interface BinaryExpr {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: MetricExpr;
  readonly right: MetricExpr;
  readonly returnBool: boolean;
  readonly matching?: VectorMatching;
}

export interface LiteralExpr {
  readonly kind: 'literal';
  readonly value: number;
}

export interface VectorExpr {
  readonly kind: 'vector';
  readonly value: number;
}

export interface LabelReplaceExpr {
  readonly kind: 'label_replace';
  readonly expr: MetricExpr;
  readonly dst: string;
  readonly replacement: string;
  readonly src: string;
  readonly regex: string;
}

export type MetricExpr = RangeAggregation | VectorAggregation | BinaryExpr | LiteralExpr | VectorExpr | LabelReplaceExpr;

export type Expr = LogSelector | MetricExpr;

export function isLogSelector(e: Expr): e is LogSelector {
  return e.kind === 'log';
}

export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set(['==', '!=', '>', '>=', '<', '<=']);
export const SET_OPS: ReadonlySet<BinaryOp> = new Set(['and', 'or', 'unless']);

/** Stages that can drop a line (everything else only rewrites it). */
export function stageCanFilter(s: Stage): boolean {
  return s.kind === 'line_filter' || s.kind === 'label_filter';
}

/** Every log selector inside a metric expression. */
export function selectorsOf(e: Expr): LogSelector[] {
  switch (e.kind) {
    case 'log':
      return [e];
    case 'range':
      return [e.selector];
    case 'vector_agg':
      return selectorsOf(e.expr);
    case 'binary':
      return [...selectorsOf(e.left), ...selectorsOf(e.right)];
    case 'label_replace':
      return selectorsOf(e.expr);
    default:
      return [];
  }
}
