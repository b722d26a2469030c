// A bounded cache from the raw wire bytes of a label set to what decoding
// them produced (a SeriesRef, or the reason the set was rejected).
//
// Why: Prometheus re-sends the same series every scrape interval, with the
// labels byte-for-byte identical. Decoding them (16 strings for 8 labels),
// sorting and fingerprinting costs over a microsecond per series; hashing and
// comparing the raw bytes costs a few hundred nanoseconds. Identical bytes
// always decode to the identical result, so the cache cannot change what a
// decoder returns, only how fast.
//
// Bounded with two generations: lookups hit the young map, then the old one
// (promoting the entry); when the young generation fills up it becomes the
// old one and the previous old one is dropped. Memory stays below
// maxEntries x (label bytes + decoded labels).

export interface LabelBytesCacheOptions {
  /** upper bound on cached label sets (both generations together) */
  readonly maxEntries: number;
}

export interface LabelBytesCache<T> {
  /** The value cached for buf[start, end), if any. */
  get(buf: Uint8Array, start: number, end: number): T | undefined;
  /** Caches `value` for a copy of buf[start, end). */
  set(buf: Uint8Array, start: number, end: number, value: T): void;
  readonly size: number;
  clear(): void;
}

interface Entry<T> {
  /** a Buffer so comparing is one native call without allocating views */
  readonly key: Buffer;
  readonly value: T;
  next: Entry<T> | undefined;
}

export function createLabelBytesCache<T>(options: LabelBytesCacheOptions): LabelBytesCache<T> {
  if (!(options.maxEntries >= 2)) throw new Error('label bytes cache: maxEntries must be at least 2');
  const generationSize = Math.floor(options.maxEntries / 2);
  let young = new Map<number, Entry<T>>();
  let old = new Map<number, Entry<T>>();
  let youngCount = 0;
  let oldCount = 0;

  const find = (m: Map<number, Entry<T>>, h: number, buf: Uint8Array, start: number, end: number): Entry<T> | undefined => {
    for (let e = m.get(h); e !== undefined; e = e.next) if (sameBytes(e.key, buf, start, end)) return e;
    return undefined;
  };

  const insert = (h: number, key: Buffer, value: T): void => {
    if (youngCount >= generationSize) {
      old = young;
      oldCount = youngCount;
      young = new Map();
      youngCount = 0;
    }
    young.set(h, { key, value, next: young.get(h) });
    youngCount++;
  };

  return {
    get(buf, start, end) {
      const h = hashRange(buf, start, end);
      const y = find(young, h, buf, start, end);
      if (y !== undefined) return y.value;
      const o = find(old, h, buf, start, end);
      if (o === undefined) return undefined;
      insert(h, o.key, o.value);
      return o.value;
    },
    set(buf, start, end, value) {
      insert(hashRange(buf, start, end), Buffer.from(buf.subarray(start, end)), value);
    },
    get size() {
      return youngCount + oldCount;
    },
    clear() {
      young = new Map();
      old = new Map();
      youngCount = 0;
      oldCount = 0;
    },
  };
}

function sameBytes(key: Buffer, buf: Uint8Array, start: number, end: number): boolean {
  return key.length === end - start && key.compare(buf, start, end) === 0;
}

/** 32-bit FNV-1a style hash over 4-byte words (collisions only cost a compare). */
function hashRange(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const k = (b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24);
    h = Math.imul(h ^ k, 0x01000193);
    h ^= h >>> 13;
  }
  for (; i < end; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h >>> 0;
}
