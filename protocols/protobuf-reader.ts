// A small protobuf wire-format reader for the hot decode paths (remote_write,
// Loki push, OTLP). Hand-written rather than protobufjs reflection so that a
// request decodes straight into columns without building a message object per
// sample. One reader walks nested messages by narrowing `end` (enter/leave),
// so descending into a sub-message allocates nothing.
//
// Wire format: https://protobuf.dev/programming-guides/encoding/
//
// Malformed input throws ProtobufDecodeError; decoders catch it at their
// boundary and turn it into a DecodeResult (400). Nothing else throws it.

/** Wire types (the low 3 bits of a tag). */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export class ProtobufDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufDecodeError';
  }
}

function fail(message: string): never {
  throw new ProtobufDecodeError(message);
}

// Fatal: label names/values must be valid UTF-8 (callers reject the series);
// lenient: log lines and free text keep going with U+FFFD.
const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

export class ProtobufReader {
  buf: Uint8Array;
  /** the same bytes as a Buffer view, for native latin1 slicing of ASCII strings */
  private nodeBuf: Buffer;
  private view: DataView;
  pos: number;
  /** end of the message being read (narrowed by enter, restored by leave) */
  end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.nodeBuf = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.end = end;
  }

  /** True while the current message has unread bytes. */
  more(): boolean {
    return this.pos < this.end;
  }

  /** Reads a field tag; returns (fieldNumber << 3) | wireType. */
  tag(): number {
    const t = this.uint32();
    if (t >>> 3 === 0) fail(`invalid field number 0 at byte ${this.pos}`);
    return t;
  }

  /** A varint truncated to its low 32 bits, unsigned (uint32, enum, tag, length). */
  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    if (p >= end) fail('truncated varint');
    let c = b[p++] as number;
    let v = c & 0x7f;
    if (c < 0x80) {
      this.pos = p;
      return v;
    }
    for (let shift = 7; shift < 35; shift += 7) {
      if (p >= end) fail('truncated varint');
      c = b[p++] as number;
      v |= (c & 0x7f) << shift;
      if (c < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    // A 64-bit varint read as 32 bits: protobuf keeps the low bits, so skip
    // the remaining (at most 5) continuation bytes.
    for (let i = 0; i < 5; i++) {
      if (p >= end) fail('truncated varint');
      if ((b[p++] as number) < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    return fail('varint longer than 10 bytes');
  }

  /** int32 (negative values are sign-extended to 10 bytes on the wire). */
  int32(): number {
    return this.uint32() | 0;
  }

  /**
   * A signed int64 varint as a number. Exact within ±2^53 (timestamps in ms
   * and seconds, counts); beyond that it rounds like any double would.
   */
  int64(): number {
    this.varint64();
    return hi32 * 4294967296 + lo32;
  }

  /** An unsigned uint64 varint as a number (exact below 2^53). */
  uint64(): number {
    this.varint64();
    return (hi32 >>> 0) * 4294967296 + lo32;
  }

  /** A uint64/int64 varint as a bigint, signed. */
  int64BigInt(): bigint {
    this.varint64();
    return (BigInt(hi32) << 32n) | BigInt(lo32);
  }

  /** A zigzag-encoded sint32. */
  sint32(): number {
    const n = this.uint32();
    return (n >>> 1) ^ -(n & 1);
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** Reads a varint into the module-level (hi32 signed, lo32 unsigned) pair. */
  private varint64(): void {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    let c = 0;
    // bytes 0..3 carry bits 0..27 of the low word
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= end) fail('truncated varint');
      c = b[p++] as number;
      lo |= (c & 0x7f) << shift;
      if (c < 0x80) {
        this.pos = p;
        lo32 = lo >>> 0;
        hi32 = 0;
        return;
      }
    }
    // byte 4: 4 bits finish the low word, 3 bits start the high word
    if (p >= end) fail('truncated varint');
    c = b[p++] as number;
    lo |= (c & 0x7f) << 28;
    hi = (c & 0x7f) >>> 4;
    if (c >= 0x80) {
      for (let shift = 3; shift < 32; shift += 7) {
        if (p >= end) fail('truncated varint');
        c = b[p++] as number;
        hi |= (c & 0x7f) << shift;
        if (c < 0x80) break;
        if (shift + 7 >= 32) fail('varint longer than 10 bytes');
      }
    }
    this.pos = p;
    lo32 = lo >>> 0;
    hi32 = hi | 0;
  }

  /** A little-endian double (fixed64 wire type). */
  double(): number {
    const p = this.pos;
    if (p + 8 > this.end) fail('truncated fixed64');
    this.pos = p + 8;
    return this.view.getFloat64(p, true);
  }

  /**
   * Copies the 8 raw bytes of a double into `dst` at `dstOffset` without
   * going through a JS number, so NaN payloads (Prometheus's stale marker
   * 0x7ff0000000000002) survive bit for bit. `dst` is expected to be a byte
   * view over a little-endian Float64Array (all platforms Node supports).
   */
  copyFixed64(dst: Uint8Array, dstOffset: number): void {
    const p = this.pos;
    if (p + 8 > this.end) fail('truncated fixed64');
    const b = this.buf;
    dst[dstOffset] = b[p] as number;
    dst[dstOffset + 1] = b[p + 1] as number;
    dst[dstOffset + 2] = b[p + 2] as number;
    dst[dstOffset + 3] = b[p + 3] as number;
    dst[dstOffset + 4] = b[p + 4] as number;
    dst[dstOffset + 5] = b[p + 5] as number;
    dst[dstOffset + 6] = b[p + 6] as number;
    dst[dstOffset + 7] = b[p + 7] as number;
    this.pos = p + 8;
  }

  /** fixed64 as an unsigned number (exact below 2^53). */
  fixed64(): number {
    const p = this.pos;
    if (p + 8 > this.end) fail('truncated fixed64');
    this.pos = p + 8;
    return this.view.getUint32(p + 4, true) * 4294967296 + this.view.getUint32(p, true);
  }

  /** fixed64 as a bigint, unsigned (OTLP nanosecond timestamps). */
  fixed64BigInt(): bigint {
    const p = this.pos;
    if (p + 8 > this.end) fail('truncated fixed64');
    this.pos = p + 8;
    return this.view.getBigUint64(p, true);
  }

  fixed32(): number {
    const p = this.pos;
    if (p + 4 > this.end) fail('truncated fixed32');
    this.pos = p + 4;
    return this.view.getUint32(p, true);
  }

  float(): number {
    const p = this.pos;
    if (p + 4 > this.end) fail('truncated fixed32');
    this.pos = p + 4;
    return this.view.getFloat32(p, true);
  }

  /**
   * Reads a length prefix and returns the end offset of the payload, checked
   * against the current message end. `pos` is left at the payload start.
   */
  lenEnd(): number {
    const before = this.pos;
    const len = this.uint32();
    // a length needs at most 5 varint bytes (< 2^32); a longer one was
    // truncated by uint32() and would silently point at the wrong bytes
    if (this.pos - before > 5 || (this.pos - before === 5 && ((this.buf[this.pos - 1] as number) & 0x70) !== 0)) fail(`length prefix at byte ${before} is larger than 2^32`);
    const e = this.pos + len;
    if (e > this.end) fail(`length ${len} runs past the end of the message`);
    return e;
  }

  /**
   * Enters a length-delimited sub-message: narrows `end` to it and returns
   * the outer end, to hand back to {@link leave} once the sub-message is read.
   */
  enter(): number {
    const outer = this.end;
    this.end = this.lenEnd();
    return outer;
  }

  /** Leaves a sub-message entered with {@link enter}. */
  leave(outerEnd: number): void {
    if (this.pos !== this.end) fail('sub-message not fully read');
    this.end = outerEnd;
  }

  /** Raw bytes of a length-delimited field (a view, not a copy). */
  bytes(): Uint8Array {
    const e = this.lenEnd();
    const s = this.pos;
    this.pos = e;
    return this.buf.subarray(s, e);
  }

  /**
   * A length-delimited UTF-8 string; `null` when the bytes are not valid
   * UTF-8 (callers decide whether that rejects a series or the request).
   */
  stringOrNull(): string | null {
    const e = this.lenEnd();
    const s = this.pos;
    this.pos = e;
    return this.decodeUtf8(s, e, true);
  }

  /** A length-delimited string, invalid UTF-8 replaced by U+FFFD. */
  string(): string {
    const e = this.lenEnd();
    const s = this.pos;
    this.pos = e;
    return this.decodeUtf8(s, e, false) as string;
  }

  /** Decodes buf[start, end) as UTF-8. */
  decodeUtf8(start: number, end: number, fatal: boolean): string | null {
    const b = this.buf;
    const len = end - start;
    if (len === 0) return '';
    let ascii = true;
    for (let i = start; i < end; i++) {
      if ((b[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      // Label names and values are short and mostly ASCII: building them in
      // JS beats a native call for short strings (about 30 ns against 50 ns
      // for a 10-byte label on Node 20). Only up to 12 characters: from 13
      // on (V8's ConsString::kMinLength) `+=` makes a tree of cons strings,
      // objects that the garbage collector then marks for as long as the
      // label lives (~400k of them with the ingest benchmark's 100k series).
      if (len <= 12) {
        let r = '';
        for (let i = start; i < end; i++) r += String.fromCharCode(b[i] as number);
        return r;
      }
      return this.nodeBuf.toString('latin1', start, end);
    }
    if (!fatal) return utf8Lenient.decode(b.subarray(start, end));
    try {
      return utf8Fatal.decode(b.subarray(start, end));
    } catch {
      return null;
    }
  }

  /** Skips a field's payload of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT: {
        const b = this.buf;
        let p = this.pos;
        for (let i = 0; ; i++) {
          if (p >= this.end) fail('truncated varint');
          if ((b[p++] as number) < 0x80) break;
          if (i === 9) fail('varint longer than 10 bytes');
        }
        this.pos = p;
        return;
      }
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        // groups (3, 4) are proto2-only and unused by every format we read
        fail(`unsupported wire type ${wireType}`);
    }
  }

  /**
   * Reads a repeated uint32 field into `out` (appending), accepting both the
   * packed encoding (wire type 2, proto3's default) and one-value-per-tag.
   */
  repeatedUint32(wireType: number, out: number[]): void {
    if (wireType === WIRE_LEN) {
      const e = this.lenEnd();
      const outer = this.end;
      this.end = e;
      while (this.pos < e) out.push(this.uint32());
      this.end = outer;
    } else if (wireType === WIRE_VARINT) {
      out.push(this.uint32());
    } else {
      fail(`wire type ${wireType} for a repeated uint32`);
    }
  }

  /** Throws unless the wire type is the expected one. */
  expect(wireType: number, expected: number, field: string): void {
    if (wireType !== expected) fail(`${field}: wire type ${wireType}, expected ${expected}`);
  }
}

// varint64 results (avoid returning a pair object)
let lo32 = 0;
let hi32 = 0;

// Typed arrays are platform-endian; the raw copies above assume little endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('fleetwatch protocols require a little-endian platform');
}
