// LogQL text -> typed AST (ast.ts), through @grafana/lezer-logql. The tree
// is walked once; every check Loki's parser makes that the grammar does not
// (range aggregation/unwrap combinations, empty-compatible selectors, regex
// syntax, template syntax, topk parameters) happens here, so a query that
// parses can be evaluated. Loki's rules: pkg/logql/syntax (ast.go, parser.go)
// and https://grafana.com/docs/loki/latest/query/.
import * as T from '@grafana/lezer-logql';
import { parser } from '@grafana/lezer-logql';
import type {
  BinaryOp,
  CmpOp,
  Conversion,
  ExtractionParam,
  Expr,
  Grouping,
  LabelFilterExpr,
  LabelFormatItem,
  LabelMatcher,
  LineFilterOp,
  LogSelector,
  MatchOp,
  MetricExpr,
  NamedOrMatcher,
  RangeOp,
  Stage,
  Unwrap,
  VectorMatching,
  VectorOp,
} from './ast.ts';
import { COMPARISON_OPS, SET_OPS } from './ast.ts';
import { compileRegex, RegexSyntaxError } from './regex.ts';
import { parseHumanBytes, parseQueryDurationNs } from './units.ts';
import { parseTemplate, TemplateError } from './template.ts';
import { parsePatternExpr, PatternError } from './pattern.ts';
import { parseJsonPath } from './json.ts';

/** A query Loki would reject at parse time; the API answers 400 with this text. */
export class LogqlParseError extends Error {
  override readonly name = 'LogqlParseError';
  constructor(msg: string, line = 0, col = 0) {
    super(line === 0 && col === 0 ? `parse error : ${msg}` : `parse error at line ${line}, col ${col}: ${msg}`);
  }
}

const RANGE_OPS: Record<number, RangeOp> = {
  [T.CountOverTime]: 'count_over_time',
  [T.Rate]: 'rate',
  [T.RateCounter]: 'rate_counter',
  [T.BytesOverTime]: 'bytes_over_time',
  [T.BytesRate]: 'bytes_rate',
  [T.AvgOverTime]: 'avg_over_time',
  [T.SumOverTime]: 'sum_over_time',
  [T.MinOverTime]: 'min_over_time',
  [T.MaxOverTime]: 'max_over_time',
  [T.StddevOverTime]: 'stddev_over_time',
  [T.StdvarOverTime]: 'stdvar_over_time',
  [T.QuantileOverTime]: 'quantile_over_time',
  [T.FirstOverTime]: 'first_over_time',
  [T.LastOverTime]: 'last_over_time',
  [T.AbsentOverTime]: 'absent_over_time',
};

const VECTOR_OPS: Record<number, VectorOp> = {
  [T.Sum]: 'sum',
  [T.Avg]: 'avg',
  [T.Count]: 'count',
  [T.Max]: 'max',
  [T.Min]: 'min',
  [T.Stddev]: 'stddev',
  [T.Stdvar]: 'stdvar',
  [T.Bottomk]: 'bottomk',
  [T.Topk]: 'topk',
  [T.Sort]: 'sort',
  [T.Sort_Desc]: 'sort_desc',
};

const BIN_OPS: Record<number, BinaryOp> = {
  [T.Add]: '+',
  [T.Sub]: '-',
  [T.Mul]: '*',
  [T.Div]: '/',
  [T.Mod]: '%',
  [T.Pow]: '^',
  [T.Eql]: '==',
  [T.Neq]: '!=',
  [T.Gtr]: '>',
  [T.Gte]: '>=',
  [T.Lss]: '<',
  [T.Lte]: '<=',
  [T.And]: 'and',
  [T.Or]: 'or',
  [T.Unless]: 'unless',
};

const CMP_OPS: Record<number, CmpOp> = { [T.Eq]: '==', [T.Eql]: '==', [T.Neq]: '!=', [T.Gtr]: '>', [T.Gte]: '>=', [T.Lss]: '<', [T.Lte]: '<=' };

// Precedence as in Go / Loki's grammar (higher binds tighter); ^ is right-associative.
const PRECEDENCE: Record<BinaryOp, number> = { or: 1, and: 2, unless: 2, '==': 3, '!=': 3, '>': 3, '>=': 3, '<': 3, '<=': 3, '+': 4, '-': 4, '*': 5, '/': 5, '%': 5, '^': 6 };

