// Building blocks shared by the OTLP decoders (metrics, logs, traces):
//  - a minimal protobuf wire reader (varint, fixed32/64, length-delimited,
//    skip), so the hot path reads fields straight out of the request bytes
//    without protobufjs reflection or intermediate message objects;
//  - AnyValue / KeyValue decoding for both OTLP encodings (binary protobuf and
//    OTLP/JSON), rendered to strings as the OTel spec says non-OTLP protocols
//    should (https://github.com/open-telemetry/opentelemetry-specification/blob/main/specification/common/README.md#anyvalue-representation-for-non-otlp-protocols);
//  - the Export*ServiceResponse encoders (partial success) for HTTP and gRPC.
//
// Field numbers follow open-telemetry/opentelemetry-proto
// (opentelemetry/proto/common/v1/common.proto, resource/v1/resource.proto,
// collector/*/v1/*_service.proto).
//
// NOTE: protocols/protobuf-reader.ts (the shared reader, written at the same
// time) was not in the tree when this was started, so ProtoReader below is
// the OTLP decoders' own minimal reader. The two do the same job; merge them
// (one reader, both APIs' callers) when convenient.
import type { DecodeResult, Rejection } from './types.ts';

export type OtlpFormat = 'protobuf' | 'json';
export type OtlpSignal = 'metrics' | 'logs' | 'traces';

/** Thrown inside a decoder on malformed input; caught at the decoder's edge and returned as a 400. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

export function fail(message: string): never {
  throw new OtlpDecodeError(message);
}

/** Runs a decoder, turning malformed-input errors (and stack exhaustion on hostile nesting) into a 400 value. */
export function runDecoder<T>(what: string, decode: () => T): DecodeResult<T> {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (e instanceof OtlpDecodeError) return { ok: false, status: 400, message: `invalid ${what}: ${e.message}` };
    if (e instanceof SyntaxError) return { ok: false, status: 400, message: `invalid ${what}: body is not valid JSON (${e.message})` };
    if (e instanceof RangeError) return { ok: false, status: 400, message: `invalid ${what}: ${e.message}` };
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Protobuf wire reader
// ---------------------------------------------------------------------------

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** Deepest AnyValue / group nesting we follow; deeper input is rejected, not recursed into. */
export const MAX_NESTING_DEPTH = 64;

interface Utf8Sliceable {
  utf8Slice(start: number, end: number): string;
}

/**
 * A cursor over protobuf bytes. Messages are walked in place: a caller reads
 * a length prefix with {@link lenEnd}, loops `while (r.pos < end)` over the
 * fields of the sub-message, and sets `r.pos = end` after. 64-bit values land
 * in `lo`/`hi` (unsigned 32-bit halves) so no bigint or object is created
 * unless the caller asks for one.
 */
export class ProtoReader {
  readonly buf: Buffer;
  readonly view: DataView;
  pos = 0;
  lo = 0;
  hi = 0;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get length(): number {
    return this.buf.length;
  }

  /** The next tag: (field number << 3) | wire type. */
  tag(end: number): number {
    const t = this.varint32(end);
    if (t >>> 3 === 0) fail(`field number 0 at byte ${this.pos}`);
    return t;
  }

  /** A varint's low 32 bits, unsigned (uint32, enum, bool; `| 0` gives int32). */
  varint32(end: number): number {
    const b = this.buf;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end) fail(`truncated varint at byte ${pos}`);
      const byte = b[pos++] as number;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
      if (shift >= 63) fail(`varint longer than 10 bytes at byte ${pos}`);
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** A full 64-bit varint into `lo`/`hi`. */
  varint64(end: number): void {
    const b = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) fail(`truncated varint at byte ${pos}`);
      const byte = b[pos++] as number;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    fail(`varint longer than 10 bytes at byte ${pos}`);
  }

  /** fixed64 / sfixed64 / double payload into `lo`/`hi`. */
  fixed64(end: number): void {
    const pos = this.pos;
    if (pos + 8 > end) fail(`truncated fixed64 at byte ${pos}`);
    this.lo = this.view.getUint32(pos, true);
    this.hi = this.view.getUint32(pos + 4, true);
    this.pos = pos + 8;
  }

  double(end: number): number {
    const pos = this.pos;
    if (pos + 8 > end) fail(`truncated double at byte ${pos}`);
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  fixed32(end: number): number {
    const pos = this.pos;
    if (pos + 4 > end) fail(`truncated fixed32 at byte ${pos}`);
    this.pos = pos + 4;
    return this.view.getUint32(pos, true);
  }

  /** Reads a length prefix; the payload is [pos, returned end). */
  lenEnd(end: number): number {
    this.varint64(end);
    const e = this.pos + this.lo;
    if (this.hi !== 0 || e > end) fail(`length-delimited field overruns its message at byte ${this.pos}`);
    return e;
  }

  string(end: number): string {
    const e = this.lenEnd(end);
    // Buffer#utf8Slice skips toString's argument handling (invalid UTF-8 becomes U+FFFD either way)
    const s = e === this.pos ? '' : (this.buf as unknown as Utf8Sliceable).utf8Slice(this.pos, e);
    this.pos = e;
    return s;
  }

  /** Skips a field of the given wire type (unknown fields must be ignored). */
  skip(wire: number, end: number, depth = 0): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint64(end);
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > end) fail(`truncated fixed64 at byte ${this.pos}`);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd(end);
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > end) fail(`truncated fixed32 at byte ${this.pos}`);
        this.pos += 4;
        return;
      case WIRE_START_GROUP: {
        // deprecated groups: skip until the matching end-group tag
        if (depth >= MAX_NESTING_DEPTH) fail('groups nested too deeply');
        for (;;) {
          if (this.pos >= end) fail('unterminated group');
          const t = this.tag(end);
          if ((t & 7) === WIRE_END_GROUP) return;
          this.skip(t & 7, end, depth + 1);
        }
      }
      default:
        fail(`unexpected wire type ${wire} at byte ${this.pos}`);
    }
  }

  /** Nanoseconds in `lo`/`hi` → whole milliseconds (floor), exactly. */
  nanosToMs(): number {
    // value = hi·2^32 + lo and 2^32 = 4294·10^6 + 967296, so the quotient by
    // 10^6 splits into parts that each stay below 2^53 (exact in a double).
    const x = this.hi * 967296 + this.lo;
    let q = Math.floor(x / 1e6);
    if (q * 1e6 > x) q--;
    return this.hi * 4294 + q;
  }

  /** `lo`/`hi` as an unsigned bigint. */
  u64(): bigint {
    return this.hi === 0 ? BigInt(this.lo) : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** `lo`/`hi` as an unsigned number (exact below 2^53). */
  u64Number(): number {
    return this.hi * 4294967296 + this.lo;
  }

  /** `lo`/`hi` as a signed 64-bit number (sfixed64 / int64; exact below 2^53). */
  i64Number(): number {
    return (this.hi | 0) * 4294967296 + this.lo;
  }

  /** `lo`/`hi` as a signed 64-bit decimal string, exact. */
  i64String(): string {
    const { lo, hi } = this;
    if (hi === 0) return String(lo);
    if (hi < 0x200000) return String(hi * 4294967296 + lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
  }
}

export function expectWire(actual: number, expected: number, field: string): void {
  if (actual !== expected) fail(`${field} has wire type ${actual}, expected ${expected}`);
}

// ---------------------------------------------------------------------------
// Hex / base64 helpers
// ---------------------------------------------------------------------------

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hexOf(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[b[i] as number];
  return s;
}

export function isAllZero(b: Uint8Array, start = 0, end = b.length): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Case-insensitive hex → bytes (OTLP/JSON trace and span ids); null when not hex. */
export function bytesOfHex(s: string): Uint8Array | null {
  if (s.length % 2 !== 0) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const h = hexNibble(s.charCodeAt(2 * i));
    const l = hexNibble(s.charCodeAt(2 * i + 1));
    if (h < 0 || l < 0) return null;
    out[i] = (h << 4) | l;
  }
  return out;
}

