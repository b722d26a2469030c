// A small protobuf wire-format writer for the encoders (remote_write for the
// collector's shipper and tests, Loki push for tests and benchmarks). One
// growable buffer; a sub-message reserves one length byte at fork() and
// ldelim() shifts the payload when its length needs more varint bytes, which
// keeps the writer single-pass without a list of deferred operations.
//
// Wire format: https://protobuf.dev/programming-guides/encoding/
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf-reader.ts';

const textEncoder = new TextEncoder();

export class ProtobufWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  /** start offsets of open sub-messages (where their length byte sits) */
  private readonly forks: number[] = [];

  constructor(initialBytes = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialBytes));
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  tag(field: number, wireType: number): this {
    return this.uint32((field << 3) | wireType);
  }

  /** Unsigned varint of a value below 2^32. */
  uint32(v: number): this {
    this.ensure(5);
    v >>>= 0;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** int64 varint (two's complement, 10 bytes when negative) from a safe integer. */
  int64(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`int64 value ${v} is not a safe integer`);
    if (v < 0) return this.int64BigInt(BigInt(v));
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  int64BigInt(v: bigint): this {
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
    return this;
  }

  /** Little-endian double. */
  double(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  /** 8 raw bytes (a double's exact bit pattern, e.g. a stale-marker NaN). */
  fixed64Bytes(bytes: Uint8Array): this {
    if (bytes.length !== 8) throw new RangeError('fixed64 needs exactly 8 bytes');
    this.ensure(8);
    this.buf.set(bytes, this.pos);
    this.pos += 8;
    return this;
  }

  fixed64BigInt(v: bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
    return this;
  }

  /** A length-delimited UTF-8 string (tag written by the caller). */
  string(s: string): this {
    // Worst case 3 bytes per UTF-16 unit; the length prefix is at most 5.
    const max = s.length * 3;
    this.ensure(max + 5);
    const lenAt = this.pos;
    const lenBytes = varintSize(max);
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(lenAt + lenBytes));
    const need = varintSize(written);
    if (need !== lenBytes) this.buf.copyWithin(lenAt + need, lenAt + lenBytes, lenAt + lenBytes + written);
    this.pos = lenAt;
    this.uint32(written);
    this.pos += written;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.uint32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  // Field helpers: tag + value.
  fieldUint32(field: number, v: number): this {
    return this.tag(field, WIRE_VARINT).uint32(v);
  }

  fieldInt64(field: number, v: number): this {
    return this.tag(field, WIRE_VARINT).int64(v);
  }

  fieldDouble(field: number, v: number): this {
    return this.tag(field, WIRE_FIXED64).double(v);
  }

  fieldString(field: number, s: string): this {
    return this.tag(field, WIRE_LEN).string(s);
  }

  /** Packed repeated uint32. */
  fieldPackedUint32(field: number, values: readonly number[]): this {
    this.tag(field, WIRE_LEN).fork();
    for (const v of values) this.uint32(v);
    return this.ldelim();
  }

  /** Opens a sub-message (write its tag first); close it with {@link ldelim}. */
  fork(): this {
    this.ensure(1);
    this.forks.push(this.pos);
    this.pos += 1; // one length byte reserved; ldelim widens it when needed
    return this;
  }

  /** Closes the sub-message opened by the matching {@link fork}. */
  ldelim(): this {
    const at = this.forks.pop();
    if (at === undefined) throw new Error('ldelim without fork');
    const payloadStart = at + 1;
    const len = this.pos - payloadStart;
    const need = varintSize(len);
    if (need > 1) {
      this.ensure(need - 1);
      this.buf.copyWithin(at + need, payloadStart, this.pos);
      this.pos += need - 1;
    }
    const end = this.pos;
    this.pos = at;
    this.uint32(len);
    this.pos = end;
    return this;
  }

  /** The bytes written so far (a copy, so the writer may be reused). */
  finish(): Uint8Array {
    if (this.forks.length > 0) throw new Error('finish with an open sub-message');
    return this.buf.slice(0, this.pos);
  }

  get length(): number {
    return this.pos;
  }
}

export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}
