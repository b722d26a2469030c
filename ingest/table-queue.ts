// Group commit into one ClickHouse table. Each request encodes its rows as a
// RowBinary chunk (chunks concatenate into valid RowBinary) and waits here;
// while one insert is in flight, the next requests' chunks pile up and go
// together in the next insert. Light load gets low latency, heavy load gets
// large inserts, and a request is answered only after its rows are committed.
import { FleetwatchError } from '../core/index.ts';
import type { InsertBatch, InsertFormat, Store } from '../storage/index.ts';
import type { ProducerGate } from './producer-gate.ts';

interface Waiter {
  readonly chunk: Uint8Array;
  readonly rows: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** Shared bound on bytes waiting for storage across all queues. */
export class PendingBudget {
  private used = 0;
  constructor(readonly maxBytes: number) {}
  get bytes(): number {
    return this.used;
  }
  /** Reserves bytes or answers false when over budget (caller pushes back with 429/503). */
  tryTake(n: number): boolean {
    // a single request larger than the budget still goes through when nothing waits
    if (this.used > 0 && this.used + n > this.maxBytes) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
}

export interface TableQueueOptions {
  readonly store: Store;
  readonly table: string;
  readonly columns: readonly string[];
  readonly structure: string;
  readonly format: InsertFormat;
  readonly maxRowsPerInsert: number;
  readonly budget: PendingBudget;
  readonly onInsert?: (rows: number, bytes: number, ok: boolean) => void;
  /** requests still decoding; an insert waits up to lingerMs for them */
  readonly gate?: ProducerGate;
  readonly lingerMs?: number;
  /** inserts into this table at once (default 2: one fills while one commits) */
  readonly maxConcurrentInserts?: number;
}

export class TableQueue {
  private waiting: Waiter[] = [];
  private readonly workers = new Set<Promise<void>>();
  private running = 0;
  private closed = false;
  /** writes inside an insert right now */
  private inFlight = 0;
  /** writes queued or being inserted, and the most seen lately (≈ concurrent clients) */
  private inSystem = 0;
  private peak = 0;
  private peakResetAt = 0;
  private arrivalWaiters: (() => void)[] = [];

  constructor(private readonly opts: TableQueueOptions) {}

  /**
   * Resolves once the chunk's rows are committed; rejects retryably on
   * overload or storage failure. `reserved`: the caller has already taken
   * the chunk's bytes from the budget (see PendingBudget.tryTake), as a
   * request spanning several tables must, so it is refused whole or not at all.
   */
  write(chunk: Uint8Array, rows: number, reserved = false): Promise<void> {
    if (rows === 0) return Promise.resolve();
    if (this.closed) {
      if (reserved) this.opts.budget.give(chunk.length);
      return Promise.reject(new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', 'shutting down'));
    }
    if (!reserved && !this.opts.budget.tryTake(chunk.length)) {
      return Promise.reject(new FleetwatchError('FW_ERR_INGEST_OVERLOADED', `more than ${this.opts.budget.maxBytes} bytes are waiting for storage`));
    }
    this.inSystem++;
    const now = Date.now();
    if (now > this.peakResetAt) {
      this.peak = this.inSystem;
      this.peakResetAt = now + 2000;
    } else if (this.inSystem > this.peak) this.peak = this.inSystem;
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({
        chunk,
        rows,
        resolve: () => {
          this.inSystem--;
          resolve();
        },
        reject: (e) => {
          this.inSystem--;
          reject(e);
        },
      });
      const wake = this.arrivalWaiters;
      this.arrivalWaiters = [];
      for (const f of wake) f();
      // `running` changes in the same turn as a worker's last look at the
      // queue, so a write can never land in a queue whose worker just left
      if (this.running < (this.opts.maxConcurrentInserts ?? 1)) {
        this.running++;
        const w: Promise<void> = this.work().finally(() => this.workers.delete(w));
        this.workers.add(w);
      }
    });
  }

  /** One insert loop; up to maxConcurrentInserts run at once so decoding and inserting overlap. */
  private async work(): Promise<void> {
    for (;;) {
      if (this.waiting.length === 0) {
        // in the same turn as the check: see write()
        this.running--;
        return;
      }
      await this.linger();
      const take: Waiter[] = [];
      let rows = 0;
      let bytes = 0;
      while (this.waiting.length > 0 && (take.length === 0 || rows + (this.waiting[0] as Waiter).rows <= this.opts.maxRowsPerInsert)) {
        const w = this.waiting.shift() as Waiter;
        take.push(w);
        rows += w.rows;
        bytes += w.chunk.length;
      }
      if (take.length === 0) continue;
      this.inFlight += take.length;
      const data = take.length === 1 ? (take[0] as Waiter).chunk : Buffer.concat(take.map((w) => w.chunk), bytes);
      const batch: InsertBatch = { table: this.opts.table, columns: this.opts.columns, structure: this.opts.structure, format: this.opts.format, data, rows };
      try {
        await this.opts.store.insert(batch);
        this.opts.onInsert?.(rows, bytes, true);
        for (const w of take) w.resolve();
      } catch (e) {
        this.opts.onInsert?.(rows, bytes, false);
        const err = e instanceof FleetwatchError && e.retryable ? e : new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', `insert into ${this.opts.table} failed: ${(e as Error).message}`, { cause: e, retryable: true });
        for (const w of take) w.reject(err);
      } finally {
        this.inFlight -= take.length;
        this.opts.budget.give(bytes);
      }
    }
  }

  /**
   * Before an insert, wait briefly (at most lingerMs) while fewer writes are
   * queued or in flight than the number of clients seen writing concurrently
   * lately, or while requests are still decoding: those clients are about to
   * add rows, and one insert for all of them costs much less than one each.
   */
  private async linger(): Promise<void> {
    const lingerMs = this.opts.lingerMs ?? 0;
    if (lingerMs <= 0) return;
    const deadline = Date.now() + lingerMs;
    // let requests whose bodies have arrived start decoding first
    await new Promise<void>((r) => setImmediate(r));
    while (!this.closed && Date.now() < deadline && this.waiting.length > 0) {
      const decoding = this.opts.gate?.count ?? 0;
      if (this.waiting.length + this.inFlight >= this.peak && decoding === 0) return;
      const left = deadline - Date.now();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, left));
        this.arrivalWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for everything queued to be written; later writes are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.workers.size > 0) await Promise.all([...this.workers]);
  }
}
