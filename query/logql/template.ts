// Go text/template, the subset LogQL's line_format and label_format use,
// with Loki's function map (Loki's own functions plus the sprig functions it
// enables). Parsing happens once per query; an unknown function is a parse
// error, as in Go. Execution errors become __error__=TemplateFormatErr.
// Semantics: https://pkg.go.dev/text/template and
// https://grafana.com/docs/loki/latest/query/template_functions/
import { compileRegex, expandTemplate, RegexSyntaxError } from './regex.ts';
import { parseGoDurationNs, goDurationError, parseHumanBytes, parseGoFloat } from './units.ts';
import { GoTime, type GoValue, formatTime, formatValue, isMap, isTruthy, parseTime, sprintf, floorDiv, zoneOffsetSec } from './go-values.ts';

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

// ---------- AST ----------

type Arg =
  | { t: 'field'; chain: string[] }
  | { t: 'dot' }
  | { t: 'var'; name: string; chain: string[] }
  | { t: 'str'; v: string }
  | { t: 'num'; v: bigint | number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'fn'; name: string }
  | { t: 'pipe'; pipe: Pipe; chain: string[] };

interface Command {
  readonly args: Arg[];
}

interface Pipe {
  readonly decl: string[];
  readonly assign: boolean;
  readonly cmds: Command[];
}

interface Branch<T extends string> {
  t: T;
  pipe: Pipe;
  list: Node[];
  elseList: Node[] | null;
}

type Node =
  | { t: 'text'; v: string }
  | { t: 'action'; pipe: Pipe }
  | Branch<'if'>
  | Branch<'with'>
  | Branch<'range'>
  | { t: 'break' }
  | { t: 'continue' };

// ---------- lexer ----------

type Tok =
  | { k: 'text'; v: string }
  | { k: 'open' }
  | { k: 'close' }
  | { k: 'ident'; v: string }
  | { k: 'field'; v: string }
  | { k: 'var'; v: string }
  | { k: 'dot' }
  | { k: 'str'; v: string }
  | { k: 'num'; v: bigint | number }
  | { k: 'char'; v: bigint }
  | { k: 'lparen' }
  | { k: 'rparen' }
  | { k: 'pipe' }
  | { k: 'comma' }
  | { k: 'declare' }
  | { k: 'assign' }
  | { k: 'eof' };

function unquoteTemplateString(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  let out = '';
  const body = s.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
    if (n !== undefined && simple[n] !== undefined) out += simple[n];
    else if (n === 'x') {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (n === 'u' || n === 'U') {
      const len = n === 'u' ? 4 : 8;
      out += String.fromCodePoint(parseInt(body.slice(i + 1, i + 1 + len), 16));
      i += len;
    } else throw new TemplateError(`invalid syntax`);
  }
  return out;
}

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  function err(msg: string): never {
    throw new TemplateError(`template: line:${line}: ${msg}`);
  }
  while (i < src.length) {
    let open = src.indexOf('{{', i);
    if (open < 0) {
      toks.push({ k: 'text', v: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    // comments and left trim marker
    let j = open + 2;
    if (src.startsWith('- ', j) || src.startsWith('-\t', j) || src.startsWith('-\n', j) || src.startsWith('-\r', j)) {
      text = text.replace(/[ \t\r\n]+$/, '');
      j += 1;
    }
    if (text) toks.push({ k: 'text', v: text });
    line += (src.slice(i, open).match(/\n/g) ?? []).length;
    // skip spaces to detect a comment
    let k = j;
    while (k < src.length && /[ \t\r\n]/.test(src[k] as string)) k++;
    if (src.startsWith('/*', k)) {
      const end = src.indexOf('*/', k + 2);
      if (end < 0) err('unclosed comment');
      let after = end + 2;
      while (after < src.length && /[ \t\r\n]/.test(src[after] as string)) after++;
      let trimRight = false;
      if (src.startsWith('-}}', after)) {
        trimRight = true;
        after += 1;
      }
      if (!src.startsWith('}}', after)) err('comment ends before closing delimiter');
      i = after + 2;
      if (trimRight) while (i < src.length && /[ \t\r\n]/.test(src[i] as string)) i++;
      continue;
    }
    toks.push({ k: 'open' });
    i = j;
    // inside an action
    for (;;) {
      if (i >= src.length) err('unclosed action');
      const c = src[i] as string;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        // right trim marker " -}}"
        let k2 = i;
        while (k2 < src.length && /[ \t\r\n]/.test(src[k2] as string)) k2++;
        if (src.startsWith('-}}', k2)) {
          toks.push({ k: 'close' });
          i = k2 + 3;
          while (i < src.length && /[ \t\r\n]/.test(src[i] as string)) i++;
          break;
        }
        if (src[i] === '\n') line++;
        i++;
        continue;
      }
      if (src.startsWith('}}', i)) {
        toks.push({ k: 'close' });
        i += 2;
        break;
      }
      if (c === '(') toks.push({ k: 'lparen' }), i++;
      else if (c === ')') toks.push({ k: 'rparen' }), i++;
      else if (c === '|') toks.push({ k: 'pipe' }), i++;
      else if (c === ',') toks.push({ k: 'comma' }), i++;
      else if (src.startsWith(':=', i)) toks.push({ k: 'declare' }), (i += 2);
      else if (c === '=') toks.push({ k: 'assign' }), i++;
      else if (c === '"') {
        let k2 = i + 1;
        while (k2 < src.length && src[k2] !== '"') {
          if (src[k2] === '\\') k2++;
          if (src[k2] === '\n') err('unterminated quoted string');
          k2++;
        }
        if (k2 >= src.length) err('unterminated quoted string');
        toks.push({ k: 'str', v: unquoteTemplateString(src.slice(i, k2 + 1)) });
        i = k2 + 1;
      } else if (c === '`') {
        const end = src.indexOf('`', i + 1);
        if (end < 0) err('unterminated raw quoted string');
        toks.push({ k: 'str', v: src.slice(i + 1, end) });
        i = end + 1;
      } else if (c === "'") {
        const m = /^'(\\.|[^'\\])'/u.exec(src.slice(i));
        if (!m) err('unterminated character constant');
        const ch = m[1] as string;
        const v = ch.startsWith('\\') ? unquoteTemplateString(`"${ch}"`) : ch;
        toks.push({ k: 'char', v: BigInt(v.codePointAt(0) as number) });
        i += m[0].length;
      } else if (c === '.' && !/[0-9]/.test(src[i + 1] ?? '')) {
        const m = /^\.[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
        if (m) {
          toks.push({ k: 'field', v: m[0].slice(1) });
          i += m[0].length;
        } else {
          toks.push({ k: 'dot' });
          i++;
        }
      } else if (c === '$') {
        const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
        toks.push({ k: 'var', v: m[0] });
        i += m[0].length;
      } else if (/[0-9+\-.]/.test(c)) {
        const m = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?)/.exec(src.slice(i));
        if (!m || m[0] === '+' || m[0] === '-') err(`bad number syntax: "${src.slice(i, i + 5)}"`);
        const t = m[0].replace(/_/g, '');
        if (/^[+-]?0[xXbBoO]/.test(t)) toks.push({ k: 'num', v: BigInt(t.startsWith('-') ? '-' + t.slice(1) : t.replace(/^\+/, '')) });
        else if (/^[+-]?[0-9]+$/.test(t)) toks.push({ k: 'num', v: BigInt(t) });
        else toks.push({ k: 'num', v: Number(t) });
        i += m[0].length;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
        toks.push({ k: 'ident', v: m[0] });
        i += m[0].length;
      } else err(`unexpected ${JSON.stringify(c)} in command`);
    }
  }
  toks.push({ k: 'eof' });
  return toks;
}