// ---------------------------------------------------------------------------
// AnyValue rendering (shared rules)
// ---------------------------------------------------------------------------

/** A double as the spec's non-OTLP rendering wants it at top level: JSON number, or NaN / Infinity / -Infinity bare. */
function doubleText(v: number): string {
  return String(v); // String() already yields NaN, Infinity, -Infinity and JSON-valid numbers
}

/** A double inside a JSON array/map: special values become JSON strings. */
function doubleJson(v: number): string {
  return Number.isFinite(v) ? String(v) : `"${String(v)}"`;
}

/**
 * Attribute lists as parallel arrays (rendered values). Keys keep their OTLP
 * spelling here; each signal maps them (Prometheus label names, Loki
 * structured metadata names, or kept as is for spans).
 */
export interface AttrList {
  keys: string[];
  values: string[];
}

const INSERTION_SORT_MAX = 32;

/**
 * Sorts parallel name/value arrays by name, in place and stably (equal names
 * keep their order). Insertion sort: attribute lists are short, and this
 * allocates nothing, unlike an index sort.
 */
export function sortPairsInPlace(names: string[], values: string[]): void {
  if (names.length > INSERTION_SORT_MAX) {
    // long lists (hostile or unusual input) take an O(n log n) stable index sort
    const idx = names.map((_, i) => i).sort((a, b) => ((names[a] as string) < (names[b] as string) ? -1 : (names[a] as string) > (names[b] as string) ? 1 : a - b));
    const n = idx.map((i) => names[i] as string);
    const v = idx.map((i) => values[i] as string);
    for (let i = 0; i < n.length; i++) {
      names[i] = n[i] as string;
      values[i] = v[i] as string;
    }
    return;
  }
  for (let i = 1; i < names.length; i++) {
    const n = names[i] as string;
    if ((names[i - 1] as string) <= n) continue;
    const v = values[i] as string;
    let j = i - 1;
    while (j >= 0 && (names[j] as string) > n) {
      names[j + 1] = names[j] as string;
      values[j + 1] = values[j] as string;
      j--;
    }
    names[j + 1] = n;
    values[j + 1] = v;
  }
}

