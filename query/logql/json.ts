// The json and unpack parsers' view of a log line. A small scanner rather
// than JSON.parse, because Loki keeps a value's text as written: numbers
// stay "1.50" (not 1.5), objects and arrays requested by path come back as
// their raw JSON text, and big integers keep every digit.
// https://grafana.com/docs/loki/latest/query/log_queries/#json

export class JsonError extends Error {}

const enum C {
  QUOTE = 34,
  BACKSLASH = 92,
  LBRACE = 123,
  RBRACE = 125,
  LBRACKET = 91,
  RBRACKET = 93,
  COLON = 58,
  COMMA = 44,
}

export type JsonKind = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}

  ws(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 32 || c === 10 || c === 13 || c === 9) p++;
      else break;
    }
    this.pos = p;
  }

  /** A string starting at pos (on the quote); returns the unescaped content. */
  string(): string {
    const s = this.s;
    let p = this.pos + 1;
    const start = p;
    let escaped = false;
    for (;;) {
      if (p >= s.length) throw new JsonError('Value looks like string, but can\'t find closing \'"\' symbol');
      const c = s.charCodeAt(p);
      if (c === C.QUOTE) break;
      if (c === C.BACKSLASH) {
        escaped = true;
        p += 2;
        continue;
      }
      p++;
    }
    this.pos = p + 1;
    const raw = s.slice(start, p);
    return escaped ? unescape(raw) : raw;
  }

  /** Skips one value; returns its kind and raw span. */
  value(): { kind: JsonKind; start: number; end: number } {
    this.ws();
    const s = this.s;
    const start = this.pos;
    const c = s.charCodeAt(start);
    if (c === C.QUOTE) {
      this.string();
      return { kind: 'string', start, end: this.pos };
    }
    if (c === C.LBRACE || c === C.LBRACKET) {
      this.skipContainer();
      return { kind: c === C.LBRACE ? 'object' : 'array', start, end: this.pos };
    }
    if (s.startsWith('true', start) || s.startsWith('false', start)) {
      this.pos += s.startsWith('true', start) ? 4 : 5;
      return { kind: 'boolean', start, end: this.pos };
    }
    if (s.startsWith('null', start)) {
      this.pos += 4;
      return { kind: 'null', start, end: this.pos };
    }
    let p = start;
    while (p < s.length) {
      const d = s.charCodeAt(p);
      // digits, sign, dot, exponent
      if ((d >= 48 && d <= 57) || d === 45 || d === 43 || d === 46 || d === 101 || d === 69) p++;
      else break;
    }
    if (p === start) throw new JsonError('Unknown value type');
    this.pos = p;
    return { kind: 'number', start, end: p };
  }

  skipContainer(): void {
    const s = this.s;
    let depth = 0;
    let p = this.pos;
    for (; p < s.length; p++) {
      const c = s.charCodeAt(p);
      if (c === C.QUOTE) {
        this.pos = p;
        this.string();
        p = this.pos - 1;
      } else if (c === C.LBRACE || c === C.LBRACKET) depth++;
      else if (c === C.RBRACE || c === C.RBRACKET) {
        depth--;
        if (depth === 0) {
          this.pos = p + 1;
          return;
        }
      }
    }
    throw new JsonError(s.charCodeAt(this.pos) === C.LBRACE ? "Value looks like object, but can't find closing '}' symbol" : "Value is array, but can't find closing ']' symbol");
  }

  expect(code: number, what: string): void {
    this.ws();
    if (this.s.charCodeAt(this.pos) !== code) throw new JsonError(`Malformed JSON error: expected ${what}`);
    this.pos++;
  }
}

/**
 * Unescapes the inside of a JSON string literal (also how logfmt quoted
 * values are read); undefined for an invalid escape.
 */
export function unescapeJsonString(raw: string): string | undefined {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = raw[++i];
    switch (n) {
      case '"':
      case '\\':
      case '/':
        out += n;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        const h = raw.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) return undefined;
        out += String.fromCharCode(parseInt(h, 16));
        i += 4;
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}

function unescape(raw: string): string {
  const out = unescapeJsonString(raw);
  if (out === undefined) throw new JsonError('Encountered an invalid escape sequence in a string');
  return out;
}