// ---------- parser ----------

class Parser {
  private p = 0;
  private readonly vars: string[][] = [['$']];
  private rangeDepth = 0;

  constructor(private readonly toks: Tok[], private readonly funcs: ReadonlySet<string>) {}

  private peek(): Tok {
    return this.toks[this.p] as Tok;
  }

  private next(): Tok {
    return this.toks[this.p++] as Tok;
  }

  private err(msg: string): never {
    throw new TemplateError(`template: line:1: ${msg}`);
  }

  /** list until one of the stop keywords ({{end}}, {{else}}) or EOF */
  list(stops: string[]): { nodes: Node[]; stop: string } {
    const nodes: Node[] = [];
    for (;;) {
      const t = this.next();
      if (t.k === 'eof') {
        if (stops.length) this.err('unexpected EOF');
        return { nodes, stop: 'eof' };
      }
      if (t.k === 'text') {
        nodes.push({ t: 'text', v: t.v });
        continue;
      }
      if (t.k !== 'open') this.err('unexpected token');
      const k = this.peek();
      if (k.k === 'ident') {
        switch (k.v) {
          case 'end':
          case 'else':
            if (!stops.includes(k.v)) this.err(`unexpected {{${k.v}}}`);
            this.p++;
            if (k.v === 'end') this.expect('close');
            return { nodes, stop: k.v };
          case 'if':
          case 'with':
          case 'range':
            this.p++;
            nodes.push(this.control(k.v));
            continue;
          case 'break':
          case 'continue':
            if (this.rangeDepth === 0) this.err(`{{${k.v}}} outside {{range}}`);
            this.p++;
            this.expect('close');
            nodes.push({ t: k.v });
            continue;
          case 'define':
          case 'template':
          case 'block':
            this.err(`{{${k.v}}} is not supported in LogQL templates`);
        }
      }
      const pipe = this.pipeline('command');
      this.expect('close');
      nodes.push({ t: 'action', pipe });
    }
  }

  private expect(k: Tok['k']): void {
    const t = this.next();
    if (t.k !== k) this.err(`unexpected ${t.k === 'eof' ? 'EOF' : describe(t)} in ${k === 'close' ? 'command' : k}`);
  }

  private control(kind: 'if' | 'with' | 'range'): Branch<'if'> | Branch<'with'> | Branch<'range'> {
    this.vars.push([]);
    const pipe = this.pipeline(kind);
    this.expect('close');
    if (kind === 'range') this.rangeDepth++;
    const body = this.list(['end', 'else']);
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (body.stop === 'else') {
      // {{else if ...}} / {{else with ...}} chains
      const nk = this.peek();
      if ((kind === 'if' || kind === 'with') && nk.k === 'ident' && nk.v === kind) {
        this.p++;
        elseList = [this.control(kind)];
      } else {
        this.expect('close');
        elseList = this.list(['end']).nodes;
      }
    }
    this.vars.pop();
    return { t: kind, pipe, list: body.nodes, elseList } as Branch<'if'> | Branch<'with'> | Branch<'range'>;
  }