// Grouping is allowed only for these range aggregations (Loki ast.go RangeAggregationExpr.validate).
const GROUPING_OK: ReadonlySet<RangeOp> = new Set(['avg_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'max_over_time', 'min_over_time', 'first_over_time', 'last_over_time']);
const UNWRAP_OPS: ReadonlySet<RangeOp> = new Set(['avg_over_time', 'sum_over_time', 'max_over_time', 'min_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'rate', 'rate_counter', 'absent_over_time', 'first_over_time', 'last_over_time']);
const LOG_OPS: ReadonlySet<RangeOp> = new Set(['bytes_over_time', 'bytes_rate', 'count_over_time', 'rate', 'absent_over_time']);

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// the lezer node type, without importing @lezer/common (not a direct dependency)
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

class Walker {
  constructor(private readonly src: string) {}

  text(n: SyntaxNode): string {
    return this.src.slice(n.from, n.to);
  }

  fail(msg: string, n?: SyntaxNode): never {
    if (!n) throw new LogqlParseError(msg);
    const { line, col } = lineCol(this.src, n.from);
    throw new LogqlParseError(msg, line, col);
  }

  kids(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  kid(n: SyntaxNode, type: number): SyntaxNode | null {
    for (let c = n.firstChild; c; c = c.nextSibling) if (c.type.id === type) return c;
    return null;
  }

  need(n: SyntaxNode, type: number, what: string): SyntaxNode {
    const c = this.kid(n, type);
    if (!c) this.fail(`syntax error: expected ${what}`, n);
    return c;
  }

  string(n: SyntaxNode): string {
    try {
      return unquoteGo(this.text(n));
    } catch (e) {
      this.fail((e as Error).message, n);
    }
  }

  // ---------- expressions ----------

  expr(n: SyntaxNode): Expr {
    // Expr -> LogExpr | MetricExpr
    const c = n.firstChild;
    if (!c) this.fail('syntax error: unexpected end of query', n);
    if (c.type.id === T.LogExpr) return this.logExpr(c);
    if (c.type.id === T.MetricExpr) return this.metricExpr(c);
    return this.fail(`syntax error: unexpected ${JSON.stringify(this.text(c))}`, c);
  }

  logExpr(n: SyntaxNode): LogSelector {
    // LogExpr -> Selector PipelineExpr? | ( LogExpr )
    const inner = this.kid(n, T.LogExpr);
    if (inner) return this.logExpr(inner);
    const sel = this.need(n, T.Selector, 'a stream selector');
    const pipe = this.kid(n, T.PipelineExpr);
    return this.selector(sel, pipe ? this.pipeline(pipe) : []);
  }

  selector(n: SyntaxNode, pipeline: Stage[]): LogSelector {
    const matchers: LabelMatcher[] = [];
    const ms = this.kid(n, T.Matchers);
    if (ms) this.collectMatchers(ms, matchers);
    if (matchers.length === 0) this.fail('syntax error: unexpected }, expecting IDENTIFIER', n);
    if (!matchers.some((m) => !matcherMatchesEmpty(m))) {
      this.fail('queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will');
    }
    return { kind: 'log', matchers, pipeline };
  }

  collectMatchers(n: SyntaxNode, out: LabelMatcher[]): void {
    for (const c of this.kids(n)) {
      if (c.type.id === T.Matchers) this.collectMatchers(c, out);
      else if (c.type.id === T.Matcher) out.push(this.matcher(c));
    }
  }

  matcher(n: SyntaxNode): LabelMatcher {
    const id = this.need(n, T.Identifier, 'a label name');
    const str = this.need(n, T.String, 'a string');
    let op: MatchOp | undefined;
    for (const c of this.kids(n)) {
      if (c.type.id === T.Eq) op = '=';
      else if (c.type.id === T.Neq) op = '!=';
      else if (c.type.id === T.Re) op = '=~';
      else if (c.type.id === T.Nre) op = '!~';
    }
    if (!op) this.fail('syntax error: expected a matcher operator', n);
    const m: LabelMatcher = { name: this.text(id), op, value: this.string(str) };
    if (op === '=~' || op === '!~') this.checkRegex(m.value, str, true);
    return m;
  }

  checkRegex(re: string, n: SyntaxNode, anchored: boolean): void {
    try {
      compileRegex(re, { anchored });
    } catch (e) {
      if (e instanceof RegexSyntaxError) this.fail(e.message, n);
      throw e;
    }
  }

  pipeline(n: SyntaxNode): Stage[] {
    const out: Stage[] = [];
    for (const c of this.kids(n)) {
      if (c.type.id === T.PipelineExpr) out.push(...this.pipeline(c));
      else if (c.type.id === T.PipelineStage) out.push(...this.stage(c));
    }
    return out;
  }

  stage(n: SyntaxNode): Stage[] {
    for (const c of this.kids(n)) {
      switch (c.type.id) {
        case T.LineFilters:
          return this.lineFilters(c);
        case T.LabelParser:
          return [this.labelParser(c)];
        case T.JsonExpressionParser:
          return [{ kind: 'json', params: this.extractionParams(c, 'json') }];
        case T.LogfmtParser:
          return [this.logfmt(c, [])];
        case T.LogfmtExpressionParser:
          return [this.logfmt(c, this.extractionParams(c, 'logfmt'))];
        case T.LabelFilter:
          return [{ kind: 'label_filter', expr: this.labelFilter(c) }];
        case T.LineFormatExpr: {
          const s = this.need(c, T.String, 'a template');
          const template = this.string(s);
          this.checkTemplate(template, s, 'line');
          return [{ kind: 'line_format', template }];
        }
        case T.LabelFormatExpr:
          return [this.labelFormat(c)];
        case T.DecolorizeExpr:
          return [{ kind: 'decolorize' }];
        case T.DropLabelsExpr:
          return [{ kind: 'drop', items: this.namedOrMatchers(c, T.DropLabels, T.DropLabel) }];
        case T.KeepLabelsExpr:
          return [{ kind: 'keep', items: this.namedOrMatchers(c, T.KeepLabels, T.KeepLabel) }];
        case T.Pipe:
          continue;
        default:
          break;
      }
    }
    return this.fail(`syntax error: unexpected ${JSON.stringify(this.text(n))}`, n);
  }

  lineFilters(n: SyntaxNode): Stage[] {
    const out: { op: LineFilterOp; values: string[]; ip: boolean; node: SyntaxNode }[] = [];
    const walk = (m: SyntaxNode): void => {
      let pendingOr = false;
      for (const c of this.kids(m)) {
        if (c.type.id === T.LineFilters) walk(c);
        else if (c.type.id === T.LineFilter) out.push(this.lineFilter(c));
        else if (c.type.id === T.Or) pendingOr = true;
        else if (c.type.id === T.OrFilter && pendingOr) {
          const last = out[out.length - 1];
          if (!last) this.fail('syntax error: unexpected or', c);
          const { value, ip } = this.orValue(c);
          if (ip !== last.ip) this.fail('syntax error: cannot mix ip() and strings in an or chain', c);
          last.values.push(value);
          pendingOr = false;
        }
      }
    };
    walk(n);
    for (const f of out) this.checkLineFilter(f.op, f.values, f.ip, f.node);
    return out.map((f) => ({ kind: 'line_filter' as const, op: f.op, values: f.values, ip: f.ip }));
  }

  lineFilter(n: SyntaxNode): { op: LineFilterOp; values: string[]; ip: boolean; node: SyntaxNode } {
    const filter = this.need(n, T.Filter, 'a line filter operator');
    const opNode = filter.firstChild;
    const op: LineFilterOp | undefined =
      opNode?.type.id === T.PipeExact ? '|=' : opNode?.type.id === T.Neq ? '!=' : opNode?.type.id === T.PipeMatch ? '|~' : opNode?.type.id === T.Nre ? '!~' : opNode?.type.id === T.PipePattern ? '|>' : opNode?.type.id === T.Npa ? '!>' : undefined;
    if (!op) this.fail(`syntax error: unexpected ${JSON.stringify(this.text(filter))}`, filter);
    const ip = !!this.kid(n, T.FilterOp);
    const values = [this.string(this.need(n, T.String, 'a string'))];
    let pendingOr = false;
    for (const c of this.kids(n)) {
      if (c.type.id === T.Or) pendingOr = true;
      else if (c.type.id === T.OrFilter && pendingOr) {
        const v = this.orValue(c);
        if (v.ip !== ip) this.fail('syntax error: cannot mix ip() and strings in an or chain', c);
        values.push(v.value);
        pendingOr = false;
      }
    }
    return { op, values, ip, node: n };
  }

  orValue(n: SyntaxNode): { value: string; ip: boolean } {
    return { value: this.string(this.need(n, T.String, 'a string')), ip: !!this.kid(n, T.FilterOp) };
  }

  checkLineFilter(op: LineFilterOp, values: string[], ip: boolean, n: SyntaxNode): void {
    if (ip) {
      if (op !== '|=' && op !== '!=') this.fail(`syntax error: ip() is only allowed with |= and !=`, n);
      for (const v of values) if (!parseIpPattern(v)) this.fail(`invalid ip matcher: ${v}`, n);
      return;
    }
    if (op === '|~' || op === '!~') for (const v of values) this.checkRegex(v, n, false);
    if (op === '|>' || op === '!>') {
      for (const v of values) {
        try {
          parsePatternExpr(v, 'filter');
        } catch (e) {
          if (e instanceof PatternError) this.fail(e.message, n);
          throw e;
        }
      }
    }
  }

  labelParser(n: SyntaxNode): Stage {
    const c = n.firstChild;
    switch (c?.type.id) {
      case T.Json:
        return { kind: 'json', params: [] };
      case T.Logfmt:
        return { kind: 'logfmt', strict: false, keepEmpty: false, params: [] };
      case T.Unpack:
        return { kind: 'unpack' };
      case T.Regexp: {
        const s = this.need(n, T.String, 'a regular expression');
        const pattern = this.string(s);
        this.checkRegex(pattern, s, false);
        const { groupNames } = compileRegex(pattern);
        const named = groupNames.filter(Boolean);
        if (named.length === 0) this.fail('at least one named capture must be supplied', s);
        for (const g of named) if (!LABEL_NAME.test(g)) this.fail(`invalid extracted label name '${g}'`, s);
        return { kind: 'regexp', pattern };
      }
      case T.Pattern: {
        const s = this.need(n, T.String, 'a pattern');
        const pattern = this.string(s);
        try {
          parsePatternExpr(pattern, 'parser');
        } catch (e) {
          if (e instanceof PatternError) this.fail(e.message, s);
          throw e;
        }
        return { kind: 'pattern', pattern };
      }
      default:
        return this.fail(`syntax error: unexpected ${JSON.stringify(this.text(n))}`, n);
    }
  }

  logfmt(n: SyntaxNode, params: ExtractionParam[]): Stage {
    let strict = false;
    let keepEmpty = false;
    const flags = this.kid(n, T.LogfmtParserFlags);
    const walk = (m: SyntaxNode): void => {
      for (const c of this.kids(m)) {
        if (c.type.id === T.LogfmtParserFlags) walk(c);
        else if (c.type.id === T.ParserFlag) {
          const f = this.text(c);
          if (f === '--strict') strict = true;
          else if (f === '--keep-empty') keepEmpty = true;
          else this.fail(`invalid logfmt flag ${f}`, c);
        }
      }
    };
    if (flags) walk(flags);
    return { kind: 'logfmt', strict, keepEmpty, params };
  }

  extractionParams(n: SyntaxNode, parserName: 'json' | 'logfmt'): ExtractionParam[] {
    const out: ExtractionParam[] = [];
    const walk = (m: SyntaxNode): void => {
      for (const c of this.kids(m)) {
        if (c.type.id === T.LabelExtractionExpressionList) walk(c);
        else if (c.type.id === T.LabelExtractionExpression) {
          const id = this.text(this.need(c, T.Identifier, 'a label name'));
          const s = this.kid(c, T.String);
          const expr = s ? this.string(s) : id;
          if (parserName === 'json') {
            try {
              parseJsonPath(expr);
            } catch (e) {
              this.fail(`cannot parse expression [${expr}]: ${(e as Error).message}`, c);
            }
          }
          out.push({ label: id, expr });
        }
      }
    };
    const list = this.kid(n, T.LabelExtractionExpressionList);
    if (list) walk(list);
    return out;
  }

  labelFormat(n: SyntaxNode): Stage {
    const items: LabelFormatItem[] = [];
    const seen = new Set<string>();
    const walk = (m: SyntaxNode): void => {
      for (const c of this.kids(m)) {
        if (c.type.id === T.LabelsFormat) walk(c);
        else if (c.type.id === T.LabelFormatMatcher) {
          const ids = this.kids(c).filter((k) => k.type.id === T.Identifier);
          const dst = this.text(ids[0] as SyntaxNode);
          if (dst === '__error__') this.fail(`${dst} cannot be formatted`, c);
          if (seen.has(dst)) this.fail(`multiple label name '${dst}' not allowed in a single format operation`, c);
          seen.add(dst);
          const s = this.kid(c, T.String);
          if (s) {
            const template = this.string(s);
            this.checkTemplate(template, s, `label '${dst}'`);
            items.push({ dst, rename: false, template });
          } else {
            const src = ids[1];
            if (!src) this.fail('syntax error: expected a label or a template', c);
            items.push({ dst, rename: true, src: this.text(src) });
          }
        }
      }
    };
    walk(this.need(n, T.LabelsFormat, 'label formats'));
    return { kind: 'label_format', items };
  }

  checkTemplate(template: string, n: SyntaxNode, what: string): void {
    try {
      parseTemplate(template);
    } catch (e) {
      if (e instanceof TemplateError) this.fail(what === 'line' ? `invalid line template: ${e.message}` : `invalid template for ${what}: ${e.message}`, n);
      throw e;
    }
  }

  namedOrMatchers(n: SyntaxNode, listType: number, itemType: number): NamedOrMatcher[] {
    const out: NamedOrMatcher[] = [];
    const walk = (m: SyntaxNode): void => {
      for (const c of this.kids(m)) {
        if (c.type.id === listType) walk(c);
        else if (c.type.id === itemType) {
          const mt = this.kid(c, T.Matcher);
          if (mt) {
            const matcher = this.matcher(mt);
            out.push({ name: matcher.name, matcher });
          } else out.push({ name: this.text(this.need(c, T.Identifier, 'a label name')) });
        }
      }
    };
    walk(n);
    return out;
  }

  labelFilter(n: SyntaxNode): LabelFilterExpr {
    const kids = this.kids(n);
    const parts = kids.filter((k) => k.type.id === T.LabelFilter);
    if (parts.length === 2) {
      const isOr = kids.some((k) => k.type.id === T.Or);
      return { kind: isOr ? 'or' : 'and', left: this.labelFilter(parts[0] as SyntaxNode), right: this.labelFilter(parts[1] as SyntaxNode) };
    }
    if (parts.length === 1) return this.labelFilter(parts[0] as SyntaxNode); // parentheses
    const c = kids[0];
    switch (c?.type.id) {
      case T.Matcher:
        return { kind: 'string', matcher: this.matcher(c) };
      case T.NumberFilter: {
        const name = this.text(this.need(c, T.Identifier, 'a label name'));
        const op = this.cmpOp(c);
        const lit = this.need(c, T.LiteralExpr, 'a number');
        return { kind: 'number', name, op, value: this.literal(lit) };
      }
      case T.UnitFilter: {
        const f = c.firstChild as SyntaxNode;
        const name = this.text(this.need(f, T.Identifier, 'a label name'));
        const op = this.cmpOp(f);
        if (f.type.id === T.DurationFilter) {
          const d = this.need(f, T.Duration, 'a duration');
          const text = this.text(d);
          const ns = parseQueryDurationNs(text);
          if (ns === undefined) this.fail(`invalid duration ${text}`, d);
          return { kind: 'duration', name, op, valueNs: ns, text };
        }
        const b = this.need(f, T.Bytes, 'a byte size');
        const text = this.text(b);
        const v = parseHumanBytes(text);
        if (!v.ok) this.fail(`invalid bytes ${text}: ${v.error}`, b);
        return { kind: 'bytes', name, op, value: v.value, text };
      }
      case T.IpLabelFilter: {
        const name = this.text(this.need(c, T.Identifier, 'a label name'));
        const op = this.kid(c, T.Neq) ? '!=' : '=';
        const pattern = this.string(this.need(c, T.String, 'an ip pattern'));
        if (!parseIpPattern(pattern)) this.fail(`invalid ip matcher: ${pattern}`, c);
        return { kind: 'ip', name, op, pattern };
      }
      default:
        return this.fail(`syntax error: unexpected ${JSON.stringify(this.text(n))}`, n);
    }
  }

  cmpOp(n: SyntaxNode): CmpOp {
    for (const c of this.kids(n)) {
      const op = CMP_OPS[c.type.id];
      if (op) return op;
    }
    return this.fail('syntax error: expected a comparison', n);
  }

  literal(n: SyntaxNode): number {
    // LiteralExpr -> (Add|Sub)? Number
    let sign = 1;
    for (const c of this.kids(n)) if (c.type.id === T.Sub) sign = -sign;
    const num = this.need(n, T.Number, 'a number');
    return sign * this.number(num);
  }

  number(n: SyntaxNode): number {
    const t = this.text(n);
    const v = Number(t);
    if (t === '' || Number.isNaN(v)) this.fail(`syntax error: invalid number ${t}`, n);
    return v;
  }

  // ---------- metric expressions ----------

  metricExpr(n: SyntaxNode): MetricExpr {
    const c = n.firstChild;
    if (!c) this.fail('syntax error: unexpected end of query', n);
    switch (c.type.id) {
      case T.MetricExpr:
        return this.metricExpr(c); // parenthesised
      case T.RangeAggregationExpr:
        return this.rangeAgg(c);
      case T.VectorAggregationExpr:
        return this.vectorAgg(c);
      case T.BinOpExpr:
        return this.binary(c);
      case T.LiteralExpr:
        return { kind: 'literal', value: this.literal(c) };
      case T.LabelReplaceExpr:
        return this.labelReplace(c);
      case T.VectorExpr:
        return { kind: 'vector', value: this.number(this.need(c, T.Number, 'a number')) };
      default:
        return this.fail(`syntax error: unexpected ${JSON.stringify(this.text(c))}`, c);
    }
  }

  rangeAgg(n: SyntaxNode): MetricExpr {
    const opNode = this.need(n, T.RangeOp, 'a range function');
    const op = RANGE_OPS[opNode.firstChild?.type.id ?? -1];
    if (!op) this.fail(`syntax error: unsupported range function ${this.text(opNode)}`, opNode);
    const lre = this.need(n, T.LogRangeExpr, 'a log range');
    const param = this.kid(n, T.Number);
    const groupingNode = this.kid(n, T.Grouping);
    const { selector, unwrap, rangeNs, offsetNs } = this.logRange(lre);
    const grouping = groupingNode ? this.grouping(groupingNode) : undefined;
    if (op === 'quantile_over_time' && !param) this.fail('syntax error: quantile_over_time requires a parameter', n);
    if (op !== 'quantile_over_time' && param) this.fail(`syntax error: unexpected parameter for ${op}`, param);
    if (grouping && !GROUPING_OK.has(op)) this.fail(`grouping not allowed for ${op} aggregation`);
    if (unwrap && !UNWRAP_OPS.has(op)) this.fail(`invalid aggregation ${op} with unwrap`);
    if (!unwrap && !LOG_OPS.has(op)) this.fail(`invalid aggregation ${op} without unwrap`);
    return {
      kind: 'range',
      op,
      selector,
      ...(unwrap ? { unwrap } : {}),
      rangeNs,
      offsetNs,
      ...(param ? { param: this.number(param) } : {}),
      ...(grouping ? { grouping } : {}),
    };
  }

  logRange(n: SyntaxNode): { selector: LogSelector; unwrap?: Unwrap; rangeNs: number; offsetNs: number } {
    // forms: Selector Pipeline? Unwrap? Range Offset?  |  Selector Range Offset? Pipeline? Unwrap?  |  ( LogExpr ) Range Offset?
    const sel = this.kid(n, T.Selector);
    const inner = this.kid(n, T.LogExpr);
    let base: LogSelector;
    if (sel) base = this.selector(sel, []);
    else if (inner) base = this.logExpr(inner);
    else this.fail('syntax error: expected a stream selector', n);
    return this.finishRange(n, base, []);
  }

  finishRange(n: SyntaxNode, base: LogSelector, stages: Stage[]): { selector: LogSelector; unwrap?: Unwrap; rangeNs: number; offsetNs: number } {
    let unwrap: Unwrap | undefined;
    for (const c of this.kids(n)) {
      if (c.type.id === T.PipelineExpr) stages.push(...this.pipeline(c));
      else if (c.type.id === T.UnwrapExpr) unwrap = this.unwrap(c);
    }
    const range = this.need(n, T.Range, 'a range');
    const rangeNs = this.duration(this.need(range, T.Duration, 'a duration'));
    const off = this.kid(n, T.OffsetExpr);
    const offsetNs = off ? this.duration(this.need(off, T.Duration, 'a duration')) : 0;
    return { selector: { kind: 'log', matchers: base.matchers, pipeline: [...base.pipeline, ...stages] }, ...(unwrap ? { unwrap } : {}), rangeNs, offsetNs };
  }

  duration(n: SyntaxNode): number {
    const t = this.text(n);
    const ns = parseQueryDurationNs(t);
    if (ns === undefined) this.fail(`syntax error: invalid duration ${t}`, n);
    return ns;
  }

  unwrap(n: SyntaxNode): Unwrap {
    // UnwrapExpr -> Pipe Unwrap ConvOp? Identifier | UnwrapExpr Pipe LabelFilter
    const inner = this.kid(n, T.UnwrapExpr);
    if (inner) {
      const base = this.unwrap(inner);
      const lf = this.need(n, T.LabelFilter, 'a label filter');
      return { ...base, postFilters: [...base.postFilters, this.labelFilter(lf)] };
    }
    const label = this.text(this.need(n, T.Identifier, 'a label to unwrap'));
    const conv = this.kid(n, T.ConvOp);
    let conversion: Conversion = '';
    if (conv) {
      const k = conv.firstChild?.type.id;
      conversion = k === T.BytesConv ? 'bytes' : k === T.DurationSecondsConv ? 'duration_seconds' : 'duration';
    }
    return { label, conversion, postFilters: [] };
  }

  grouping(n: SyntaxNode): Grouping {
    const without = !!this.kid(n, T.Without);
    const labels: string[] = [];
    const walk = (m: SyntaxNode): void => {
      for (const c of this.kids(m)) {
        if (c.type.id === T.Labels) walk(c);
        else if (c.type.id === T.Identifier) labels.push(this.text(c));
      }
    };
    const l = this.kid(n, T.Labels);
    if (l) walk(l);
    return { without, labels };
  }

  vectorAgg(n: SyntaxNode): MetricExpr {
    const opNode = this.need(n, T.VectorOp, 'an aggregation');
    const id = opNode.firstChild?.type.id ?? -1;
    if (id === T.Approx_Topk) this.fail('approx_topk is not supported by fleetwatch; use topk', opNode);
    const op = VECTOR_OPS[id];
    if (!op) this.fail(`syntax error: unsupported aggregation ${this.text(opNode)}`, opNode);
    const groupings = this.kids(n).filter((c) => c.type.id === T.Grouping);
    if (groupings.length > 1) this.fail('syntax error: grouping given twice', groupings[1]);
    const grouping = groupings[0] ? this.grouping(groupings[0]) : undefined;
    const inner = this.need(n, T.MetricExpr, 'an expression');
    const paramNode = this.kid(n, T.Number);
    let param: number | undefined;
    if (op === 'topk' || op === 'bottomk') {
      if (!paramNode) this.fail(`parameter required for operation ${op}`);
      const t = this.text(paramNode);
      if (!/^[0-9]+$/.test(t)) this.fail(`invalid parameter ${op}(${t},`);
      param = Number(t);
      if (param <= 0) this.fail(`invalid parameter (must be greater than 0) ${op}(${t}`);
    } else if (paramNode) this.fail(`unsupported parameter for operation ${op}(${this.text(paramNode)},`);
    if ((op === 'sort' || op === 'sort_desc') && grouping) this.fail(`grouping not allowed for ${op} aggregation`);
    return { kind: 'vector_agg', op, expr: this.metricExpr(inner), ...(param !== undefined ? { param } : {}), ...(grouping ? { grouping } : {}) };
  }

  labelReplace(n: SyntaxNode): MetricExpr {
    const inner = this.need(n, T.MetricExpr, 'an expression');
    const strs = this.kids(n).filter((c) => c.type.id === T.String);
    if (strs.length !== 4) this.fail('syntax error: label_replace takes an expression and four strings', n);
    const [dst, replacement, src, regex] = strs.map((s) => this.string(s)) as [string, string, string, string];
    if (!LABEL_NAME.test(dst)) this.fail(`invalid destination label name in label_replace(): ${dst}`, n);
    this.checkRegex(regex, strs[3] as SyntaxNode, true);
    return { kind: 'label_replace', expr: this.metricExpr(inner), dst, replacement, src, regex };
  }

  /**
   * Binary expressions: lezer-logql nests them without operator precedence,
   * so an unparenthesised chain is flattened and rebuilt with Loki's
   * precedence (Go's: ^ > * / % > + - > comparisons > and unless > or).
   */
  binary(n: SyntaxNode): MetricExpr {
    const operands: MetricExpr[] = [];
    const ops: { op: BinaryOp; bool: boolean; matching?: VectorMatching; node: SyntaxNode }[] = [];
    const flatten = (b: SyntaxNode): void => {
      const kids = this.kids(b);
      const exprs = kids.filter((k) => k.type.id === T.Expr);
      const opNode = kids.find((k) => BIN_OPS[k.type.id] !== undefined);
      if (exprs.length !== 2 || !opNode) this.fail(`syntax error: unexpected ${JSON.stringify(this.text(b))}`, b);
      const side = (e: SyntaxNode): void => {
        const chain = this.unparenthesisedBinOp(e);
        if (chain) flatten(chain);
        else operands.push(this.exprAsMetric(e));
      };
      side(exprs[0] as SyntaxNode);
      ops.push({ ...this.modifier(kids.find((k) => k.type.id === T.BinOpModifier), BIN_OPS[opNode.type.id] as BinaryOp), node: opNode });
      side(exprs[1] as SyntaxNode);
    };
    flatten(n);
    // precedence climbing over the flat list
    let i = 0;
    const parse = (minPrec: number): MetricExpr => {
      let left = operands[i] as MetricExpr;
      while (i < ops.length) {
        const o = ops[i] as (typeof ops)[number];
        const prec = PRECEDENCE[o.op];
        if (prec < minPrec) break;
        i++;
        const right = parse(o.op === '^' ? prec : prec + 1);
        left = this.makeBinary(o.op, left, right, o.bool, o.matching, o.node);
      }
      return left;
    };
    const out = parse(0);
    return out;
  }

  /** The BinOpExpr an operand consists of, when it is not in parentheses. */
  unparenthesisedBinOp(e: SyntaxNode): SyntaxNode | null {
    const m = e.firstChild;
    if (m?.type.id !== T.MetricExpr) return null;
    const b = m.firstChild;
    if (b?.type.id !== T.BinOpExpr) return null;
    return b.from === e.from && b.to === e.to ? b : null;
  }

  exprAsMetric(e: SyntaxNode): MetricExpr {
    const x = this.expr(e);
    if (x.kind === 'log') this.fail('syntax error: unexpected log selector in a binary operation; did you forget a range aggregation such as rate(...[1m])?', e);
    return x;
  }

  modifier(n: SyntaxNode | undefined, op: BinaryOp): { op: BinaryOp; bool: boolean; matching?: VectorMatching } {
    if (!n || n.from === n.to) return { op, bool: false };
    const bool = !!this.kid(n, T.Bool);
    const oi = this.kid(n, T.OnOrIgnoringModifier);
    if (!oi) return { op, bool };
    const on = !!this.kid(oi, T.On);
    const labels = this.groupingLabels(this.kid(oi, T.GroupingLabels));
    const left = this.kid(n, T.GroupLeft);
    const right = this.kid(n, T.GroupRight);
    const incNode = this.kids(n).filter((k) => k.type.id === T.GroupingLabels)[0] ?? null;
    const include = left || right ? this.groupingLabels(incNode) : [];
    const matching: VectorMatching = { on, labels, card: left ? 'many-to-one' : right ? 'one-to-many' : 'one-to-one', include };
    return { op, bool, matching };
  }

  groupingLabels(n: SyntaxNode | null): string[] {
    if (!n) return [];
    const out: string[] = [];
    const walk = (m: SyntaxNode): void => {
      for (const c of this.kids(m)) {
        if (c.type.id === T.LabelName) out.push(this.text(c));
        else walk(c);
      }
    };
    walk(n);
    return out;
  }

  makeBinary(op: BinaryOp, left: MetricExpr, right: MetricExpr, bool: boolean, matching: VectorMatching | undefined, n: SyntaxNode): MetricExpr {
    if (bool && !COMPARISON_OPS.has(op)) this.fail('bool modifier can only be used on comparison operators', n);
    const lScalar = left.kind === 'literal';
    const rScalar = right.kind === 'literal';
    if (SET_OPS.has(op) && (lScalar || rScalar)) this.fail(`set operator "${op}" not allowed in binary scalar expression`, n);
    if (matching && matching.card !== 'one-to-one' && SET_OPS.has(op)) this.fail(`no grouping allowed for "${op}" operation`, n);
    // literal folding, as Loki does for `1 + 1`
    if (lScalar && rScalar) {
      if (COMPARISON_OPS.has(op) && !bool) this.fail('comparisons between scalars must use BOOL modifier', n);
      return { kind: 'literal', value: scalarOp(op, left.value, right.value, true) };
    }
    return { kind: 'binary', op, left, right, returnBool: bool, ...(matching ? { matching } : {}) };
  }
}

export function scalarOp(op: BinaryOp, a: number, b: number, returnBool: boolean): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return goMod(a, b);
    case '^':
      return Math.pow(a, b);
    case '==':
      return returnBool ? Number(a === b) : a;
    case '!=':
      return returnBool ? Number(a !== b) : a;
    case '>':
      return returnBool ? Number(a > b) : a;
    case '>=':
      return returnBool ? Number(a >= b) : a;
    case '<':
      return returnBool ? Number(a < b) : a;
    case '<=':
      return returnBool ? Number(a <= b) : a;
    default:
      return NaN;
  }
}

/** math.Mod: result has the sign of a. */
export function goMod(a: number, b: number): number {
  return a % b;
}

export function matcherMatchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return compileRegex(m.value, { anchored: true }).re.test('');
    case '!~':
      return !compileRegex(m.value, { anchored: true }).re.test('');
  }
}

export function lineCol(src: string, pos: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < src.length; i++) {
    if (src[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, col };
}

/** Go's strconv.Unquote for "..." and `...` strings. */
export function unquoteGo(s: string): string {
  if (s.length >= 2 && s[0] === '`' && s[s.length - 1] === '`') return s.slice(1, -1).replace(/\r/g, '');
  if (s.length < 2 || s[0] !== '"' || s[s.length - 1] !== '"') throw new Error(`invalid string ${s}`);
  const body = s.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '\n') throw new Error('newline in string');
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error(`invalid syntax in string ${s}`);
        out += String.fromCharCode(parseInt(h, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const len = n === 'u' ? 4 : 8;
        const h = body.slice(i + 1, i + 1 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) throw new Error(`invalid syntax in string ${s}`);
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff) throw new Error(`invalid syntax in string ${s}`);
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      default: {
        if (n !== undefined && /[0-7]/.test(n)) {
          const o = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) throw new Error(`invalid syntax in string ${s}`);
          out += String.fromCharCode(parseInt(o, 8));
          i += 2;
          break;
        }
        throw new Error(`invalid syntax in string ${s}`);
      }
    }
  }
  return out;
}

