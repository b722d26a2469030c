// XXH64 (seed 0) of a label set in the byte layout Prometheus 3's default
// labels implementation hashes (model/labels/labels_stringlabels.go: each
// name and value prefixed by its length, one byte below 255, else 0xff and
// three bytes little-endian). limit_ratio() picks series by this hash, so
// using the same function selects the same series as Prometheus does.
// Spec: https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md
import type { Labels } from '../../core/index.ts';

const M64 = 0xffffffffffffffffn;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M64;
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M64, 31n) * P1) & M64;
const mergeRound = (acc: bigint, val: bigint): bigint => ((((acc ^ round(0n, val)) * P1) & M64) + P4) & M64;

function u64(b: Uint8Array, i: number): bigint {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k] as number);
  return v;
}

function u32(b: Uint8Array, i: number): bigint {
  return BigInt(((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0);
}

export function xxhash64(b: Uint8Array): bigint {
  const len = b.length;
  let i = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (P1 + P2) & M64;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (0n - P1) & M64;
    for (; i + 32 <= len; i += 32) {
      v1 = round(v1, u64(b, i));
      v2 = round(v2, u64(b, i + 8));
      v3 = round(v3, u64(b, i + 16));
      v4 = round(v4, u64(b, i + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & M64;
  for (; i + 8 <= len; i += 8) {
    h ^= round(0n, u64(b, i));
    h = (rotl(h, 27n) * P1 + P4) & M64;
  }
  if (i + 4 <= len) {
    h ^= (u32(b, i) * P1) & M64;
    h = (rotl(h, 23n) * P2 + P3) & M64;
    i += 4;
  }
  for (; i < len; i++) {
    h ^= (BigInt(b[i] as number) * P5) & M64;
    h = (rotl(h, 11n) * P1) & M64;
  }
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  h ^= h >> 32n;
  return h;
}

const encoder = new TextEncoder();

/** Prometheus labels.Labels.Hash() (stringlabels build, the default). */
export function prometheusLabelsHash(l: Labels): bigint {
  const parts: Uint8Array[] = [];
  let len = 0;
  for (let i = 0; i < l.names.length; i++) {
    for (const str of [l.names[i] as string, l.values[i] as string]) {
      const b = encoder.encode(str);
      parts.push(b);
      len += b.length + (b.length < 255 ? 1 : 4);
    }
  }
  const buf = new Uint8Array(len);
  let off = 0;
  for (const b of parts) {
    if (b.length < 255) buf[off++] = b.length;
    else {
      buf[off++] = 255;
      buf[off++] = b.length & 0xff;
      buf[off++] = (b.length >> 8) & 0xff;
      buf[off++] = (b.length >> 16) & 0xff;
    }
    buf.set(b, off);
    off += b.length;
  }
  return xxhash64(buf);
}
