// Go RE2 regular expressions (what LogQL queries are written in): the
// translation to JavaScript RegExp is shared with PromQL (../re2.ts), so that
// stages evaluated in TypeScript match exactly what ClickHouse's re2-based
// match() matches for the pushed-down ones. This module adds the LogQL-only
// helpers: the ClickHouse form of a pattern and the literal shortcut.
import { compileRe2, expandTemplate, jsGroupName, RegexSyntaxError } from '../re2.ts';
import type { CompiledRe2, Re2Options } from '../re2.ts';

export { expandTemplate, jsGroupName, RegexSyntaxError };
export type CompiledRegex = CompiledRe2;
export type RegexOptions = Re2Options;

/** Translates a Go RE2 pattern; throws RegexSyntaxError for what RE2 rejects. */
export function compileRegex(pattern: string, opts: RegexOptions = {}): CompiledRegex {
  return compileRe2(pattern, opts);
}

/**
 * The same pattern for ClickHouse's match() (RE2 as well). ClickHouse sets
 * dot-matches-newline by default, so the flag is made explicit; label
 * matchers are anchored like Prometheus matchers.
 */
export function sqlRegex(pattern: string, opts: { anchored?: boolean; dotAll?: boolean } = {}): string {
  const body = opts.anchored ? `^(?:${pattern})$` : pattern;
  return (opts.dotAll ? '(?s)' : '(?-s)') + body;
}

/**
 * When a regex is a plain literal (optionally (?i)), the literal, so that
 * `|~ "error"` can use the body index like `|= "error"`, as Loki simplifies.
 */
export function regexLiteral(pattern: string): { literal: string; caseInsensitive: boolean } | undefined {
  let p = pattern;
  let ci = false;
  if (p.startsWith('(?i)')) {
    ci = true;
    p = p.slice(4);
  }
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined || /[0-9A-Za-z]/.test(n)) return undefined;
      out += n;
      i++;
      continue;
    }
    if ('.^$|?*+()[]{}'.includes(c)) return undefined;
    out += c;
  }
  if (out === '') return undefined;
  return { literal: out, caseInsensitive: ci };
}
