// Go RE2 regular expressions translated to JavaScript RegExp, shared by the
// PromQL and LogQL engines (Prometheus and Loki both compile user regexes
// with Go's regexp package). Syntax followed:
// https://github.com/google/re2/wiki/Syntax and Go's regexp/syntax, whose
// error texts ("error parsing regexp: <code>: `<expr>`") are kept because
// both APIs show them to users.
//
// JavaScript regexps differ (no inline flag groups in Node 20, \s means
// more, "{" and "]" are errors in unicode mode, \1 is a backreference,
// group names cannot start with a digit), so the pattern is parsed and
// re-emitted (unicode mode, so "." and classes work on code points like RE2)
// rather than passed through. (?i) is expanded into character classes,
// except when it covers the whole pattern, where the JS i flag does the
// same simple case folding. Anything RE2 accepts that cannot be translated
// faithfully is rejected with an error, never approximated; RE2 rejects
// backreferences and lookarounds, and so does this.

export class RegexSyntaxError extends Error {
  constructor(message: string) {
    super(`error parsing regexp: ${message}`);
    this.name = 'RegexSyntaxError';
  }
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// Unicode general categories JS accepts as \p{X}; anything else is a script.
const GENERAL_CATEGORIES = new Set([
  'L', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M', 'Mn', 'Mc', 'Me', 'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po',
  'S', 'Sm', 'Sc', 'Sk', 'So', 'Z', 'Zs', 'Zl', 'Zp', 'C', 'Cc', 'Cf', 'Cs', 'Co', 'Cn',
]);

const SYNTAX_CHARS = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

function escapeLiteral(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (SYNTAX_CHARS.has(ch)) return '\\' + ch;
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  return ch;
}

function escapeClassChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (ch === '\\' || ch === ']' || ch === '[' || ch === '^' || ch === '-') return '\\' + ch;
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  return ch;
}

// Simple case folding orbit of a code point (what RE2's (?i) matches).
function caseVariants(cp: number): number[] {
  const ch = String.fromCodePoint(cp);
  const set = new Set<number>([cp]);
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) if ([...v].length === 1) set.add(v.codePointAt(0) as number);
  // The two folds outside ASCII that RE2 applies to ASCII letters.
  if (set.has(0x6b)) set.add(0x212a); // k, K, KELVIN SIGN
  if (set.has(0x73)) set.add(0x17f); // s, S, LATIN SMALL LETTER LONG S
  if (cp === 0x212a) (set.add(0x6b), set.add(0x4b));
  if (cp === 0x17f) (set.add(0x73), set.add(0x53));
  return [...set].sort((a, b) => a - b);
}

// Extra class members so that [lo-hi] under (?i) also matches the other case.
function foldRange(lo: number, hi: number): string {
  if (hi - lo > 2000) return '';
  let extra = '';
  for (let cp = lo; cp <= hi; cp++) {
    for (const v of caseVariants(cp)) if (v < lo || v > hi) extra += escapeClassChar(v);
  }
  return extra;
}

// Zero-width atoms: JS rejects a quantifier on them in unicode mode, RE2
// accepts one (`^*`), so they are wrapped in a group before repeating.
function isAssertion(atom: string): boolean {
  return atom === '^' || atom === '$' || atom === '\\b' || atom === '\\B' || atom.startsWith('(?<=') || atom.startsWith('(?=');
}

/**
 * RE2 allows group names starting with a digit and repeated names (Go's
 * SubexpIndex takes the leftmost); JS does not, so a digit-led name gets a
 * "_" prefix.
 */
