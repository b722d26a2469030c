// A bounded cache from the raw wire bytes of a label set to what decoding
// them produced (a SeriesRef, or the reason the set was rejected).
//
// Why: Prometheus re-sends the same series every scrape interval, with the
// labels byte-for-byte identical. Decoding them (16 strings for 8 labels),
// sorting and fingerprinting costs over a microsecond per series; hashing and
// comparing the raw bytes costs about a hundred nanoseconds. Identical bytes
// always decode to the identical result, so the cache cannot change what a
// decoder returns, only how fast.
//
// Bounded with two generations: lookups hit the young table, then the old one
// (promoting the entry); when the young generation fills up it becomes the
// old one and the previous old one is dropped (its arrays are reused for the
// next young one). Memory stays below maxEntries x (label bytes + 40 bytes).
//
// Layout: with ~100k series a look-up touches memory no cache holds, so its
// cost is counted in cache misses, not instructions. Each generation is an
// open-addressing table (linear probing, at most half full) of 4 int32 per
// slot -- hash, key offset, key length, value index -- over one byte arena
// holding the keys: a probe reads one cache line of the table, compares
// the full 32-bit hash, and only on a hash hit compares the key bytes, 4 at
// a time. A Map<number, {key: Buffer}> instead cost a hash-table miss, an
// entry object, a Buffer object and its bytes (3-4 misses, and ~200k objects
// for the garbage collector to mark).
//
// Keys sit in the arena in the order they were added, and senders send their
// series in the same order every time (Prometheus batches each target's
// scrape in exposition order; a collector its scrape loops' order). So the
// first guess for a look-up is the entry after the previous hit: compared
// byte for byte, it needs neither the hash nor the table. A wrong guess costs
// one compare that stops at the first differing byte.

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

/** int32 per table slot: hash, key offset in the arena, key length + 1 (0 = empty slot), value index */
const SLOT = 4;
const MIN_SLOTS = 16;
const MIN_ARENA_BYTES = 1 << 12;

class Generation<T> {
  /** SLOT int32 per slot; a power of two of slots, at most half of them used */
  table: Int32Array;
  mask: number;
  arena: Uint8Array;
  arenaView: DataView;
  arenaUsed = 0;
  /** entry i's key is arena[starts[i], starts[i + 1]) (keys are appended in entry order) */
  starts: Int32Array;
  readonly values: T[] = [];

  constructor(slots: number) {
    this.table = new Int32Array(slots * SLOT);
    this.mask = slots - 1;
    this.arena = new Uint8Array(MIN_ARENA_BYTES);
    this.arenaView = new DataView(this.arena.buffer);
    this.starts = new Int32Array(slots + 1);
  }

  get count(): number {
    return this.values.length;
  }

  /** Whether entry i (any index) holds exactly buf[start, end). */
  isAt(i: number, buf: Uint8Array, view: DataView, start: number, end: number): boolean {
    if (i >= this.values.length) return false;
    const ks = this.starts[i] as number;
    return (this.starts[i + 1] as number) - ks === end - start && sameBytes(this.arena, this.arenaView, ks, buf, view, start, end);
  }

  /** The value index of buf[start, end) (hash h), or -1. */
  find(h: number, buf: Uint8Array, view: DataView, start: number, end: number): number {
    const t = this.table;
    const len1 = end - start + 1;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const o = i * SLOT;
      const l = t[o + 2] as number;
      if (l === 0) return -1;
      if (t[o] === h && l === len1 && sameBytes(this.arena, this.arenaView, t[o + 1] as number, buf, view, start, end)) return t[o + 3] as number;
    }
  }

  /** Adds a key that find() did not find; the caller keeps count() below the table's half. */
  add(h: number, src: Uint8Array, start: number, end: number, value: T): void {
    const len = end - start;
    if (this.arenaUsed + len > this.arena.length) {
      let size = this.arena.length * 2;
      while (size < this.arenaUsed + len) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = next;
      this.arenaView = new DataView(next.buffer);
    }
    const at = this.arenaUsed;
    this.arena.set(src.subarray(start, end), at);
    this.arenaUsed += len;
    if ((this.values.length + 1) * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    const index = this.values.length;
    this.place(h, at, len + 1, index);
    this.values.push(value);
    if (index + 2 > this.starts.length) {
      const next = new Int32Array(this.starts.length * 2);
      next.set(this.starts);
      this.starts = next;
    }
    this.starts[index + 1] = this.arenaUsed;
  }

  private place(h: number, at: number, len1: number, index: number): void {
    const t = this.table;
    let i = h & this.mask;
    while (t[i * SLOT + 2] !== 0) i = (i + 1) & this.mask;
    const o = i * SLOT;
    t[o] = h;
    t[o + 1] = at;
    t[o + 2] = len1;
    t[o + 3] = index;
  }

  private rehash(slots: number): void {
    const old = this.table;
    this.table = new Int32Array(slots * SLOT);
    this.mask = slots - 1;
    for (let o = 0; o < old.length; o += SLOT) {
      if (old[o + 2] !== 0) this.place(old[o] as number, old[o + 1] as number, old[o + 2] as number, old[o + 3] as number);
    }
  }

  /** Empties the generation, keeping its arrays for reuse. */
  reset(): void {
    this.table.fill(0);
    this.arenaUsed = 0;
    this.values.length = 0;
  }
}

/**
 * A class, not an object literal over closures: an object literal with a
 * getter came out in V8's dictionary mode (%HasFastProperties false), and
 * every look-up of `get`, `set` or `strings` on it then went through the
 * inline caches' slow path (Builtins_LoadIC, ~3.5% of the ingest main
 * thread's perf samples).
 */