/** Loki replaces the UTF-8 replacement rune in extracted values with a space. */
function cleanValue(v: string): string {
  return v.includes('\uFFFD') ? v.replace(/\uFFFD/g, ' ') : v;
}

/** The text of a scalar value as a label: strings unescaped, other values as written. */
function scalarText(sc: Scanner, kind: JsonKind, start: number, end: number): string {
  if (kind === 'string') {
    const inner = sc.s.slice(start + 1, end - 1);
    try {
      return cleanValue(inner.includes('\\') ? unescape(inner) : inner);
    } catch {
      return '';
    }
  }
  return sc.s.slice(start, end);
}

/**
 * Walks a JSON object line, calling emit(path, value) for every string,
 * number and boolean (nulls and arrays are skipped, objects are descended).
 * `enter(path)` may return false to skip a nested object. Throws JsonError
 * for a line that is not a JSON object.
 */
export function walkJsonObject(line: string, emit: (path: readonly string[], value: string) => void, enter?: (path: readonly string[]) => boolean): void {
  const sc = new Scanner(line);
  sc.ws();
  if (line.charCodeAt(sc.pos) !== C.LBRACE) throw new JsonError('Value is not an object');
  const path: string[] = [];
  const obj = (): void => {
    sc.pos++; // {
    sc.ws();
    if (line.charCodeAt(sc.pos) === C.RBRACE) {
      sc.pos++;
      return;
    }
    for (;;) {
      sc.ws();
      if (line.charCodeAt(sc.pos) !== C.QUOTE) throw new JsonError('Malformed JSON error: expected a key');
      const key = sc.string();
      sc.expect(C.COLON, ':');
      sc.ws();
      const c = line.charCodeAt(sc.pos);
      if (c === C.LBRACE) {
        path.push(key);
        if (!enter || enter(path)) obj();
        else sc.skipContainer();
        path.pop();
      } else {
        const v = sc.value();
        if (v.kind === 'string' || v.kind === 'number' || v.kind === 'boolean') {
          path.push(key);
          emit(path, scalarText(sc, v.kind, v.start, v.end));
          path.pop();
        }
      }
      sc.ws();
      const d = line.charCodeAt(sc.pos);
      if (d === C.COMMA) {
        sc.pos++;
        continue;
      }
      if (d === C.RBRACE) {
        sc.pos++;
        return;
      }
      throw new JsonError("Value looks like object, but can't find closing '}' symbol");
    }
  };
  obj();
}

/** A path of a json parser expression: field names and array indexes. */
export type JsonPath = readonly (string | number)[];

/** Parses `a.b[0]["c d"]` (Loki's jsonexpr grammar). */
export function parseJsonPath(expr: string): JsonPath {
  const out: (string | number)[] = [];
  let i = 0;
  const s = expr;
  const ident = /[A-Za-z0-9_]/;
  let expectField = true;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '.') {
      if (out.length === 0) throw new Error('syntax error: unexpected DOT');
      expectField = true;
      i++;
      continue;
    }
    if (c === '[') {
      i++;
      while (s[i] === ' ') i++;
      if (s[i] === '"') {
        let j = i + 1;
        let key = '';
        while (j < s.length && s[j] !== '"' && s[j] !== ']') key += s[j++];
        i = j + 1;
        while (s[i] === ' ') i++;
        if (s[i - 1] !== ']' && s[i] !== ']') throw new Error('syntax error: unexpected end of input, expecting RSB');
        if (s[i] === ']') i++;
        out.push(key);
      } else {
        let num = '';
        while (i < s.length && /[0-9]/.test(s[i] as string)) num += s[i++];
        if (s[i] === '.') throw new Error('cannot use float as array index');
        if (num === '' || s[i] !== ']') throw new Error('syntax error: unexpected character in index');
        i++;
        out.push(Number(num));
      }
      expectField = false;
      continue;
    }
    if (/[A-Za-z_]/.test(c) || (/[0-9]/.test(c) && expectField)) {
      if (/[0-9]/.test(c)) throw new Error('syntax error: unexpected INDEX');
      let name = '';
      while (i < s.length && ident.test(s[i] as string)) name += s[i++];
      out.push(name);
      expectField = false;
      continue;
    }
    throw new Error(`unexpected char ${c}`);
  }
  if (out.length === 0) throw new Error('syntax error: unexpected end of input');
  return out;
}

