// Prints an AST back as PromQL, the way Prometheus does: exprToString mirrors
// promql/parser/printer.go (String()), formatExpr mirrors prettier.go
// (Pretty(0), what /api/v1/format_query returns: nodes longer than 100
// characters are split over lines with two-space indents).
import type { AtModifier, Duration, DurationExpr, Expr, LabelMatcher, VectorMatching } from './ast.ts';
import { formatDurationMs, formatFloatF, goQuote } from './go-strconv.ts';
import { isLegacyLabelName } from './label-set.ts';
import { parseExpr } from './parse.ts';

const MAX_CHARACTERS_PER_LINE = 100;

/** Parses and pretty-prints a query (Prometheus /api/v1/format_query). */
export function formatQuery(query: string): string {
  return formatExpr(parseExpr(query));
}

function writeLabels(ls: readonly string[]): string {
  return ls.map((l) => (isLegacyLabelName(l) ? l : goQuote(l))).join(', ');
}

function matcherString(m: LabelMatcher): string {
  const name = isLegacyLabelName(m.name) ? m.name : goQuote(m.name);
  return `${name}${m.type}${goQuote(m.value)}`;
}

function durationString(d: Duration): string {
  return d.kind === 'literal' ? formatDurationMs(d.ms) : durationExprString(d.expr);
}

function offsetString(d: Duration | null): string {
  if (!d) return '';
  if (d.kind === 'expr') return ` offset ${durationExprString(d.expr)}`;
  if (d.ms > 0) return ` offset ${formatDurationMs(d.ms)}`;
  if (d.ms < 0) return ` offset -${formatDurationMs(-d.ms)}`;
  return '';
}

function atString(at: AtModifier | null): string {
  if (!at) return '';
  if (at.kind === 'start') return ' @ start()';
  if (at.kind === 'end') return ' @ end()';
  return ` @ ${(at.ms / 1000).toFixed(3)}`;
}

function numberString(value: number, isDuration: boolean): string {
  if (isDuration) return value < 0 ? `-${formatDurationMs(-value * 1000)}` : formatDurationMs(value * 1000);
  return formatFloatF(value);
}

export function durationExprString(e: DurationExpr): string {
  switch (e.op) {
    case 'number':
      return numberString(e.seconds, e.isDuration);
    case 'step':
      return 'step()';
    case 'range':
      return 'range()';
    case 'neg':
      return `-${durationExprString(e.expr)}`;
    case 'paren':
      return `(${durationExprString(e.expr)})`;
    case 'min_of':
    case 'max_of':
      return `${e.op}(${durationExprString(e.lhs)}, ${durationExprString(e.rhs)})`;
    default:
      return `${durationExprString(e.lhs)} ${e.op} ${durationExprString(e.rhs)}`;
  }
}

function matchingString(m: VectorMatching | null): string {
  if (!m) return '';
  let s = '';
  const grouped = m.card === 'many-to-one' || m.card === 'one-to-many';
  if (m.labels.length > 0 || m.on || grouped) s = ` ${m.on ? 'on' : 'ignoring'} (${writeLabels(m.labels)})`;
  if (grouped) s += ` group_${m.card === 'many-to-one' ? 'left' : 'right'} (${writeLabels(m.include)})`;
  return s;
}

function aggOpString(e: Expr & { type: 'AggregateExpr' }): string {
  if (e.without) return `${e.op} without (${writeLabels(e.grouping)}) `;
  if (e.grouping.length > 0) return `${e.op} by (${writeLabels(e.grouping)}) `;
  return e.op;
}

/** One-line canonical PromQL (Prometheus Expr.String()). */
export function exprToString(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return numberString(e.value, e.isDuration);
    case 'StringLiteral':
      return goQuote(e.value);
    case 'ParenExpr':
      return `(${exprToString(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}${exprToString(e.expr)}`;
    case 'VectorSelector': {
      const parts = e.matchers.filter((m) => !(m.name === '__name__' && m.type === '=' && m.value === e.name && m.value !== '')).map(matcherString);
      parts.sort();
      let s = e.name;
      if (parts.length) s += `{${parts.join(',')}}`;
      return s + atString(e.at) + offsetString(e.offset);
    }
    case 'MatrixSelector': {
      const vs = exprToString({ ...e.selector, at: null, offset: null });
      return `${vs}[${durationString(e.range)}]${atString(e.selector.at)}${offsetString(e.selector.offset)}`;
    }
    case 'SubqueryExpr':
      return `${exprToString(e.expr)}${subquerySuffix(e)}`;
    case 'Call':
      return `${e.func.name}(${e.args.map(exprToString).join(', ')})`;
    case 'AggregateExpr': {
      const param = e.param ? `${exprToString(e.param)}, ` : '';
      return `${aggOpString(e)}(${param}${exprToString(e.expr)})`;
    }
    case 'BinaryExpr':
      return `${exprToString(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${matchingString(e.matching)} ${exprToString(e.rhs)}`;
  }
}

function subquerySuffix(e: Expr & { type: 'SubqueryExpr' }): string {
  const step = e.step ? durationString(e.step) : '';
  return `[${durationString(e.range)}:${step}]${atString(e.at)}${offsetString(e.offset)}`;
}

const indent = (n: number): string => '  '.repeat(n);

/** Pretty-printed PromQL (Prometheus Prettify / Pretty(0)). */
export function formatExpr(e: Expr, level = 0): string {
  const flat = exprToString(e);
  const needsSplit = flat.length > MAX_CHARACTERS_PER_LINE;
  switch (e.type) {
    case 'AggregateExpr': {
      if (!needsSplit) return indent(level) + flat;
      let s = `${indent(level)}${aggOpString(e)}(\n`;
      if (e.param) s += `${formatExpr(e.param, level + 1)},\n`;
      return `${s}${formatExpr(e.expr, level + 1)}\n${indent(level)})`;
    }
    case 'BinaryExpr': {
      if (!needsSplit) return indent(level) + flat;
      return `${formatExpr(e.lhs, level + 1)}\n${indent(level)}${e.op}${e.returnBool ? ' bool' : ''}${matchingString(e.matching)}\n${formatExpr(e.rhs, level + 1)}`;
    }
    case 'Call': {
      if (!needsSplit) return indent(level) + flat;
      return `${indent(level)}${e.func.name}(\n${e.args.map((a) => formatExpr(a, level + 1)).join(',\n')}\n${indent(level)})`;
    }
    case 'ParenExpr': {
      if (!needsSplit) return indent(level) + flat;
      return `${indent(level)}(\n${formatExpr(e.expr, level + 1)}\n${indent(level)})`;
    }
    case 'SubqueryExpr':
      if (!needsSplit) return flat;
      return `${formatExpr(e.expr, level)}${subquerySuffix(e)}`;
    case 'UnaryExpr':
      return `${indent(level)}${e.op}${formatExpr(e.expr, level).trim()}`;
    default:
      return indent(level) + flat;
  }
}