export class LabelBytesCacheImpl<T> implements LabelBytesCache<T> {
  private readonly generationSize: number;
  private young = new Generation<T>(MIN_SLOTS);
  private old = new Generation<T>(MIN_SLOTS);
  // the guess for the next look-up: entry `nextIndex` of `nextIn`
  private nextIn: Generation<T>;
  private nextIndex = 0;
  // A decoder looks up every series of a request in the same buffer: one
  // DataView per buffer, not per look-up.
  private lastBuf: Uint8Array | undefined = undefined;
  private lastView: DataView | undefined = undefined;

  constructor(options: LabelBytesCacheOptions) {
    if (!(options.maxEntries >= 2)) throw new Error('label bytes cache: maxEntries must be at least 2');
    this.generationSize = Math.floor(options.maxEntries / 2);
    this.nextIn = this.young;
  }

  private viewOf(buf: Uint8Array): DataView {
    if (buf !== this.lastBuf || this.lastView === undefined) {
      this.lastBuf = buf;
      this.lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.lastView;
  }

  private insert(h: number, src: Uint8Array, start: number, end: number, value: T): void {
    if (this.young.count >= this.generationSize) {
      const dropped = this.old;
      this.old = this.young;
      dropped.reset();
      this.young = dropped;
    }
    this.young.add(h, src, start, end, value);
  }

  get(buf: Uint8Array, start: number, end: number): T | undefined {
    const view = this.viewOf(buf);
    const guess = this.nextIn;
    const g = this.nextIndex;
    if (guess.isAt(g, buf, view, start, end)) {
      const value = guess.values[g] as T;
      this.nextIndex = g + 1;
      // the young generation must hold what is used, as after a hashed hit in the old one
      if (guess !== this.young) this.insert(hashLabelBytes(buf, view, start, end), buf, start, end, value);
      return value;
    }
    const h = hashLabelBytes(buf, view, start, end);
    const young = this.young;
    const y = young.find(h, buf, view, start, end);
    if (y >= 0) {
      this.nextIn = young;
      this.nextIndex = y + 1;
      return young.values[y];
    }
    const old = this.old;
    const o = old.find(h, buf, view, start, end);
    if (o < 0) return undefined;
    const value = old.values[o] as T;
    this.insert(h, buf, start, end, value);
    // the sender's next series most likely follows this one in the old generation too
    this.nextIn = old;
    this.nextIndex = o + 1;
    return value;
  }

  set(buf: Uint8Array, start: number, end: number, value: T): void {
    this.insert(hashLabelBytes(buf, this.viewOf(buf), start, end), buf, start, end, value);
  }

  get size(): number {
    return this.young.count + this.old.count;
  }

  clear(): void {
    this.young = new Generation<T>(MIN_SLOTS);
    this.old = new Generation<T>(MIN_SLOTS);
    this.nextIn = this.young;
    this.nextIndex = 0;
    this.lastBuf = undefined;
    this.lastView = undefined;
  }
}

export function createLabelBytesCache<T>(options: LabelBytesCacheOptions): LabelBytesCache<T> {
  return new LabelBytesCacheImpl<T>(options);
}

/**
 * a[aStart, ...) equals b[start, end). Unaligned DataView reads are single
 * loads; 16 bytes per step with one branch: a steady-state look-up is one
 * full compare of ~150 bytes, which this does in ~50 ns against ~86 ns at
 * 4 bytes and a branch per step (node 20, measured in isolation).
 */
function sameBytes(a: Uint8Array, av: DataView, aStart: number, b: Uint8Array, bv: DataView, start: number, end: number): boolean {
  const n = end - start;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const x0 = av.getInt32(aStart + i, true) ^ bv.getInt32(start + i, true);
    const x1 = av.getInt32(aStart + i + 4, true) ^ bv.getInt32(start + i + 4, true);
    const x2 = av.getInt32(aStart + i + 8, true) ^ bv.getInt32(start + i + 8, true);
    const x3 = av.getInt32(aStart + i + 12, true) ^ bv.getInt32(start + i + 12, true);
    if ((x0 | x1 | x2 | x3) !== 0) return false;
  }
  for (; i + 4 <= n; i += 4) if (av.getInt32(aStart + i, true) !== bv.getInt32(start + i, true)) return false;
  for (; i < n; i++) if (a[aStart + i] !== b[start + i]) return false;
  return true;
}

/**
 * A 32-bit hash of buf[start, end) (`view` covers `buf`): two multiply-rotate
 * lanes over 8 bytes per step, so the lanes' multiplications overlap, and a
 * final avalanche so the table can index by the low bits. Every byte counts:
 * label sets often differ in one value in the middle (pod, le), and hashing a
 * sample of the bytes would give such sets long probe chains.
 * Exported for tests (forcing collisions).
 */
export function hashLabelBytes(buf: Uint8Array, view: DataView, start: number, end: number): number {
  let h1 = 0x811c9dc5 ^ (end - start);
  let h2 = 0x1b873593;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    h1 = Math.imul(h1 ^ view.getInt32(i, true), 0x01000193);
    h2 = Math.imul(h2 ^ view.getInt32(i + 4, true), 0x5bd1e995);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = (h2 << 17) | (h2 >>> 15);
  }
  for (; i < end; i++) h1 = Math.imul(h1 ^ (buf[i] as number), 0x01000193);
  let h = h1 ^ Math.imul(h2, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
