// Label sets and their fingerprints. A fingerprint is a stable 64-bit hash of
// the sorted label set; it is computed once where a series enters (decode) and
// carried with the series from then on.

/** A label set as parallel, name-sorted arrays (no per-label objects). */
export interface Labels {
  readonly names: readonly string[];
  readonly values: readonly string[];
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(4096);

/**
 * 64-bit fingerprint of a name-sorted label set, as a bigint. Two 32-bit
 * lanes of a multiply-xorshift hash over "name\xffvalue\xff..." bytes; the
 * 0xff separator cannot occur in UTF-8 so ("a","bc") and ("ab","c") differ.
 */
export function fingerprint(names: readonly string[], values: readonly string[]): bigint {
  const [hi, lo] = fingerprintParts(names, values);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** The two 32-bit halves of {@link fingerprint} (hi, lo), unsigned. */
export function fingerprintParts(names: readonly string[], values: readonly string[]): [number, number] {
  let len = 0;
  for (let i = 0; i < names.length; i++) len += ((names[i] as string).length + (values[i] as string).length) * 3 + 2;
  if (scratch.length < len) scratch = new Uint8Array(len * 2);
  let off = 0;
  for (let i = 0; i < names.length; i++) {
    off = putUtf8(names[i] as string, off);
    scratch[off++] = 0xff;
    off = putUtf8(values[i] as string, off);
    scratch[off++] = 0xff;
  }
  return hashBytes64(scratch, off);
}

/**
 * Writes `s` as UTF-8 into scratch at `off`, returning the new offset. Label
 * strings are nearly always ASCII, and a charCode loop is ~3x cheaper than a
 * TextEncoder.encodeInto call per string (the decoders' hot path); the first
 * non-ASCII unit falls back to encodeInto for the whole string.
 */
function putUtf8(s: string, off: number): number {
  const n = s.length;
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x80) return off + encoder.encodeInto(s, scratch.subarray(off)).written;
    scratch[off + j] = c;
  }
  return off + n;
}

/** Hashes the first `len` bytes into two 32-bit lanes (murmur3-style mixing, two seeds). */
export function hashBytes64(bytes: Uint8Array, len: number): [number, number] {
  let h1 = 0x9747b28c ^ len;
  let h2 = 0x1b873593 ^ len;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    let k = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 ^= Math.imul(k, 0x85ebca6b);
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (Math.imul(h2, 9) + 0x38b34ae5) | 0;
  }
  const rem = len & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= (bytes[i + 2] as number) << 16;
    if (rem >= 2) k ^= (bytes[i + 1] as number) << 8;
    k ^= bytes[i] as number;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h1 ^= k;
    h2 ^= Math.imul(k, 0x85ebca6b);
  }
  h1 = fmix32(h1 ^ h2);
  h2 = fmix32(h2 + h1);
  return [h1 >>> 0, h2 >>> 0];
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Sorts a label set by name in place-safe fashion, returning new parallel arrays. */
export function sortLabels(names: readonly string[], values: readonly string[]): Labels {
  let sorted = true;
  for (let i = 1; i < names.length; i++) if ((names[i - 1] as string) > (names[i] as string)) { sorted = false; break; }
  if (sorted) return { names, values };
  const idx = names.map((_, i) => i).sort((a, b) => ((names[a] as string) < (names[b] as string) ? -1 : (names[a] as string) > (names[b] as string) ? 1 : 0));
  return { names: idx.map((i) => names[i] as string), values: idx.map((i) => values[i] as string) };
}

export function labelsToRecord(l: Labels): Record<string, string> {
  const r: Record<string, string> = {};
  for (let i = 0; i < l.names.length; i++) r[l.names[i] as string] = l.values[i] as string;
  return r;
}

export function labelsFromRecord(r: Readonly<Record<string, string>>): Labels {
  const names = Object.keys(r).sort();
  return { names, values: names.map((n) => r[n] as string) };
}
