// One block of ClickHouse's Native format, the columnar format ClickHouse
// itself speaks between servers. For bulk sample rows it costs far less than
// RowBinary at both ends: fixed-width columns are whole little-endian arrays
// (copied, not encoded value by value), and a LowCardinality column arrives
// as a dictionary plus indexes, so ClickHouse does not hash every row's
// string to build its own dictionary. Measured with chDB 3.4 on 2 M sample
// rows (tenant, metric_name, fingerprint, timestamp_ms, value) in 2,000-row
// blocks: ~0.36 CPU-s to insert as Native against ~0.9 as RowBinary, and
// about half the bytes (docs/ingest.md, "Throughput").
//
// Layout (https://clickhouse.com/docs/interfaces/formats/Native; checked
// byte for byte against what chDB writes, test/native.test.ts):
//   varuint columns, varuint rows, then per column: name and type as
//   varuint-length strings, then the column's data.
//   - UInt64 / Int64 / Float64: rows x 8 bytes, little-endian.
//   - LowCardinality(String): UInt64 serialization version (1: dictionaries
//     with additional keys), UInt64 index type and flags (index width
//     0=UInt8, 1=UInt16, 2=UInt32; 0x200 additional keys follow, 0x400 the
//     dictionary is new), UInt64 key count, the keys as Strings (key 0 is
//     the type's default, ""), UInt64 rows, then one index per row.
// A file of several blocks one after another is a valid Native stream.

const HAS_ADDITIONAL_KEYS = 0x200;
const NEED_UPDATE_DICTIONARY = 0x400;

interface Column {
  readonly name: string;
  readonly type: string;
  /** bytes of the column's data */
  readonly bytes: number;
  write(out: Buffer, off: number): void;
}

function varUIntBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarUInt(out: Buffer, off: number, v: number): number {
  while (v >= 0x80) {
    out[off++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[off++] = v;
  return off;
}

function stringBytes(s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  return varUIntBytes(n) + n;
}

function writeString(out: Buffer, off: number, s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  off = writeVarUInt(out, off, n);
  return off + out.write(s, off, 'utf8');
}

function writeUInt64(out: Buffer, off: number, v: number): number {
  out.writeUInt32LE(v >>> 0, off);
  out.writeUInt32LE(Math.floor(v / 4294967296), off + 4);
  return off + 8;
}

/** Builds one Native block; finish() allocates it once, at its exact size. */
export class NativeBlockWriter {
  private readonly columns: Column[] = [];

  constructor(readonly rows: number) {}

  /**
   * An 8-byte column (UInt64, Int64, Float64) whose rows are words[2r]
   * (low half) and words[2r + 1] (high half), little-endian: copied as is.
   */
  fixed64(name: string, type: 'UInt64' | 'Int64' | 'Float64', words: Uint32Array): this {
    const bytes = this.rows * 8;
    if (words.length < this.rows * 2) throw new Error(`native: column ${name} has ${words.length / 2} rows, the block ${this.rows}`);
    this.columns.push({ name, type, bytes, write: (out, off) => out.set(new Uint8Array(words.buffer, words.byteOffset, bytes), off) });
    return this;
  }

  /**
   * A LowCardinality(String) column: row r holds keys[index[r]], where key 0
   * is "" (the default) and keys 1.. are distinct non-empty strings.
   */
  lowCardinalityString(name: string, keys: readonly string[], index: Uint32Array): this {
    if (keys[0] !== '') throw new Error(`native: column ${name}: key 0 must be the default ""`);
    if (index.length < this.rows) throw new Error(`native: column ${name} has ${index.length} rows, the block ${this.rows}`);
    const width = keys.length <= 0x100 ? 1 : keys.length <= 0x10000 ? 2 : 4;
    let keyBytes = 0;
    for (const k of keys) keyBytes += stringBytes(k);
    const rows = this.rows;
    this.columns.push({
      name,
      type: 'LowCardinality(String)',
      bytes: 8 + 8 + 8 + keyBytes + 8 + rows * width,
      write: (out, off) => {
        off = writeUInt64(out, off, 1);
        off = writeUInt64(out, off, (width === 1 ? 0 : width === 2 ? 1 : 2) | HAS_ADDITIONAL_KEYS | NEED_UPDATE_DICTIONARY);
        off = writeUInt64(out, off, keys.length);
        for (const k of keys) off = writeString(out, off, k);
        off = writeUInt64(out, off, rows);
        if (width === 1) for (let r = 0; r < rows; r++) out[off + r] = index[r] as number;
        else if (width === 2) for (let r = 0; r < rows; r++) out.writeUInt16LE(index[r] as number, off + 2 * r);
        else for (let r = 0; r < rows; r++) out.writeUInt32LE(index[r] as number, off + 4 * r);
      },
    });
    return this;
  }

  /** A LowCardinality(String) column holding `value` in every row. */
  constantLowCardinalityString(name: string, value: string): this {
    const index = constantIndex(this.rows, value === '' ? 0 : 1);
    return this.lowCardinalityString(name, value === '' ? [''] : ['', value], index);
  }

  finish(): Buffer {
    let size = varUIntBytes(this.columns.length) + varUIntBytes(this.rows);
    for (const c of this.columns) size += stringBytes(c.name) + stringBytes(c.type) + c.bytes;
    const out = Buffer.allocUnsafe(size);
    let off = writeVarUInt(out, 0, this.columns.length);
    off = writeVarUInt(out, off, this.rows);
    for (const c of this.columns) {
      off = writeString(out, off, c.name);
      off = writeString(out, off, c.type);
      c.write(out, off);
      off += c.bytes;
    }
    if (off !== size) throw new Error(`native: wrote ${off} bytes of ${size}`);
    return out;
  }
}

let ones = new Uint32Array(0);
let zeros = new Uint32Array(0);

/** A shared read-only index array of `rows` copies of 0 or 1. */
function constantIndex(rows: number, v: 0 | 1): Uint32Array {
  if (v === 1) {
    if (ones.length < rows) ones = new Uint32Array(Math.max(rows, 2 * ones.length)).fill(1);
    return ones;
  }
  if (zeros.length < rows) zeros = new Uint32Array(Math.max(rows, 2 * zeros.length));
  return zeros;
}
