// A port of the token rules of Prometheus's PromQL lexer
// (promql/parser/lex.go), used next to the lezer grammar for two things the
// grammar cannot give: Prometheus's exact lexical error messages ("unclosed
// left parenthesis", "unterminated quoted string", "bad number or duration
// syntax", ...) and the Prometheus description of the token at a syntax error
// ("unexpected identifier \"foo\"", "unexpected <op:*>"). Parsing proper is
// the lezer grammar's job (parse.ts).

export type TokenKind =
  | 'EOF'
  | 'IDENTIFIER'
  | 'METRIC_IDENTIFIER'
  | 'NUMBER'
  | 'DURATION'
  | 'STRING'
  | 'KEYWORD'
  | 'AGGREGATOR'
  | 'OPERATOR'
  | 'PUNCT';

export interface Token {
  readonly kind: TokenKind;
  /** start offset (UTF-16 code units) */
  readonly pos: number;
  readonly text: string;
}

export interface LexResult {
  readonly tokens: Token[];
  readonly error: { pos: number; message: string } | null;
}

const AGGREGATORS = new Set(['avg', 'bottomk', 'count', 'count_values', 'group', 'max', 'min', 'quantile', 'stddev', 'stdvar', 'sum', 'topk', 'limitk', 'limit_ratio']);
const KEYWORDS = new Set(['offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'start', 'end', 'step', 'range', 'anchored', 'smoothed']);
const WORD_OPERATORS = new Set(['and', 'or', 'unless', 'atan2']);

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && (c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isAlpha(c) || isDigit(c);

/** Go's %q of a single rune: 'x' with escapes. */
export function quoteRune(c: string): string {
  switch (c) {
    case "'":
      return "'\\''";
    case '\\':
      return "'\\\\'";
    case '\n':
      return "'\\n'";
    case '\t':
      return "'\\t'";
    case '\r':
      return "'\\r'";
  }
  const cp = c.codePointAt(0) as number;
  if (cp < 0x20 || cp === 0x7f) return `'\\x${cp.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

/** Go's %#U of a rune: U+0063 'c'. */
export function goRuneU(c: string): string {
  const cp = c.codePointAt(0) as number;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

export function lexPromql(input: string): LexResult {
  const tokens: Token[] = [];
  let pos = 0;
  let start = 0;
  let parenDepth = 0;
  let braceOpen = false;
  let bracketOpen = false;
  let gotColon = false;
  let gotDuration = false;

  const emit = (kind: TokenKind): void => {
    tokens.push({ kind, pos: start, text: input.slice(start, pos) });
    start = pos;
  };
  const fail = (message: string): LexResult => ({ tokens, error: { pos: start, message } });
  const peek = (): string | undefined => input[pos];

  // Returns an error message or null; on success pos is after the literal.
  const lexString = (open: string): string | null => {
    for (;;) {
      const c = input[pos++];
      if (c === undefined || c === '\n') {
        if (c === undefined) pos--;
        return 'unterminated quoted string';
      }
      if (c === open) return null;
      if (c === '\\') {
        const e = input[pos++];
        if (e === undefined) return 'escape sequence not terminated';
        if ('abfnrtv\\'.includes(e) || e === open) continue;
        let n = 0;
        let base = 0;
        let max = 0;
        let ch: string | undefined = e;
        if (e >= '0' && e <= '7') {
          n = 3;
          base = 8;
          max = 255;
        } else if (e === 'x') {
          ch = input[pos++];
          n = 2;
          base = 16;
          max = 255;
        } else if (e === 'u') {
          ch = input[pos++];
          n = 4;
          base = 16;
          max = 0x10ffff;
        } else if (e === 'U') {
          ch = input[pos++];
          n = 8;
          base = 16;
          max = 0x10ffff;
        } else return `unknown escape sequence ${goRuneU(e)}`;
        let x = 0;
        while (n > 0) {
          const d = ch === undefined ? 16 : digitVal(ch);
          if (d >= base) {
            if (ch === undefined) return 'escape sequence not terminated';
            return `illegal character ${goRuneU(ch)} in escape sequence`;
          }
          x = x * base + d;
          n--;
          if (n > 0) ch = input[pos++];
        }
        if (x > max || (x >= 0xd800 && x < 0xe000)) return 'escape sequence is an invalid Unicode code point';
      }
    }
  };

  const scanNumber = (): boolean => {
    const initial = pos;
    let digits = '0123456789';
    if (input[pos] === '0' && (input[pos + 1] === 'x' || input[pos + 1] === 'X')) {
      pos += 2;
      if (input[pos] === '_') pos++;
      digits = '0123456789abcdefABCDEF';
    }
    const accept = (set: string): boolean => {
      const c = input[pos];
      if (c !== undefined && set.includes(c)) {
        pos++;
        return true;
      }
      return false;
    };
    const is = (set: string): boolean => input[pos] !== undefined && set.includes(input[pos] as string);
    accept('.');
    accept(digits);
    let dot = false;
    let exp = false;
    while (is(digits + '._eE')) {
      if (is('.') && dot) {
        accept('.');
        return false;
      }
      if (is('eE') && exp && digits.length === 10) {
        accept('eE');
        return false;
      }
      if (accept('.')) {
        dot = true;
        if (accept('_.')) return false;
        if (digits.length > 10) return false;
        continue;
      }
      if (digits.length === 10 && accept('eE')) {
        exp = true;
        accept('+-');
        if (accept('._eE') || input[pos] === undefined) return false;
        continue;
      }
      if (accept('_')) {
        if (accept('._eE') || input[pos] === undefined) return false;
        continue;
      }
      while (accept(digits));
    }
    if (pos === initial) return false;
    return !isAlnum(input[pos]);
  };

  const acceptRemainingDuration = (): boolean => {
    const accept = (set: string): boolean => {
      const c = input[pos];
      if (c !== undefined && set.includes(c)) {
        pos++;
        return true;
      }
      return false;
    };
    if (!accept('smhdwy')) return false;
    accept('s');
    while (accept('0123456789')) {
      while (accept('0123456789'));
      if (!accept('smhdw')) return false;
      accept('s');
    }
    const next = input[pos];
    pos++;
    return !isAlnum(next);
  };

  const lexNumberOrDuration = (): string | null => {
    if (scanNumber()) {
      emit('NUMBER');
      return null;
    }
    // As Prometheus: the duration unit is looked for where the number scan stopped.
    if (acceptRemainingDuration()) {
      pos--;
      emit('DURATION');
      return null;
    }
    return `bad number or duration syntax: ${JSON.stringify(input.slice(start, Math.min(pos, input.length)))}`;
  };

  const scanDurationKeyword = (): boolean => {
    while (isAlpha(input[pos])) pos++;
    const word = input.slice(start, pos).toLowerCase();
    if (word === 'step' || word === 'range' || word === 'min_of' || word === 'max_of') {
      emit('KEYWORD');
      return true;
    }
    return false;
  };

  for (;;) {
    if (braceOpen) {
      if (input.startsWith('#', pos)) {
        while (pos < input.length && input[pos] !== '\n' && input[pos] !== '\r') pos++;
        start = pos;
        continue;
      }
      const c = input[pos++];
      if (c === undefined) {
        pos--;
        return fail('unexpected end of input inside braces');
      }
      if (isSpace(c)) {
        while (isSpace(peek())) pos++;
        start = pos;
        continue;
      }
      if (isAlpha(c)) {
        while (isAlnum(input[pos])) pos++;
        emit('IDENTIFIER');
        continue;
      }
      if (c === ',') {
        emit('PUNCT');
        continue;
      }
      if (c === '"' || c === "'" || c === '`') {
        const err = c === '`' ? lexRaw() : lexString(c);
        if (err) return fail(err);
        emit('STRING');
        continue;
      }
      if (c === '=') {
        if (input[pos] === '~') pos++;
        emit('OPERATOR');
        continue;
      }
      if (c === '!') {
        const n = input[pos++];
        if (n === '~' || n === '=') {
          emit('OPERATOR');
          continue;
        }
        return fail(`unexpected character after '!' inside braces: ${quoteRune(n ?? '')}`);
      }
      if (c === '{') return fail(`unexpected left brace ${quoteRune(c)}`);
      if (c === '}') {
        emit('PUNCT');
        braceOpen = false;
        continue;
      }
      return fail(`unexpected character inside braces: ${quoteRune(c)}`);
    }

    if (bracketOpen) {
      const c = input[pos++];
      if (c === undefined) {
        pos--;
        return fail('unexpected end of input in duration expression');
      }
      if (c === ']') {
        emit('PUNCT');
        bracketOpen = false;
        gotColon = false;
        continue;
      }
      if (c === ':') {
        emit('PUNCT');
        if (!gotDuration) return fail('unexpected colon before duration in duration expression');
        if (gotColon) return fail('unexpected repeated colon in duration expression');
        gotColon = true;
        continue;
      }
      if (c === '(' || c === ')') {
        emit('PUNCT');
        parenDepth += c === '(' ? 1 : -1;
        if (parenDepth < 0) return fail(`unexpected right parenthesis ${quoteRune(c)}`);
        continue;
      }
      if (isSpace(c)) {
        while (isSpace(peek())) pos++;
        start = pos;
        continue;
      }
      if ('+-*/%^'.includes(c)) {
        emit('OPERATOR');
        continue;
      }
      if (c === ',') {
        emit('PUNCT');
        continue;
      }
      if ('srmSRM'.includes(c)) {
        if (scanDurationKeyword()) continue;
        return fail(`unexpected character in duration expression: ${quoteRune(c)}`);
      }
      if (isDigit(c) || (c === '.' && isDigit(peek()))) {
        pos--;
        gotDuration = true;
        const err = lexNumberOrDuration();
        if (err) return fail(err);
        continue;
      }
      return fail(`unexpected character in duration expression: ${quoteRune(c)}`);
    }

    if (input.startsWith('#', pos)) {
      while (pos < input.length && input[pos] !== '\n' && input[pos] !== '\r') pos++;
      start = pos;
      continue;
    }
    const c = input[pos++];
    if (c === undefined) {
      pos--;
      start = pos;
      if (parenDepth !== 0) return fail('unclosed left parenthesis');
      tokens.push({ kind: 'EOF', pos, text: '' });
      return { tokens, error: null };
    }
    if (isSpace(c)) {
      while (isSpace(peek())) pos++;
      start = pos;
      continue;
    }
    if (c === ',') {
      emit('PUNCT');
      continue;
    }
    if ('*/%+-^'.includes(c)) {
      emit('OPERATOR');
      continue;
    }
    if (c === '=') {
      const t = input[pos];
      if (t === '=') {
        pos++;
        emit('OPERATOR');
      } else if (t === '~') return fail(`unexpected character after '=': ${quoteRune(t)}`);
      else emit('PUNCT');
      continue;
    }
    if (c === '!') {
      const t = input[pos++];
      if (t !== '=') return fail(`unexpected character after '!': ${quoteRune(t ?? '')}`);
      emit('OPERATOR');
      continue;
    }
    if (c === '<' || c === '>') {
      if (input[pos] === '=' || input[pos] === '/') pos++;
      emit('OPERATOR');
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(peek()))) {
      pos--;
      const err = lexNumberOrDuration();
      if (err) return fail(err);
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const err = c === '`' ? lexRaw() : lexString(c);
      if (err) return fail(err);
      emit('STRING');
      continue;
    }
    if (isAlpha(c) || c === ':') {
      while (isAlnum(input[pos]) || input[pos] === ':') pos++;
      const word = input.slice(start, pos);
      const lower = word.toLowerCase();
      if (AGGREGATORS.has(lower)) emit('AGGREGATOR');
      else if (WORD_OPERATORS.has(lower)) emit('OPERATOR');
      else if (KEYWORDS.has(lower)) emit('KEYWORD');
      else if (lower === 'inf' || lower === 'nan') emit('NUMBER');
      else emit(word.includes(':') ? 'METRIC_IDENTIFIER' : 'IDENTIFIER');
      continue;
    }
    if (c === '(') {
      emit('PUNCT');
      parenDepth++;
      continue;
    }
    if (c === ')') {
      emit('PUNCT');
      parenDepth--;
      if (parenDepth < 0) {
        start = pos - 1;
        return fail(`unexpected right parenthesis ${quoteRune(c)}`);
      }
      continue;
    }
    if (c === '{') {
      emit('PUNCT');
      braceOpen = true;
      continue;
    }
    if (c === '[') {
      gotColon = false;
      gotDuration = false;
      emit('PUNCT');
      while (isSpace(peek())) pos++;
      start = pos;
      bracketOpen = true;
      continue;
    }
    if (c === ']') return fail(`unexpected right bracket ${quoteRune(c)}`);
    if (c === '@') {
      emit('OPERATOR');
      continue;
    }
    return fail(`unexpected character: ${quoteRune(c)}`);
  }

  function lexRaw(): string | null {
    for (;;) {
      const c = input[pos++];
      if (c === undefined) {
        pos--;
        return 'unterminated raw string';
      }
      if (c === '`') return null;
    }
  }
}

function digitVal(ch: string): number {
  if (ch >= '0' && ch <= '9') return ch.charCodeAt(0) - 48;
  if (ch >= 'a' && ch <= 'f') return ch.charCodeAt(0) - 87;
  if (ch >= 'A' && ch <= 'F') return ch.charCodeAt(0) - 55;
  return 16;
}

/** Prometheus Item.desc(): how an unexpected token is named in a syntax error. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'EOF':
      return 'end of input';
    case 'IDENTIFIER':
      return `identifier ${JSON.stringify(t.text)}`;
    case 'METRIC_IDENTIFIER':
      return `metric identifier ${JSON.stringify(t.text)}`;
    case 'NUMBER':
      return `number ${JSON.stringify(t.text)}`;
    case 'DURATION':
      return `duration ${JSON.stringify(t.text)}`;
    case 'STRING':
      return `string ${t.text.length > 10 ? JSON.stringify(t.text.slice(0, 10)) + '...' : JSON.stringify(t.text)}`;
    case 'KEYWORD':
      return `<${t.text}>`;
    case 'AGGREGATOR':
      return `<aggr:${t.text}>`;
    case 'OPERATOR':
      return `<op:${t.text}>`;
    case 'PUNCT':
      return JSON.stringify(t.text);
  }
}
