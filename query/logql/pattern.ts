// Loki's pattern expressions: `| pattern "<ip> - <_> ..."` (parser) and
// `|> "<_> error <_>"` (line filter). A capture is <name> (letters, digits,
// underscore, not starting with a digit) or <_>; everything else is literal.
// Semantics follow https://grafana.com/docs/loki/latest/query/log_queries/#pattern
// and the pattern filter in https://grafana.com/docs/loki/latest/query/query_reference/#pattern-match-filter-operators

export class PatternError extends Error {
  override readonly name = 'PatternError';
}

type Part = { lit: string } | { cap: string };

export interface PatternExpr {
  readonly parts: readonly Part[];
  /** named captures in order */
  readonly names: readonly string[];
}

function lexPattern(src: string): Part[] {
  const parts: Part[] = [];
  let lit = '';
  const re = /<([A-Za-z_][A-Za-z0-9_]*)>/y;
  for (let i = 0; i < src.length; ) {
    re.lastIndex = i;
    const m = src[i] === '<' ? re.exec(src) : null;
    if (m) {
      if (lit) parts.push({ lit }), (lit = '');
      parts.push({ cap: m[1] as string });
      i = re.lastIndex;
    } else {
      lit += src[i];
      i++;
    }
  }
  if (lit) parts.push({ lit });
  return parts;
}

/** Parses and validates a pattern; `filter` patterns may only use <_>. */
export function parsePatternExpr(src: string, use: 'parser' | 'filter'): PatternExpr {
  const parts = lexPattern(src);
  for (let i = 0; i + 1 < parts.length; i++) {
    const a = parts[i] as Part;
    const b = parts[i + 1] as Part;
    if ('cap' in a && 'cap' in b) throw new PatternError(`found consecutive capture '<${a.cap}><${b.cap}>': invalid expression`);
  }
  const names = parts.flatMap((p) => ('cap' in p && p.cap !== '_' ? [p.cap] : []));
  if (use === 'filter') {
    const named = parts.find((p) => 'cap' in p && p.cap !== '_');
    if (named && 'cap' in named) throw new PatternError(`named captures are not allowed: found '<${named.cap}>'`);
  } else {
    if (names.length === 0) throw new PatternError('at least one capture is required');
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) throw new PatternError(`duplicate capture name (${n}): invalid expression`);
      seen.add(n);
    }
  }
  return { parts, names };
}

/** The parser: values of the named captures matched so far (a capture that misses takes the rest of the line). */
export function patternMatches(p: PatternExpr, line: string): string[] {
  const out: string[] = [];
  if (line.length === 0 || p.parts.length === 0) return out;
  let parts = p.parts;
  let rest = line;
  const first = parts[0] as Part;
  if ('lit' in first) {
    if (!rest.startsWith(first.lit)) return out;
    rest = rest.slice(first.lit.length);
    parts = parts.slice(1);
  }
  if (parts.length === 0) return out;
  while (parts.length > 0) {
    const cap = parts[0] as { cap: string };
    if (parts.length === 1) {
      if (cap.cap !== '_') out.push(rest);
      return out;
    }
    const lit = (parts[1] as { lit: string }).lit;
    parts = parts.slice(2);
    const i = rest.indexOf(lit);
    if (i < 0) {
      if (cap.cap !== '_') out.push(rest);
      return out;
    }
    if (cap.cap !== '_') out.push(rest.slice(0, i));
    rest = rest.slice(i + lit.length);
  }
  return out;
}

/** The line filter test: literals in order, non-empty captures, anchored at both ends. */
export function patternTest(p: PatternExpr, line: string): boolean {
  const parts = p.parts;
  if (line.length === 0 || parts.length === 0) return line.length === 0 && parts.length === 0;
  let off = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Part;
    if (!('lit' in part)) continue;
    const j = line.indexOf(part.lit, off);
    if (j < 0) return false;
    // a literal after a capture needs a non-empty capture before it (Loki's
    // Matcher.Test; a leading literal is searched for, not anchored)
    if (i !== 0 && j === off) return false;
    off = j + part.lit.length;
  }
  const endsOnCapture = 'cap' in (parts[parts.length - 1] as Part);
  return endsOnCapture === (off !== line.length);
}

/** The literal parts (for pushing a pattern filter down as substring checks). */
export function patternLiterals(p: PatternExpr): string[] {
  return p.parts.flatMap((x) => ('lit' in x ? [x.lit] : []));
}