  private pipeline(context: string): Pipe {
    let decl: string[] = [];
    let assign = false;
    // declarations: $x := / $x = / $i, $e :=
    const save = this.p;
    const t0 = this.peek();
    if (t0.k === 'var') {
      this.p++;
      const t1 = this.peek();
      if (t1.k === 'declare' || t1.k === 'assign') {
        this.p++;
        decl = [t0.v];
        assign = t1.k === 'assign';
      } else if (t1.k === 'comma' && context === 'range') {
        this.p++;
        const t2 = this.next();
        if (t2.k !== 'var') this.err('too many declarations in range');
        const t3 = this.next();
        if (t3.k !== 'declare' && t3.k !== 'assign') this.err('missing := in range');
        decl = [t0.v, t2.v];
        assign = t3.k === 'assign';
      } else this.p = save;
    }
    if (decl.length && !assign) (this.vars[this.vars.length - 1] as string[]).push(...decl);
    if (decl.length && assign) for (const d of decl) if (!this.vars.some((s) => s.includes(d))) this.err(`undefined variable: ${d}`);
    const cmds: Command[] = [];
    for (;;) {
      cmds.push(this.command());
      if (this.peek().k === 'pipe') {
        this.p++;
        continue;
      }
      break;
    }
    if (cmds.length === 0) this.err(`missing value for ${context}`);
    return { decl, assign, cmds };
  }

  private command(): Command {
    const args: Arg[] = [];
    for (;;) {
      const t = this.peek();
      if (t.k === 'close' || t.k === 'rparen' || t.k === 'pipe' || t.k === 'eof') break;
      args.push(this.operand());
    }
    if (args.length === 0) this.err('missing value for command');
    return { args };
  }

  private chain(): string[] {
    const out: string[] = [];
    while (this.peek().k === 'field') out.push((this.next() as { v: string }).v);
    return out;
  }

  private operand(): Arg {
    const t = this.next();
    switch (t.k) {
      case 'field':
        return { t: 'field', chain: [t.v, ...this.chain()] };
      case 'dot':
        return { t: 'dot' };
      case 'var': {
        if (!this.vars.some((s) => s.includes(t.v))) this.err(`undefined variable "${t.v}"`);
        return { t: 'var', name: t.v, chain: this.chain() };
      }
      case 'str':
        return { t: 'str', v: t.v };
      case 'num':
        return { t: 'num', v: t.v };
      case 'char':
        return { t: 'num', v: t.v };
      case 'lparen': {
        const pipe = this.pipeline('parenthesized pipeline');
        this.expect('rparen');
        return { t: 'pipe', pipe, chain: this.chain() };
      }
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return { t: 'bool', v: t.v === 'true' };
        if (t.v === 'nil') return { t: 'nil' };
        if (!this.funcs.has(t.v)) this.err(`function "${t.v}" not defined`);
        return { t: 'fn', name: t.v };
      default:
        return this.err(`unexpected ${describe(t)} in operand`);
    }
  }
}

function describe(t: Tok): string {
  switch (t.k) {
    case 'ident':
    case 'field':
    case 'var':
      return `<${t.k === 'field' ? '.' : ''}${t.v}>`;
    case 'str':
      return JSON.stringify(t.v);
    case 'close':
      return '"}}"';
    case 'rparen':
      return '")"';
    case 'lparen':
      return '"("';
    default:
      return t.k;
  }
}

// ---------- functions ----------

/** What a template function sees of the current entry. */
export interface TemplateContext {
  readonly line: string;
  readonly timestampNs: bigint;
}

type Fn = (args: GoValue[], ctx: TemplateContext) => GoValue;

class ExecError extends Error {}

function typeOf(v: GoValue): string {
  if (v === null) return 'nil';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float64';
  if (v instanceof GoTime) return 'time.Time';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  return typeof v;
}

function str(v: GoValue | undefined): string {
  if (typeof v !== 'string') throw new ExecError(`wrong type for value; expected string; got ${typeOf(v ?? null)}`);
  return v;
}

function int(v: GoValue | undefined): number {
  if (typeof v !== 'bigint') throw new ExecError(`wrong type for value; expected int; got ${typeOf(v ?? null)}`);
  return Number(v);
}

function time(v: GoValue | undefined): GoTime {
  if (!(v instanceof GoTime)) throw new ExecError(`wrong type for value; expected time.Time; got ${typeOf(v ?? null)}`);
  return v;
}

/** spf13/cast ToInt64 as sprig uses it: bad input is 0. */
function toInt64(v: GoValue | undefined): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    let s = v;
    if (/^[+-]?[0-9]+\.0*$/.test(s)) s = s.replace(/\.0*$/, '');
    if (/^[+-]?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO]?[0-7]+|[0-9]+)$/.test(s)) {
      try {
        const neg = s.startsWith('-');
        const body = s.replace(/^[+-]/, '');
        const b = /^0[0-7]+$/.test(body) ? BigInt('0o' + body.slice(1)) : BigInt(body.replace(/^0([oO])/, '0o'));
        return neg ? -b : b;
      } catch {
        return 0n;
      }
    }
    return 0n;
  }
  return 0n;
}

/** spf13/cast ToFloat64: bad input is 0. */
function toFloat64(v: GoValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseGoFloat(v) ?? 0;
  return 0;
}

function runes(s: string): string[] {
  return [...s];
}

function goTrim(s: string, cutset: string, left: boolean, right: boolean): string {
  const set = new Set(runes(cutset));
  const r = runes(s);
  let a = 0;
  let b = r.length;
  if (left) while (a < b && set.has(r[a] as string)) a++;
  if (right) while (b > a && set.has(r[b - 1] as string)) b--;
  return r.slice(a, b).join('');
}