/** Sorts (in place) and drops repeated names, the later entry winning. */
export function sortedLastWins(names: string[], values: string[]): { names: string[]; values: string[] } {
  sortPairsInPlace(names, values);
  let dup = false;
  for (let i = 1; i < names.length; i++) if (names[i] === names[i - 1]) dup = true;
  if (!dup) return { names, values };
  const n: string[] = [];
  const v: string[] = [];
  for (let i = 0; i < names.length; i++) {
    if (i + 1 < names.length && names[i + 1] === names[i]) continue;
    n.push(names[i] as string);
    v.push(values[i] as string);
  }
  return { names: n, values: v };
}

export function newAttrList(): AttrList {
  return { keys: [], values: [] };
}

/**
 * How a kvlist-valued attribute is rendered: 'json' gives one attribute whose
 * value is a JSON object; 'flatten' expands it into `key_sub` attributes the
 * way Loki's OTLP ingestion does (structured metadata cannot nest).
 */
export type MapMode = 'json' | 'flatten';

// --- protobuf AnyValue -------------------------------------------------------

// AnyValue oneof field numbers (common.proto)
const AV_STRING = 1;
const AV_BOOL = 2;
const AV_INT = 3;
const AV_DOUBLE = 4;
const AV_ARRAY = 5;
const AV_KVLIST = 6;
const AV_BYTES = 7;

/**
 * Finds which oneof member an AnyValue in [start, end) holds (the last one
 * present wins, as protobuf merges say). Leaves r.pos at the member's payload
 * (or at end for scalar members it has already read into lo/hi).
 */
// Results of the last anyValueKindPb / keyValuePb call. Module-level rather
// than returned objects: these run once per attribute, the hottest loop of
// every OTLP decode. Callers copy them into locals before recursing.
let scanKind = 0;
let scanAt = 0;
let scanWire = 0;
let kvKey = '';
let kvHasValue = false;
let kvValueStart = 0;
let kvValueEnd = 0;

function anyValueKindPb(r: ProtoReader, start: number, end: number): void {
  r.pos = start;
  let kind = 0;
  let at = 0;
  let wire = 0;
  while (r.pos < end) {
    const t = r.tag(end);
    const f = t >>> 3;
    const w = t & 7;
    if (f >= AV_STRING && f <= AV_BYTES) {
      kind = f;
      at = r.pos;
      wire = w;
    }
    r.skip(w, end);
  }
  scanKind = kind;
  scanAt = at;
  scanWire = wire;
}

/** Renders the AnyValue in [start, end): strings as is, arrays and maps as JSON (spec rendering). */
export function renderAnyValuePb(r: ProtoReader, start: number, end: number, depth = 0): string {
  return anyValuePb(r, start, end, depth, false);
}

function anyValuePb(r: ProtoReader, start: number, end: number, depth: number, inJson: boolean): string {
  anyValueKindPb(r, start, end);
  return scannedAnyValuePb(r, scanKind, scanAt, scanWire, end, depth, inJson);
}

/** Renders an AnyValue whose member (kind, payload position, wire type) is already known. */
function scannedAnyValuePb(r: ProtoReader, kind: number, at: number, wire: number, end: number, depth: number, inJson: boolean): string {
  if (depth > MAX_NESTING_DEPTH) fail('AnyValue nested too deeply');
  r.pos = at;
  let out: string;
  switch (kind) {
    case AV_STRING: {
      expectWire(wire, WIRE_LEN, 'AnyValue.string_value');
      const s = r.string(end);
      out = inJson ? JSON.stringify(s) : s;
      break;
    }
    case AV_BOOL:
      expectWire(wire, WIRE_VARINT, 'AnyValue.bool_value');
      r.varint64(end);
      out = r.lo !== 0 || r.hi !== 0 ? 'true' : 'false';
      break;
    case AV_INT:
      expectWire(wire, WIRE_VARINT, 'AnyValue.int_value');
      r.varint64(end);
      out = r.i64String();
      break;
    case AV_DOUBLE: {
      expectWire(wire, WIRE_FIXED64, 'AnyValue.double_value');
      const v = r.double(end);
      out = inJson ? doubleJson(v) : doubleText(v);
      break;
    }
    case AV_ARRAY: {
      expectWire(wire, WIRE_LEN, 'AnyValue.array_value');
      const e = r.lenEnd(end);
      const parts: string[] = [];
      while (r.pos < e) {
        const t = r.tag(e);
        if (t >>> 3 === 1) {
          expectWire(t & 7, WIRE_LEN, 'ArrayValue.values');
          const ve = r.lenEnd(e);
          parts.push(anyValuePb(r, r.pos, ve, depth + 1, true));
          r.pos = ve;
        } else r.skip(t & 7, e);
      }
      out = `[${parts.join(',')}]`;
      break;
    }
    case AV_KVLIST: {
      expectWire(wire, WIRE_LEN, 'AnyValue.kvlist_value');
      const e = r.lenEnd(end);
      const parts: string[] = [];
      while (r.pos < e) {
        const t = r.tag(e);
        if (t >>> 3 === 1) {
          expectWire(t & 7, WIRE_LEN, 'KeyValueList.values');
          const ke = r.lenEnd(e);
          keyValuePb(r, ke);
          const key = kvKey;
          parts.push(`${JSON.stringify(key)}:${kvHasValue ? anyValuePb(r, kvValueStart, kvValueEnd, depth + 1, true) : 'null'}`);
          r.pos = ke;
        } else r.skip(t & 7, e);
      }
      out = `{${parts.join(',')}}`;
      break;
    }
    case AV_BYTES: {
      expectWire(wire, WIRE_LEN, 'AnyValue.bytes_value');
      const e = r.lenEnd(end);
      const b64 = r.buf.toString('base64', r.pos, e);
      out = inJson ? `"${b64}"` : b64;
      break;
    }
    default:
      // empty value (or string_value_strindex, which only has meaning inside profiles' dictionary)
      out = inJson ? 'null' : '';
  }
  r.pos = end;
  return out;
}

