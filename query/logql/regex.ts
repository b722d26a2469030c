// Go RE2 regular expressions (what LogQL queries are written in) translated
// to JavaScript RegExp, so that stages evaluated in TypeScript match exactly
// what ClickHouse's re2-based match() matches for the pushed-down ones.
// Syntax followed: https://github.com/google/re2/wiki/Syntax (Go's regexp/syntax).
//
// Differences handled: (?P<name>) groups, flag groups (?i) (?s) (?m) (?U) in
// any position (Node 20 has no inline modifiers, so case-insensitivity is
// expanded into character classes), \A \z \Q..\E, POSIX classes, \pL and
// script names, Go's \s (no \v), `.` not matching only \n, and lone braces.
// RE2 rejects backreferences and lookarounds; so do we.

export class RegexSyntaxError extends Error {
  override readonly name = 'RegexSyntaxError';
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const PERL_CLASS: Record<string, string> = { d: '0-9', s: '\\t\\n\\f\\r ', w: '0-9A-Za-z_' };

const GENERAL_CATEGORIES = new Set(['C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs']);

function unicodeClass(name: string, negated: boolean): string {
  let n = name;
  let neg = negated;
  if (n.startsWith('^')) {
    neg = !neg;
    n = n.slice(1);
  }
  if (n === 'Any') return neg ? '[^\\s\\S]' : '[\\s\\S]';
  const body = GENERAL_CATEGORIES.has(n) ? n : `Script=${n}`;
  return `${neg ? '\\P' : '\\p'}{${body}}`;
}

/** Escapes one code point for use outside a character class. */
function litOut(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if ('\\^$.|?*+()[]{}/'.includes(ch)) return '\\' + ch;
  if (cp === 10) return '\\n';
  if (cp === 13) return '\\r';
  if (cp === 9) return '\\t';
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return ch;
}

/** Escapes one code point for use inside a character class. */
function litIn(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if ('\\]-^['.includes(ch)) return '\\' + ch;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return ch;
}

function otherCase(cp: number): number[] {
  const ch = String.fromCodePoint(cp);
  const out = new Set<number>();
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
    if ([...v].length === 1) {
      const c = v.codePointAt(0) as number;
      if (c !== cp) out.add(c);
    }
  }
  // Kelvin sign and long s fold like RE2 does for k and s
  if (cp === 0x6b || cp === 0x4b) out.add(0x212a);
  if (cp === 0x73 || cp === 0x53) out.add(0x17f);
  return [...out];
}

class Translator {
  private pos = 0;
  private readonly cps: number[];
  names: string[] = [];
  groupCount = 0;

  constructor(private readonly src: string, private readonly caseFlagGlobal: boolean) {
    this.cps = [...src].map((c) => c.codePointAt(0) as number);
  }

  private peek(off = 0): number | undefined {
    return this.cps[this.pos + off];
  }

  private ch(off = 0): string {
    const c = this.peek(off);
    return c === undefined ? '' : String.fromCodePoint(c);
  }

  private fail(msg: string): never {
    throw new RegexSyntaxError(`error parsing regexp: ${msg}: \`${this.src}\``);
  }

  translate(flags: Flags): string {
    const out = this.alternation(flags, 0);
    if (this.pos < this.cps.length) this.fail('unexpected )');
    return out;
  }

  private alternation(flags: Flags, depth: number): string {
    const parts: string[] = [];
    // flags set by (?i) inside a group last until the group ends, across |
    const f = { ...flags };
    let cur = '';
    while (this.pos < this.cps.length) {
      const c = this.ch();
      if (c === '|') {
        this.pos++;
        parts.push(cur);
        cur = '';
        continue;
      }
      if (c === ')') {
        if (depth === 0) this.fail('unexpected )');
        break;
      }
      cur += this.quantified(f, depth);
    }
    parts.push(cur);
    return parts.join('|');
  }

