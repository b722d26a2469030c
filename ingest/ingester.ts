// The central write path: limits, then either central's ingest log (a write
// resolves once its rows are fsynced there; ingest/ingest-log.ts fills
// ClickHouse from it in large inserts) or, without the log, group-committed
// inserts per table (a write resolves once its rows are committed in
// ClickHouse).
import type { Config } from '../core/index.ts';
import { FleetwatchError } from '../core/index.ts';
import { counter, gauge, type MetricsRegistry } from '../core/index.ts';
import type { Head, Store } from '../storage/index.ts';
import type { LogsBatch, MetricsBatch, Rejection, SpansBatch } from '../protocols/index.ts';
import { PendingBudget, TableQueue } from './table-queue.ts';
import { ProducerGate } from './producer-gate.ts';
import { SeriesCache } from './series-cache.ts';
import { SHAPES, encodeLogs, encodeMetrics, encodeSpans, markCommitted, type Chunk, type TableShape } from './row-encoders.ts';
import { createLimitChecker, limitsFromConfig, type WriteLimits } from './limits.ts';
import type { IngestLog } from './ingest-log.ts';

export interface WriteOutcome {
  /** rows written */
  readonly written: number;
  readonly rejected: Rejection[];
}

export interface Ingester {
  /**
   * Call when a request starts decoding; call the returned function once its
   * rows are handed over (writeX does that when given it) or it fails.
   * Pending inserts wait briefly for active producers to batch with them.
   */
  produce(): () => void;
  writeMetrics(tenant: string, batch: MetricsBatch, produced?: () => void): Promise<WriteOutcome & { exemplars: number }>;
  writeLogs(tenant: string, batch: LogsBatch, produced?: () => void): Promise<WriteOutcome>;
  writeSpans(tenant: string, batch: SpansBatch, produced?: () => void): Promise<WriteOutcome>;
  /** bytes waiting for storage */
  readonly pendingBytes: number;
  /** flushes what is queued; later writes are refused */
  shutdown(): Promise<void>;
}

export interface IngesterOptions {
  readonly store: Store;
  readonly registry: MetricsRegistry;
  readonly limits: WriteLimits;
  readonly maxPendingBytes: number;
  readonly maxRowsPerInsert: number;
  readonly seriesCacheEntries?: number;
  /** longest an insert waits for requests still decoding (default 5 ms) */
  readonly lingerMs?: number;
  readonly now?: () => number;
  /**
   * Called synchronously once a metrics write is committed, before the
   * client is answered (the query side's recent-samples head keeps
   * read-your-writes this way). keep/sampleKeep say which series and samples
   * were stored, as encodeMetrics read them. Must not throw.
   */
  readonly onMetricsCommitted?: MetricsCommitted;
  /**
   * Central's ingest log (opening): writes are acknowledged once logged
   * instead of once inserted; "committed" above then means durable in the log.
   */
  readonly log?: Promise<IngestLog>;
}

export type MetricsCommitted = (tenant: string, batch: MetricsBatch, keep: Uint8Array | undefined, sampleKeep: Uint8Array | undefined) => void;

/** The commit hook that keeps the in-memory head complete (storage/head.ts). */
export function headFeed(head: Head | undefined): MetricsCommitted | undefined {
  return head ? (tenant, batch, keep, sampleKeep) => head.append(tenant, batch, keep, sampleKeep) : undefined;
}

export function ingesterOptionsFromConfig(config: Config, store: Store, registry: MetricsRegistry, onMetricsCommitted?: MetricsCommitted, log?: Promise<IngestLog>): IngesterOptions {
  return { store, registry, limits: limitsFromConfig(config), maxPendingBytes: config.limits.maxPendingBytes, maxRowsPerInsert: config.ingest.maxBatchRows, ...(onMetricsCommitted ? { onMetricsCommitted } : {}), ...(log ? { log } : {}) };
}

