// AST -> canonical LogQL text, in the spirit of Loki's Expr.String():
// used by /loki/api/v1/format_query. Printing and re-parsing gives the same AST.
import type { Expr, Grouping, LabelFilterExpr, LabelMatcher, LogSelector, MetricExpr, Stage, Unwrap } from './ast.ts';
import { formatFloat, formatQueryDuration } from './units.ts';

/** Go strconv.Quote-style double-quoted string. */
export function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

function matcher(m: LabelMatcher): string {
  return `${m.name}${m.op}${quote(m.value)}`;
}

function labelFilter(f: LabelFilterExpr): string {
  switch (f.kind) {
    case 'and':
      return `( ${labelFilter(f.left)} , ${labelFilter(f.right)} )`;
    case 'or':
      return `( ${labelFilter(f.left)} or ${labelFilter(f.right)} )`;
    case 'string':
      return matcher(f.matcher);
    case 'number':
      return `${f.name}${f.op}${formatFloat(f.value)}`;
    case 'duration':
    case 'bytes':
      return `${f.name}${f.op}${f.text}`;
    case 'ip':
      return `${f.name}${f.op}ip(${quote(f.pattern)})`;
  }
}

function stage(s: Stage): string {
  switch (s.kind) {
    case 'line_filter': {
      const v = (x: string): string => (s.ip ? `ip(${quote(x)})` : quote(x));
      return `${s.op} ${s.values.map(v).join(' or ')}`;
    }
    case 'label_filter':
      return `| ${labelFilter(s.expr)}`;
    case 'json':
      return s.params.length ? `| json ${s.params.map((p) => `${p.label}=${quote(p.expr)}`).join(', ')}` : '| json';
    case 'logfmt': {
      const flags = `${s.strict ? ' --strict' : ''}${s.keepEmpty ? ' --keep-empty' : ''}`;
      return s.params.length ? `| logfmt${flags} ${s.params.map((p) => `${p.label}=${quote(p.expr)}`).join(', ')}` : `| logfmt${flags}`;
    }
    case 'regexp':
      return `| regexp ${quote(s.pattern)}`;
    case 'pattern':
      return `| pattern ${quote(s.pattern)}`;
    case 'unpack':
      return '| unpack';
    case 'line_format':
      return `| line_format ${quote(s.template)}`;
    case 'label_format':
      return `| label_format ${s.items.map((i) => (i.rename ? `${i.dst}=${i.src}` : `${i.dst}=${quote(i.template)}`)).join(',')}`;
    case 'decolorize':
      return '| decolorize';
    case 'drop':
    case 'keep':
      return `| ${s.kind} ${s.items.map((i) => (i.matcher ? matcher(i.matcher) : i.name)).join(',')}`;
  }
}

export function formatSelector(sel: LogSelector): string {
  const base = `{${sel.matchers.map(matcher).join(', ')}}`;
  return sel.pipeline.length ? `${base} ${sel.pipeline.map(stage).join(' ')}` : base;
}

function unwrap(u: Unwrap): string {
  const conv = u.conversion ? `${u.conversion}(${u.label})` : u.label;
  return `| unwrap ${conv}${u.postFilters.map((f) => ` | ${labelFilter(f)}`).join('')}`;
}

function grouping(g: Grouping): string {
  return `${g.without ? 'without' : 'by'} (${g.labels.join(',')})`;
}

function metric(e: MetricExpr): string {
  switch (e.kind) {
    case 'literal':
      return formatFloat(e.value);
    case 'vector':
      return `vector(${formatFloat(e.value)})`;
    case 'range': {
      const inner = `${formatSelector(e.selector)}${e.unwrap ? ' ' + unwrap(e.unwrap) : ''} [${formatQueryDuration(e.rangeNs)}]${e.offsetNs ? ` offset ${formatQueryDuration(e.offsetNs)}` : ''}`;
      const param = e.param !== undefined ? `${formatFloat(e.param)},` : '';
      return `${e.op}(${param}${inner})${e.grouping ? ' ' + grouping(e.grouping) : ''}`;
    }
    case 'vector_agg': {
      const g = e.grouping ? ` ${grouping(e.grouping)}` : '';
      const param = e.param !== undefined ? `${e.param},` : '';
      return `${e.op}${g}(${param}${metric(e.expr)})`;
    }
    case 'binary': {
      let mod = e.returnBool ? ' bool' : '';
      if (e.matching) {
        mod += ` ${e.matching.on ? 'on' : 'ignoring'} (${e.matching.labels.join(',')})`;
        if (e.matching.card === 'many-to-one') mod += ` group_left (${e.matching.include.join(',')})`;
        if (e.matching.card === 'one-to-many') mod += ` group_right (${e.matching.include.join(',')})`;
      }
      const side = (x: MetricExpr): string => (x.kind === 'binary' ? `(${metric(x)})` : metric(x));
      return `${side(e.left)} ${e.op}${mod} ${side(e.right)}`;
    }
    case 'label_replace':
      return `label_replace(${metric(e.expr)},${quote(e.dst)},${quote(e.replacement)},${quote(e.src)},${quote(e.regex)})`;
  }
}

export function formatExpr(e: Expr): string {
  return e.kind === 'log' ? formatSelector(e) : metric(e);
}
