// Loki push (POST /loki/api/v1/push): JSON and protobuf bodies (already
// decompressed) into a LogsBatch, plus the protobuf encoder the tests and
// benchmarks use.
//
// Formats followed (https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs):
// - JSON: {"streams":[{"stream":{"label":"value"},"values":[["<unix ns as a string>","<line>",{"<structured metadata>":"..."}?]]}]}
// - protobuf, grafana/loki pkg/push/push.proto (package logproto):
//     PushRequest      { repeated StreamAdapter streams = 1; }
//     StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//     EntryAdapter     { google.protobuf.Timestamp timestamp = 1; string line = 2;
//                        repeated LabelPairAdapter structuredMetadata = 3; }
//     LabelPairAdapter { string name = 1; string value = 2; }
//     Timestamp        { int64 seconds = 1; int32 nanos = 2; }
//   `labels` is a Prometheus series selector string: {a="b", c="d"}.
//
// Undecodable bodies answer 400. A stream whose labels are bad is rejected
// on its own, and so is an entry whose timestamp is bad; the rest is kept.
import { sortLabels, type Labels } from '../core/index.ts';
import { ProtobufDecodeError, ProtobufReader, WIRE_LEN, WIRE_VARINT } from './protobuf-reader.ts';
import { ProtobufWriter } from './protobuf-writer.ts';
import { RejectionCollector, toLabels, type LabelsInput } from './decode-helpers.ts';
import { EMPTY_LABELS, makeStream } from './series.ts';
import type { DecodeResult, LogStream, LogsBatch } from './types.ts';

export type LokiPushFormat = 'json' | 'protobuf';

/**
 * Picks the body format from Content-Type. Loki itself reads anything that is
 * not application/json as protobuf; we answer 415 to types that are neither,
 * so a misconfigured client learns why instead of getting a decode error.
 */
export function lokiPushFormat(contentType: string | undefined): DecodeResult<LokiPushFormat> {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === 'application/json') return { ok: true, value: 'json' };
  if (media === '' || media === 'application/x-protobuf' || media === 'application/protobuf') return { ok: true, value: 'protobuf' };
  return { ok: false, status: 415, message: `unsupported Content-Type ${JSON.stringify(contentType)}; Loki push accepts application/json or application/x-protobuf` };
}

/** Decodes a Loki push body; the format comes from its Content-Type. */
export function decodeLokiPush(body: Uint8Array, contentType: string | undefined): DecodeResult<LogsBatch> {
  const format = lokiPushFormat(contentType);
  if (!format.ok) return format;
  if (format.value === 'json') return decodeLokiPushJson(body);
  try {
    return decodeLokiPushProto(body);
  } catch (e) {
    if (e instanceof ProtobufDecodeError) return { ok: false, status: 400, message: `cannot decode logproto.PushRequest: ${e.message}` };
    throw e;
  }
}

const utf8 = new TextDecoder('utf-8');

/** Growable record columns. */
class RecordBuilder {
  readonly streams: LogStream[] = [];
  /** severity implied by each stream's labels */
  readonly streamSeverity: string[] = [];
  recordStream = new Uint32Array(64);
  timestampsNs = new BigInt64Array(64);
  readonly bodies: string[] = [];
  readonly severities: string[] = [];
  readonly metadata: Labels[] = [];
  count = 0;
  readonly rejected = new RejectionCollector();

  addStream(labels: Labels): number {
    const s = makeStream(labels.names, labels.values);
    this.streams.push(s);
    this.streamSeverity.push(severityOf(s.labels));
    return this.streams.length - 1;
  }

  add(stream: number, tsNs: bigint, line: string, metadata: Labels): void {
    const i = this.count;
    if (i === this.recordStream.length) {
      const rs = new Uint32Array(i * 2);
      rs.set(this.recordStream);
      this.recordStream = rs;
      const ts = new BigInt64Array(i * 2);
      ts.set(this.timestampsNs);
      this.timestampsNs = ts;
    }
    this.recordStream[i] = stream;
    this.timestampsNs[i] = tsNs;
    this.bodies.push(line);
    const own = metadata.names.length > 0 ? severityOf(metadata) : '';
    this.severities.push(own !== '' ? own : (this.streamSeverity[stream] as string));
    this.metadata.push(metadata);
    this.count++;
  }

