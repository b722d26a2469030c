// The central write path: limits, then group-committed inserts per table. A
// write resolves only once every row it carries is committed in ClickHouse.
import type { Config } from '../core/index.ts';
import { FleetwatchError } from '../core/index.ts';
import { counter, gauge, type MetricsRegistry } from '../core/index.ts';
import type { Store } from '../storage/index.ts';
import type { LogsBatch, MetricsBatch, Rejection, SpansBatch } from '../protocols/index.ts';
import { PendingBudget, TableQueue } from './table-queue.ts';
import { SeriesCache } from './series-cache.ts';
import { SHAPES, encodeLogs, encodeMetrics, encodeSpans, markCommitted, type TableShape } from './row-encoders.ts';
import { createLimitChecker, limitsFromConfig, type WriteLimits } from './limits.ts';

export interface WriteOutcome {
  /** rows written */
  readonly written: number;
  readonly rejected: Rejection[];
}

export interface Ingester {
  writeMetrics(tenant: string, batch: MetricsBatch): Promise<WriteOutcome & { exemplars: number }>;
  writeLogs(tenant: string, batch: LogsBatch): Promise<WriteOutcome>;
  writeSpans(tenant: string, batch: SpansBatch): Promise<WriteOutcome>;
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
  readonly now?: () => number;
}

export function ingesterOptionsFromConfig(config: Config, store: Store, registry: MetricsRegistry): IngesterOptions {
  return { store, registry, limits: limitsFromConfig(config), maxPendingBytes: config.limits.maxPendingBytes, maxRowsPerInsert: config.ingest.maxBatchRows };
}

export function createIngester(opts: IngesterOptions): Ingester {
  const budget = new PendingBudget(opts.maxPendingBytes);
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
  const limits = createLimitChecker(opts.limits);
  const seriesCache = new SeriesCache(opts.seriesCacheEntries ?? 2_000_000);
  const streamCache = new SeriesCache(opts.seriesCacheEntries ?? 2_000_000);

  return {
    get pendingBytes() {
      return budget.bytes;
    },

    async writeMetrics(tenant, batch) {
      const verdict = limits.checkMetrics(batch, now());
      if (verdict.requestError) throw new FleetwatchError('FW_ERR_INGEST_LIMIT', verdict.requestError);
      const rejected = [...batch.rejected, ...verdict.rejected];
      const chunks = encodeMetrics(tenant, batch, seriesCache, verdict.keep, verdict.sampleKeep, now());
      // series rows and samples go in parallel; the write is acknowledged only
      // when both are committed, and series keys are remembered only then
      await Promise.all([
        q.series.write(chunks.series.data, chunks.series.rows),
        q.samples.write(chunks.samples.data, chunks.samples.rows),
        q.exemplars.write(chunks.exemplars.data, chunks.exemplars.rows),
        q.metadata.write(chunks.metadata.data, chunks.metadata.rows),
      ]);
      markCommitted(seriesCache, chunks.newSeries);
      const rej = rejected.reduce((a, r) => a + r.count, 0);
      if (rej) rejectedTotal.inc({ signal: 'metrics' }, rej);
      return { written: chunks.samples.rows, exemplars: chunks.exemplars.rows, rejected };
    },

    async writeLogs(tenant, batch) {
      const verdict = limits.checkLogs(batch, now());
      const rejected = [...batch.rejected, ...verdict.rejected];
      const chunks = encodeLogs(tenant, batch, streamCache, verdict.keep);
      await Promise.all([q.streams.write(chunks.streams.data, chunks.streams.rows), q.logs.write(chunks.logs.data, chunks.logs.rows)]);
      streamCache.commit(chunks.newStreams);
      const rej = rejected.reduce((a, r) => a + r.count, 0);
      if (rej) rejectedTotal.inc({ signal: 'logs' }, rej);
      return { written: chunks.logs.rows, rejected };
    },

    async writeSpans(tenant, batch) {
      const chunk = encodeSpans(tenant, batch);
      await q.spans.write(chunk.data, chunk.rows);
      const rej = batch.rejected.reduce((a, r) => a + r.count, 0);
      if (rej) rejectedTotal.inc({ signal: 'traces' }, rej);
      return { written: chunk.rows, rejected: batch.rejected };
    },

    async shutdown() {
      await Promise.all(Object.values(q).map((t) => t.close()));
    },
  };
}