/** KeyValue in [r.pos, end): its key, and where its AnyValue lies (fields may come in any order), into kv* */
function keyValuePb(r: ProtoReader, end: number): void {
  let key = '';
  let hasValue = false;
  let valueStart = 0;
  let valueEnd = 0;
  while (r.pos < end) {
    const t = r.tag(end);
    const f = t >>> 3;
    if (f === 1) {
      expectWire(t & 7, WIRE_LEN, 'KeyValue.key');
      key = r.string(end);
    } else if (f === 2) {
      expectWire(t & 7, WIRE_LEN, 'KeyValue.value');
      valueEnd = r.lenEnd(end);
      valueStart = r.pos;
      hasValue = true;
      r.pos = valueEnd;
    } else r.skip(t & 7, end);
  }
  kvKey = key;
  kvHasValue = hasValue;
  kvValueStart = valueStart;
  kvValueEnd = valueEnd;
}

/**
 * Reads one KeyValue (the payload [r.pos, end) of a repeated KeyValue field)
 * into `out`, rendering its value. Leaves r.pos = end.
 */
export function readKeyValuePb(r: ProtoReader, end: number, out: AttrList, mode: MapMode = 'json', prefix = '', depth = 0): void {
  keyValuePb(r, end);
  const key = prefix === '' ? kvKey : `${prefix}_${kvKey}`;
  if (!kvHasValue) {
    out.keys.push(key);
    out.values.push('');
    r.pos = end;
    return;
  }
  const valueEnd = kvValueEnd;
  anyValueKindPb(r, kvValueStart, valueEnd);
  const kind = scanKind;
  const at = scanAt;
  const wire = scanWire;
  if (mode === 'flatten' && kind === AV_KVLIST) {
    if (depth > MAX_NESTING_DEPTH) fail('AnyValue nested too deeply');
    expectWire(wire, WIRE_LEN, 'AnyValue.kvlist_value');
    // each entry of the map becomes its own attribute, the key as prefix
    r.pos = at;
    const e = r.lenEnd(valueEnd);
    while (r.pos < e) {
      const t = r.tag(e);
      if (t >>> 3 === 1) {
        expectWire(t & 7, WIRE_LEN, 'KeyValueList.values');
        const ke = r.lenEnd(e);
        readKeyValuePb(r, ke, out, mode, key, depth + 1);
        r.pos = ke;
      } else r.skip(t & 7, e);
    }
  } else {
    out.keys.push(key);
    out.values.push(scannedAnyValuePb(r, kind, at, wire, valueEnd, depth, false));
  }
  r.pos = end;
}

/** InstrumentationScope in [r.pos, end). */
export interface ScopeInfo {
  name: string;
  version: string;
  attrs: AttrList;
}

export function readScopePb(r: ProtoReader, end: number, mode: MapMode = 'json'): ScopeInfo {
  const scope: ScopeInfo = { name: '', version: '', attrs: newAttrList() };
  while (r.pos < end) {
    const t = r.tag(end);
    const f = t >>> 3;
    if (f === 1) {
      expectWire(t & 7, WIRE_LEN, 'InstrumentationScope.name');
      scope.name = r.string(end);
    } else if (f === 2) {
      expectWire(t & 7, WIRE_LEN, 'InstrumentationScope.version');
      scope.version = r.string(end);
    } else if (f === 3) {
      expectWire(t & 7, WIRE_LEN, 'InstrumentationScope.attributes');
      const e = r.lenEnd(end);
      readKeyValuePb(r, e, scope.attrs, mode);
    } else r.skip(t & 7, end);
  }
  return scope;
}