  build(): LogsBatch {
    const n = this.count;
    const empty: string[] = new Array<string>(n).fill('');
    return {
      streams: this.streams,
      recordStream: this.recordStream.subarray(0, n),
      timestampsNs: this.timestampsNs.subarray(0, n),
      bodies: this.bodies,
      severities: this.severities,
      // Loki push carries no trace context of its own; it may sit in structured metadata.
      traceIds: empty,
      spanIds: empty.slice(),
      metadata: this.metadata,
      recordCount: n,
      rejected: this.rejected.toArray(),
    };
  }
}

/**
 * Severity from a label set: Loki's `detected_level` (what Loki itself
 * derives) first, then a plain `level`; '' when neither is present. Entry
 * structured metadata wins over stream labels because it is more specific.
 */
function severityOf(l: Labels): string {
  let level = '';
  for (let i = 0; i < l.names.length; i++) {
    const n = l.names[i];
    if (n === 'detected_level') return l.values[i] as string;
    if (n === 'level') level = l.values[i] as string;
  }
  return level;
}

const INT64_MAX = (1n << 63n) - 1n;

// ---------------------------------------------------------------- JSON

function decodeLokiPushJson(body: Uint8Array): DecodeResult<LogsBatch> {
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(body));
  } catch (e) {
    return bad(`body is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc) || !Array.isArray(doc['streams'])) return bad('expected a JSON object {"streams":[...]}');
  const b = new RecordBuilder();
  const streams = doc['streams'] as unknown[];
  for (let si = 0; si < streams.length; si++) {
    const st = streams[si];
    if (!isObject(st)) return bad(`streams[${si}] is not an object`);
    const values = st['values'];
    if (!Array.isArray(values)) return bad(`streams[${si}].values is not an array`);
    // Check the shape of every entry first, so a malformed body is a 400 whatever the labels.
    for (let ei = 0; ei < values.length; ei++) {
      const shapeError = entryShapeError(values[ei]);
      if (shapeError !== null) return bad(`streams[${si}].values[${ei}]: ${shapeError}`);
    }
    const labels = jsonStreamLabels(st['stream']);
    if (typeof labels === 'string') {
      if (values.length > 0) b.rejected.add(`stream ${si}: ${labels}`, values.length);
      continue;
    }
    if (values.length === 0) continue;
    const stream = b.addStream(labels);
    for (const v of values as [unknown, string, Record<string, string>?][]) {
      const ts = jsonTimestamp(v[0]);
      if (typeof ts === 'string') {
        b.rejected.add(`stream ${formatLokiLabels(labels)}: ${ts}`, 1);
        continue;
      }
      const md = v[2];
      let metadata = EMPTY_LABELS;
      if (md !== undefined) {
        const names = Object.keys(md);
        if (names.length > 0) metadata = sortLabels(names, names.map((n) => md[n] as string));
      }
      b.add(stream, ts, v[1], metadata);
    }
  }
  return { ok: true, value: b.build() };
}

function entryShapeError(v: unknown): string | null {
  if (!Array.isArray(v) || v.length < 2 || v.length > 3) return 'expected ["<unix ns>", "<line>", {metadata}?]';
  if (typeof v[1] !== 'string') return 'the log line must be a string';
  if (v.length === 3) {
    const md = v[2];
    if (!isObject(md)) return 'structured metadata must be an object of strings';
    for (const k in md) if (typeof md[k] !== 'string') return `structured metadata ${JSON.stringify(k)} must be a string`;
  }
  return null;
}

function jsonStreamLabels(stream: unknown): Labels | string {
  if (!isObject(stream)) return 'the "stream" labels must be an object';
  const names: string[] = [];
  const values: string[] = [];
  for (const k in stream) {
    const v = stream[k];
    if (typeof v !== 'string') return `label ${JSON.stringify(k)} must have a string value`;
    names.push(k);
    values.push(v);
  }
  return checkStreamLabels(names, values);
}

/** A JSON timestamp in ns: a decimal string (Loki's format) or a number that is exactly representable. */
function jsonTimestamp(v: unknown): bigint | string {
  if (typeof v === 'string') return parseNs(v);
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v > 0) return BigInt(v);
    return `timestamp ${v} is not exact as a JSON number; send nanoseconds as a string`;
  }
  return 'timestamp must be a string of nanoseconds since the epoch';
}

function parseNs(s: string): bigint | string {
  if (!/^[0-9]{1,19}$/.test(s)) return `invalid timestamp ${JSON.stringify(s.slice(0, 40))}: expected nanoseconds since the epoch as a decimal string`;
  const ns = BigInt(s);
  if (ns > INT64_MAX) return `timestamp ${s} is out of range`;
  if (ns === 0n) return 'timestamp is zero';
  return ns;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(message: string): DecodeResult<never> {
  return { ok: false, status: 400, message };
}

/** Label rules Loki applies to a stream: at least one label, valid unique names, non-empty values. */
function checkStreamLabels(names: string[], values: string[]): Labels | string {
  if (names.length === 0) return 'a stream needs at least one label';
  const l = sortLabels(names, values);
  for (let i = 0; i < l.names.length; i++) {
    const n = l.names[i] as string;
    if (!LABEL_NAME.test(n)) return `invalid label name ${JSON.stringify(n)}`;
    if (i > 0 && n === l.names[i - 1]) return `duplicate label name ${JSON.stringify(n)}`;
    if (l.values[i] === '') return `label ${JSON.stringify(n)} has an empty value`;
  }
  return l;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// ---------------------------------------------------------------- protobuf

const LEN1 = (1 << 3) | WIRE_LEN;
const LEN2 = (2 << 3) | WIRE_LEN;
const LEN3 = (3 << 3) | WIRE_LEN;
const VARINT1 = (1 << 3) | WIRE_VARINT;
const VARINT2 = (2 << 3) | WIRE_VARINT;

function decodeLokiPushProto(body: Uint8Array): DecodeResult<LogsBatch> {
  const r = new ProtobufReader(body);
  const b = new RecordBuilder();
  // Identical label strings map to one stream (and are parsed once).
  const byLabelString = new Map<string, number | string>();
  let streamNo = 0;
  while (r.more()) {
    const t = r.tag();
    if (t === LEN1) {
      readStream(r, b, byLabelString, streamNo++);
    } else {
      if (t >>> 3 === 1) throw new ProtobufDecodeError(`PushRequest.streams: unexpected wire type ${t & 7}`);
      r.skip(t & 7); // format (2) and future fields
    }
  }
  return { ok: true, value: b.build() };
}

function readStream(r: ProtobufReader, b: RecordBuilder, byLabelString: Map<string, number | string>, streamNo: number): void {
  const outer = r.enter();
  const start = r.pos;
  // First pass: the labels (they may follow the entries on the wire) and the entry count.
  let labelString: string | null | undefined;
  let entries = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === LEN1) labelString = r.stringOrNull();
    else if (t === LEN2) {
      entries++;
      r.skip(WIRE_LEN);
    } else if (t >>> 3 <= 2) throw new ProtobufDecodeError(`StreamAdapter: unexpected wire type ${t & 7}`);
    else r.skip(t & 7); // hash (3)
  }
  let stream: number | string;
  if (labelString === undefined) stream = 'stream has no labels';
  else if (labelString === null) stream = 'labels are not valid UTF-8';
  else {
    const known = byLabelString.get(labelString);
    if (known !== undefined) stream = known;
    else {
      const parsed = parseLokiLabels(labelString);
      stream = typeof parsed === 'string' ? `${parsed} in labels ${JSON.stringify(labelString.slice(0, 200))}` : b.addStream(parsed);
      byLabelString.set(labelString, stream);
    }
  }
  if (typeof stream === 'string') {
    if (entries > 0) b.rejected.add(`stream ${streamNo}: ${stream}`, entries);
    r.pos = r.end;
    r.leave(outer);
    return;
  }
  // Second pass: the entries.
  r.pos = start;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === LEN2) readEntry(r, b, stream, labelString as string);
    else r.skip(t & 7);
  }
  r.leave(outer);
}

function readEntry(r: ProtobufReader, b: RecordBuilder, stream: number, labelString: string): void {
  const outer = r.enter();
  let seconds = 0;
  let nanos = 0;
  let hasTs = false;
  let line = '';
  let mdNames: string[] | null = null;
  let mdValues: string[] | null = null;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === LEN1) {
      hasTs = true;
      const o = r.enter();
      while (r.pos < r.end) {
        const tt = r.tag();
        if (tt === VARINT1) seconds = r.int64();
        else if (tt === VARINT2) nanos = r.int32();
        else if (tt >>> 3 <= 2) throw new ProtobufDecodeError(`Timestamp: unexpected wire type ${tt & 7}`);
        else r.skip(tt & 7);
      }
      r.leave(o);
    } else if (t === LEN2) {
      line = r.string();
    } else if (t === LEN3) {
      const o = r.enter();
      let name = '';
      let value = '';
      while (r.pos < r.end) {
        const tt = r.tag();
        if (tt === LEN1) name = r.string();
        else if (tt === LEN2) value = r.string();
        else if (tt >>> 3 <= 2) throw new ProtobufDecodeError(`LabelPairAdapter: unexpected wire type ${tt & 7}`);
        else r.skip(tt & 7);
      }
      r.leave(o);
      (mdNames ??= []).push(name);
      (mdValues ??= []).push(value);
    } else if (t >>> 3 <= 3) {
      throw new ProtobufDecodeError(`EntryAdapter: unexpected wire type ${t & 7}`);
    } else {
      r.skip(t & 7); // parsed (4) and future fields
    }
  }
  r.leave(outer);
  // google.protobuf.Timestamp: nanos in [0, 1e9); seconds since the epoch.
  let problem: string | null = null;
  if (!hasTs || (seconds === 0 && nanos === 0)) problem = 'entry without a timestamp';
  else if (nanos < 0 || nanos >= 1e9) problem = `timestamp nanos ${nanos} outside [0, 1e9)`;
  else if (seconds < 0 || seconds > 9_223_372_036) problem = `timestamp seconds ${seconds} out of range`;
  const ns = problem === null ? BigInt(seconds) * 1_000_000_000n + BigInt(nanos) : 0n;
  if (ns > INT64_MAX) problem = `timestamp ${seconds}.${nanos} s is beyond the int64 nanosecond range`;
  if (problem !== null) {
    b.rejected.add(`stream ${labelString.slice(0, 200)}: ${problem}`, 1);
    return;
  }
  b.add(stream, ns, line, mdNames === null ? EMPTY_LABELS : sortLabels(mdNames, mdValues as string[]));
}

// ---------------------------------------------------------------- label strings

/**
 * Parses a Loki stream selector of equality matchers, {a="b", c="d"}, as
 * Loki does for StreamAdapter.labels (it uses the PromQL metric parser).
 * Values are double-quoted, single-quoted or backquoted PromQL strings with
 * Go escapes (\n, \", \\, \xNN, \NNN, \uNNNN, \UNNNNNNNN); names are
 * identifiers or quoted strings. Returns the labels or a reason.
 */
export function parseLokiLabels(s: string): Labels | string {
  const p = new SelectorParser(s);
  try {
    p.ws();
    p.expect('{');
    const names: string[] = [];
    const values: string[] = [];
    p.ws();
    while (!p.peek('}')) {
      const name = p.peekQuote() ? p.quoted() : p.ident();
      p.ws();
      if (!p.peek('=') || p.peekAt(1) === '=' || p.peekAt(1) === '~') throw new SyntaxError(`only equality (=) matchers are allowed, at ${p.pos}`);
      p.expect('=');
      p.ws();
      if (!p.peekQuote()) throw new SyntaxError(`expected a quoted value for ${JSON.stringify(name)} at ${p.pos}`);
      const value = p.quoted();
      names.push(name);
      values.push(value);
      p.ws();
      if (p.peek(',')) {
        p.pos++;
        p.ws();
      } else if (!p.peek('}')) throw new SyntaxError(`expected , or } at ${p.pos}`);
    }
    p.expect('}');
    p.ws();
    if (p.pos !== s.length) throw new SyntaxError(`unexpected text after } at ${p.pos}`);
    return checkStreamLabels(names, values);
  } catch (e) {
    if (e instanceof SyntaxError) return `invalid labels: ${e.message}`;
    throw e;
  }
}

class SelectorParser {
  pos = 0;
  constructor(private readonly s: string) {}

  ws(): void {
    while (this.pos < this.s.length && ' \t\n\r'.includes(this.s[this.pos] as string)) this.pos++;
  }

  peek(c: string): boolean {
    return this.s[this.pos] === c;
  }

  peekAt(offset: number): string | undefined {
    return this.s[this.pos + offset];
  }

  peekQuote(): boolean {
    const c = this.s[this.pos];
    return c === '"' || c === "'" || c === '`';
  }

  expect(c: string): void {
    if (this.s[this.pos] !== c) throw new SyntaxError(`expected ${c} at ${this.pos}`);
    this.pos++;
  }

  ident(): string {
    const m = /[a-zA-Z_][a-zA-Z0-9_]*/y;
    m.lastIndex = this.pos;
    const r = m.exec(this.s);
    if (r === null) throw new SyntaxError(`expected a label name at ${this.pos}`);
    this.pos += r[0].length;
    return r[0];
  }

  /** A quoted string with Go escape rules (raw for backquotes). */
  quoted(): string {
    const s = this.s;
    const q = s[this.pos] as string;
    let i = this.pos + 1;
    if (q === '`') {
      const end = s.indexOf('`', i);
      if (end < 0) throw new SyntaxError('unterminated raw string');
      this.pos = end + 1;
      return s.slice(i, end);
    }
    let out = '';
    let bytes: number[] | null = null; // pending \x / octal bytes, decoded together as UTF-8
    const flush = (): void => {
      if (bytes !== null) {
        out += utf8.decode(new Uint8Array(bytes));
        bytes = null;
      }
    };
    for (;;) {
      if (i >= s.length) throw new SyntaxError('unterminated string');
      const c = s[i] as string;
      if (c === q) {
        i++;
        break;
      }
      if (c === '\n') throw new SyntaxError('newline in string');
      if (c !== '\\') {
        flush();
        out += c;
        i++;
        continue;
      }
      const e = s[i + 1];
      i += 2;
      switch (e) {
        case 'a': flush(); out += '\x07'; break;
        case 'b': flush(); out += '\b'; break;
        case 'f': flush(); out += '\f'; break;
        case 'n': flush(); out += '\n'; break;
        case 'r': flush(); out += '\r'; break;
        case 't': flush(); out += '\t'; break;
        case 'v': flush(); out += '\v'; break;
        case '\\': flush(); out += '\\'; break;
        case '"':
        case "'":
          if (e !== q) throw new SyntaxError(`unknown escape \\${e}`);
          flush();
          out += e;
          break;
        case 'x': {
          const h = s.slice(i, i + 2);
          if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new SyntaxError('bad \\x escape');
          (bytes ??= []).push(parseInt(h, 16));
          i += 2;
          break;
        }
        case 'u':
        case 'U': {
          const n = e === 'u' ? 4 : 8;
          const h = s.slice(i, i + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new SyntaxError(`bad \\${e} escape`);
          const cp = parseInt(h, 16);
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new SyntaxError(`invalid code point in \\${e} escape`);
          flush();
          out += String.fromCodePoint(cp);
          i += n;
          break;
        }
        default: {
          const o = s.slice(i - 1, i + 2);
          if (e !== undefined && /^[0-7]{3}$/.test(o)) {
            const v = parseInt(o, 8);
            if (v > 255) throw new SyntaxError('octal escape above \\377');
            (bytes ??= []).push(v);
            i += 2;
            break;
          }
          throw new SyntaxError(`unknown escape \\${e ?? ''}`);
        }
      }
    }
    flush();
    this.pos = i;
    return out;
  }
}