  private quantified(f: Flags, depth: number): string {
    const startPos = this.pos;
    const atom = this.atom(f, depth);
    if (atom === null) return '';
    // quantifiers
    let out = atom;
    let quantifiedOnce = false;
    for (;;) {
      const c = this.ch();
      let q = '';
      if (c === '*' || c === '+' || c === '?') {
        q = c;
        this.pos++;
      } else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.rest());
        if (!m) break;
        if (Number(m[1]) > 1000 || (m[3] && Number(m[3]) > 1000)) this.fail(`invalid repeat count: \`${m[0]}\``);
        if (m[3] && Number(m[3]) < Number(m[1])) this.fail(`invalid repeat count: \`${m[0]}\``);
        q = m[0];
        this.pos += m[0].length;
      } else break;
      if (quantifiedOnce) this.fail(`invalid nested repetition operator: \`${q}\``);
      if (this.pos - q.length === startPos) this.fail(`missing argument to repetition operator: \`${q}\``);
      let lazy = false;
      if (this.ch() === '?') {
        lazy = true;
        this.pos++;
      }
      if (f.U) lazy = !lazy;
      out = `(?:${out})${q}${lazy ? '?' : ''}`;
      quantifiedOnce = true;
    }
    return out;
  }

  private rest(): string {
    return String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 16));
  }

  /** One atom, or null when the token only changed flags. */
  private atom(f: Flags, depth: number): string | null {
    const c = this.ch();
    switch (c) {
      case '*':
      case '+':
      case '?':
        this.fail(`missing argument to repetition operator: \`${c}\``);
        break;
      case '(':
        return this.group(f, depth);
      case '[':
        return this.charClass(f);
      case '.':
        this.pos++;
        return f.s ? '[\\s\\S]' : '[^\\n]';
      case '^':
        this.pos++;
        return f.m ? '(?<![^\\n])' : '(?<![\\s\\S])';
      case '$':
        this.pos++;
        return f.m ? '(?![^\\n])' : '(?![\\s\\S])';
      case '\\':
        return this.escape(f);
      case '{': {
        this.pos++;
        return '\\{';
      }
      default: {
        const cp = this.peek() as number;
        this.pos++;
        return this.literal(cp, f);
      }
    }
    return null;
  }

  private literal(cp: number, f: Flags): string {
    if (f.i && !this.caseFlagGlobal) {
      const others = otherCase(cp);
      if (others.length > 0) return '[' + [cp, ...others].map(litIn).join('') + ']';
    }
    return litOut(cp);
  }

  private group(f: Flags, depth: number): string | null {
    this.pos++; // (
    if (this.ch() === '?') {
      const r = this.rest();
      if (r.startsWith('?P<') || r.startsWith('?<')) {
        if (r.startsWith('?<=') || r.startsWith('?<!')) this.fail('invalid or unsupported Perl syntax: `(?<`');
        this.pos += r.startsWith('?P<') ? 3 : 2;
        let name = '';
        while (this.pos < this.cps.length && this.ch() !== '>') name += this.ch(), this.pos++;
        if (this.ch() !== '>' || !/^[A-Za-z0-9_]+$/.test(name)) this.fail(`invalid named capture: \`(?P<${name}>\``);
        if (this.names.includes(name)) this.fail(`duplicate capture group name: \`${name}\``);
        this.pos++;
        this.names.push(name);
        this.groupCount++;
        // JS group names cannot start with a digit; RE2 allows it, so prefix
        const body = this.alternation(f, depth + 1);
        this.close();
        return `(?<${jsGroupName(name)}>${body})`;
      }
      if (r.startsWith('?=') || r.startsWith('?!')) this.fail(`invalid or unsupported Perl syntax: \`(${r.slice(0, 2)}\``);
      // flags: (?flags) or (?flags:re)
      const m = /^\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(r);
      if (!m) this.fail(`invalid or unsupported Perl syntax: \`(${r.slice(0, 2)}\``);
      this.pos += m[0].length;
      const nf: Flags = { ...f };
      for (const x of m[1] ?? '') nf[x as keyof Flags] = true;
      for (const x of m[2] ?? '') nf[x as keyof Flags] = false;
      if (m[3] === ')') {
        // flags for the rest of the current group
        Object.assign(f, nf);
        return null;
      }
      const body = this.alternation(nf, depth + 1);
      this.close();
      return `(?:${body})`;
    }
    this.groupCount++;
    this.names.push('');
    const body = this.alternation(f, depth + 1);
    this.close();
    return `(${body})`;
  }

  private close(): void {
    if (this.ch() !== ')') this.fail('missing closing )');
    this.pos++;
  }

  private escape(f: Flags): string {
    this.pos++; // backslash
    const c = this.ch();
    if (c === '') this.fail('trailing backslash at end of expression');
    this.pos++;
    switch (c) {
      case 'A':
        return '(?<![\\s\\S])';
      case 'z':
        return '(?![\\s\\S])';
      case 'b':
        return '\\b';
      case 'B':
        return '\\B';
      case 'd':
      case 's':
      case 'w':
        return `[${PERL_CLASS[c]}]`;
      case 'D':
      case 'S':
      case 'W':
        return `[^${PERL_CLASS[c.toLowerCase()]}]`;
      case 'p':
      case 'P':
        return unicodeClass(this.unicodeName(), c === 'P');
      case 'Q': {
        let out = '';
        while (this.pos < this.cps.length) {
          if (this.ch() === '\\' && this.ch(1) === 'E') {
            this.pos += 2;
            break;
          }
          out += this.literal(this.peek() as number, f);
          this.pos++;
        }
        return out;
      }
      case 'C':
        return '[\\s\\S]';
      default: {
        const cp = this.escapedCodePoint(c);
        return this.literal(cp, f);
      }
    }
  }

  private unicodeName(): string {
    if (this.ch() === '{') {
      let name = '';
      this.pos++;
      while (this.pos < this.cps.length && this.ch() !== '}') name += this.ch(), this.pos++;
      if (this.ch() !== '}') this.fail('invalid character class range');
      this.pos++;
      return name;
    }
    const n = this.ch();
    this.pos++;
    return n;
  }

  /** The code point of an escape whose letter `c` has just been consumed. */
  private escapedCodePoint(c: string): number {
    switch (c) {
      case 'a':
        return 7;
      case 'f':
        return 12;
      case 't':
        return 9;
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 'v':
        return 11;
      case 'x': {
        if (this.ch() === '{') {
          let hex = '';
          this.pos++;
          while (this.pos < this.cps.length && this.ch() !== '}') hex += this.ch(), this.pos++;
          this.pos++;
          if (!/^[0-9a-fA-F]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff) this.fail('invalid escape sequence: `\\x{`');
          return parseInt(hex, 16);
        }
        const hex = this.ch() + this.ch(1);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail('invalid escape sequence: `\\x`');
        this.pos += 2;
        return parseInt(hex, 16);
      }
      default:
        if (/[0-7]/.test(c)) {
          // octal \0, \01, \012 (RE2 rejects \1-\9 backreferences)
          if (c !== '0' && !/[0-7]/.test(this.ch())) this.fail(`invalid escape sequence: \`\\${c}\``);
          let oct = c;
          while (oct.length < 3 && /[0-7]/.test(this.ch())) oct += this.ch(), this.pos++;
          return parseInt(oct, 8);
        }
        if (/[0-9A-Za-z]/.test(c)) this.fail(`invalid escape sequence: \`\\${c}\``);
        return c.codePointAt(0) as number;
    }
  }

  private charClass(f: Flags): string {
    this.pos++; // [
    let negated = false;
    if (this.ch() === '^') {
      negated = true;
      this.pos++;
    }
    const items: string[] = [];
    let first = true;
    while (this.pos < this.cps.length && (this.ch() !== ']' || first)) {
      first = false;
      const r = this.rest();
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(r);
      if (posix) {
        const set = POSIX[posix[2] as string];
        if (!set) this.fail(`invalid character class range: \`${posix[0]}\``);
        if (posix[1]) {
          // a negated POSIX class nested in a class has no u-mode equivalent; reject rather than mis-translate
          this.fail(`unsupported negated POSIX class in a character class: \`${posix[0]}\``);
        }
        this.pos += posix[0].length;
        items.push(set);
        continue;
      }
      let lo: number;
      if (this.ch() === '\\') {
        this.pos++;
        const c = this.ch();
        this.pos++;
        if (c === 'd' || c === 's' || c === 'w') {
          items.push(PERL_CLASS[c] as string);
          continue;
        }
        if (c === 'D' || c === 'S' || c === 'W') {
          this.fail(`unsupported negated Perl class inside a character class: \`\\${c}\``);
        }
        if (c === 'p' || c === 'P') {
          items.push(unicodeClass(this.unicodeName(), c === 'P'));
          continue;
        }
        lo = this.escapedCodePoint(c);
      } else {
        lo = this.peek() as number;
        this.pos++;
      }
      if (this.ch() === '-' && this.ch(1) !== ']' && this.ch(1) !== '') {
        this.pos++;
        let hi: number;
        if (this.ch() === '\\') {
          this.pos++;
          const c = this.ch();
          this.pos++;
          hi = this.escapedCodePoint(c);
        } else {
          hi = this.peek() as number;
          this.pos++;
        }
        if (hi < lo) this.fail(`invalid character class range: \`${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}\``);
        items.push(`${litIn(lo)}-${litIn(hi)}`);
        if (f.i && !this.caseFlagGlobal) items.push(...caseRange(lo, hi));
      } else {
        items.push(litIn(lo));
        if (f.i && !this.caseFlagGlobal) items.push(...otherCase(lo).map(litIn));
      }
    }
    if (this.ch() !== ']') this.fail(`missing closing ]: \`[${String.fromCodePoint(...this.cps.slice(this.pos - 1))}\``);
    this.pos++;
    return `[${negated ? '^' : ''}${items.join('')}]`;
  }
}

