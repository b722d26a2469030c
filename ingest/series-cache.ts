// Remembers which (tenant, series, day) rows are already committed to the
// series/streams tables, so each label set is written once per day, not once
// per sample. Bounded: when full it forgets everything (a forgotten series
// costs one duplicate row, which ReplacingMergeTree folds away).
export class SeriesCache {
  private seen = new Set<string>();
  constructor(private readonly maxEntries: number) {}

  static key(tenant: string, day: number, fpHi: number, fpLo: number): string {
    return `${tenant}\u0000${day}\u0000${fpHi}\u0000${fpLo}`;
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  /** Marks keys committed (call only after the insert succeeded). */
  addAll(keys: readonly string[]): void {
    if (this.seen.size + keys.length > this.maxEntries) this.seen = new Set();
    for (const k of keys) this.seen.add(k);
  }

  get size(): number {
    return this.seen.size;
  }
}
