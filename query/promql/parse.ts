// PromQL text → typed AST, with Prometheus's error messages and positions.
//
// The official lezer grammar (@prometheus-io/lezer-promql) parses; it never
// throws but leaves error nodes, which are reported as Prometheus reports a
// syntax error ("1:5: parse error: unexpected ..."), with the token named
// the way Prometheus's lexer names it (prom-lexer.ts). The tree is walked
// once, switching on the grammar's exported numeric node ids, into the
// tagged union of ast.ts. Semantic errors raised by Prometheus's yacc
// actions (promql/parser/generated_parser.y, parse.go) and its type checker
// (checkAST) are raised here with the same wording, e.g.
// `expected type range vector in call to function "rate", got instant vector`.
import {
  parser,
  AggregateExpr as T_AggregateExpr,
  AggregateModifier as T_AggregateModifier,
  AggregateOp as T_AggregateOp,
  AnchoredExpr as T_AnchoredExpr,
  At as T_At,
  AtModifierPreprocessors as T_AtModifierPreprocessors,
  AtStart as T_AtStart,
  BinaryExpr as T_BinaryExpr,
  BoolModifier as T_BoolModifier,
  By as T_By,
  DurationExpr as T_DurationExpr,
  DurationMaxOf as T_DurationMaxOf,
  DurationMinOf as T_DurationMinOf,
  DurationRange as T_DurationRange,
  DurationStep as T_DurationStep,
  FillModifier as T_FillModifier,
  FunctionCall as T_FunctionCall,
  FunctionCallBody as T_FunctionCallBody,
  FunctionIdentifier as T_FunctionIdentifier,
  GroupLeft as T_GroupLeft,
  GroupRight as T_GroupRight,
  GroupingLabels as T_GroupingLabels,
  Identifier as T_Identifier,
  Ignoring as T_Ignoring,
  LabelMatchers as T_LabelMatchers,
  LabelName as T_LabelName,
  LineComment as T_LineComment,
  MatchOp as T_MatchOp,
  MatchingModifierClause as T_MatchingModifierClause,
  MatrixSelector as T_MatrixSelector,
  NumberDurationLiteral as T_NumberDurationLiteral,
  NumberDurationLiteralInDurationContext as T_NumberDurationLiteralInDurationContext,
  OffsetDurationExpr as T_OffsetDurationExpr,
  OffsetExpr as T_OffsetExpr,
  On as T_On,
  ParenExpr as T_ParenExpr,
  PromQL as T_PromQL,
  QuotedLabelMatcher as T_QuotedLabelMatcher,
  QuotedLabelName as T_QuotedLabelName,
  SmoothedExpr as T_SmoothedExpr,
  StepInvariantExpr as T_StepInvariantExpr,
  StringLiteral as T_StringLiteral,
  SubqueryExpr as T_SubqueryExpr,
  UnaryExpr as T_UnaryExpr,
  UnaryOp as T_UnaryOp,
  UnquotedLabelMatcher as T_UnquotedLabelMatcher,
  VectorSelector as T_VectorSelector,
  Without as T_Without,
  Add as T_Add,
  Sub as T_Sub,
  Mul as T_Mul,
  Div as T_Div,
  Mod as T_Mod,
  Pow as T_Pow,
  Atan2 as T_Atan2,
  Eql as T_Eql,
  Neq as T_Neq,
  Gtr as T_Gtr,
  Lss as T_Lss,
  Gte as T_Gte,
  Lte as T_Lte,
  And as T_And,
  Or as T_Or,
  Unless as T_Unless,
  TrimUpper as T_TrimUpper,
  TrimLower as T_TrimLower,
  EqlSingle as T_EqlSingle,
  EqlRegex as T_EqlRegex,
  NeqRegex as T_NeqRegex,
} from '@prometheus-io/lezer-promql';
import {
  documentedType,
  isComparisonOp,
  isSetOp,
  typeOf,
  type AggregateOp,
  type AtModifier,
  type BinaryOp,
  type Duration,
  type DurationExpr,
  type Expr,
  type LabelMatcher,
  type MatchType,
  type PosRange,
  type ValueType,
  type VectorMatching,
  type VectorSelector,
} from './ast.ts';
import { PromqlError } from './errors.ts';
import { FUNCTIONS } from './functions-table.ts';
import { formatFloatFixed6, goQuote, parseDurationMs, parseGoFloat, parseGoIntBase0 } from './go-strconv.ts';
import { describeToken, lexPromql, type Token } from './prom-lexer.ts';
import { checkRegex, compileAnchored } from './regex.ts';

type Node = ReturnType<typeof parser.parse>['topNode'];

export interface ParseError {
  readonly pos: PosRange;
  /** Prometheus's message, without the "line:col: parse error: " prefix */
  readonly message: string;
}

export type ParseResult = { readonly ok: true; readonly expr: Expr } | { readonly ok: false; readonly errors: readonly ParseError[]; readonly error: PromqlError };

/** Prometheus posrange StartPosInput: "line:col", columns in UTF-8 bytes, 1-based. */
export function positionString(query: string, pos: number): string {
  if (query === '') return 'unknown position';
  if (pos < 0 || pos > query.length) return 'invalid position';
  let line = 1;
  let lastBreakByte = -1;
  let byte = 0;
  for (let i = 0; i < pos; i++) {
    const c = query.charCodeAt(i);
    if (c === 10) {
      line++;
      lastBreakByte = byte;
    }
    if (c < 0x80) byte += 1;
    else if (c < 0x800) byte += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      byte += 4;
      i++;
    } else byte += 3;
  }
  return `${line}:${byte - lastBreakByte}`;
}