/** Resource in [r.pos, end): its attributes. */
export function readResourcePb(r: ProtoReader, end: number, out: AttrList, mode: MapMode = 'json'): void {
  while (r.pos < end) {
    const t = r.tag(end);
    if (t >>> 3 === 1) {
      expectWire(t & 7, WIRE_LEN, 'Resource.attributes');
      const e = r.lenEnd(end);
      readKeyValuePb(r, e, out, mode);
    } else r.skip(t & 7, end);
  }
}

/**
 * Walks a Resource*{resource=1, scope_*=2} message in [r.pos, end) in two
 * passes, because protobuf does not promise the resource comes before the
 * scopes: first the resource, then each scope payload.
 */
export function forEachScopePb(
  r: ProtoReader,
  end: number,
  mode: MapMode,
  onResource: (attrs: AttrList) => void,
  onScopeEntry: (end: number) => void,
): void {
  const start = r.pos;
  const attrs = newAttrList();
  while (r.pos < end) {
    const t = r.tag(end);
    if (t >>> 3 === 1) {
      expectWire(t & 7, WIRE_LEN, 'resource');
      const e = r.lenEnd(end);
      readResourcePb(r, e, attrs, mode);
      r.pos = e;
    } else r.skip(t & 7, end);
  }
  onResource(attrs);
  r.pos = start;
  while (r.pos < end) {
    const t = r.tag(end);
    if (t >>> 3 === 2) {
      expectWire(t & 7, WIRE_LEN, 'scope entry');
      const e = r.lenEnd(end);
      onScopeEntry(e);
      r.pos = e;
    } else r.skip(t & 7, end);
  }
  r.pos = end;
}

/**
 * Walks a Scope*{scope=1, items=2} message in [r.pos, end): the scope first
 * (wherever it sits), then each item payload.
 */
export function forEachItemPb(r: ProtoReader, end: number, mode: MapMode, onScope: (scope: ScopeInfo) => void, onItem: (end: number) => void): void {
  const start = r.pos;
  let scope: ScopeInfo = { name: '', version: '', attrs: newAttrList() };
  while (r.pos < end) {
    const t = r.tag(end);
    if (t >>> 3 === 1) {
      expectWire(t & 7, WIRE_LEN, 'scope');
      const e = r.lenEnd(end);
      scope = readScopePb(r, e, mode);
      r.pos = e;
    } else r.skip(t & 7, end);
  }
  onScope(scope);
  r.pos = start;
  while (r.pos < end) {
    const t = r.tag(end);
    if (t >>> 3 === 2) {
      expectWire(t & 7, WIRE_LEN, 'item');
      const e = r.lenEnd(end);
      onItem(e);
      r.pos = e;
    } else r.skip(t & 7, end);
  }
  r.pos = end;
}

/** Walks the top-level Export*ServiceRequest{resource_*=1}. */
export function forEachResourcePb(r: ProtoReader, onResource: (end: number) => void): void {
  const end = r.length;
  while (r.pos < end) {
    const t = r.tag(end);
    if (t >>> 3 === 1) {
      expectWire(t & 7, WIRE_LEN, 'resource entry');
      const e = r.lenEnd(end);
      onResource(e);
      r.pos = e;
    } else r.skip(t & 7, end);
  }
}

// --- OTLP/JSON ---------------------------------------------------------------
// https://github.com/open-telemetry/opentelemetry-proto/blob/main/docs/specification.md#json-protobuf-encoding
// lowerCamelCase keys, unknown keys ignored, 64-bit integers as strings or
// numbers, enums as integers, trace/span ids as hex, other bytes as base64.

export type JsonObject = Record<string, unknown>;

export function parseJsonBody(body: Uint8Array | string): unknown {
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return JSON.parse(text);
}

export function jsonObject(v: unknown, what: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) fail(`${what} must be a JSON object`);
  return v as JsonObject;
}

export function jsonArray(v: unknown, what: string): readonly unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(`${what} must be a JSON array`);
  return v;
}

export function jsonString(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(`${what} must be a string`);
  return v;
}

export function jsonBool(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') fail(`${what} must be a boolean`);
  return v;
}

/** An integer field (uint32/int32/enum; int64 given as number or decimal string). */
export function jsonInt(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  fail(`${what} must be an integer`);
}

/**
 * An enum field. OTLP/JSON requires integers, but the proto3 JSON mapping
 * also allows the value's name, and some encoders write it; accepting the
 * exact enum names costs nothing and loses no meaning.
 */
export function jsonEnum(v: unknown, names: Readonly<Record<string, number>>, what: string): number {
  if (typeof v === 'string' && Object.hasOwn(names, v)) return names[v] as number;
  return jsonInt(v, what);
}

export const AGGREGATION_TEMPORALITY_NAMES: Readonly<Record<string, number>> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

