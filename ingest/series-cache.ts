// Remembers which (tenant, series, day) rows are already committed to the
// series/streams tables, so each label set is written once per day, not once
// per sample. Decoders that reuse SeriesRef objects let the per-object slot
// (see series-slot.ts) answer most look-ups; this bounded set answers the
// rest. When the set is full it forgets everything (a forgotten series costs
// one duplicate row, which ReplacingMergeTree folds away).
//
// The set is an open-addressing table of int32 (tenant number, day,
// fingerprint halves), not a Set of string keys: every new series made a key
// string of four numbers (~0.5 µs to build and hash) that then lived in the
// heap for the garbage collector to mark on every full collection; up to
// maxEntries of them.

export interface PendingSeries {
  readonly ref: object;
  readonly tenant: string;
  readonly day: number;
  readonly fpHi: number;
  readonly fpLo: number;
}

/** int32 per slot: tenant number + 1 (0 = empty), day, fingerprint high and low halves */
const SLOT = 4;
const MIN_SLOTS = 64;

export class SeriesCache {
  private table = new Int32Array(MIN_SLOTS * SLOT);
  private mask = MIN_SLOTS - 1;
  private count = 0;
  /** tenants by number (forgotten with the entries) */
  private tenants = new Map<string, number>();

  constructor(private readonly maxEntries: number) {}

  has(tenant: string, day: number, fpHi: number, fpLo: number): boolean {
    const t = this.tenants.get(tenant);
    return t !== undefined && this.find(t + 1, day | 0, fpHi | 0, fpLo | 0) >= 0;
  }

  /** Adds one key (forgetting everything first when full); false if it was there already. */
  add(tenant: string, day: number, fpHi: number, fpLo: number): boolean {
    if (this.count + 1 > this.maxEntries) this.forget();
    let t = this.tenants.get(tenant);
    if (t === undefined) this.tenants.set(tenant, (t = this.tenants.size));
    return this.addKey(t + 1, day | 0, fpHi | 0, fpLo | 0);
  }

  /** Marks series committed (call only after their insert succeeded). */
  commit(entries: readonly PendingSeries[]): void {
    if (this.count + entries.length > this.maxEntries) this.forget();
    for (const e of entries) this.add(e.tenant, e.day, e.fpHi, e.fpLo);
  }

  get size(): number {
    return this.count;
  }

  /** The slot index holding the key, or -1. */
  private find(t1: number, day: number, hi: number, lo: number): number {
    const tb = this.table;
    for (let i = slotHash(t1, day, hi, lo) & this.mask; ; i = (i + 1) & this.mask) {
      const o = i * SLOT;
      const st = tb[o] as number;
      if (st === 0) return -1;
      if (st === t1 && tb[o + 3] === lo && tb[o + 2] === hi && tb[o + 1] === day) return i;
    }
  }

  private addKey(t1: number, day: number, hi: number, lo: number): boolean {
    if (this.find(t1, day, hi, lo) >= 0) return false;
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    this.place(t1, day, hi, lo);
    this.count++;
    return true;
  }

  private place(t1: number, day: number, hi: number, lo: number): void {
    const tb = this.table;
    let i = slotHash(t1, day, hi, lo) & this.mask;
    while (tb[i * SLOT] !== 0) i = (i + 1) & this.mask;
    const o = i * SLOT;
    tb[o] = t1;
    tb[o + 1] = day;
    tb[o + 2] = hi;
    tb[o + 3] = lo;
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    this.table = new Int32Array(slots * SLOT);
    this.mask = slots - 1;
    for (let o = 0; o < old.length; o += SLOT) {
      if (old[o] !== 0) this.place(old[o] as number, old[o + 1] as number, old[o + 2] as number, old[o + 3] as number);
    }
  }

  private forget(): void {
    this.table = new Int32Array(MIN_SLOTS * SLOT);
    this.mask = MIN_SLOTS - 1;
    this.count = 0;
    this.tenants = new Map();
  }
}

/** The fingerprint is already a hash; mixing in the tenant and day spreads same-series-other-day keys. */
function slotHash(t1: number, day: number, hi: number, lo: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= Math.imul(day + Math.imul(t1, 0x27d4eb2f), 0xc2b2ae35);
  return h ^ (h >>> 15);
}
