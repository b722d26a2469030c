// Parsers for what a Prometheus target serves: the text format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format)
// and OpenMetrics 1.0 (https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md),
// following Prometheus's own parsers (model/textparse) where the specs leave
// room: trailing commas in label sets, NaN/Inf spellings, a missing "# EOF"
// refusing an OpenMetrics scrape.
//
// A sample's series is identified by the exact text of its name and label
// block: the scrape cache keys on that text, so a series seen before is not
// parsed again (its labels are parsed only on a cache miss, through
// parseSeriesLabels).
import type { Labels } from '../../core/index.ts';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export interface ExpositionSample {
  /** the metric name and label block exactly as written (cache key) */
  readonly key: string;
  readonly name: string;
  /** offset of '{' in the text, -1 without labels */
  readonly labelsAt: number;
  readonly value: number;
  /** explicit timestamp in milliseconds, if the line had one */
  readonly timestampMs: number | undefined;
  readonly exemplar?: { readonly labels: Labels; readonly value: number; readonly timestampMs: number | undefined };
}

export interface ExpositionFamily {
  type: string;
  help: string;
  unit: string;
}

export interface Exposition {
  readonly text: string;
  readonly samples: ExpositionSample[];
  /** metric family name -> metadata from TYPE / HELP / UNIT lines */
  readonly families: Map<string, ExpositionFamily>;
}

export type ParseResult = { ok: true; value: Exposition } | { ok: false; error: string };

/** The content type Prometheus 2.42 asks targets for (OpenMetrics first). */
export const SCRAPE_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** Which parser a response's Content-Type asks for. */
export function formatOf(contentType: string | null | undefined): ExpositionFormat {
  return (contentType ?? '').trim().toLowerCase().startsWith('application/openmetrics-text') ? 'openmetrics' : 'prometheus';
}

class ParseError extends Error {}

const TEXT_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const OM_TYPES = new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}
function isLabelStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isLabelChar(c: number): boolean {
  return isLabelStart(c) || (c >= 48 && c <= 57);
}

const FLOAT_RE = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|[Nn][Aa][Nn]|[Ii][Nn][Ff](?:[Ii][Nn][Ii][Tt][Yy])?)$/;

/** A float as Go's strconv.ParseFloat reads it (what Prometheus uses). */
export function parseGoFloat(s: string): number | undefined {
  if (!FLOAT_RE.test(s)) return undefined;
  const lower = s.toLowerCase();
  if (lower.endsWith('nan')) return NaN;
  if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? -Infinity : Infinity;
  if (/0x/i.test(s)) {
    const neg = s.startsWith('-');
    const v = Number(s.replace(/^[+-]/, ''));
    return neg ? -v : v;
  }
  return Number(s);
}

/** Cursor over one line. */
class Line {
  pos: number;
  constructor(readonly text: string, start: number, readonly end: number) {
    this.pos = start;
  }
  peek(): number {
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
  }
  skipSpaces(): number {
    const p0 = this.pos;
    while (this.pos < this.end && (this.text.charCodeAt(this.pos) === 32 || this.text.charCodeAt(this.pos) === 9)) this.pos++;
    return this.pos - p0;
  }
  expect(c: number, what: string): void {
    if (this.peek() !== c) throw new ParseError(`expected ${what} at column ${this.pos}`);
    this.pos++;
  }
  token(): string {
    const p0 = this.pos;
    while (this.pos < this.end && this.text.charCodeAt(this.pos) !== 32 && this.text.charCodeAt(this.pos) !== 9) this.pos++;
    return this.text.slice(p0, this.pos);
  }
  metricName(): string {
    const p0 = this.pos;
    if (!isNameStart(this.peek())) throw new ParseError(`expected a metric name, got ${JSON.stringify(this.text.slice(this.pos, this.pos + 20))}`);
    while (this.pos < this.end && isNameChar(this.text.charCodeAt(this.pos))) this.pos++;
    return this.text.slice(p0, this.pos);
  }
  labelName(): string {
    const p0 = this.pos;
    if (!isLabelStart(this.peek())) throw new ParseError(`expected a label name at column ${this.pos}`);
    while (this.pos < this.end && isLabelChar(this.text.charCodeAt(this.pos))) this.pos++;
    return this.text.slice(p0, this.pos);
  }
  /** a double-quoted label value with \\, \" and \n escapes */
  quoted(): string {
    this.expect(34, 'a quoted label value');
    let out = '';
    let from = this.pos;
    for (;;) {
      if (this.pos >= this.end) throw new ParseError('unterminated label value');
      const c = this.text.charCodeAt(this.pos);
      if (c === 34) break;
      if (c === 92) {
        out += this.text.slice(from, this.pos);
        const n = this.text.charCodeAt(this.pos + 1);
        if (n === 92) out += '\\';
        else if (n === 34) out += '"';
        else if (n === 110) out += '\n';
        else throw new ParseError(`invalid escape \\${String.fromCharCode(n)} in a label value`);
        this.pos += 2;
        from = this.pos;
        continue;
      }
      this.pos++;
    }
    out += this.text.slice(from, this.pos);
    this.pos++;
    return out;
  }
  /** `{name="value", ...}` into the arrays; the cursor is on '{' */
  labels(names: string[], values: string[], strict: boolean): void {
    this.expect(123, '{');
    for (;;) {
      if (!strict) this.skipSpaces();
      if (this.peek() === 125) {
        this.pos++;
        return;
      }
      const name = this.labelName();
      if (!strict) this.skipSpaces();
      this.expect(61, '=');
      if (!strict) this.skipSpaces();
      const value = this.quoted();
      if (names.includes(name)) throw new ParseError(`duplicate label name ${name}`);
      names.push(name);
      values.push(value);
      if (!strict) this.skipSpaces();
      const c = this.peek();
      if (c === 44) {
        this.pos++;
        continue;
      }
      if (c === 125) {
        this.pos++;
        return;
      }
      throw new ParseError(`expected , or } in a label set at column ${this.pos}`);
    }
  }
}