export const SEVERITY_NUMBER_NAMES: Readonly<Record<string, number>> = Object.fromEntries([
  ['SEVERITY_NUMBER_UNSPECIFIED', 0],
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((n, i) => [
    [`SEVERITY_NUMBER_${n}`, i * 4 + 1],
    [`SEVERITY_NUMBER_${n}2`, i * 4 + 2],
    [`SEVERITY_NUMBER_${n}3`, i * 4 + 3],
    [`SEVERITY_NUMBER_${n}4`, i * 4 + 4],
  ]),
]);

export const SPAN_KIND_NAMES: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

export const STATUS_CODE_NAMES: Readonly<Record<string, number>> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

/** A double: a JSON number, or (proto3 JSON) "NaN", "Infinity", "-Infinity" or a numeric string. */
export function jsonDouble(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return n;
  }
  fail(`${what} must be a number`);
}

const DIGITS = /^\d+$/;

/** A fixed64 nanosecond timestamp (decimal string or number) → whole milliseconds. */
export function jsonNanosToMs(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string') {
    if (!DIGITS.test(v)) fail(`${what} must be an unsigned integer`);
    // drop the last 6 digits: exact, no float rounding of the 19-digit value
    return v.length <= 6 ? 0 : Number(v.slice(0, v.length - 6));
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return Math.floor(v / 1e6);
  fail(`${what} must be an unsigned integer`);
}

/** A fixed64 nanosecond timestamp → bigint. */
export function jsonNanos(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string') {
    if (!DIGITS.test(v)) fail(`${what} must be an unsigned integer`);
    return BigInt(v);
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  fail(`${what} must be an unsigned integer`);
}

/** Exact decimal rendering of a JSON int64 (`intValue` is a string in proto3 JSON, numbers accepted). */
function jsonInt64String(v: unknown, what: string): string {
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return v.length < 16 ? String(Number(v)) : BigInt(v).toString();
  fail(`${what} must be an integer`);
}

/** Renders an OTLP/JSON AnyValue object (spec rendering, like {@link renderAnyValuePb}). */
export function renderAnyValueJson(v: unknown, depth = 0): string {
  return anyValueJson(v, depth, false);
}

function anyValueJson(v: unknown, depth: number, inJson: boolean): string {
  if (depth > MAX_NESTING_DEPTH) fail('AnyValue nested too deeply');
  const o = jsonObject(v, 'AnyValue');
  if (o === undefined) return inJson ? 'null' : '';
  if (o.stringValue !== undefined && o.stringValue !== null) {
    const s = jsonString(o.stringValue, 'stringValue');
    return inJson ? JSON.stringify(s) : s;
  }
  if (o.boolValue !== undefined && o.boolValue !== null) return jsonBool(o.boolValue, 'boolValue') ? 'true' : 'false';
  if (o.intValue !== undefined && o.intValue !== null) return jsonInt64String(o.intValue, 'intValue');
  if (o.doubleValue !== undefined && o.doubleValue !== null) {
    const d = jsonDouble(o.doubleValue, 'doubleValue');
    return inJson ? doubleJson(d) : doubleText(d);
  }
  if (o.arrayValue !== undefined && o.arrayValue !== null) {
    const av = jsonObject(o.arrayValue, 'arrayValue');
    const parts = jsonArray(av?.values, 'arrayValue.values').map((e) => anyValueJson(e, depth + 1, true));
    return `[${parts.join(',')}]`;
  }
  if (o.kvlistValue !== undefined && o.kvlistValue !== null) {
    const kv = jsonObject(o.kvlistValue, 'kvlistValue');
    const parts = jsonArray(kv?.values, 'kvlistValue.values').map((e) => {
      const kvo = jsonObject(e, 'KeyValue') ?? {};
      return `${JSON.stringify(jsonString(kvo.key, 'KeyValue.key'))}:${anyValueJson(kvo.value, depth + 1, true)}`;
    });
    return `{${parts.join(',')}}`;
  }
  if (o.bytesValue !== undefined && o.bytesValue !== null) {
    const b = jsonString(o.bytesValue, 'bytesValue'); // already base64 in proto3 JSON
    return inJson ? JSON.stringify(b) : b;
  }
  return inJson ? 'null' : '';
}

/** Reads an OTLP/JSON KeyValue list into `out`. */
export function readAttributesJson(list: unknown, out: AttrList, mode: MapMode = 'json', prefix = '', depth = 0): void {
  if (depth > MAX_NESTING_DEPTH) fail('AnyValue nested too deeply');
  for (const e of jsonArray(list, 'attributes')) {
    const kv = jsonObject(e, 'KeyValue');
    if (kv === undefined) continue;
    const k = jsonString(kv.key, 'KeyValue.key');
    const key = prefix === '' ? k : `${prefix}_${k}`;
    const value = jsonObject(kv.value, 'KeyValue.value');
    if (mode === 'flatten' && value !== undefined && value.kvlistValue !== undefined && value.kvlistValue !== null) {
      readAttributesJson(jsonObject(value.kvlistValue, 'kvlistValue')?.values, out, mode, key, depth + 1);
      continue;
    }
    out.keys.push(key);
    out.values.push(anyValueJson(value, depth, false));
  }
}

