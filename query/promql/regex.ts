// Prometheus regular expressions are Go RE2 syntax, fully anchored, with "."
// matching newlines: label matchers compile "^(?s:" + re + ")$"
// (model/labels/regexp.go) and label_replace does the same. JavaScript
// regexps differ (no inline flag groups in Node 20, \s means more, "{" and
// "]" are errors in unicode mode, \1 is a backreference), so RE2 syntax is
// translated into an equivalent JS RegExp (unicode mode, so "." and classes
// work on code points like RE2) rather than passed through. Anything RE2
// accepts that cannot be translated faithfully is rejected with an error,
// never approximated.

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

type ClassItem = { kind: 'range'; lo: number; hi: number } | { kind: 'raw'; text: string };

class Translator {
  private pos = 0;
  private readonly src: string[];

  constructor(source: string) {
    this.src = [...source];
  }

  translate(flags: Flags): string {
    const out = this.alternation(flags, 0);
    if (this.pos < this.src.length) {
      // Only a stray ')' stops the top level.
      throw new RegexSyntaxError(`unexpected ): \`${this.src.join('')}\``);
    }
    return out;
  }

  private peek(off = 0): string | undefined {
    return this.src[this.pos + off];
  }

  private alternation(flags: Flags, depth: number): string {
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
    let lastWasRepeat = false;
    const flush = (): void => {
      if (lastAtom !== null) out += lastAtom;
      lastAtom = null;
    };
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|') break;
      if (c === ')') {
        if (depth === 0) throw new RegexSyntaxError(`unexpected ): \`${this.src.join('')}\``);
        break;
      }
      if (c === '*' || c === '+' || c === '?' || (c === '{' && this.repeatAhead() !== null)) {
        const opStart = this.pos;
        let op: string;
        let min = 0;
        let max = -1;
        if (c === '{') {
          const r = this.repeatAhead() as { min: number; max: number; len: number };
          this.pos += r.len;
          min = r.min;
          max = r.max;
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
        if (lastWasRepeat) throw new RegexSyntaxError(`invalid nested repetition operator: \`${this.src.slice(opStart - 1, this.pos).join('')}\``);
        if (lastAtom === null) throw new RegexSyntaxError(`missing argument to repetition operator: \`${this.src.slice(opStart, this.pos).join('')}\``);
        out += lastAtom + op + (lazy ? '?' : '');
        lastAtom = null;
        lastWasRepeat = true;
        continue;
      }
      lastWasRepeat = false;
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
      const inner = this.alternation(flags, depth + 1);
      this.closeParen(start);
      return `(${inner})`;
    }
    this.pos++; // ?
    const c = this.peek();
    if (c === 'P' && this.peek(1) === '<') {
      this.pos += 2;
      return this.namedGroup(flags, depth, start);
    }
    if (c === '<') {
      this.pos += 1;
      return this.namedGroup(flags, depth, start);
    }
    // Flags: (?flags) or (?flags:re)
    const next: Flags = { ...flags };
    let neg = false;
    let sawFlag = false;
    for (;;) {
      const f = this.peek();
      if (f === undefined) throw new RegexSyntaxError(`missing closing ): \`${this.src.slice(start).join('')}\``);
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
          Object.assign(flags, next);
          return null;
        }
        const inner = this.alternation(next, depth + 1);
        this.closeParen(start);
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
    const inner = this.alternation(flags, depth + 1);
    this.closeParen(start);
    return `(?<${name}>${inner})`;
  }

  private closeParen(start: number): void {
    if (this.peek() !== ')') throw new RegexSyntaxError(`missing closing ): \`${this.src.slice(start).join('')}\``);
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
    if (flags.i) {
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
      case 'Q': {
        if (inClass) throw new RegexSyntaxError('invalid escape sequence: `\\Q`');
        let lit = '';
        while (this.pos < this.src.length) {
          if (this.peek() === '\\' && this.peek(1) === 'E') {
            this.pos += 2;
            break;
          }
          lit += this.literal((this.peek() as string).codePointAt(0) as number, flags);
          this.pos++;
        }
        return lit === '' ? '(?:)' : `(?:${lit})`;
      }
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
          if (this.peek() !== '}' || !/^[0-9a-fA-F]{1,6}$/.test(hex)) throw new RegexSyntaxError(`invalid escape sequence: \`\\x{${hex}\``);
          this.pos++;
        } else {
          hex = (this.peek() ?? '') + (this.peek(1) ?? '');
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new RegexSyntaxError(`invalid escape sequence: \`\\x${hex}\``);
          this.pos += 2;
        }
        const v = parseInt(hex, 16);
        if (v > 0x10ffff) throw new RegexSyntaxError(`invalid escape sequence: \`\\x{${hex}}\``);
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
    return body === '' ? '[^]' : `[${body}]`;
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
        const rest = this.src.slice(this.pos).join('');
        const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
        if (m) {
          const cls = POSIX_CLASSES[m[2] as string];
          if (cls === undefined) throw new RegexSyntaxError(`invalid character class range: \`${m[0]}\``);
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
      if (flags.i) body += foldRange(it.lo, it.hi);
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

// Extra class members so that [lo-hi] under (?i) also matches the other case.
function foldRange(lo: number, hi: number): string {
  if (hi - lo > 2000) return '';
  let extra = '';
  for (let cp = lo; cp <= hi; cp++) {
    for (const v of caseVariants(cp)) if (v < lo || v > hi) extra += escapeClassChar(v);
  }
  return extra;
}

const cache = new Map<string, RegExp>();
const CACHE_MAX = 1000;

/**
 * Compiles an RE2 pattern the way Prometheus does for label matchers and
 * label_replace: fully anchored, "." matching newlines. Throws
 * RegexSyntaxError with Go-like messages.
 */
export function compileAnchored(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const body = new Translator(pattern).translate({ i: false, m: false, s: true, U: false });
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${body})$`, 'u');
  } catch (e) {
    throw new RegexSyntaxError(`${(e as Error).message}: \`${pattern}\``);
  }
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

/**
 * Go regexp.Expand for a template like "$1-${name}": "$name" takes the
 * longest run of letters, digits and underscores, so "$1x" is the (empty)
 * group named "1x"; "$$" is a literal "$"; unknown groups expand to "".
 */
export function expandTemplate(template: string, m: RegExpExecArray): string {
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
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        i = close + 1;
      }
    } else {
      const mm = /^[A-Za-z0-9_]+/.exec(template.slice(i));
      if (mm) {
        name = mm[0];
        i += mm[0].length;
      }
    }
    if (name === null) {
      // Malformed: Go copies the "$" literally.
      out += '$';
      continue;
    }
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      if (n < m.length) out += m[n] ?? '';
    } else out += m.groups?.[name] ?? '';
  }
  return out;
}