function unescapeHelp(s: string, om: boolean): string {
  return s.replace(/\\(.)/g, (m, c: string) => (c === 'n' ? '\n' : c === '\\' ? '\\' : om && c === '"' ? '"' : m));
}

/** The label names and values of a sample whose series text was not cached. */
export function parseSeriesLabels(text: string, labelsAt: number, format: ExpositionFormat): { names: string[]; values: string[] } {
  const names: string[] = [];
  const values: string[] = [];
  if (labelsAt >= 0) new Line(text, labelsAt, text.length).labels(names, values, format === 'openmetrics');
  return { names, values };
}

export function parseExposition(text: string, format: ExpositionFormat): ParseResult {
  const om = format === 'openmetrics';
  const samples: ExpositionSample[] = [];
  const families = new Map<string, ExpositionFamily>();
  const family = (name: string): ExpositionFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: om ? 'unknown' : 'untyped', help: '', unit: '' }));
    return f;
  };
  let lineNo = 0;
  let sawEof = false;
  let start = 0;
  try {
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      lineNo++;
      const next = end + 1;
      let lineEnd = end;
      if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 13 && !om) lineEnd--; // tolerate CRLF in the text format
      if (sawEof) {
        if (lineEnd > start) throw new ParseError('content after # EOF');
        start = next;
        continue;
      }
      const l = new Line(text, start, lineEnd);
      if (!om) l.skipSpaces();
      if (l.pos >= lineEnd) {
        if (om) throw new ParseError('empty line (OpenMetrics allows none)');
        start = next;
        continue;
      }
      if (l.peek() === 35) {
        // # HELP / # TYPE / # UNIT / # EOF or a plain comment
        l.pos++;
        l.skipSpaces();
        const kw = l.token();
        if (om && kw === 'EOF' && l.pos === lineEnd) {
          sawEof = true;
          start = next;
          continue;
        }
        if (kw === 'HELP' || kw === 'TYPE' || (om && kw === 'UNIT')) {
          if (l.skipSpaces() === 0) throw new ParseError(`# ${kw} needs a metric name`);
          const name = l.metricName();
          const rest = l.pos < lineEnd ? (l.skipSpaces(), text.slice(l.pos, lineEnd)) : '';
          if (kw === 'HELP') family(name).help = unescapeHelp(rest, om);
          else if (kw === 'UNIT') family(name).unit = rest;
          else {
            const t = rest.trim();
            if (!(om ? OM_TYPES : TEXT_TYPES).has(t)) throw new ParseError(`invalid metric type ${JSON.stringify(t)}`);
            family(name).type = t;
          }
        } else if (om) {
          throw new ParseError(`invalid comment line (OpenMetrics allows # HELP, # TYPE, # UNIT and # EOF)`);
        }
        start = next;
        continue;
      }
      // a sample
      const p0 = l.pos;
      const name = l.metricName();
      let labelsAt = -1;
      if (l.peek() === 123) {
        labelsAt = l.pos;
        l.labels([], [], om); // validates; values are parsed again only on a cache miss
      }
      const key = text.slice(p0, l.pos);
      if (l.skipSpaces() === 0) throw new ParseError('expected a space before the value');
      const vtok = l.token();
      const value = parseGoFloat(vtok);
      if (value === undefined) throw new ParseError(`invalid value ${JSON.stringify(vtok)}`);
      let timestampMs: number | undefined;
      let exemplar: ExpositionSample['exemplar'];
      l.skipSpaces();
      if (l.pos < lineEnd && l.peek() !== 35) {
        const ttok = l.token();
        if (om) {
          const ts = parseGoFloat(ttok);
          if (ts === undefined || !Number.isFinite(ts)) throw new ParseError(`invalid timestamp ${JSON.stringify(ttok)}`);
          timestampMs = Math.round(ts * 1000);
        } else {
          if (!/^-?\d+$/.test(ttok)) throw new ParseError(`invalid timestamp ${JSON.stringify(ttok)}`);
          timestampMs = Number(ttok);
        }
        l.skipSpaces();
      }
      if (l.pos < lineEnd) {
        if (!om || l.peek() !== 35) throw new ParseError(`unexpected ${JSON.stringify(text.slice(l.pos, Math.min(lineEnd, l.pos + 20)))} after the value`);
        // exemplar: # {labels} value [timestamp]
        l.pos++;
        l.skipSpaces();
        const en: string[] = [];
        const ev: string[] = [];
        l.labels(en, ev, true);
        l.skipSpaces();
        const xv = parseGoFloat(l.token());
        if (xv === undefined) throw new ParseError('invalid exemplar value');
        l.skipSpaces();
        let xts: number | undefined;
        if (l.pos < lineEnd) {
          const t = parseGoFloat(l.token());
          if (t === undefined) throw new ParseError('invalid exemplar timestamp');
          xts = Math.round(t * 1000);
        }
        const order = en.map((_, i) => i).sort((a, b) => ((en[a] as string) < (en[b] as string) ? -1 : 1));
        exemplar = { labels: { names: order.map((i) => en[i] as string), values: order.map((i) => ev[i] as string) }, value: xv, timestampMs: xts };
      }
      samples.push({ key, name, labelsAt, value, timestampMs, ...(exemplar ? { exemplar } : {}) });
      start = next;
    }
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, error: `line ${lineNo}: ${e.message}` };
    throw e;
  }
  if (om && !sawEof) return { ok: false, error: 'data does not end with # EOF' };
  return { ok: true, value: { text, samples, families } };
}