export function jsGroupName(name: string): string {
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

type ClassItem = { kind: 'range'; lo: number; hi: number } | { kind: 'raw'; text: string };

class Translator {
  private pos = 0;
  private readonly src: string[];
  /** capture group names in order, '' for unnamed groups */
  readonly groupNames: string[] = [];
  private readonly jsNames = new Set<string>();

  /**
   * @param foldByFlag the JS i flag will be set (the whole pattern is (?i)),
   *   so case folding is not expanded into classes.
   */
  constructor(
    private readonly source: string,
    private readonly foldByFlag: boolean,
  ) {
    this.src = [...source];
  }

  translate(flags: Flags): string {
    const out = this.alternation(flags, 0);
    // Only a stray ')' stops the top level.
    if (this.pos < this.src.length) throw new RegexSyntaxError(`unexpected ): \`${this.source}\``);
    return out;
  }

  private peek(off = 0): string | undefined {
    return this.src[this.pos + off];
  }

  private alternation(flags: Flags, depth: number): string {
    // flags set by (?i) inside a group last until the group ends, across |
    const local: Flags = { ...flags };
    const branches: string[] = [this.concat(local, depth)];
    while (this.peek() === '|') {
      this.pos++;
      branches.push(this.concat(local, depth));
    }
    return branches.join('|');
  }

  // Parses a sequence up to '|' or ')' or the end. Mutates flags for (?flags) groups.
  private concat(flags: Flags, depth: number): string {
    let out = '';
    let lastAtom: string | null = null; // the last repeatable piece, not yet in `out`
    let lastRepeatStart = -1; // where the operator that made the last piece began, -1 if none
    const flush = (): void => {
      if (lastAtom !== null) out += lastAtom;
      lastAtom = null;
    };
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|') break;
      if (c === ')') {
        if (depth === 0) throw new RegexSyntaxError(`unexpected ): \`${this.source}\``);
        break;
      }
      if (c === '*' || c === '+' || c === '?' || (c === '{' && this.repeatAhead() !== null)) {
        const opStart = this.pos;
        let op: string;
        if (c === '{') {
          const r = this.repeatAhead() as { min: number; max: number; len: number };
          this.pos += r.len;
          const { min, max } = r;
          if (min > 1000 || max > 1000 || (max >= 0 && max < min)) throw new RegexSyntaxError(`invalid repeat count: \`${this.src.slice(opStart, this.pos).join('')}\``);
          op = max === -1 ? `{${min},}` : max === min ? `{${min}}` : `{${min},${max}}`;
        } else {
          this.pos++;
          op = c;
        }
        let lazy = false;
        if (this.peek() === '?') {
          this.pos++;
          lazy = true;
        }
        if (flags.U) lazy = !lazy;
        if (lastRepeatStart >= 0) throw new RegexSyntaxError(`invalid nested repetition operator: \`${this.src.slice(lastRepeatStart, this.pos).join('')}\``);
        if (lastAtom === null) throw new RegexSyntaxError(`missing argument to repetition operator: \`${this.src.slice(opStart, this.pos).join('')}\``);
        const atom: string = lastAtom;
        out += (isAssertion(atom) ? `(?:${atom})` : atom) + op + (lazy ? '?' : '');
        lastAtom = null;
        lastRepeatStart = opStart;
        continue;
      }
      lastRepeatStart = -1;
      if (c === '\\' && this.peek(1) === 'Q') {
        // \Q...\E is a run of literals: a following repetition applies to
        // the last one only, and an empty run leaves the previous atom.
        this.pos += 2;
        while (this.pos < this.src.length) {
          if (this.peek() === '\\' && this.peek(1) === 'E') {
            this.pos += 2;
            break;
          }
          flush();
          lastAtom = this.literal((this.peek() as string).codePointAt(0) as number, flags);
          this.pos++;
        }
        continue;
      }
      flush();
      if (c === '(') {
        const g = this.group(flags, depth);
        if (g === null) continue; // a (?flags) setting, not an atom
        lastAtom = g;
        continue;
      }
      lastAtom = this.atom(flags);
    }
    flush();
    return out;
  }

  // Looks at "{n}", "{n,}", "{n,m}" at pos; null when "{" is a literal.
  private repeatAhead(): { min: number; max: number; len: number } | null {
    const rest = this.src.slice(this.pos, this.pos + 24).join('');
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    return { min, max, len: m[0].length };
  }

  private group(flags: Flags, depth: number): string | null {
    const start = this.pos;
    this.pos++; // (
    if (this.peek() !== '?') {
      this.groupNames.push('');
      const inner = this.alternation(flags, depth + 1);
      this.closeParen();
      return `(${inner})`;
    }
    this.pos++; // ?
    const c = this.peek();
    if (c === 'P' && this.peek(1) === '<') {
      this.pos += 2;
      return this.namedGroup(flags, depth, start);
    }
    if (c === '<') {
      // Go 1.22+ accepts (?<name>); lookbehinds end up as invalid names, as in Go.
      this.pos += 1;
      return this.namedGroup(flags, depth, start);
    }
    // Flags: (?flags) or (?flags:re)
    const next: Flags = { ...flags };
    let neg = false;
    let sawFlag = false;
    for (;;) {
      const f = this.peek();
      if (f === undefined) throw new RegexSyntaxError(`missing closing ): \`${this.source}\``);
      this.pos++;
      if (f === 'i' || f === 'm' || f === 's' || f === 'U') {
        next[f] = !neg;
        sawFlag = true;
        continue;
      }
      if (f === '-') {
        if (neg) throw new RegexSyntaxError(`invalid or unsupported Perl syntax: \`${this.src.slice(start, this.pos).join('')}\``);
        neg = true;
        sawFlag = false;
        continue;
      }
      if (f === ':' || f === ')') {
        if (neg && !sawFlag) throw new RegexSyntaxError(`invalid or unsupported Perl syntax: \`${this.src.slice(start, this.pos).join('')}\``);
        if (f === ')') {
          // flags for the rest of the current group
          Object.assign(flags, next);
          return null;
        }
        const inner = this.alternation(next, depth + 1);
        this.closeParen();
        return `(?:${inner})`;
      }
      throw new RegexSyntaxError(`invalid or unsupported Perl syntax: \`${this.src.slice(start, this.pos).join('')}\``);
    }
  }

  private namedGroup(flags: Flags, depth: number, start: number): string {
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new RegexSyntaxError(`invalid named capture: \`${this.src.slice(start).join('')}\``);
      this.pos++;
      if (ch === '>') break;
      name += ch;
    }
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new RegexSyntaxError(`invalid named capture: \`${this.src.slice(start, this.pos).join('')}\``);
    this.groupNames.push(name);
    // A repeated name (which Go allows) becomes a plain group: JS rejects
    // duplicates, and lookups by name find the leftmost one, as Go's do.
    const js = jsGroupName(name);
    const named = !this.jsNames.has(js);
    this.jsNames.add(js);
    const inner = this.alternation(flags, depth + 1);
    this.closeParen();
    return named ? `(?<${js}>${inner})` : `(${inner})`;
  }

  private closeParen(): void {
    // Go reports the whole expression for an unclosed group.
    if (this.peek() !== ')') throw new RegexSyntaxError(`missing closing ): \`${this.source}\``);
    this.pos++;
  }

  private atom(flags: Flags): string {
    const c = this.peek() as string;
    this.pos++;
    switch (c) {
      case '.':
        return flags.s ? '[^]' : '[^\\n]';
      case '^':
        return flags.m ? '(?<=^|\\n)' : '^';
      case '$':
        return flags.m ? '(?=$|\\n)' : '$';
      case '[':
        return this.charClass(flags);
      case '\\':
        return this.escape(flags, false);
      default:
        return this.literal(c.codePointAt(0) as number, flags);
    }
  }

  private literal(cp: number, flags: Flags): string {
    if (flags.i && !this.foldByFlag) {
      const vs = caseVariants(cp);
      if (vs.length > 1) return '[' + vs.map(escapeClassChar).join('') + ']';
    }
    return escapeLiteral(cp);
  }

  // After a backslash. In a class, returns class items text; outside, an atom.
  private escape(flags: Flags, inClass: boolean): string {
    const c = this.peek();
    if (c === undefined) throw new RegexSyntaxError('trailing backslash at end of expression: ``');
    this.pos++;
    const cp = c.codePointAt(0) as number;
    switch (c) {
      case 'd':
        return inClass ? '0-9' : '[0-9]';
      case 'D':
        // in unicode mode JS's \D and \W are exactly RE2's ASCII complements
        return inClass ? '\\D' : '[^0-9]';
      case 'w':
        return inClass ? '0-9A-Za-z_' : '[0-9A-Za-z_]';
      case 'W':
        return inClass ? '\\W' : '[^0-9A-Za-z_]';
      case 's':
        return inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      case 'S':
        if (inClass) throw new RegexSyntaxError('\\S inside a character class is not supported by this engine');
        return '[^\\t\\n\\f\\r ]';
      case 'b':
      case 'B':
        if (inClass) throw new RegexSyntaxError(`invalid escape sequence: \`\\${c}\``);
        return '\\' + c;
      case 'A':
        if (inClass) throw new RegexSyntaxError('invalid escape sequence: `\\A`');
        return '^';
      case 'z':
        if (inClass) throw new RegexSyntaxError('invalid escape sequence: `\\z`');
        return '$';
      case 'p':
      case 'P':
        return this.unicodeClass(c === 'P', inClass);
      case 'Q':
        // outside a class \Q is handled by concat()
        throw new RegexSyntaxError('invalid escape sequence: `\\Q`');
      case 'a':
        return this.emitCp(7, flags, inClass);
      case 'f':
        return this.emitCp(12, flags, inClass);
      case 't':
        return this.emitCp(9, flags, inClass);
      case 'n':
        return this.emitCp(10, flags, inClass);
      case 'r':
        return this.emitCp(13, flags, inClass);
      case 'v':
        return this.emitCp(11, flags, inClass);
      case 'x': {
        let hex = '';
        if (this.peek() === '{') {
          this.pos++;
          while (this.peek() !== undefined && this.peek() !== '}') hex += this.src[this.pos++];
          if (this.peek() !== '}' || !/^[0-9a-fA-F]+$/.test(hex)) throw new RegexSyntaxError(`invalid escape sequence: \`\\x{${hex}\``);
          this.pos++;
        } else {
          hex = (this.peek() ?? '') + (this.peek(1) ?? '');
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new RegexSyntaxError(`invalid escape sequence: \`\\x${hex}\``);
          this.pos += 2;
        }
        const v = parseInt(hex, 16);
        if (v > 0x10ffff) {
          // Go names the escape up to the digit that went past U+10FFFF
          let n = 1;
          while (parseInt(hex.slice(0, n), 16) <= 0x10ffff) n++;
          throw new RegexSyntaxError(`invalid escape sequence: \`\\x{${hex.slice(0, n)}\``);
        }
        return this.emitCp(v, flags, inClass);
      }
    }
    if (c >= '0' && c <= '7') {
      // Octal escapes: \0 alone, or \1-\7 followed by more octal digits (Go: backreferences are not allowed).
      if (c !== '0' && !(this.peek() !== undefined && /[0-7]/.test(this.peek() as string))) throw new RegexSyntaxError(`invalid escape sequence: \`\\${c}\``);
      let oct = c;
      while (oct.length < 3 && this.peek() !== undefined && /[0-7]/.test(this.peek() as string)) oct += this.src[this.pos++];
      return this.emitCp(parseInt(oct, 8), flags, inClass);
    }
    // Escaped punctuation is literal; \C (any byte) and other letters are errors in Go.
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return this.emitCp(cp, flags, inClass);
    throw new RegexSyntaxError(`invalid escape sequence: \`\\${c}\``);
  }

  private emitCp(cp: number, flags: Flags, inClass: boolean): string {
    if (inClass) return escapeClassChar(cp);
    return this.literal(cp, flags);
  }

  private unicodeClass(negated: boolean, inClass: boolean): string {
    let name: string;
    if (this.peek() === '{') {
      this.pos++;
      name = '';
      while (this.peek() !== undefined && this.peek() !== '}') name += this.src[this.pos++];
      if (this.peek() !== '}') throw new RegexSyntaxError('invalid character class range: `\\p{`');
      this.pos++;
    } else {
      name = this.peek() ?? '';
      this.pos++;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    let body: string;
    if (name === 'Any') body = negated ? '' : '\\u{0}-\\u{10FFFF}';
    else body = `\\${negated ? 'P' : 'p'}{${GENERAL_CATEGORIES.has(name) ? name : 'Script=' + name}}`;
    try {
      new RegExp(`[${body}]`, 'u');
    } catch {
      throw new RegexSyntaxError(`invalid character class range: \`\\p{${name}}\``);
    }
    if (inClass) return body;
    // \P{Any} matches nothing
    return body === '' ? '[]' : `[${body}]`;
  }

  private charClass(flags: Flags): string {
    const start = this.pos - 1;
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    const items: ClassItem[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new RegexSyntaxError(`missing closing ]: \`${this.src.slice(start).join('')}\``);
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === '[' && this.peek(1) === ':') {
        const rest = this.src.slice(this.pos, this.pos + 12).join('');
        const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
        if (m) {
          const cls = POSIX_CLASSES[m[2] as string];
          if (cls === undefined) throw new RegexSyntaxError(`invalid character class range: \`${m[0]}\``);
          // a negated POSIX class nested in a class has no unicode-mode equivalent; reject rather than mis-translate
          if (m[1] === '^') throw new RegexSyntaxError(`negated POSIX class ${m[0]} is not supported by this engine`);
          this.pos += [...m[0]].length;
          items.push({ kind: 'raw', text: cls });
          continue;
        }
      }
      let lo: number;
      if (c === '\\') {
        this.pos++;
        const e = this.peek();
        // Multi-character escapes (\d, \pL, ...) cannot start a range.
        if (e !== undefined && 'dDwWsSpP'.includes(e)) {
          items.push({ kind: 'raw', text: this.escape(flags, true) });
          continue;
        }
        lo = this.classCharEscape();
      } else {
        this.pos++;
        lo = c.codePointAt(0) as number;
      }
      let hi = lo;
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        this.pos++;
        const h = this.peek() as string;
        if (h === '\\') {
          this.pos++;
          hi = this.classCharEscape();
        } else {
          this.pos++;
          hi = h.codePointAt(0) as number;
        }
        if (hi < lo) throw new RegexSyntaxError(`invalid character class range: \`${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}\``);
      }
      items.push({ kind: 'range', lo, hi });
    }
    let body = '';
    for (const it of items) {
      if (it.kind === 'raw') {
        body += it.text;
        continue;
      }
      body += it.lo === it.hi ? escapeClassChar(it.lo) : `${escapeClassChar(it.lo)}-${escapeClassChar(it.hi)}`;
      if (flags.i && !this.foldByFlag) body += foldRange(it.lo, it.hi);
    }
    if (body === '') return negated ? '[^]' : '[]';
    return `[${negated ? '^' : ''}${body}]`;
  }

  // A single-character escape inside a class, as a code point.
  private classCharEscape(): number {
    const c = this.peek();
    if (c === undefined) throw new RegexSyntaxError('trailing backslash at end of expression: ``');
    const text = this.escape({ i: false, m: false, s: false, U: false }, true);
    // escapeClassChar output: a char, "\\c", or "\\xHH".
    if (text.startsWith('\\x')) return parseInt(text.slice(2), 16);
    if (text.startsWith('\\') && [...text].length === 2) return text.codePointAt(1) as number;
    if ([...text].length === 1) return text.codePointAt(0) as number;
    throw new RegexSyntaxError(`invalid escape sequence: \`\\${c}\``);
  }
}