export function createIngester(opts: IngesterOptions): Ingester {
  const budget = new PendingBudget(opts.maxPendingBytes);
  const gate = new ProducerGate();
  const now = opts.now ?? Date.now;
  const rowsTotal = counter(opts.registry, 'fleetwatch_ingest_rows_total', 'rows committed to storage by table', ['table']);
  const rejectedTotal = counter(opts.registry, 'fleetwatch_ingest_rejected_total', 'samples, records or spans rejected by validation and limits', ['signal']);
  const insertsTotal = counter(opts.registry, 'fleetwatch_ingest_inserts_total', 'storage inserts by table and outcome', ['table', 'outcome']);
  let openLog: IngestLog | undefined;
  void opts.log?.then((l) => (openLog = l)).catch(() => undefined);
  const logBytes = (): number => openLog?.stats().bytes ?? 0;
  gauge(opts.registry, 'fleetwatch_ingest_pending_bytes', 'bytes waiting for storage (queued for an insert, or acknowledged in the ingest log)', [], () => budget.bytes + logBytes());

  const queue = (s: TableShape): TableQueue =>
    new TableQueue({
      store: opts.store,
      table: s.table,
      columns: s.columns,
      structure: s.structure,
      format: s.format,
      maxRowsPerInsert: opts.maxRowsPerInsert,
      budget,
      gate,
      lingerMs: opts.lingerMs ?? 5,
      onInsert: (rows, _bytes, ok) => {
        insertsTotal.inc({ table: s.table, outcome: ok ? 'ok' : 'error' });
        if (ok) rowsTotal.inc({ table: s.table }, rows);
      },
    });
  // one group-commit queue per table (unused while the ingest log takes the writes)
  const queues = new Map(Object.values(SHAPES).map((s) => [s.table, queue(s)] as const));
  const log = opts.log;
  // the log is opening while the first requests may already arrive
  log?.catch(() => undefined);
  /**
   * Logs (one record) or queues one request's chunks for their tables, or refuses them all
   * (overload) before any is queued: a request refused after some of its rows
   * were committed would store them twice once the client retries.
   */
  const admit = (parts: readonly (readonly [TableShape, Chunk])[], tenant: string): Promise<void>[] => {
    if (log) return [log.then((l) => l.append(tenant, parts))];
    let bytes = 0;
    for (const [, c] of parts) if (c.rows > 0) bytes += c.data.length;
    if (bytes > 0 && !budget.tryTake(bytes)) throw new FleetwatchError('FW_ERR_INGEST_OVERLOADED', `more than ${budget.maxBytes} bytes are waiting for storage`);
    return parts.map(([shape, c]) => (queues.get(shape.table) as TableQueue).write(c.data, c.rows, true));
  };
  const limits = createLimitChecker(opts.limits);
  const seriesCache = new SeriesCache(opts.seriesCacheEntries ?? 2_000_000);
  const streamCache = new SeriesCache(opts.seriesCacheEntries ?? 2_000_000);

  return {
    get pendingBytes() {
      return budget.bytes + logBytes();
    },

    produce: () => gate.enter(),

    async writeMetrics(tenant, batch, produced) {
      let writes: Promise<void>[];
      let chunks: ReturnType<typeof encodeMetrics>;
      let rejected: Rejection[];
      let verdict: ReturnType<typeof limits.checkMetrics>;
      try {
        verdict = limits.checkMetrics(batch, now());
        if (verdict.requestError) throw new FleetwatchError('FW_ERR_INGEST_LIMIT', verdict.requestError);
        rejected = [...batch.rejected, ...verdict.rejected];
        chunks = encodeMetrics(tenant, batch, seriesCache, verdict.keep, verdict.sampleKeep, now());
        // series rows and samples go in parallel; the write is acknowledged only
        // when both are committed, and series keys are remembered only then
        writes = admit(
          [
            [SHAPES.series, chunks.series],
            [SHAPES.samples, chunks.samples],
            [SHAPES.exemplars, chunks.exemplars],
            [SHAPES.metadata, chunks.metadata],
          ],
          tenant,
        );
      } finally {
        produced?.();
      }
      await Promise.all(writes);
      markCommitted(seriesCache, chunks.newSeries);
      opts.onMetricsCommitted?.(tenant, batch, verdict.keep, verdict.sampleKeep);
      const rej = rejected.reduce((a, r) => a + r.count, 0);
      if (rej) rejectedTotal.inc({ signal: 'metrics' }, rej);
      return { written: chunks.samples.rows, exemplars: chunks.exemplars.rows, rejected };
    },

    async writeLogs(tenant, batch, produced) {
      let chunks: ReturnType<typeof encodeLogs>;
      let rejected: Rejection[];
      let writes: Promise<void>[];
      try {
        const verdict = limits.checkLogs(batch, now());
        rejected = [...batch.rejected, ...verdict.rejected];
        chunks = encodeLogs(tenant, batch, streamCache, verdict.keep);
        writes = admit(
          [
            [SHAPES.streams, chunks.streams],
            [SHAPES.logs, chunks.logs],
          ],
          tenant,
        );
      } finally {
        produced?.();
      }
      await Promise.all(writes);
      streamCache.commit(chunks.newStreams);
      const rej = rejected.reduce((a, r) => a + r.count, 0);
      if (rej) rejectedTotal.inc({ signal: 'logs' }, rej);
      return { written: chunks.logs.rows, rejected };
    },

    async writeSpans(tenant, batch, produced) {
      let chunk: ReturnType<typeof encodeSpans>;
      let write: Promise<void>;
      try {
        chunk = encodeSpans(tenant, batch);
        [write] = admit([[SHAPES.spans, chunk]], tenant) as [Promise<void>];
      } finally {
        produced?.();
      }
      await write;
      const rej = batch.rejected.reduce((a, r) => a + r.count, 0);
      if (rej) rejectedTotal.inc({ signal: 'traces' }, rej);
      return { written: chunk.rows, rejected: batch.rejected };
    },

    async shutdown() {
      await Promise.all([...queues.values()].map((t) => t.close()));
    },
  };
}