/**
 * Values at paths (json parser with parameters): a string unescaped, an
 * object or array as its raw text, null as "". Missing paths are undefined.
 */
export function extractJsonPaths(line: string, paths: readonly JsonPath[]): (string | undefined)[] {
  const out: (string | undefined)[] = paths.map(() => undefined);
  const sc = new Scanner(line);
  const visit = (depthPaths: number[], depth: number): void => {
    sc.ws();
    const c = line.charCodeAt(sc.pos);
    // which paths end here / continue below
    const ending = depthPaths.filter((pi) => (paths[pi] as JsonPath).length === depth);
    const deeper = depthPaths.filter((pi) => (paths[pi] as JsonPath).length > depth);
    if (ending.length > 0 || deeper.length === 0) {
      const v = sc.value();
      for (const pi of ending) {
        out[pi] = v.kind === 'null' ? '' : v.kind === 'object' || v.kind === 'array' ? line.slice(v.start, v.end) : scalarText(sc, v.kind, v.start, v.end);
      }
      if (deeper.length === 0) return;
      sc.pos = v.start;
    }
    if (c === C.LBRACE) {
      sc.pos++;
      sc.ws();
      if (line.charCodeAt(sc.pos) === C.RBRACE) {
        sc.pos++;
        return;
      }
      for (;;) {
        sc.ws();
        if (line.charCodeAt(sc.pos) !== C.QUOTE) throw new JsonError('Malformed JSON error: expected a key');
        const key = sc.string();
        sc.expect(C.COLON, ':');
        const next = deeper.filter((pi) => (paths[pi] as JsonPath)[depth] === key && out[pi] === undefined);
        if (next.length) visit(next, depth + 1);
        else sc.value();
        sc.ws();
        const d = line.charCodeAt(sc.pos);
        if (d === C.COMMA) {
          sc.pos++;
          continue;
        }
        if (d === C.RBRACE) {
          sc.pos++;
          return;
        }
        throw new JsonError("Value looks like object, but can't find closing '}' symbol");
      }
    } else if (c === C.LBRACKET) {
      sc.pos++;
      sc.ws();
      if (line.charCodeAt(sc.pos) === C.RBRACKET) {
        sc.pos++;
        return;
      }
      for (let idx = 0; ; idx++) {
        const next = deeper.filter((pi) => (paths[pi] as JsonPath)[depth] === idx && out[pi] === undefined);
        if (next.length) visit(next, depth + 1);
        else sc.value();
        sc.ws();
        const d = line.charCodeAt(sc.pos);
        if (d === C.COMMA) {
          sc.pos++;
          continue;
        }
        if (d === C.RBRACKET) {
          sc.pos++;
          return;
        }
        throw new JsonError("Value is array, but can't find closing ']' symbol");
      }
    } else sc.value();
  };
  visit(
    paths.map((_, i) => i),
    0,
  );
  return out;
}

/** unpack: top-level string fields as labels, `_entry` as the new line. */
export function unpackJson(line: string): { labels: [string, string][]; entry: string | undefined } {
  const labels: [string, string][] = [];
  let entry: string | undefined;
  const sc = new Scanner(line);
  sc.ws();
  if (line.charCodeAt(sc.pos) !== C.LBRACE) throw new JsonError('expecting json object(6), but it is not');
  sc.pos++;
  sc.ws();
  if (line.charCodeAt(sc.pos) === C.RBRACE) return { labels, entry };
  for (;;) {
    sc.ws();
    if (line.charCodeAt(sc.pos) !== C.QUOTE) throw new JsonError('Malformed JSON error: expected a key');
    const key = sc.string();
    sc.expect(C.COLON, ':');
    const v = sc.value();
    if (v.kind === 'string') {
      const text = scalarText(sc, 'string', v.start, v.end);
      if (key === '_entry') entry = text;
      else labels.push([key, text]);
    }
    sc.ws();
    const d = line.charCodeAt(sc.pos);
    if (d === C.COMMA) {
      sc.pos++;
      continue;
    }
    if (d === C.RBRACE) return { labels, entry };
    throw new JsonError("Value looks like object, but can't find closing '}' symbol");
  }
}