function goTitle(s: string): string {
  // strings.Title: upper-case the first letter of each word (words separated by non-letters)
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += /[\p{L}\p{N}_']/u.test(prev) ? ch : ch.toUpperCase();
    prev = ch;
  }
  return out;
}

/** url.QueryEscape */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** url.QueryUnescape */
function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new ExecError(`invalid URL escape "${s.slice(i, i + 3)}"`);
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === '+') bytes.push(32);
    else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

const regexCache = new Map<string, { re: RegExp; names: readonly string[] }>();
function globalRegex(pattern: string): { re: RegExp; names: readonly string[] } {
  let r = regexCache.get(pattern);
  if (!r) {
    try {
      const c = compileRegex(pattern, { global: true });
      r = { re: c.re, names: c.groupNames };
    } catch (e) {
      if (e instanceof RegexSyntaxError) throw new ExecError(e.message);
      throw e;
    }
    if (regexCache.size > 256) regexCache.clear();
    regexCache.set(pattern, r);
  }
  r.re.lastIndex = 0;
  return r;
}

function replaceAll(pattern: string, s: string, repl: string, literal: boolean): string {
  const { re, names } = globalRegex(pattern);
  return s.replace(re, (...a) => {
    if (literal) return repl;
    // replace's leading arguments are the match and its groups; $1, ${name}, $$ as Go's Regexp.Expand
    const groups = a.slice(0, names.length + 1) as string[];
    return expandTemplate(repl, groups, names);
  });
}

function cmpKinds(a: GoValue, b: GoValue): 'num' | 'int' | 'str' | 'bool' | undefined {
  if (typeof a === 'bigint' && typeof b === 'bigint') return 'int';
  if (typeof a === 'number' && typeof b === 'number') return 'num';
  if (typeof a === 'string' && typeof b === 'string') return 'str';
  if (typeof a === 'boolean' && typeof b === 'boolean') return 'bool';
  return undefined;
}

function goEq(a: GoValue, b: GoValue): boolean {
  if (a === null || b === null) return a === b;
  if (!cmpKinds(a, b)) throw new ExecError('incompatible types for comparison');
  return a === b;
}

function goLess(a: GoValue, b: GoValue): boolean {
  const k = cmpKinds(a, b);
  if (!k || k === 'bool') throw new ExecError(k === 'bool' ? 'invalid type for comparison' : 'incompatible types for comparison');
  return (a as number) < (b as number);
}

function unixToTime(epoch: string): GoTime {
  if (!/^-?[0-9]+$/.test(epoch)) throw new ExecError(`unable to parse time '${epoch}': strconv.ParseInt: parsing "${epoch}": invalid syntax`);
  const i = BigInt(epoch);
  switch (epoch.length) {
    case 5:
      return new GoTime(i * 86_400n * 1_000_000_000n);
    case 10:
      return new GoTime(i * 1_000_000_000n);
    case 13:
      return new GoTime(i * 1_000_000n);
    case 16:
      return new GoTime(i * 1000n);
    case 19:
      return new GoTime(i);
    default:
      throw new ExecError(`unable to parse time '${epoch}'`);
  }
}

function nowTime(): GoTime {
  return new GoTime(BigInt(Date.now()) * 1_000_000n);
}

function variadicNums(args: GoValue[], f: (v: GoValue) => number): number[] {
  return args.map(f);
}

function sprigRound(a: GoValue, p: GoValue, rOpt?: GoValue): number {
  const roundOn = rOpt === undefined ? 0.5 : toFloat64(rOpt);
  const val = toFloat64(a);
  const pow = Math.pow(10, toFloat64(p));
  const digit = pow * val;
  const frac = digit - Math.trunc(digit);
  const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return r / pow;
}

function arity(name: string, args: GoValue[], n: number): void {
  if (args.length !== n) throw new ExecError(`wrong number of args for ${name}: want ${n} got ${args.length}`);
}

function atLeast(name: string, args: GoValue[], n: number): void {
  if (args.length < n) throw new ExecError(`wrong number of args for ${name}: want at least ${n} got ${args.length}`);
}

