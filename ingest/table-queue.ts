// Group commit into one ClickHouse table. Each request encodes its rows as a
// RowBinary chunk (chunks concatenate into valid RowBinary) and waits here;
// while one insert is in flight, the next requests' chunks pile up and go
// together in the next insert. Light load gets low latency, heavy load gets
// large inserts, and a request is answered only after its rows are committed.
import { FleetwatchError } from '../core/index.ts';
import type { InsertBatch, Store } from '../storage/index.ts';

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
  readonly maxRowsPerInsert: number;
  readonly budget: PendingBudget;
  readonly onInsert?: (rows: number, bytes: number, ok: boolean) => void;
}

export class TableQueue {
  private waiting: Waiter[] = [];
  private inflight: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: TableQueueOptions) {}

  /** Resolves once the chunk's rows are committed; rejects retryably on overload or storage failure. */
  write(chunk: Uint8Array, rows: number): Promise<void> {
    if (rows === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', 'shutting down'));
    if (!this.opts.budget.tryTake(chunk.length)) {
      return Promise.reject(new FleetwatchError('FW_ERR_INGEST_OVERLOADED', `more than ${this.opts.budget.maxBytes} bytes are waiting for storage`));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ chunk, rows, resolve, reject });
      if (!this.inflight) this.inflight = this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const take: Waiter[] = [];
        let rows = 0;
        let bytes = 0;
        while (this.waiting.length > 0 && (take.length === 0 || rows + (this.waiting[0] as Waiter).rows <= this.opts.maxRowsPerInsert)) {
          const w = this.waiting.shift() as Waiter;
          take.push(w);
          rows += w.rows;
          bytes += w.chunk.length;
        }
        const data = take.length === 1 ? (take[0] as Waiter).chunk : Buffer.concat(take.map((w) => w.chunk), bytes);
        const batch: InsertBatch = { table: this.opts.table, columns: this.opts.columns, structure: this.opts.structure, rowBinary: data, rows };
        try {
          await this.opts.store.insert(batch);
          this.opts.onInsert?.(rows, bytes, true);
          for (const w of take) w.resolve();
        } catch (e) {
          this.opts.onInsert?.(rows, bytes, false);
          const err = e instanceof FleetwatchError && e.retryable ? e : new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', `insert into ${this.opts.table} failed: ${(e as Error).message}`, { cause: e, retryable: true });
          for (const w of take) w.reject(err);
        } finally {
          this.opts.budget.give(bytes);
        }
      }
    } finally {
      this.inflight = undefined;
    }
  }

  /** Waits for everything queued to be written; later writes are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inflight) await this.inflight;
  }
}