/** Validates an ip("...") pattern: address, CIDR or a-b range (IPv4 or IPv6). */
export function parseIpPattern(p: string): boolean {
  const isIp = (s: string): boolean => isIPv4(s) || isIPv6(s);
  if (p.includes('/')) {
    const [a, bits] = p.split('/') as [string, string];
    const max = isIPv4(a) ? 32 : isIPv6(a) ? 128 : -1;
    return max > 0 && /^[0-9]+$/.test(bits) && Number(bits) <= max;
  }
  if (p.includes('-')) {
    const [a, b] = p.split('-') as [string, string];
    return (isIPv4(a) && isIPv4(b)) || (isIPv6(a) && isIPv6(b));
  }
  return isIp(p);
}

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((x) => /^(0|[1-9][0-9]{0,2})$/.test(x) && Number(x) <= 255);
}

export function isIPv6(s: string): boolean {
  if (!s.includes(':')) return false;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let t = s;
  let extra = 0;
  if (v4) {
    if (!isIPv4(v4[1] as string)) return false;
    t = s.slice(0, -(v4[1] as string).length) + '0:0';
    extra = 0;
  }
  const dbl = t.split('::');
  if (dbl.length > 2) return false;
  const groups = (x: string): string[] => (x === '' ? [] : x.split(':'));
  const head = groups(dbl[0] as string);
  const tail = dbl.length === 2 ? groups(dbl[1] as string) : [];
  const all = [...head, ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  const n = all.length + extra;
  return dbl.length === 2 ? n < 8 : n === 8;
}

/** The first error node of a lezer parse, if any. */
function firstErrorOf(tree: ReturnType<typeof parser.parse>): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  tree.iterate({
    enter(n) {
      if (found) return false;
      if (n.type.isError) {
        found = n.node;
        return false;
      }
      return undefined;
    },
  });
  return found;
}