const FUNCS: Record<string, Fn> = {
  // Go text/template builtins
  and: (a) => {
    atLeast('and', a, 1);
    for (const v of a) if (!isTruthy(v)) return v;
    return a[a.length - 1] as GoValue;
  },
  or: (a) => {
    atLeast('or', a, 1);
    for (const v of a) if (isTruthy(v)) return v;
    return a[a.length - 1] as GoValue;
  },
  not: (a) => (arity('not', a, 1), !isTruthy(a[0] as GoValue)),
  len: (a) => {
    arity('len', a, 1);
    const v = a[0] as GoValue;
    if (typeof v === 'string') return BigInt(Buffer.byteLength(v));
    if (Array.isArray(v)) return BigInt(v.length);
    if (isMap(v)) return BigInt(Object.keys(v).length);
    throw new ExecError(`len of type ${typeOf(v)}`);
  },
  index: (a) => {
    atLeast('index', a, 1);
    let v = a[0] as GoValue;
    for (const k of a.slice(1)) {
      if (Array.isArray(v)) {
        const i = Number(toInt64(k));
        if (i < 0 || i >= v.length) throw new ExecError(`index out of range: ${i}`);
        v = v[i] as GoValue;
      } else if (isMap(v)) v = v[str(k)] ?? null;
      else if (typeof v === 'string') v = BigInt(Buffer.from(v)[Number(toInt64(k))] ?? 0);
      else throw new ExecError(`can't index item of type ${typeOf(v)}`);
    }
    return v;
  },
  slice: (a) => {
    atLeast('slice', a, 1);
    const v = a[0] as GoValue;
    const idx = a.slice(1).map((x) => Number(toInt64(x)));
    if (typeof v === 'string') return v.slice(idx[0] ?? 0, idx[1] ?? v.length);
    if (Array.isArray(v)) return v.slice(idx[0] ?? 0, idx[1] ?? v.length);
    throw new ExecError(`can't slice item of type ${typeOf(v)}`);
  },
  eq: (a) => {
    atLeast('eq', a, 2);
    return a.slice(1).some((b) => goEq(a[0] as GoValue, b));
  },
  ne: (a) => (arity('ne', a, 2), !goEq(a[0] as GoValue, a[1] as GoValue)),
  lt: (a) => (arity('lt', a, 2), goLess(a[0] as GoValue, a[1] as GoValue)),
  le: (a) => (arity('le', a, 2), goLess(a[0] as GoValue, a[1] as GoValue) || goEq(a[0] as GoValue, a[1] as GoValue)),
  gt: (a) => (arity('gt', a, 2), goLess(a[1] as GoValue, a[0] as GoValue)),
  ge: (a) => (arity('ge', a, 2), goLess(a[1] as GoValue, a[0] as GoValue) || goEq(a[0] as GoValue, a[1] as GoValue)),
  print: (a) => {
    // fmt.Sprint: spaces between operands when neither side is a string
    let out = '';
    a.forEach((v, i) => {
      if (i > 0 && typeof v !== 'string' && typeof a[i - 1] !== 'string') out += ' ';
      out += formatValue(v, true);
    });
    return out;
  },
  println: (a) => a.map((v) => formatValue(v, true)).join(' ') + '\n',
  printf: (a) => (atLeast('printf', a, 1), sprintf(str(a[0]), a.slice(1))),
  html: (a) => a.map((v) => formatValue(v, true)).join('').replace(/[&'<>"\0]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\0': '\uFFFD' })[c] as string),
  js: (a) => a.map((v) => formatValue(v, true)).join('').replace(/[\\'"<>&=\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] as string),
  urlquery: (a) => queryEscape(a.map((v) => formatValue(v, true)).join('')),

  // Loki's own (pkg/logql/log/fmt.go)
  ToLower: (a) => (arity('ToLower', a, 1), str(a[0]).toLowerCase()),
  ToUpper: (a) => (arity('ToUpper', a, 1), str(a[0]).toUpperCase()),
  Replace: (a) => {
    arity('Replace', a, 4);
    const s = str(a[0]);
    const oldS = str(a[1]);
    const newS = str(a[2]);
    let n = int(a[3]);
    if (n < 0) return s.split(oldS).join(newS);
    let out = s;
    let from = 0;
    while (n-- > 0) {
      const i = out.indexOf(oldS, from);
      if (i < 0) break;
      out = out.slice(0, i) + newS + out.slice(i + oldS.length);
      from = i + newS.length + (oldS === '' ? 1 : 0);
    }
    return out;
  },
  Trim: (a) => (arity('Trim', a, 2), goTrim(str(a[0]), str(a[1]), true, true)),
  TrimLeft: (a) => (arity('TrimLeft', a, 2), goTrim(str(a[0]), str(a[1]), true, false)),
  TrimRight: (a) => (arity('TrimRight', a, 2), goTrim(str(a[0]), str(a[1]), false, true)),
  TrimPrefix: (a) => (arity('TrimPrefix', a, 2), str(a[0]).startsWith(str(a[1])) ? str(a[0]).slice(str(a[1]).length) : str(a[0])),
  TrimSuffix: (a) => (arity('TrimSuffix', a, 2), str(a[1]) !== '' && str(a[0]).endsWith(str(a[1])) ? str(a[0]).slice(0, -str(a[1]).length) : str(a[0])),
  TrimSpace: (a) => (arity('TrimSpace', a, 1), str(a[0]).trim()),
  regexReplaceAll: (a) => (arity('regexReplaceAll', a, 3), replaceAll(str(a[0]), str(a[1]), str(a[2]), false)),
  regexReplaceAllLiteral: (a) => (arity('regexReplaceAllLiteral', a, 3), replaceAll(str(a[0]), str(a[1]), str(a[2]), true)),
  count: (a) => {
    arity('count', a, 2);
    const { re } = globalRegex(str(a[0]));
    let n = 0n;
    for (const m of str(a[1]).matchAll(re)) {
      void m;
      n++;
    }
    return n;
  },
  urldecode: (a) => (arity('urldecode', a, 1), queryUnescape(str(a[0]))),
  urlencode: (a) => (arity('urlencode', a, 1), queryEscape(str(a[0]))),
  bytes: (a) => {
    arity('bytes', a, 1);
    const r = parseHumanBytes(str(a[0]));
    if (!r.ok) throw new ExecError(r.error);
    return r.value;
  },
  duration: (a) => durationSeconds(a),
  duration_seconds: (a) => durationSeconds(a),
  unixEpochMillis: (a) => (arity('unixEpochMillis', a, 1), floorDiv(time(a[0]).ns, 1_000_000n).toString()),
  unixEpochNanos: (a) => (arity('unixEpochNanos', a, 1), time(a[0]).ns.toString()),
  toDateInZone: (a) => {
    arity('toDateInZone', a, 3);
    const zone = zoneOffsetSec(str(a[1]), Date.now()) === undefined ? 'UTC' : str(a[1]);
    return parseTime(str(a[0]), str(a[2]), zone) ?? new GoTime(-62135596800n * 1_000_000_000n);
  },
  unixToTime: (a) => (arity('unixToTime', a, 1), unixToTime(str(a[0]))),
  alignLeft: (a) => {
    arity('alignLeft', a, 2);
    const count = int(a[0]);
    const r = runes(str(a[1]));
    if (count < 0 || count === r.length) return str(a[1]);
    return count > r.length ? str(a[1]) + ' '.repeat(count - r.length) : r.slice(0, count).join('');
  },
  alignRight: (a) => {
    arity('alignRight', a, 2);
    const count = int(a[0]);
    const r = runes(str(a[1]));
    if (count < 0 || count === r.length) return str(a[1]);
    return count > r.length ? ' '.repeat(count - r.length) + str(a[1]) : r.slice(r.length - count).join('');
  },
  b64dec: (a) => {
    arity('b64dec', a, 1);
    let v = str(a[0]);
    const rem = v.length % 4;
    if (rem !== 0 && rem !== 1) v += '='.repeat(4 - rem);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) return `illegal base64 data at input byte ${Math.max(0, v.search(/[^A-Za-z0-9+/=]/))}`;
    return Buffer.from(v, 'base64').toString('utf8');
  },
  __line__: (a, ctx) => (arity('__line__', a, 0), ctx.line),
  __timestamp__: (a, ctx) => (arity('__timestamp__', a, 0), new GoTime(ctx.timestampNs)),

  // sprig functions Loki enables
  b64enc: (a) => (arity('b64enc', a, 1), Buffer.from(str(a[0]), 'utf8').toString('base64')),
  lower: (a) => (arity('lower', a, 1), str(a[0]).toLowerCase()),
  upper: (a) => (arity('upper', a, 1), str(a[0]).toUpperCase()),
  title: (a) => (arity('title', a, 1), goTitle(str(a[0]))),
  trunc: (a) => {
    arity('trunc', a, 2);
    const c = int(a[0]);
    const r = runes(str(a[1]));
    if (c < 0 && r.length + c > 0) return r.slice(r.length + c).join('');
    if (c >= 0 && r.length > c) return r.slice(0, c).join('');
    return str(a[1]);
  },
  substr: (a) => {
    arity('substr', a, 3);
    let start = int(a[0]);
    let end = int(a[1]);
    const r = runes(str(a[2]));
    if (end > r.length) end = r.length;
    if (start > r.length) start = r.length;
    if (start < 0) return end < 0 ? '' : r.slice(0, end).join('');
    if (end < 0) return r.slice(start).join('');
    if (start > end) return '';
    return r.slice(start, end).join('');
  },
  contains: (a) => (arity('contains', a, 2), str(a[1]).includes(str(a[0]))),
  hasPrefix: (a) => (arity('hasPrefix', a, 2), str(a[1]).startsWith(str(a[0]))),
  hasSuffix: (a) => (arity('hasSuffix', a, 2), str(a[1]).endsWith(str(a[0]))),
  indent: (a) => (arity('indent', a, 2), indent(int(a[0]), str(a[1]))),
  nindent: (a) => (arity('nindent', a, 2), '\n' + indent(int(a[0]), str(a[1]))),
  replace: (a) => (arity('replace', a, 3), str(a[2]).split(str(a[0])).join(str(a[1]))),
  repeat: (a) => (arity('repeat', a, 2), str(a[1]).repeat(Math.max(0, int(a[0])))),
  trim: (a) => (arity('trim', a, 1), str(a[0]).trim()),
  trimAll: (a) => (arity('trimAll', a, 2), goTrim(str(a[1]), str(a[0]), true, true)),
  trimSuffix: (a) => (arity('trimSuffix', a, 2), str(a[0]) !== '' && str(a[1]).endsWith(str(a[0])) ? str(a[1]).slice(0, -str(a[0]).length) : str(a[1])),
  trimPrefix: (a) => (arity('trimPrefix', a, 2), str(a[1]).startsWith(str(a[0])) ? str(a[1]).slice(str(a[0]).length) : str(a[1])),
  int: (a) => (arity('int', a, 1), toInt64(a[0])),
  float64: (a) => (arity('float64', a, 1), toFloat64(a[0])),
  add: (a) => a.reduce<bigint>((s, v) => s + toInt64(v), 0n),
  sub: (a) => (arity('sub', a, 2), toInt64(a[0]) - toInt64(a[1])),
  mul: (a) => (atLeast('mul', a, 1), a.reduce<bigint>((s, v) => s * toInt64(v), 1n)),
  div: (a) => {
    arity('div', a, 2);
    const d = toInt64(a[1]);
    if (d === 0n) throw new ExecError('runtime error: integer divide by zero');
    return toInt64(a[0]) / d;
  },
  mod: (a) => {
    arity('mod', a, 2);
    const d = toInt64(a[1]);
    if (d === 0n) throw new ExecError('runtime error: integer divide by zero');
    return toInt64(a[0]) % d;
  },
  addf: (a) => variadicNums(a, toFloat64).reduce((s, v) => s + v, 0),
  subf: (a) => (atLeast('subf', a, 1), variadicNums(a.slice(1), toFloat64).reduce((s, v) => s - v, toFloat64(a[0]))),
  mulf: (a) => (atLeast('mulf', a, 1), variadicNums(a.slice(1), toFloat64).reduce((s, v) => s * v, toFloat64(a[0]))),
  divf: (a) => (atLeast('divf', a, 1), variadicNums(a.slice(1), toFloat64).reduce((s, v) => s / v, toFloat64(a[0]))),
  max: (a) => (atLeast('max', a, 1), a.map(toInt64).reduce((m, v) => (v > m ? v : m))),
  min: (a) => (atLeast('min', a, 1), a.map(toInt64).reduce((m, v) => (v < m ? v : m))),
  maxf: (a) => (atLeast('maxf', a, 1), Math.max(...a.map(toFloat64))),
  minf: (a) => (atLeast('minf', a, 1), Math.min(...a.map(toFloat64))),
  ceil: (a) => (arity('ceil', a, 1), Math.ceil(toFloat64(a[0]))),
  floor: (a) => (arity('floor', a, 1), Math.floor(toFloat64(a[0]))),
  round: (a) => (atLeast('round', a, 2), sprigRound(a[0] as GoValue, a[1] as GoValue, a[2])),
  fromJson: (a) => {
    arity('fromJson', a, 1);
    try {
      return jsonToGo(JSON.parse(str(a[0])));
    } catch {
      return '';
    }
  },
  date: (a) => {
    arity('date', a, 2);
    const v = a[1] as GoValue;
    const t = v instanceof GoTime ? v : typeof v === 'bigint' ? new GoTime(v * 1_000_000_000n) : nowTime();
    return formatTime(t, str(a[0]));
  },
  toDate: (a) => (arity('toDate', a, 2), parseTime(str(a[0]), str(a[1])) ?? new GoTime(-62135596800n * 1_000_000_000n)),
  now: (a) => (arity('now', a, 0), nowTime()),
  unixEpoch: (a) => (arity('unixEpoch', a, 1), time(a[0]).unixSeconds.toString()),
  default: (a) => {
    atLeast('default', a, 1);
    const given = a.length > 1 ? (a[1] as GoValue) : null;
    return isTruthy(given) ? given : (a[0] as GoValue);
  },
};