export function formatParseError(query: string, e: ParseError): string {
  return `${positionString(query, e.pos.start)}: parse error: ${e.message}`;
}

/** Parses and type-checks a PromQL expression; throws PromqlError (bad_data) on the first error. */
export function parseExpr(query: string): Expr {
  const r = parseQuery(query);
  if (!r.ok) throw r.error;
  return r.expr;
}

/**
 * Parsed queries by text. Dashboards, rules and health checks send the
 * same texts over and over, and the API checks a query before the engine
 * runs it; the AST is immutable (readonly throughout), so one parse serves
 * every run. Only successful parses are kept; the least recently used go
 * first.
 */
const PARSED = new Map<string, ParseResult>();
const PARSED_MAX = 1000;

export function parseQuery(query: string): ParseResult {
  const hit = PARSED.get(query);
  if (hit) {
    PARSED.delete(query);
    PARSED.set(query, hit);
    return hit;
  }
  const r = parseUncached(query);
  if (r.ok) {
    if (PARSED.size >= PARSED_MAX) PARSED.delete(PARSED.keys().next().value as string);
    PARSED.set(query, r);
  }
  return r;
}

function parseUncached(query: string): ParseResult {
  const errors: ParseError[] = [];
  const fail = (): ParseResult => {
    const first = errors[0] as ParseError;
    return { ok: false, errors, error: new PromqlError('bad_data', formatParseError(query, first)) };
  };

  const lexed = lexPromql(query);
  if (lexed.tokens.every((t) => t.kind === 'EOF') && !lexed.error) {
    errors.push({ pos: { start: 0, end: 0 }, message: 'no expression found in input' });
    return fail();
  }

  // Durations the lexer accepted but model.ParseDuration rejects ("1.5m", "5m1m").
  for (const t of lexed.tokens) {
    if (t.kind !== 'DURATION') continue;
    if (lexed.error && lexed.error.pos < t.pos) break;
    try {
      parseDurationMs(t.text);
    } catch (e) {
      errors.push({ pos: { start: t.pos, end: t.pos + t.text.length }, message: (e as Error).message });
      return fail();
    }
  }

  // Prometheus's lexer reads "1." as a number; the lezer grammar needs a digit
  // after the point. Blank the point (same length, so positions hold).
  let source = query;
  for (const t of lexed.tokens) {
    if (t.kind === 'NUMBER' && /^[0-9_]+\.$/.test(t.text)) {
      const at = t.pos + t.text.length - 1;
      source = source.slice(0, at) + ' ' + source.slice(at + 1);
    }
  }
  const tree = parser.parse(source);
  const syntax = firstSyntaxError(tree.topNode, source, lexed.tokens);
  if (lexed.error && (!syntax || lexed.error.pos <= syntax.pos.start)) {
    errors.push({ pos: { start: lexed.error.pos, end: query.length }, message: lexed.error.message });
    return fail();
  }
  if (syntax) {
    errors.push(syntax);
    return fail();
  }

  const b = new Builder(source, errors);
  let expr: Expr | null = null;
  const top = tree.topNode;
  if (top.type.id === T_PromQL) {
    for (let c = top.firstChild; c; c = c.nextSibling) {
      if (c.type.id === T_LineComment) continue;
      expr = b.expr(c);
      break;
    }
  }
  if (!expr) {
    errors.push({ pos: { start: 0, end: 0 }, message: 'no expression found in input' });
    return fail();
  }
  // As Prometheus: type checking runs only on a syntactically valid tree.
  if (errors.length === 0) new Checker(source, errors).check(expr);
  if (errors.length > 0) return fail();
  return { ok: true, expr };
}

function firstSyntaxError(top: Node, query: string, tokens: readonly Token[]): ParseError | null {
  let err: Node | null = null;
  const cursor = top.cursor();
  do {
    if (cursor.type.isError) {
      err = cursor.node;
      break;
    }
  } while (cursor.next());
  if (!err) return null;
  const at = err.from;
  // "foo(bar)": an identifier used as a function that the grammar does not know.
  const prev = err.prevSibling;
  if (query[at] === '(' && prev && prev.type.id === T_Identifier) {
    const name = query.slice(prev.from, prev.to);
    // min_of/max_of exist, but the lezer grammar only knows them inside durations.
    if (FUNCTIONS.has(name)) return { pos: { start: prev.from, end: prev.to }, message: `function ${goQuote(name)} is only supported inside duration expressions by this engine` };
    return { pos: { start: prev.from, end: prev.to }, message: `unknown function with name ${goQuote(name)}` };
  }
  if (prev && prev.type.id === T_VectorSelector && query[at] === '(') {
    const id = prev.firstChild;
    if (id && id.type.id === T_Identifier && id.nextSibling === null) {
      const name = query.slice(id.from, id.to);
      // min_of/max_of exist, but the lezer grammar only knows them inside durations.
      if (FUNCTIONS.has(name)) return { pos: { start: id.from, end: id.to }, message: `function ${goQuote(name)} is only supported inside duration expressions by this engine` };
      return { pos: { start: id.from, end: id.to }, message: `unknown function with name ${goQuote(name)}` };
    }
  }
  // "f(a,)": Prometheus's grammar accepts the comma and complains about it.
  let back = at - 1;
  while (back >= 0 && /\s/.test(query[back] as string)) back--;
  let fwd = at;
  while (fwd < query.length && /\s/.test(query[fwd] as string)) fwd++;
  if (query[back] === ',' && query[fwd] === ')') return { pos: { start: back, end: back + 1 }, message: 'trailing commas not allowed in function call args' };
  let tok: Token | undefined = tokens.find((t) => t.pos >= at);
  if (!tok) tok = { kind: 'EOF', pos: query.length, text: '' };
  const parent = err.parent;
  let context = '';
  if (parent) {
    if (parent.type.id === T_LabelMatchers) context = ' in label matching';
    else if (parent.type.id === T_GroupingLabels) context = ' in grouping opts';
    else if (parent.type.id === T_AggregateExpr) context = ' in aggregation';
    else if (parent.type.id === T_OffsetExpr) context = ' in offset';
    else if (parent.type.id === T_StepInvariantExpr) context = ' in @';
    else if (parent.type.id === T_MatrixSelector || parent.type.id === T_SubqueryExpr || parent.type.id === T_DurationExpr) context = ' in subquery or range';
  }
  return { pos: { start: tok.pos, end: tok.pos + tok.text.length }, message: `unexpected ${describeToken(tok)}${context}` };
}