export function readScopeJson(v: unknown, mode: MapMode = 'json'): ScopeInfo {
  const o = jsonObject(v, 'scope');
  const scope: ScopeInfo = { name: '', version: '', attrs: newAttrList() };
  if (o === undefined) return scope;
  scope.name = jsonString(o.name, 'scope.name');
  scope.version = jsonString(o.version, 'scope.version');
  readAttributesJson(o.attributes, scope.attrs, mode);
  return scope;
}

export function readResourceJson(v: unknown, mode: MapMode = 'json'): AttrList {
  const out = newAttrList();
  const o = jsonObject(v, 'resource');
  if (o !== undefined) readAttributesJson(o.attributes, out, mode);
  return out;
}

/** A trace/span id in OTLP/JSON (hex); `null` when present but not hex. Empty string → empty bytes. */
export function jsonId(v: unknown, what: string): Uint8Array | null {
  const s = jsonString(v, what);
  if (s === '') return new Uint8Array(0);
  return bytesOfHex(s);
}

// ---------------------------------------------------------------------------
// Rejections and partial success
// ---------------------------------------------------------------------------

/** Distinct rejection reasons kept per request; the rest are folded into one entry so responses stay small. */
const MAX_REJECTION_REASONS = 16;
const OTHER_REASONS = 'other rejected items (too many distinct errors to list)';

/** Collects rejected parts of a request, merging equal reasons. */
export class RejectionCollector {
  private readonly byReason = new Map<string, number>();

  add(reason: string, count: number): void {
    if (count <= 0) return;
    const prev = this.byReason.get(reason);
    if (prev !== undefined) this.byReason.set(reason, prev + count);
    else if (this.byReason.size < MAX_REJECTION_REASONS) this.byReason.set(reason, count);
    else this.byReason.set(OTHER_REASONS, (this.byReason.get(OTHER_REASONS) ?? 0) + count);
  }

  list(): Rejection[] {
    return [...this.byReason].map(([reason, count]) => ({ reason, count }));
  }
}

/** Longest partial_success.error_message we send (the spec asks servers to bound response size). */
const MAX_ERROR_MESSAGE_CHARS = 4096;

const SIGNAL_UNITS: Record<OtlpSignal, { json: string; noun: string }> = {
  metrics: { json: 'rejectedDataPoints', noun: 'data points' },
  logs: { json: 'rejectedLogRecords', noun: 'log records' },
  traces: { json: 'rejectedSpans', noun: 'spans' },
};

/** The partial_success content for a list of rejections, or null for a full success. */
export function partialSuccessOf(signal: OtlpSignal, rejected: readonly Rejection[]): { rejected: number; message: string } | null {
  if (rejected.length === 0) return null;
  let total = 0;
  for (const r of rejected) total += r.count;
  const detail = rejected.map((r) => (r.count > 0 ? `${r.reason} (${r.count})` : r.reason)).join('; ');
  let message = total > 0 ? `${total} ${SIGNAL_UNITS[signal].noun} rejected: ${detail}` : detail;
  if (message.length > MAX_ERROR_MESSAGE_CHARS) message = `${message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1)}…`;
  return { rejected: total, message };
}

