// Prometheus regular expressions are Go RE2 syntax, fully anchored, with "."
// matching newlines: label matchers compile "^(?s:" + re + ")$"
// (model/labels/regexp.go) and label_replace does the same. The RE2 → JS
// translation is shared with LogQL (../re2.ts); this module keeps PromQL's
// entry points and the compiled-pattern cache.
import { compileRe2, expandTemplate as expandRe2Template, jsGroupName, RegexSyntaxError } from '../re2.ts';

export { RegexSyntaxError };

const cache = new Map<string, RegExp>();
const CACHE_MAX = 1000;

/**
 * Compiles an RE2 pattern the way Prometheus does for label matchers and
 * label_replace: fully anchored, "." matching newlines. Throws
 * RegexSyntaxError with Go's messages.
 */
export function compileAnchored(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const { re } = compileRe2(pattern, { anchored: true, dotAll: true });
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** Validates an RE2 pattern; returns the error message or null. */
export function checkRegex(pattern: string): string | null {
  try {
    compileAnchored(pattern);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Go regexp.Expand (label_replace's replacement) over a match of compileAnchored. */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  return expandRe2Template(template, m, (name) => m.groups?.[jsGroupName(name)]);
}
