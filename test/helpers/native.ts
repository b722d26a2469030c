// Reads Native blocks back into rows, for tests of what the encoders write
// (the column types storage/native.ts writes: LowCardinality(String),
// UInt64, Int64, Float64). Values: strings; 64-bit integers as decimal
// strings; Float64 as the hex of its 8 bytes (little-endian), so NaN
// payloads compare.

function varUInt(b: Buffer, at: { off: number }): number {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    const c = b[at.off++] as number;
    v += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return v;
  }
}

function str(b: Buffer, at: { off: number }): string {
  const n = varUInt(b, at);
  const s = b.toString('utf8', at.off, at.off + n);
  at.off += n;
  return s;
}

function u64(b: Buffer, at: { off: number }): number {
  const v = Number(b.readBigUInt64LE(at.off));
  at.off += 8;
  return v;
}

/** Every block's rows, as objects keyed by column name. */
export function nativeRows(data: Uint8Array): Record<string, string>[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const at = { off: 0 };
  const out: Record<string, string>[] = [];
  while (at.off < b.length) {
    const cols = varUInt(b, at);
    const rows = varUInt(b, at);
    const block: Record<string, string>[] = Array.from({ length: rows }, () => ({}));
    for (let c = 0; c < cols; c++) {
      const name = str(b, at);
      const type = str(b, at);
      if (type === 'LowCardinality(String)') {
        if (u64(b, at) !== 1) throw new Error('LowCardinality: unknown serialization version');
        const flags = u64(b, at);
        const width = [1, 2, 4, 8][flags & 0xff] as number;
        const keys: string[] = [];
        for (let k = u64(b, at); k > 0; k--) keys.push(str(b, at));
        if (u64(b, at) !== rows) throw new Error('LowCardinality: row count differs from the block');
        for (let r = 0; r < rows; r++) {
          const i = width === 1 ? b.readUInt8(at.off) : width === 2 ? b.readUInt16LE(at.off) : b.readUInt32LE(at.off);
          at.off += width;
          (block[r] as Record<string, string>)[name] = keys[i] as string;
        }
      } else if (type === 'UInt64' || type === 'Int64' || type === 'Float64') {
        for (let r = 0; r < rows; r++) {
          (block[r] as Record<string, string>)[name] = type === 'UInt64' ? String(b.readBigUInt64LE(at.off)) : type === 'Int64' ? String(b.readBigInt64LE(at.off)) : b.toString('hex', at.off, at.off + 8);
          at.off += 8;
        }
      } else throw new Error(`nativeRows: column type ${type} is not read here`);
    }
    out.push(...block);
  }
  return out;
}