function varintBytes(n: number, out: number[]): void {
  // n is a non-negative integer below 2^53
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/**
 * Export{Metrics,Logs,Trace}ServiceResponse. Full success is an empty message
 * (`partial_success` unset, as the spec requires); otherwise partial_success
 * (field 1) carries rejected_* (field 1, int64) and error_message (field 2).
 * The JSON form uses proto3 JSON (int64 as a decimal string).
 */
export function encodeOtlpExportResponse(signal: OtlpSignal, rejected: readonly Rejection[], format: OtlpFormat): Buffer {
  const ps = partialSuccessOf(signal, rejected);
  if (format === 'json') {
    if (ps === null) return Buffer.from('{}');
    const inner: Record<string, string> = {};
    if (ps.rejected > 0) inner[SIGNAL_UNITS[signal].json] = String(ps.rejected);
    if (ps.message !== '') inner.errorMessage = ps.message;
    return Buffer.from(JSON.stringify({ partialSuccess: inner }));
  }
  if (ps === null) return Buffer.alloc(0);
  const msg = Buffer.from(ps.message, 'utf8');
  const inner: number[] = [];
  if (ps.rejected > 0) {
    inner.push(0x08); // field 1, varint
    varintBytes(ps.rejected, inner);
  }
  const innerHead = Buffer.from(inner);
  let msgHead = Buffer.alloc(0);
  if (msg.length > 0) {
    const h: number[] = [0x12]; // field 2, length-delimited
    varintBytes(msg.length, h);
    msgHead = Buffer.from(h);
  }
  const innerLen = innerHead.length + msgHead.length + (msg.length > 0 ? msg.length : 0);
  const head: number[] = [0x0a]; // field 1 (partial_success), length-delimited
  varintBytes(innerLen, head);
  return Buffer.concat([Buffer.from(head), innerHead, msgHead, msg.length > 0 ? msg : Buffer.alloc(0)]);
}

// ---------------------------------------------------------------------------
// Growable columns
// ---------------------------------------------------------------------------

export class GrowableF64 {
  data: Float64Array;
  length = 0;
  constructor(capacity = 64) {
    this.data = new Float64Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  clear(): void {
    this.length = 0;
  }
  /** A right-sized copy. */
  take(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

export class GrowableU32 {
  data: Uint32Array;
  length = 0;
  constructor(capacity = 64) {
    this.data = new Uint32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  take(): Uint32Array {
    return this.data.slice(0, this.length);
  }
}

export class GrowableI64 {
  data: BigInt64Array;
  length = 0;
  constructor(capacity = 64) {
    this.data = new BigInt64Array(capacity);
  }
  push(v: bigint): void {
    if (this.length === this.data.length) {
      const next = new BigInt64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  take(): BigInt64Array {
    return this.data.slice(0, this.length);
  }
}

// ---------------------------------------------------------------------------
// Label names
// ---------------------------------------------------------------------------

const LABEL_NAME_CACHE_MAX = 10_000;
const labelNameCache = new Map<string, string>();

/**
 * An OTLP attribute key as a Prometheus label name: characters outside
 * [a-zA-Z0-9_] become `_`, runs of `_` collapse to one (OTel ↔ Prometheus
 * compatibility spec, "Metric Attributes"), a leading digit gets a `key_`
 * prefix and a leading `_` a `key` prefix (so no name lands in the reserved
 * `__` space), as Prometheus's OTLP translator does. Loki uses the same
 * normalisation for OTLP stream labels and structured metadata names.
 * Returns '' for an empty key.
 */
export function promLabelName(key: string): string {
  const cached = labelNameCache.get(key);
  if (cached !== undefined) return cached;
  let out = '';
  let prevUnderscore = false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const valid = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
    if (!valid || c === 95) {
      if (prevUnderscore) continue;
      prevUnderscore = true;
      out += '_';
    } else {
      prevUnderscore = false;
      out += key[i];
    }
  }
  if (out !== '') {
    const c0 = out.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) out = `key_${out}`;
    else if (c0 === 95) out = `key${out}`;
  }
  if (labelNameCache.size >= LABEL_NAME_CACHE_MAX) labelNameCache.clear();
  labelNameCache.set(key, out);
  return out;
}

// ---------------------------------------------------------------------------
// google.rpc.Status (OTLP/HTTP error bodies, gRPC status details)
// ---------------------------------------------------------------------------

/**
 * google.rpc.RetryInfo{retry_delay=1: google.protobuf.Duration{seconds=1, nanos=2}}
 * wrapped in google.protobuf.Any{type_url=1, value=2}: what the OTLP spec says
 * a server attaches to UNAVAILABLE / RESOURCE_EXHAUSTED to say "retry after".
 */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

function lenField(field: number, payload: Uint8Array): Buffer {
  const head: number[] = [(field << 3) | WIRE_LEN];
  varintBytes(payload.length, head);
  return Buffer.concat([Buffer.from(head), payload]);
}

function varintField(field: number, n: number): Buffer {
  const out: number[] = [(field << 3) | WIRE_VARINT];
  varintBytes(n, out);
  return Buffer.from(out);
}

/** A google.protobuf.Any holding a RetryInfo with the given delay. */
export function encodeRetryInfoAny(retryDelayMs: number): Buffer {
  const ms = Math.max(0, Math.round(retryDelayMs));
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms % 1000) * 1e6;
  const duration = Buffer.concat([seconds > 0 ? varintField(1, seconds) : Buffer.alloc(0), nanos > 0 ? varintField(2, nanos) : Buffer.alloc(0)]);
  const retryInfo = lenField(1, duration);
  return Buffer.concat([lenField(1, Buffer.from(RETRY_INFO_TYPE_URL)), lenField(2, retryInfo)]);
}

/**
 * A google.rpc.Status{code=1, message=2, details=3} body, the error payload
 * OTLP/HTTP servers send (https://opentelemetry.io/docs/specs/otlp/#failures-1),
 * in protobuf or proto3 JSON. `code` is a gRPC status code; a retry delay
 * adds a RetryInfo detail.
 */
export function encodeRpcStatus(code: number, message: string, format: OtlpFormat, retryDelayMs?: number): Buffer {
  if (format === 'json') {
    const body: Record<string, unknown> = { code, message };
    if (retryDelayMs !== undefined) body.details = [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: `${(Math.max(0, Math.round(retryDelayMs)) / 1000).toString()}s` }];
    return Buffer.from(JSON.stringify(body));
  }
  const parts: Buffer[] = [];
  if (code !== 0) parts.push(varintField(1, code));
  if (message !== '') parts.push(lenField(2, Buffer.from(message, 'utf8')));
  if (retryDelayMs !== undefined) parts.push(lenField(3, encodeRetryInfoAny(retryDelayMs)));
  return Buffer.concat(parts);
}