function durationSeconds(a: GoValue[]): number {
  arity('duration', a, 1);
  const s = str(a[0]);
  const ns = parseGoDurationNs(s);
  if (ns === undefined) throw new ExecError(goDurationError(s));
  return ns / 1e9;
}

function indent(n: number, s: string): string {
  const pad = ' '.repeat(Math.max(0, n));
  return pad + s.split('\n').join('\n' + pad);
}

function jsonToGo(v: unknown): GoValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v as GoValue;
  if (typeof v === 'number') return v; // encoding/json decodes numbers to float64
  if (Array.isArray(v)) return v.map(jsonToGo);
  const out: { [k: string]: GoValue } = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = jsonToGo(x);
  return out;
}

export const TEMPLATE_FUNCTIONS: ReadonlySet<string> = new Set(Object.keys(FUNCS));

// ---------- execution ----------

class BreakSignal {}
class ContinueSignal {}

/** A parsed template, executed per log entry. */
export interface Template {
  /** labels referenced as .name (for planning) */
  readonly fields: readonly string[];
  /** when the whole template is `{{.name}}` */
  readonly simpleField?: string;
  execute(data: Readonly<Record<string, string>>, ctx: TemplateContext): string;
}

const MAX_OUTPUT_CHARS = 1 << 20;