function caseRange(lo: number, hi: number): string[] {
  // ASCII letters are what matters in practice; wider ranges fold per code point up to a bound
  const out: string[] = [];
  const from = Math.max(lo, 0x41);
  const to = Math.min(hi, 0x24f);
  for (let c = from; c <= to; c++) for (const o of otherCase(c)) if (o < lo || o > hi) out.push(litIn(o));
  return out;
}

export function jsGroupName(name: string): string {
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

export interface CompiledRegex {
  /** JS RegExp (u flag; i when case-insensitive applies to the whole pattern) */
  readonly re: RegExp;
  /** capture group names in order, '' for unnamed groups */
  readonly groupNames: readonly string[];
}

export interface RegexOptions {
  /** anchor the whole pattern (label matchers): ^(?:re)$ */
  readonly anchored?: boolean;
  /** the g flag (for replace-all / count) */
  readonly global?: boolean;
  /** treat `.` as matching \n by default (LogQL line filters) */
  readonly dotAll?: boolean;
}

/** Translates a Go RE2 pattern; throws RegexSyntaxError for what RE2 rejects. */
export function compileRegex(pattern: string, opts: RegexOptions = {}): CompiledRegex {
  // a pattern that opens with (?i) and never turns it off can use the JS i flag
  const lead = /^\(\?([imsU]+)\)/.exec(pattern);
  const caseGlobal = !!lead && lead[1]!.includes('i') && !/\(\?[imsU]*-[msU]*i/.test(pattern);
  const t = new Translator(pattern, caseGlobal);
  const body = t.translate({ i: caseGlobal, m: false, s: !!opts.dotAll, U: false });
  const src = opts.anchored ? `^(?:${body})$` : body;
  let flags = 'u';
  if (caseGlobal) flags += 'i';
  if (opts.global) flags += 'g';
  try {
    return { re: new RegExp(src, flags), groupNames: t.names };
  } catch (e) {
    throw new RegexSyntaxError(`error parsing regexp: ${(e as Error).message}: \`${pattern}\``);
  }
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