function insideLabelFilter(n: SyntaxNode): boolean {
  for (let p: SyntaxNode | null = n; p; p = p.parent) {
    if (p.type.id === T.LabelFilter) return true;
    if (p.type.id === T.PipelineStage) return p.getChild(T.LabelFilter) !== null;
  }
  return false;
}

/** Parses a LogQL query; throws LogqlParseError with Loki's message shape. */
export function parseLogql(query: string): Expr {
  if (query.trim() === '') throw new LogqlParseError('syntax error: unexpected $end', 1, 1);
  let text = query;
  let tree = parser.parse(text);
  let err = firstErrorOf(tree);
  const original = err;
  // Loki also accepts label filters separated by a space (`| a="1" b="2"`),
  // which lezer-logql's grammar lacks: retry with a comma (the same `and`)
  for (let tries = 0; err && tries < 16; tries++) {
    const at = err.from;
    if (!insideLabelFilter(err) || !/^\s*[A-Za-z_(]/.test(text.slice(at)) || !/\s$/.test(text.slice(0, at))) break;
    const candidate = text.slice(0, at) + ', ' + text.slice(at);
    const t2 = parser.parse(candidate);
    const e2 = firstErrorOf(t2);
    if (e2 && e2.from <= at) break;
    text = candidate;
    tree = t2;
    err = e2;
  }
  if (err) {
    const w0: Walker = new Walker(query);
    const e = original as SyntaxNode;
    const tok = query.slice(e.from, Math.max(e.to, e.from + 1)).trim();
    w0.fail(tok ? `syntax error: unexpected ${JSON.stringify(tok)}` : 'syntax error: unexpected end of query', e);
  }
  const w: Walker = new Walker(text);
  const top = tree.topNode;
  const exprNode = w.kid(top, T.Expr);
  if (!exprNode) w.fail('syntax error: unexpected end of query', top);
  return w.expr(exprNode);
}