const BINARY_OPS = new Map<number, BinaryOp>([
  [T_Add, '+'],
  [T_Sub, '-'],
  [T_Mul, '*'],
  [T_Div, '/'],
  [T_Mod, '%'],
  [T_Pow, '^'],
  [T_Atan2, 'atan2'],
  [T_Eql, '=='],
  [T_Neq, '!='],
  [T_Gtr, '>'],
  [T_Lss, '<'],
  [T_Gte, '>='],
  [T_Lte, '<='],
  [T_And, 'and'],
  [T_Or, 'or'],
  [T_Unless, 'unless'],
  [T_TrimUpper, '</'],
  [T_TrimLower, '>/'],
]);

const AGGREGATE_OPS: ReadonlySet<string> = new Set(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const POSTFIX: ReadonlySet<number> = new Set([T_MatrixSelector, T_SubqueryExpr, T_OffsetExpr, T_StepInvariantExpr, T_AnchoredExpr, T_SmoothedExpr]);
const PARAM_AGGREGATES: ReadonlySet<AggregateOp> = new Set<AggregateOp>(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);

// Mutable while modifiers (offset, @) are applied; frozen as the readonly AST types.
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// time.Duration overflows beyond ±(2^63-1) ns.
const MAX_DURATION_SECONDS = 9223372036.854775807;

class Builder {
  constructor(
    private readonly q: string,
    private readonly errors: ParseError[],
  ) {}

  private err(pos: PosRange, message: string): void {
    this.errors.push({ pos, message });
  }

  private text(n: Node): string {
    return this.q.slice(n.from, n.to);
  }

  private pos(n: Node): PosRange {
    return { start: n.from, end: n.to };
  }

  private kids(n: Node): Node[] {
    const out: Node[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) if (c.type.id !== T_LineComment) out.push(c);
    return out;
  }

  expr(n: Node): Expr {
    switch (n.type.id) {
      case T_ParenExpr: {
        const inner = this.kids(n)[0] as Node;
        return { type: 'ParenExpr', expr: this.expr(inner), pos: this.pos(n) };
      }
      case T_NumberDurationLiteral:
        return this.numberLiteral(n);
      case T_StringLiteral:
        return { type: 'StringLiteral', value: unquoteString(this.text(n)), pos: this.pos(n) };
      case T_VectorSelector:
        return this.vectorSelector(n);
      case T_MatrixSelector:
      case T_SubqueryExpr:
      case T_OffsetExpr:
      case T_StepInvariantExpr:
      case T_AnchoredExpr:
      case T_SmoothedExpr:
        return this.postfix(n);
      case T_FunctionCall:
        return this.call(n);
      case T_AggregateExpr:
        return this.aggregate(n);
      case T_BinaryExpr:
        return this.binary(n);
      case T_UnaryExpr:
        return this.unary(n);
      default:
        this.err(this.pos(n), `unexpected ${n.type.name}`);
        return { type: 'NumberLiteral', value: 0, isDuration: false, pos: this.pos(n) };
    }
  }

  private numberLiteral(n: Node): Expr {
    const raw = this.text(n).trimEnd();
    let sign = 1;
    let body = raw;
    if (body.startsWith('-') || body.startsWith('+')) {
      if (body[0] === '-') sign = -1;
      body = body.slice(1).replace(/^[\s]+|#[^\n]*\n/g, '').trimStart();
    }
    const { value, isDuration } = this.numberValue(body, this.pos(n));
    return { type: 'NumberLiteral', value: sign * value, isDuration, pos: this.pos(n) };
  }

  // Prometheus number(): ParseInt(base 0) first, then ParseFloat; or a duration in seconds.
  private numberValue(body: string, pos: PosRange): { value: number; isDuration: boolean } {
    const lower = body.toLowerCase();
    if (lower === 'inf') return { value: Infinity, isDuration: false };
    if (lower === 'nan') return { value: NaN, isDuration: false };
    if (/^\d+(ms|[smhdwy])/.test(body) && !/^0x/i.test(body)) {
      try {
        return { value: parseDurationMs(body) / 1000, isDuration: true };
      } catch (e) {
        this.err(pos, (e as Error).message);
        return { value: 0, isDuration: true };
      }
    }
    const asInt = parseGoIntBase0(body);
    if (asInt !== null) return { value: asInt, isDuration: false };
    const f = parseGoFloat(body);
    if (f === null || (!Number.isFinite(f) && !Number.isNaN(f))) {
      const why = f === null ? 'invalid syntax' : 'value out of range';
      this.err(pos, `error parsing number: strconv.ParseFloat: parsing ${goQuote(body)}: ${why}`);
      return { value: 0, isDuration: false };
    }
    return { value: f, isDuration: false };
  }

  private vectorSelector(n: Node): VectorSelector {
    let name = '';
    const matchers: LabelMatcher[] = [];
    for (const c of this.kids(n)) {
      if (c.type.id === T_Identifier) name = this.text(c);
      else if (c.type.id === T_LabelMatchers) {
        for (const m of this.kids(c)) {
          if (m.type.id === T_QuotedLabelName) {
            // {"name"}: a metric name written as a quoted string.
            matchers.push({ name: '__name__', type: '=', value: unquoteString(this.text(m)) });
            continue;
          }
          if (m.type.id !== T_UnquotedLabelMatcher && m.type.id !== T_QuotedLabelMatcher) continue;
          const [ln, op, val] = this.kids(m) as [Node, Node, Node];
          const labelName = ln.type.id === T_LabelName ? this.text(ln) : unquoteString(this.text(ln));
          const opNode = op.firstChild as Node;
          const type: MatchType = opNode.type.id === T_EqlSingle ? '=' : opNode.type.id === T_EqlRegex ? '=~' : opNode.type.id === T_NeqRegex ? '!~' : '!=';
          const value = unquoteString(this.text(val));
          if (type === '=~' || type === '!~') {
            const reErr = checkRegex(value);
            if (reErr) this.err({ start: ln.from, end: val.to }, reErr);
          }
          matchers.push({ name: labelName, type, value });
        }
      }
    }
    // As Prometheus: a name written before the braces becomes the last matcher.
    if (name !== '') matchers.push({ name: '__name__', type: '=', value: name });
    return { type: 'VectorSelector', name, matchers, offset: null, at: null, pos: this.pos(n) };
  }

  // The lezer grammar gives postfix modifiers ([range], [subquery], offset,
  // @) the lowest precedence: "a + b offset 5m" comes out as (a + b) offset 5m
  // and "-foo[5m]" as (-foo)[5m]. In PromQL they bind tightest (yacc: OFFSET
  // and LEFT_BRACKET above every operator), so the modifiers are moved onto
  // the rightmost operand of a binary or unary expression they wrap.
  private postfix(n: Node): Expr {
    const ops: Node[] = [];
    let base = n;
    while (POSTFIX.has(base.type.id)) {
      ops.unshift(base);
      base = this.kids(base)[0] as Node;
    }
    return this.withPostfix(base, ops);
  }

  private withPostfix(base: Node, ops: readonly Node[]): Expr {
    if (base.type.id === T_BinaryExpr) return this.binary(base, (rhs) => this.withPostfix(rhs, ops));
    if (base.type.id === T_UnaryExpr) return this.unary(base, (inner) => this.withPostfix(inner, ops));
    let e = this.expr(base);
    for (const op of ops) e = this.applyPostfix(e, op);
    return e;
  }

  private applyPostfix(inner: Expr, n: Node): Expr {
    const ks = this.kids(n);
    const pos: PosRange = { start: inner.pos.start, end: n.to };
    switch (n.type.id) {
      case T_MatrixSelector: {
        const durNode = ks[1] as Node;
        let msg = '';
        if (inner.type !== 'VectorSelector') msg = 'ranges only allowed for vector selectors';
        else if (inner.offset) msg = 'no offset modifiers allowed before range';
        else if (inner.at) msg = 'no @ modifiers allowed before range';
        if (msg) this.err({ start: this.q.lastIndexOf('[', durNode.from), end: n.to }, msg);
        const range = this.positiveDuration(durNode);
        const selector: VectorSelector = inner.type === 'VectorSelector' ? inner : { type: 'VectorSelector', name: '', matchers: [], offset: null, at: null, pos: inner.pos };
        return { type: 'MatrixSelector', selector, range, pos };
      }
      case T_SubqueryExpr: {
        const range = this.positiveDuration(ks[1] as Node);
        const step = ks[2] ? this.positiveDuration(ks[2]) : null;
        return { type: 'SubqueryExpr', expr: inner, range, step, offset: null, at: null, pos };
      }
      case T_OffsetExpr:
        return this.applyOffset(inner, n, pos);
      case T_StepInvariantExpr:
        return this.applyAt(inner, n, pos);
      default: {
        const what = n.type.id === T_AnchoredExpr ? 'anchored' : 'smoothed';
        this.err(pos, `${what} modifier is experimental and not enabled`);
        return inner;
      }
    }
  }

  // Prometheus positive_duration_expr: literal ranges and steps must be > 0.
  private positiveDuration(n: Node): Duration {
    const d = this.durationExpr(n);
    if (d.op === 'number') {
      if (!(d.seconds > 0)) {
        this.err(d.pos, 'duration must be greater than 0');
        return { kind: 'literal', ms: 0 };
      }
      return { kind: 'literal', ms: Math.round(d.seconds * 1000) };
    }
    return { kind: 'expr', expr: d };
  }

  private durationExpr(n: Node): DurationExpr {
    const ks = this.kids(n);
    const pos = this.pos(n);
    if (n.type.id === T_NumberDurationLiteralInDurationContext) return this.durationNumber(n);
    if (n.type.id === T_NumberDurationLiteral) {
      const lit = this.numberLiteral(n) as { value: number; isDuration: boolean };
      return this.checkDurationRange({ op: 'number', seconds: lit.value, isDuration: lit.isDuration, pos });
    }
    if (n.type.id === T_OffsetDurationExpr || n.type.id === T_DurationExpr) {
      const first = ks[0];
      if (!first) return { op: 'number', seconds: 0, isDuration: false, pos };
      if (first.type.id === T_UnaryOp) {
        const inner = this.durationExpr(ks[1] as Node);
        const neg = this.text(first) === '-';
        const wrapped = this.q[(ks[1] as Node).from] === '(' && (ks[1] as Node).type.id === T_DurationExpr && this.isParenthesized(ks[1] as Node);
        // Prometheus folds a sign into a literal (unless it was parenthesized).
        if (inner.op === 'number' && !wrapped) return this.checkDurationRange({ ...inner, seconds: neg ? -inner.seconds : inner.seconds, pos });
        return neg ? { op: 'neg', expr: inner, pos } : inner;
      }
      if (first.type.id === T_DurationStep) return { op: 'step', pos };
      if (first.type.id === T_DurationRange) return { op: 'range', pos };
      if (first.type.id === T_DurationMinOf || first.type.id === T_DurationMaxOf) {
        return { op: first.type.id === T_DurationMinOf ? 'min_of' : 'max_of', lhs: this.durationExpr(ks[1] as Node), rhs: this.durationExpr(ks[2] as Node), pos };
      }
      if (first.type.id === T_NumberDurationLiteralInDurationContext && ks.length === 1) return this.durationNumber(first);
      if (ks.length === 1 && (first.type.id === T_DurationExpr || first.type.id === T_OffsetDurationExpr)) {
        const inner = this.durationExpr(first);
        return this.isParenthesized(n) ? { op: 'paren', expr: inner, pos } : inner;
      }
      if (ks.length === 3) {
        const opText = this.text(ks[1] as Node);
        const lhs = this.durationExpr(ks[0] as Node);
        const rhs = this.durationExpr(ks[2] as Node);
        if ((opText === '/' || opText === '%') && rhs.op === 'number' && rhs.seconds === 0) {
          this.err(this.pos(ks[1] as Node), opText === '/' ? 'division by zero' : 'modulo by zero');
          return { op: 'number', seconds: 0, isDuration: false, pos };
        }
        return { op: opText as '+' | '-' | '*' | '/' | '%' | '^', lhs, rhs, pos };
      }
    }
    this.err(pos, 'unexpected duration expression');
    return { op: 'number', seconds: 0, isDuration: false, pos };
  }

  private isParenthesized(n: Node): boolean {
    const t = this.text(n).trim();
    return t.startsWith('(') && t.endsWith(')');
  }

  private durationNumber(n: Node): DurationExpr {
    const t = this.text(n).trimEnd();
    const { value, isDuration } = this.numberValue(t, this.pos(n));
    return this.checkDurationRange({ op: 'number', seconds: value, isDuration, pos: this.pos(n) });
  }

  private checkDurationRange(d: DurationExpr & { op: 'number' }): DurationExpr {
    if (d.seconds > MAX_DURATION_SECONDS || d.seconds < -MAX_DURATION_SECONDS) {
      this.err(d.pos, 'duration out of range');
      return { ...d, seconds: 0 };
    }
    return d;
  }

  private applyOffset(inner: Expr, n: Node, pos: PosRange): Expr {
    const durNode = this.kids(n).find((k) => k.type.id === T_OffsetDurationExpr);
    if (!durNode) return inner;
    const d = this.durationExpr(durNode);
    const offset: Duration = d.op === 'number' ? { kind: 'literal', ms: Math.round(d.seconds * 1000) } : { kind: 'expr', expr: d };
    const target = this.modifierTarget(inner);
    if (!target) {
      this.err(inner.pos, 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
      return inner;
    }
    if (target.holder.offset !== null) {
      this.err(inner.pos, 'offset may not be set multiple times');
      return inner;
    }
    // Prometheus: a zero offset is the same as none.
    return target.rebuild({ offset: offset.kind === 'literal' && offset.ms === 0 ? null : offset }, pos);
  }

  private applyAt(inner: Expr, n: Node, pos: PosRange): Expr {
    const ks = this.kids(n);
    const valueNode = ks.find((k) => k.type.id === T_AtModifierPreprocessors || k.type.id === T_NumberDurationLiteral);
    let at: AtModifier | null = null;
    if (valueNode && valueNode.type.id === T_AtModifierPreprocessors) {
      at = { kind: (valueNode.firstChild as Node).type.id === T_AtStart ? 'start' : 'end' };
    } else if (valueNode) {
      const lit = this.numberLiteral(valueNode) as { value: number };
      const ts = lit.value;
      if (!Number.isFinite(ts) || ts >= 9223372036854775807 || ts <= -9223372036854775808) {
        const shown = Number.isNaN(ts) ? 'NaN' : formatFloatFixed6(ts);
        this.err(inner.pos, `timestamp out of bounds for @ modifier: ${shown}`);
        return inner;
      }
      at = { kind: 'time', ms: Math.round(ts * 1000) };
    }
    if (!at) return inner;
    const target = this.modifierTarget(inner);
    if (!target) {
      this.err(inner.pos, '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
      return inner;
    }
    if (target.holder.at !== null) {
      this.err(inner.pos, '@ <timestamp> may not be set multiple times');
      return inner;
    }
    return target.rebuild({ at }, pos);
  }

  // The node an offset or @ applies to, and how to rebuild it with the modifier set.
  private modifierTarget(e: Expr): { holder: { offset: Duration | null; at: AtModifier | null }; rebuild: (m: { offset?: Duration | null; at?: AtModifier }, pos: PosRange) => Expr } | null {
    switch (e.type) {
      case 'VectorSelector':
        return { holder: e, rebuild: (m, pos) => ({ ...e, ...m, pos: { start: e.pos.start, end: pos.end } }) };
      case 'MatrixSelector':
        return {
          holder: e.selector,
          rebuild: (m, pos) => ({ ...e, selector: { ...e.selector, ...m }, pos: { start: e.pos.start, end: pos.end } }),
        };
      case 'SubqueryExpr':
        return { holder: e, rebuild: (m, pos) => ({ ...e, ...m, pos: { start: e.pos.start, end: pos.end } }) };
      default:
        return null;
    }
  }

  private call(n: Node): Expr {
    const [idNode, bodyNode] = this.kids(n) as [Node, Node];
    const name = this.text(idNode);
    const sig = FUNCTIONS.get(name);
    const args = this.kids(bodyNode).map((a) => this.expr(a));
    if (!sig) {
      this.err(this.pos(idNode), `unknown function with name ${goQuote(name)}`);
      return { type: 'NumberLiteral', value: 0, isDuration: false, pos: this.pos(n) };
    }
    this.trailingComma(bodyNode);
    return { type: 'Call', func: sig, args, pos: this.pos(n) };
  }

  private trailingComma(body: Node): void {
    const inner = this.text(body).slice(1, -1).replace(/#[^\n]*/g, '').trimEnd();
    if (inner.endsWith(',')) {
      const at = body.from + 1 + this.text(body).slice(1).lastIndexOf(',');
      this.err({ start: at, end: at + 1 }, 'trailing commas not allowed in function call args');
    }
  }

  private groupingLabels(n: Node): string[] {
    const out: string[] = [];
    for (const c of this.kids(n)) {
      if (c.type.id === T_LabelName) out.push(this.text(c));
      else if (c.type.id === T_QuotedLabelName) {
        const v = unquoteString(this.text(c));
        if (v === '') this.err(this.pos(c), `invalid label name for grouping: ${goQuote(v)}`);
        out.push(v);
      }
    }
    return out;
  }

  private aggregate(n: Node): Expr {
    let op: AggregateOp = 'sum';
    let grouping: string[] = [];
    let without = false;
    let argNodes: Node[] = [];
    for (const c of this.kids(n)) {
      if (c.type.id === T_AggregateOp) {
        const t = this.text(c).toLowerCase();
        if (AGGREGATE_OPS.has(t)) op = t as AggregateOp;
      } else if (c.type.id === T_AggregateModifier) {
        for (const m of this.kids(c)) {
          if (m.type.id === T_By) without = false;
          else if (m.type.id === T_Without) without = true;
          else if (m.type.id === T_GroupingLabels) grouping = this.groupingLabels(m);
        }
      } else if (c.type.id === T_FunctionCallBody) argNodes = this.kids(c);
    }
    const args = argNodes.map((a) => this.expr(a));
    const pos = this.pos(n);
    const placeholder: Expr = { type: 'NumberLiteral', value: 0, isDuration: false, pos };
    if (args.length === 0) {
      this.err(pos, 'no arguments for aggregate expression provided');
      return { type: 'AggregateExpr', op, expr: placeholder, param: null, grouping, without, pos };
    }
    const desired = PARAM_AGGREGATES.has(op) ? 2 : 1;
    if (args.length !== desired) {
      this.err(pos, `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`);
      return { type: 'AggregateExpr', op, expr: args[args.length - 1] as Expr, param: null, grouping, without, pos };
    }
    return { type: 'AggregateExpr', op, expr: args[desired - 1] as Expr, param: desired === 2 ? (args[0] as Expr) : null, grouping, without, pos };
  }

  private binary(n: Node, buildRhs: (rhs: Node) => Expr = (r) => this.expr(r)): Expr {
    const ks = this.kids(n);
    const lhsNode = ks[0] as Node;
    const rhsNode = ks[ks.length - 1] as Node;
    let op: BinaryOp | null = null;
    let returnBool = false;
    let card: VectorMatching['card'] = 'one-to-one';
    let on = false;
    let labels: string[] = [];
    let include: string[] = [];
    for (const c of ks.slice(1, -1)) {
      const bop = BINARY_OPS.get(c.type.id);
      if (bop) op = bop;
      else if (c.type.id === T_BoolModifier) returnBool = true;
      else if (c.type.id === T_MatchingModifierClause) {
        let seenGroup = false;
        for (const m of this.kids(c)) {
          if (m.type.id === T_On) on = true;
          else if (m.type.id === T_Ignoring) on = false;
          else if (m.type.id === T_GroupLeft) {
            card = 'many-to-one';
            seenGroup = true;
          } else if (m.type.id === T_GroupRight) {
            card = 'one-to-many';
            seenGroup = true;
          } else if (m.type.id === T_GroupingLabels) {
            if (seenGroup) include = this.groupingLabels(m);
            else labels = this.groupingLabels(m);
          }
        }
      } else if (c.type.id === T_FillModifier) {
        this.err(this.pos(n), 'binop fill modifiers are experimental and not enabled');
      }
    }
    const pos = this.pos(n);
    if (!op) {
      this.err(pos, 'binary expression without an operator');
      return this.expr(lhsNode);
    }
    // lezer reads "-1 ^ 2" as (-1)^2; PromQL (and Prometheus's yacc grammar) as -(1^2).
    if (op === '^' && lhsNode.type.id === T_NumberDurationLiteral && /^[-+]/.test(this.text(lhsNode))) {
      const signText = this.text(lhsNode);
      const unsignedStart = lhsNode.from + 1 + (signText.slice(1).length - signText.slice(1).trimStart().length);
      const lit = this.numberLiteral(lhsNode) as { value: number; isDuration: boolean };
      const sign = signText[0] === '-' ? -1 : 1;
      const base: Expr = { type: 'NumberLiteral', value: sign * lit.value, isDuration: lit.isDuration, pos: { start: unsignedStart, end: lhsNode.to } };
      const rhs = buildRhs(rhsNode);
      const inner: Expr = { type: 'BinaryExpr', op, lhs: base, rhs, returnBool, matching: { card, on, labels, include }, pos: { start: unsignedStart, end: pos.end } };
      return { type: 'UnaryExpr', op: sign < 0 ? '-' : '+', expr: inner, pos };
    }
    const lhs = this.expr(lhsNode);
    const rhs = buildRhs(rhsNode);
    return { type: 'BinaryExpr', op, lhs, rhs, returnBool, matching: { card, on, labels, include }, pos: { start: pos.start, end: Math.max(pos.end, rhs.pos.end) } };
  }

  private unary(n: Node, buildInner: (inner: Node) => Expr = (i) => this.expr(i)): Expr {
    const [opNode, inner] = this.kids(n) as [Node, Node];
    const op = this.text(opNode) === '-' ? '-' : '+';
    const e = buildInner(inner);
    const pos = { start: n.from, end: Math.max(n.to, e.pos.end) };
    // Prometheus folds a sign into a number literal.
    if (e.type === 'NumberLiteral') return { ...e, value: op === '-' ? -e.value : e.value, pos };
    return { type: 'UnaryExpr', op, expr: e, pos };
  }
}

/** Prometheus's checkAST: type checking, with its exact messages. */
class Checker {
  constructor(
    private readonly q: string,
    private readonly errors: ParseError[],
  ) {}

  private err(pos: PosRange, message: string): void {
    this.errors.push({ pos, message });
  }

  private expectType(e: Expr, want: ValueType, context: string): void {
    const t = this.check(e);
    if (t !== want) this.err(e.pos, `expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`);
  }

  // The operator's position between the operands, whitespace trimmed.
  private opRange(lhs: Expr, rhs: Expr): PosRange {
    let start = lhs.pos.end;
    while (start < this.q.length && /\s/.test(this.q[start] as string)) start++;
    let end = rhs.pos.start - 1;
    while (end > start && /\s/.test(this.q[end] as string)) end--;
    return { start, end };
  }

  check(e: Expr): ValueType {
    const typ = typeOf(e);
    switch (e.type) {
      case 'AggregateExpr':
        this.expectType(e.expr, 'vector', 'aggregation expression');
        if (e.param) {
          if (e.op === 'count_values') this.expectType(e.param, 'string', 'aggregation parameter');
          else this.expectType(e.param, 'scalar', 'aggregation parameter');
        }
        break;
      case 'BinaryExpr': {
        const lt = this.check(e.lhs);
        const rt = this.check(e.rhs);
        const cmp = isComparisonOp(e.op);
        if (e.returnBool && !cmp) this.err(this.opRange(e.lhs, e.rhs), 'bool modifier can only be used on comparison operators');
        if (cmp && !e.returnBool && lt === 'scalar' && rt === 'scalar') this.err(this.opRange(e.lhs, e.rhs), 'comparisons between scalars must use BOOL modifier');
        let m = e.matching;
        if (m && isSetOp(e.op) && m.card === 'one-to-one') m = { ...m, card: 'many-to-many' };
        if (m && m.on) {
          for (const l of m.labels) if (m.include.includes(l)) this.err(this.opRange(e.lhs, e.rhs), `label ${goQuote(l)} must not occur in ON and GROUP clause at once`);
        }
        if (lt !== 'scalar' && lt !== 'vector') this.err(e.lhs.pos, 'binary expression must contain only scalar and instant vector types');
        if (rt !== 'scalar' && rt !== 'vector') this.err(e.rhs.pos, 'binary expression must contain only scalar and instant vector types');
        if ((lt !== 'vector' || rt !== 'vector') && m) {
          if (m.labels.length > 0) this.err(e.pos, 'vector matching only allowed between instant vectors');
          m = null;
        } else if (m && isSetOp(e.op)) {
          if (m.card === 'one-to-many' || m.card === 'many-to-one') this.err(e.pos, `no grouping allowed for ${goQuote(e.op)} operation`);
          if (m.card !== 'many-to-many') this.err(e.pos, 'set operations must always be many-to-many');
        }
        if ((lt === 'scalar' || rt === 'scalar') && isSetOp(e.op)) this.err(e.pos, `set operator ${goQuote(e.op)} not allowed in binary scalar expression`);
        // The normalised matching is what evaluation uses.
        (e as Mutable<typeof e>).matching = m;
        break;
      }
      case 'Call': {
        const f = e.func;
        const nargs = f.argTypes.length;
        if (f.variadic === 0) {
          if (nargs !== e.args.length) this.err(e.pos, `expected ${nargs} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`);
        } else {
          const na = nargs - 1;
          if (na > e.args.length) this.err(e.pos, `expected at least ${na} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`);
          else if (f.variadic > 0 && na + f.variadic < e.args.length) this.err(e.pos, `expected at most ${na + f.variadic} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`);
        }
        for (let i = 0; i < e.args.length; i++) {
          let ti = i;
          if (i >= nargs) {
            if (f.variadic === 0) break;
            ti = nargs - 1;
          }
          const arg = e.args[i] as Expr;
          const t = this.check(arg);
          const want = f.argTypes[ti] as ValueType;
          if (t !== want) this.err(arg.pos, `expected type ${documentedType(want)} in call to function ${goQuote(f.name)}, got ${documentedType(t)}`);
        }
        break;
      }
      case 'ParenExpr':
        this.check(e.expr);
        break;
      case 'UnaryExpr': {
        const t = this.check(e.expr);
        if (t !== 'scalar' && t !== 'vector') this.err(e.pos, `unary expression only allowed on expressions of type scalar or instant vector, got ${goQuote(documentedType(t))}`);
        break;
      }
      case 'SubqueryExpr': {
        const t = this.check(e.expr);
        if (t !== 'vector') this.err(e.pos, `subquery is only allowed on instant vector, got ${t} instead`);
        break;
      }
      case 'MatrixSelector':
        this.check(e.selector);
        break;
      case 'VectorSelector': {
        if (e.name !== '') {
          for (const m of e.matchers.slice(0, -1)) {
            if (m.name === '__name__') this.err(e.pos, `metric name must not be set twice: ${goQuote(e.name)} or ${goQuote(m.value)}`);
          }
          break;
        }
        if (!e.matchers.some((m) => !matcherMatchesEmpty(m))) this.err(e.pos, 'vector selector must contain at least one non-empty matcher');
        break;
      }
      case 'NumberLiteral':
      case 'StringLiteral':
        break;
    }
    return typ;
  }
}

/** Whether a matcher selects series that lack the label (value ""). */
export function matcherMatchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
    case '!~': {
      let re: RegExp;
      try {
        re = compileAnchored(m.value);
      } catch {
        return false;
      }
      const hit = re.test('');
      return m.type === '=~' ? hit : !hit;
    }
  }
}

/**
 * Go strutil.Unquote for PromQL strings: "..." and '...' with Go escapes,
 * `...` raw. Escapes were validated by the lexer. \x and octal escapes are
 * bytes in Go; consecutive byte escapes are decoded as UTF-8.
 */
export function unquoteString(text: string): string {
  const q = text[0];
  const body = text.length >= 2 && text[text.length - 1] === q ? text.slice(1, -1) : text.slice(1);
  if (q === '`') return body;
  let out = '';
  let bytes: number[] = [];
  const flushBytes = (): void => {
    if (bytes.length) {
      out += new TextDecoder().decode(new Uint8Array(bytes));
      bytes = [];
    }
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      flushBytes();
      out += c;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'a':
        flushBytes();
        out += '\x07';
        break;
      case 'b':
        flushBytes();
        out += '\b';
        break;
      case 'f':
        flushBytes();
        out += '\f';
        break;
      case 'n':
        flushBytes();
        out += '\n';
        break;
      case 'r':
        flushBytes();
        out += '\r';
        break;
      case 't':
        flushBytes();
        out += '\t';
        break;
      case 'v':
        flushBytes();
        out += '\v';
        break;
      case 'x':
        bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
        i += 2;
        break;
      case 'u':
        flushBytes();
        out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 5), 16));
        i += 4;
        break;
      case 'U':
        flushBytes();
        out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 9), 16));
        i += 8;
        break;
      default:
        if (e !== undefined && e >= '0' && e <= '7') {
          bytes.push(parseInt(body.slice(i, i + 3), 8));
          i += 2;
        } else {
          flushBytes();
          out += e ?? '';
        }
    }
  }
  flushBytes();
  return out;
}