class Exec {
  private out = '';
  private vars: { name: string; value: GoValue }[] = [];

  constructor(private readonly root: GoValue, private readonly ctx: TemplateContext) {}

  run(nodes: Node[]): string {
    this.vars = [{ name: '$', value: this.root }];
    this.list(nodes, this.root);
    return this.out;
  }

  private list(nodes: Node[], dot: GoValue): void {
    for (const n of nodes) {
      switch (n.t) {
        case 'text':
          this.write(n.v);
          break;
        case 'action': {
          const v = this.pipe(n.pipe, dot);
          if (n.pipe.decl.length === 0) this.write(formatValue(v));
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length;
          const v = this.pipe(n.pipe, dot);
          if (isTruthy(v)) this.list(n.list, n.t === 'with' ? v : dot);
          else if (n.elseList) this.list(n.elseList, dot);
          this.vars.length = mark;
          break;
        }
        case 'range':
          this.range(n, dot);
          break;
        case 'break':
          throw new BreakSignal();
        case 'continue':
          throw new ContinueSignal();
      }
    }
  }

  private write(s: string): void {
    this.out += s;
    if (this.out.length > MAX_OUTPUT_CHARS) throw new ExecError('template output too large');
  }

  private range(n: Branch<'range'>, dot: GoValue): void {
    const mark = this.vars.length;
    const pipe: Pipe = { decl: [], assign: false, cmds: n.pipe.cmds };
    const v = this.pipe(pipe, dot);
    let items: [GoValue, GoValue][];
    if (Array.isArray(v)) items = v.map((x, i) => [BigInt(i), x]);
    else if (isMap(v)) items = Object.keys(v).sort().map((k) => [k, v[k] as GoValue]);
    else if (typeof v === 'bigint') items = Array.from({ length: Math.max(0, Number(v)) }, (_, i) => [BigInt(i), BigInt(i)]);
    else if (v === null || v === '') items = [];
    else throw new ExecError(`range can't iterate over ${formatValue(v)}`);
    if (items.length === 0) {
      if (n.elseList) this.list(n.elseList, dot);
      this.vars.length = mark;
      return;
    }
    for (const [k, x] of items) {
      this.vars.length = mark;
      if (n.pipe.decl.length === 1) this.vars.push({ name: n.pipe.decl[0] as string, value: x });
      else if (n.pipe.decl.length === 2) this.vars.push({ name: n.pipe.decl[0] as string, value: k }, { name: n.pipe.decl[1] as string, value: x });
      try {
        this.list(n.list, x);
      } catch (e) {
        if (e instanceof BreakSignal) break;
        if (e instanceof ContinueSignal) continue;
        throw e;
      }
    }
    this.vars.length = mark;
  }