/**
 * Formats labels as a Loki stream selector. JSON string syntax is a subset of
 * Go's double-quoted string syntax (\", \\, \n, \uNNNN...), so JSON.stringify
 * quotes values the way Loki's parser reads them back.
 */
export function formatLokiLabels(labels: Labels): string {
  let s = '{';
  for (let i = 0; i < labels.names.length; i++) {
    if (i > 0) s += ', ';
    s += `${labels.names[i] as string}=${JSON.stringify(labels.values[i] as string)}`;
  }
  return `${s}}`;
}

// ---------------------------------------------------------------- encoder

export interface LokiEntryInput {
  readonly timestampNs: bigint;
  readonly line: string;
  readonly metadata?: LabelsInput;
}

export interface LokiStreamInput {
  readonly labels: LabelsInput;
  readonly entries: readonly LokiEntryInput[];
}

/** Encodes a logproto.PushRequest (uncompressed; Loki expects it snappy-compressed). */
export function encodeLokiPushProto(streams: readonly LokiStreamInput[]): Uint8Array {
  const w = new ProtobufWriter(256);
  for (const s of streams) {
    w.tag(1, WIRE_LEN).fork();
    w.fieldString(1, formatLokiLabels(toLabels(s.labels)));
    for (const e of s.entries) {
      w.tag(2, WIRE_LEN).fork();
      w.tag(1, WIRE_LEN).fork();
      const seconds = e.timestampNs / 1_000_000_000n;
      const nanos = Number(e.timestampNs - seconds * 1_000_000_000n);
      if (seconds !== 0n) w.tag(1, WIRE_VARINT).int64BigInt(seconds);
      if (nanos !== 0) w.tag(2, WIRE_VARINT).uint32(nanos);
      w.ldelim();
      w.fieldString(2, e.line);
      if (e.metadata) {
        const md = toLabels(e.metadata);
        for (let i = 0; i < md.names.length; i++) {
          w.tag(3, WIRE_LEN).fork();
          w.fieldString(1, md.names[i] as string);
          w.fieldString(2, md.values[i] as string);
          w.ldelim();
        }
      }
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
}