export interface Re2Options {
  /** anchor the whole pattern (label matchers): ^(?:re)$ */
  readonly anchored?: boolean;
  /** the g flag (for replace-all / count) */
  readonly global?: boolean;
  /** `.` matches \n unless the pattern says (?-s) (Prometheus, LogQL line filters) */
  readonly dotAll?: boolean;
}

export interface CompiledRe2 {
  /** JS RegExp (u flag; i when case-insensitivity covers the whole pattern) */
  readonly re: RegExp;
  /** capture group names in order, '' for unnamed groups */
  readonly groupNames: readonly string[];
}

/** Translates and compiles a Go RE2 pattern; throws RegexSyntaxError for what RE2 rejects. */
export function compileRe2(pattern: string, opts: Re2Options = {}): CompiledRe2 {
  // A pattern that opens with (?i) and never turns it off can use the JS i
  // flag instead of expanding every letter into a class.
  const lead = /^\(\?([imsU]+)\)/.exec(pattern);
  const foldByFlag = !!lead && (lead[1] as string).includes('i') && !/\(\?[imsU]*-[msU]*i/.test(pattern);
  const t = new Translator(pattern, foldByFlag);
  const body = t.translate({ i: foldByFlag, m: false, s: !!opts.dotAll, U: false });
  const src = opts.anchored ? `^(?:${body})$` : body;
  let flags = 'u';
  if (foldByFlag) flags += 'i';
  if (opts.global) flags += 'g';
  try {
    return { re: new RegExp(src, flags), groupNames: t.groupNames };
  } catch (e) {
    throw new RegexSyntaxError(`${(e as Error).message}: \`${pattern}\``);
  }
}

/**
 * Go regexp.Expand for a template like "$1-${name}" over a match (an exec
 * array, or replace()'s leading arguments): "$name" takes the longest run
 * of letters, digits and underscores, so "$1x" is the (empty) group named
 * "1x"; a name is a group number only without a leading zero; "$$" is a
 * literal "$"; a malformed reference copies the "$"; unknown groups expand
 * to "". https://pkg.go.dev/regexp#Regexp.Expand
 * `groups` gives the names of the capture groups in order ('' for unnamed),
 * or looks a name up.
 */
export function expandTemplate(template: string, m: ArrayLike<string | undefined>, groups: readonly string[] | ((name: string) => string | undefined)): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | null = null;
    if (template[i] === '{') {
      const close = template.indexOf('}', i + 1);
      const inner = close < 0 ? '' : template.slice(i + 1, close);
      if (close >= 0 && /^[\p{L}\p{Nd}_]+$/u.test(inner)) {
        name = inner;
        i = close + 1;
      }
    } else {
      const mm = /^[\p{L}\p{Nd}_]+/u.exec(template.slice(i));
      if (mm) {
        name = mm[0];
        i += mm[0].length;
      }
    }
    if (name === null) {
      out += '$';
      continue;
    }
    // Go: letters and digits in the Unicode sense; numbers below 1e9
    if (/^(0|[1-9][0-9]{0,8})$/.test(name)) {
      const n = Number(name);
      if (n < m.length) out += m[n] ?? '';
    } else if (typeof groups === 'function') out += groups(name) ?? '';
    else {
      const idx = groups.indexOf(name);
      if (idx >= 0) out += m[idx + 1] ?? '';
    }
  }
  return out;
}