  private pipe(p: Pipe, dot: GoValue): GoValue {
    let v: GoValue | undefined;
    for (const c of p.cmds) v = this.command(c, dot, v);
    const out = v ?? null;
    for (const name of p.decl.slice(0, 1)) {
      if (p.assign) {
        for (let i = this.vars.length - 1; i >= 0; i--) {
          if ((this.vars[i] as { name: string }).name === name) {
            (this.vars[i] as { value: GoValue }).value = out;
            break;
          }
        }
      } else this.vars.push({ name, value: out });
    }
    return out;
  }

  private command(c: Command, dot: GoValue, final: GoValue | undefined): GoValue {
    const first = c.args[0] as Arg;
    if (first.t === 'fn') {
      const args = c.args.slice(1).map((a) => this.arg(a, dot));
      if (final !== undefined) args.push(final);
      const fn = FUNCS[first.name] as Fn;
      try {
        return fn(args, this.ctx);
      } catch (e) {
        if (e instanceof ExecError) throw new ExecError(`error calling ${first.name}: ${e.message}`);
        throw e;
      }
    }
    if (c.args.length > 1 || final !== undefined) throw new ExecError(`can't give argument to non-function ${describeArg(first)}`);
    return this.arg(first, dot);
  }

  private arg(a: Arg, dot: GoValue): GoValue {
    switch (a.t) {
      case 'dot':
        return dot;
      case 'field':
        return this.fields(dot, a.chain);
      case 'var': {
        let v: GoValue = null;
        for (let i = this.vars.length - 1; i >= 0; i--) {
          const x = this.vars[i] as { name: string; value: GoValue };
          if (x.name === a.name) {
            v = x.value;
            break;
          }
        }
        return this.fields(v, a.chain);
      }
      case 'str':
        return a.v;
      case 'num':
        return a.v;
      case 'bool':
        return a.v;
      case 'nil':
        return null;
      case 'fn': {
        const fn = FUNCS[a.name] as Fn;
        try {
          return fn([], this.ctx);
        } catch (e) {
          if (e instanceof ExecError) throw new ExecError(`error calling ${a.name}: ${e.message}`);
          throw e;
        }
      }
      case 'pipe':
        return this.fields(this.pipe(a.pipe, dot), a.chain);
    }
  }

  private fields(v: GoValue, chain: string[]): GoValue {
    let cur = v;
    for (const f of chain) {
      if (isMap(cur)) {
        // missingkey=zero: a label map yields "", a decoded JSON map yields nil
        cur = Object.prototype.hasOwnProperty.call(cur, f) ? (cur[f] as GoValue) : cur === this.root ? '' : null;
      } else if (cur === null) return null;
      else throw new ExecError(`can't evaluate field ${f} in type ${typeOf(cur)}`);
    }
    return cur;
  }
}

function describeArg(a: Arg): string {
  switch (a.t) {
    case 'field':
      return '.' + a.chain.join('.');
    case 'str':
      return JSON.stringify(a.v);
    case 'num':
      return String(a.v);
    default:
      return a.t;
  }
}

function collectFields(nodes: Node[], out: Set<string>): void {
  const fromPipe = (p: Pipe): void => {
    for (const c of p.cmds)
      for (const a of c.args) {
        if (a.t === 'field') out.add(a.chain[0] as string);
        else if (a.t === 'pipe') fromPipe(a.pipe);
      }
  };
  for (const n of nodes) {
    if (n.t === 'action') fromPipe(n.pipe);
    else if (n.t === 'if' || n.t === 'with' || n.t === 'range') {
      fromPipe(n.pipe);
      collectFields(n.list, out);
      if (n.elseList) collectFields(n.elseList, out);
    }
  }
}

/** Parses a template once; throws TemplateError like Go's template.Parse. */
export function parseTemplate(src: string): Template {
  const nodes = new Parser(lex(src), TEMPLATE_FUNCTIONS).list([]).nodes;
  const fields = new Set<string>();
  collectFields(nodes, fields);
  const only = nodes.length === 1 ? nodes[0] : undefined;
  const simple =
    only?.t === 'action' && only.pipe.decl.length === 0 && only.pipe.cmds.length === 1 && only.pipe.cmds[0]!.args.length === 1 && only.pipe.cmds[0]!.args[0]!.t === 'field' && (only.pipe.cmds[0]!.args[0] as { chain: string[] }).chain.length === 1
      ? ((only.pipe.cmds[0]!.args[0] as { chain: string[] }).chain[0] as string)
      : undefined;
  return {
    fields: [...fields],
    ...(simple !== undefined ? { simpleField: simple } : {}),
    execute(data, ctx) {
      if (simple !== undefined) return data[simple] ?? '';
      try {
        return new Exec(data as GoValue, ctx).run(nodes);
      } catch (e) {
        if (e instanceof ExecError) throw new TemplateError(`template: line:1: executing: ${e.message}`);
        if (e instanceof BreakSignal || e instanceof ContinueSignal) return '';
        throw e;
      }
    },
  };
}
