// The central write path: limits, then group-committed inserts per table. A
// write resolves only once every row it carries is committed in ClickHouse.
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
}

export type MetricsCommitted = (tenant: string, batch: MetricsBatch, keep: Uint8Array | undefined, sampleKeep: Uint8Array | undefined) => void;

/** The commit hook that keeps the in-memory head complete (storage/head.ts). */
export function headFeed(head: Head | undefined): MetricsCommitted | undefined {
  return head ? (tenant, batch, keep, sampleKeep) => head.append(tenant, batch, keep, sampleKeep) : undefined;
}

export function ingesterOptionsFromConfig(config: Config, store: Store, registry: MetricsRegistry, onMetricsCommitted?: MetricsCommitted): IngesterOptions {
  return { store, registry, limits: limitsFromConfig(config), maxPendingBytes: config.limits.maxPendingBytes, maxRowsPerInsert: config.ingest.maxBatchRows, ...(onMetricsCommitted ? { onMetricsCommitted } : {}) };
}

export function createIngester(opts: IngesterOptions): Ingester {
  const budget = new PendingBudget(opts.maxPendingBytes);
  const gate = new ProducerGate();
  const now = opts.now ?? Date.now;
  const rowsTotal = counter(opts.registry, 'fleetwatch_ingest_rows_total', 'rows committed to storage by table', ['table']);
  const rejectedTotal = counter(opts.registry, 'fleetwatch_ingest_rejected_total', 'samples, records or spans rejected by validation and limits', ['signal']);
  const insertsTotal = counter(opts.registry, 'fleetwatch_ingest_inserts_total', 'storage inserts by table and outcome', ['table', 'outcome']);
  gauge(opts.registry, 'fleetwatch_ingest_pending_bytes', 'bytes waiting for storage', [], () => budget.bytes);

  const queue = (s: TableShape): TableQueue =>
    new TableQueue({
      store: opts.store,
      table: s.table,
      columns: s.columns,
      structure: s.structure,
      maxRowsPerInsert: opts.maxRowsPerInsert,
      budget,
      gate,
      lingerMs: opts.lingerMs ?? 5,
      onInsert: (rows, _bytes, ok) => {
        insertsTotal.inc({ table: s.table, outcome: ok ? 'ok' : 'error' });
        if (ok) rowsTotal.inc({ table: s.table }, rows);
      },
    });
  const q = {
    series: queue(SHAPES.series),
    samples: queue(SHAPES.samples),
    exemplars: queue(SHAPES.exemplars),
    metadata: queue(SHAPES.metadata),
    streams: queue(SHAPES.streams),
    logs: queue(SHAPES.logs),
    spans: queue(SHAPES.spans),
  };
  /**
   * Queues one request's chunks for their tables, or refuses them all
   * (overload) before any is queued: a request refused after some of its rows
   * were committed would store them twice once the client retries.
   */
  const admit = (parts: readonly [TableQueue, Chunk][]): Promise<void>[] => {
    let bytes = 0;
    for (const [, c] of parts) if (c.rows > 0) bytes += c.data.length;
    if (bytes > 0 && !budget.tryTake(bytes)) throw new FleetwatchError('FW_ERR_INGEST_OVERLOADED', `more than ${budget.maxBytes} bytes are waiting for storage`);
    return parts.map(([queue, c]) => queue.write(c.data, c.rows, true));
  };
  const limits = createLimitChecker(opts.limits);
  const seriesCache = new SeriesCache(opts.seriesCacheEntries ?? 2_000_000);
  const streamCache = new SeriesCache(opts.seriesCacheEntries ?? 2_000_000);

  return {
    get pendingBytes() {
      return budget.bytes;
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
        writes = admit([
          [q.series, chunks.series],
          [q.samples, chunks.samples],
          [q.exemplars, chunks.exemplars],
          [q.metadata, chunks.metadata],
        ]);
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
        writes = admit([
          [q.streams, chunks.streams],
          [q.logs, chunks.logs],
        ]);
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
        write = q.spans.write(chunk.data, chunk.rows);
      } finally {
        produced?.();
      }
      await write;
      const rej = batch.rejected.reduce((a, r) => a + r.count, 0);
      if (rej) rejectedTotal.inc({ signal: 'traces' }, rej);
      return { written: chunk.rows, rejected: batch.rejected };
    },

    async shutdown() {
      await Promise.all(Object.values(q).map((t) => t.close()));
    },
  };
}
