// Remembers which (tenant, series, day) rows are already committed to the
// series/streams tables, so each label set is written once per day, not once
// per sample. Decoders that reuse SeriesRef objects let the per-object slot
// (see row-encoders.ts) answer most look-ups; this bounded set of string keys
// answers the rest. When the set is full it forgets everything (a forgotten
// series costs one duplicate row, which ReplacingMergeTree folds away).

export interface PendingSeries {
  readonly ref: object;
  readonly tenant: string;
  readonly day: number;
  readonly key: string;
}

export class SeriesCache {
  private seen = new Set<string>();
  constructor(private readonly maxEntries: number) {}

  static key(tenant: string, day: number, fpHi: number, fpLo: number): string {
    return `${tenant}\u0000${day}\u0000${fpHi}\u0000${fpLo}`;
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  /** Marks series committed (call only after their insert succeeded). */
  commit(entries: readonly PendingSeries[]): void {
    if (this.seen.size + entries.length > this.maxEntries) this.seen = new Set();
    for (const e of entries) this.seen.add(e.key);
  }

  get size(): number {
    return this.seen.size;
  }
}
