// A RowBinary reader for the query side: ClickHouse's row-wise binary format
// (https://clickhouse.com/docs/interfaces/formats/RowBinary), read straight
// into typed arrays. Array(Float64) columns are copied as whole blocks (one
// memcpy per series), so sample values stay bit-exact — staleness markers
// (NaN 0x7ff0000000000002) included — and no per-sample object is made.

export class RowReader {
  private off = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  static of(bytes: Uint8Array): RowReader {
    return new RowReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  get done(): boolean {
    return this.off >= this.buf.length;
  }

  get position(): number {
    return this.off;
  }

  seek(off: number): void {
    this.off = off;
  }

  uint8(): number {
    return this.buf[this.off++] as number;
  }

  uint32(): number {
    const v = this.view.getUint32(this.off, true);
    this.off += 4;
    return v;
  }

  varUInt(): number {
    let v = 0;
    let shift = 1;
    for (;;) {
      const b = this.buf[this.off++] as number;
      v += (b & 0x7f) * shift;
      if (b < 0x80) return v;
      shift *= 128;
    }
  }

  float64(): number {
    const v = this.view.getFloat64(this.off, true);
    this.off += 8;
    return v;
  }

  /** UInt64 as [hi, lo] unsigned 32-bit halves. */
  uint64Parts(): [number, number] {
    const lo = this.view.getUint32(this.off, true);
    const hi = this.view.getUint32(this.off + 4, true);
    this.off += 8;
    return [hi, lo];
  }

  skip(n: number): void {
    this.off += n;
  }

  string(): string {
    const n = this.varUInt();
    const start = this.off;
    this.off += n;
    return this.buf.toString('utf8', start, start + n);
  }

  /** Array(Float64) as a fresh, aligned Float64Array holding the exact bits. */
  float64Array(): Float64Array {
    const n = this.varUInt();
    const out = new Float64Array(n);
    new Uint8Array(out.buffer).set(this.buf.subarray(this.off, this.off + n * 8));
    this.off += n * 8;
    return out;
  }

  /** Array(Float64) copied into `dst` at `at` (bits kept); returns its length. */
  float64ArrayInto(dst: Float64Array, at: number): number {
    const n = this.varUInt();
    new Uint8Array(dst.buffer, dst.byteOffset + at * 8, n * 8).set(this.buf.subarray(this.off, this.off + n * 8));
    this.off += n * 8;
    return n;
  }

  /** Array(UInt8) as a fresh Uint8Array. */
  uint8Array(): Uint8Array {
    const n = this.varUInt();
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return Uint8Array.from(out);
  }

  /** Array(UInt8) of 0/1 flags: null when every flag is 1 (the common "present at every step"). */
  flagsOrNull(): Uint8Array | null {
    const n = this.varUInt();
    const start = this.off;
    this.off += n;
    for (let i = start; i < start + n; i++) if (this.buf[i] !== 1) return Uint8Array.from(this.buf.subarray(start, start + n));
    return null;
  }

  /** Map(String, String) into parallel arrays (in the map's own key order). */
  stringMap(names: string[], values: string[]): void {
    const n = this.varUInt();
    for (let i = 0; i < n; i++) {
      names.push(this.string());
      values.push(this.string());
    }
  }

  skipString(): void {
    const n = this.varUInt();
    this.off += n;
  }

  skipStringMap(): void {
    const n = this.varUInt();
    for (let i = 0; i < 2 * n; i++) this.skipString();
  }

  /** Array(String) */
  stringArray(): string[] {
    const n = this.varUInt();
    const out: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.string();
    return out;
  }
}