/** Resolves a duration (literal or expression) to milliseconds for a query. */
export function durationMs(d: Duration, ctx: { stepMs: number; rangeMs: number }, allowNegative: boolean): number {
  if (d.kind === 'literal') return d.ms;
  const seconds = evalDurationExpr(d.expr, ctx);
  const p = d.expr.pos;
  if (!Number.isFinite(seconds)) throw new PromqlError('bad_data', `${p.start}:${p.end}: duration is NaN or infinite`);
  if (seconds <= 0 && !allowNegative) throw new PromqlError('bad_data', `${p.start}:${p.end}: duration must be greater than 0`);
  if (seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS) throw new PromqlError('bad_data', `${p.start}:${p.end}: duration is out of range`);
  return Math.trunc(seconds * 1000);
}

function evalDurationExpr(e: DurationExpr, ctx: { stepMs: number; rangeMs: number }): number {
  switch (e.op) {
    case 'number':
      return e.seconds;
    case 'step':
      return ctx.stepMs / 1000;
    case 'range':
      return ctx.rangeMs / 1000;
    case 'neg':
      return -evalDurationExpr(e.expr, ctx);
    case 'paren':
      return evalDurationExpr(e.expr, ctx);
    default: {
      const l = evalDurationExpr(e.lhs, ctx);
      const r = evalDurationExpr(e.rhs, ctx);
      switch (e.op) {
        case 'min_of':
          return Math.min(l, r);
        case 'max_of':
          return Math.max(l, r);
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          if (r === 0) throw new PromqlError('bad_data', `${e.pos.start}:${e.pos.end}: division by zero`);
          return l / r;
        case '%':
          if (r === 0) throw new PromqlError('bad_data', `${e.pos.start}:${e.pos.end}: modulo by zero`);
          return l % r;
        case '^':
          return Math.pow(l, r);
      }
    }
  }
}

