// Central's end of the collector's shipper: POST /api/v1/fleet/batches takes
// a snappy-compressed fleet batch (protocols/fleet-batch.ts), writes it to
// ClickHouse and acknowledges only once every row is committed.
//
// Exactly once, in three layers:
// 1. Batch ids. The collector names each batch by its WAL range and re-sends
//    it under the same id until acknowledged. Central records delivered ids
//    in `ingest_batches` (and in memory); a resend (the collector says so in
//    X-Fleetwatch-Resend) of a recorded id is acknowledged without writing.
// 2. In-flight coalescing. A resend that arrives while the first copy is
//    still being written (the connection was cut after the upload) waits for
//    it instead of racing it.
// 3. ClickHouse insert deduplication. Each table's insert carries the batch
//    id as `insert_deduplication_token`, so if central dies between
//    committing the rows and recording the id, the resend's inserts are
//    dropped by ClickHouse itself (tables keep the last
//    non_replicated_deduplication_window tokens; Replicated tables do this by
//    default). https://clickhouse.com/docs/operations/settings/settings#insert_deduplication_token
//
// A collector batch is large (megabytes), so it is inserted on its own
// rather than group-committed with other requests: the insert is then a unit
// the token can name.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FleetwatchError, counter, gauge, toFleetwatchError, type Config, type Labels, type MetricsRegistry } from '../core/index.ts';
import { RowBinaryWriter, type Store } from '../storage/index.ts';
import {
  createLabelBytesCache,
  decodeFleetBatch,
  decompress,
  mergeLogs,
  mergeMetrics,
  type FleetTenantContent,
  type LabelBytesCache,
  type LogStream,
  type LogsBatch,
  type MetricsBatch,
  type SeriesRef,
  type SpansBatch,
} from '../protocols/index.ts';
import { SHAPES, encodeLogs, encodeMetrics, encodeSpans, markCommitted, type Chunk, type TableShape } from './row-encoders.ts';
import { SeriesCache } from './series-cache.ts';
import { createLimitChecker, limitsFromConfig } from './limits.ts';
import type { ClusterAuth, ClusterIdentity } from './fleet-auth.ts';
import type { MetricsCommitted } from './ingester.ts';

export const FLEET_BATCHES_PATH = '/api/v1/fleet/batches';

const BATCH_ID_RE = /^[A-Za-z0-9._:-]{1,200}$/;
const TENANT_RE = /^[a-zA-Z0-9!\-_.*'()]{1,150}$/;
const MARKERS: TableShape = { table: 'ingest_batches', columns: ['tenant', 'source', 'batch_id', 'received_ms'], structure: 'tenant String, source String, batch_id String, received_ms Int64', format: 'RowBinary' };

export interface FleetBatchesDeps {
  readonly config: Config;
  readonly store: Store;
  readonly registry: MetricsRegistry;
  readonly auth: ClusterAuth;
  readonly now?: () => number;
  /** as IngesterOptions.onMetricsCommitted */
  readonly onMetricsCommitted?: MetricsCommitted;
}

export interface FleetBatchWrite {
  readonly duplicate: boolean;
  readonly frames: number;
  readonly samples: number;
  readonly logRecords: number;
  readonly spans: number;
  readonly rejected: number;
}

export interface FleetBatches {
  /** Writes one decoded-and-checked batch body (tests drive this directly). */
  handle(who: ClusterIdentity, batchId: string, resend: boolean, body: Uint8Array): Promise<FleetBatchWrite>;
  /** waits for batches being written */
  shutdown(): Promise<void>;
}

/** Two generations of ids: bounded memory, recent ids answered without a query. */
class RecentIds {
  private young = new Set<string>();
  private old = new Set<string>();
  constructor(private readonly max: number) {}
  has(k: string): boolean {
    return this.young.has(k) || this.old.has(k);
  }
  add(k: string): void {
    if (this.young.size >= this.max / 2) {
      this.old = this.young;
      this.young = new Set();
    }
    this.young.add(k);
  }
}

interface ClusterCaches {
  readonly force: Labels;
  readonly series: LabelBytesCache<SeriesRef>;
  readonly streams: LabelBytesCache<LogStream>;
}

export function createFleetBatches(deps: FleetBatchesDeps): FleetBatches {
  const { config, store } = deps;
  const now = deps.now ?? Date.now;
  // a collector batch merges many client requests: the per-request series limit does not apply to it
  const limits = createLimitChecker({ ...limitsFromConfig(config), maxSeriesPerRequest: 0 });
  const seriesCommitted = new SeriesCache(2_000_000);
  const streamsCommitted = new SeriesCache(2_000_000);
  const caches = new Map<string, ClusterCaches>();
  const recent = new RecentIds(200_000);
  const inflight = new Map<string, Promise<FleetBatchWrite>>();
  const maxBatches = Math.max(1, config.ingest.maxCollectorBatches);
  const maxBytes = config.limits.maxPendingBytes;
  let activeBatches = 0;
  let activeBytes = 0;

  const r = deps.registry;
  const batchesTotal = counter(r, 'fleetwatch_fleet_batches_total', 'collector batches by outcome (stored, duplicate, rejected, overloaded, error)', ['outcome']);
  const framesTotal = counter(r, 'fleetwatch_fleet_batch_records_total', 'collector WAL records stored');
  const rowsTotal = counter(r, 'fleetwatch_ingest_rows_total', 'rows committed to storage by table', ['table']);
  const insertsTotal = counter(r, 'fleetwatch_ingest_inserts_total', 'storage inserts by table and outcome', ['table', 'outcome']);
  const rejectedTotal = counter(r, 'fleetwatch_ingest_rejected_total', 'samples, records or spans rejected by validation and limits', ['signal']);
  gauge(r, 'fleetwatch_fleet_batches_in_progress', 'collector batches being written', [], () => activeBatches);

  const cachesFor = (cluster: string): ClusterCaches => {
    let c = caches.get(cluster);
    if (!c) {
      c = { force: { names: ['cluster'], values: [cluster] }, series: createLabelBytesCache<SeriesRef>({ maxEntries: 500_000 }), streams: createLabelBytesCache<LogStream>({ maxEntries: 100_000 }) };
      caches.set(cluster, c);
    }
    return c;
  };

  const insert = async (shape: TableShape, chunk: Chunk, token: string): Promise<void> => {
    if (chunk.rows === 0) return;
    try {
      await store.insert(
        { table: shape.table, columns: shape.columns, structure: shape.structure, format: shape.format, data: chunk.data, rows: chunk.rows },
        { settings: { insert_deduplication_token: token } },
      );
      insertsTotal.inc({ table: shape.table, outcome: 'ok' });
      rowsTotal.inc({ table: shape.table }, chunk.rows);
    } catch (e) {
      insertsTotal.inc({ table: shape.table, outcome: 'error' });
      if (e instanceof FleetwatchError && e.retryable) throw e;
      throw new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', `insert into ${shape.table} failed: ${(e as Error).message}`, { cause: e, retryable: true });
    }
  };

  const writeMetrics = async (tenant: string, batch: MetricsBatch, token: string): Promise<number> => {
    const verdict = limits.checkMetrics(batch, now());
    const chunks = encodeMetrics(tenant, batch, seriesCommitted, verdict.keep, verdict.sampleKeep, now());
    await Promise.all([
      insert(SHAPES.series, chunks.series, token),
      insert(SHAPES.samples, chunks.samples, token),
      insert(SHAPES.exemplars, chunks.exemplars, token),
      insert(SHAPES.metadata, chunks.metadata, token),
    ]);
    markCommitted(seriesCommitted, chunks.newSeries);
    deps.onMetricsCommitted?.(tenant, batch, verdict.keep, verdict.sampleKeep);
    const rej = verdict.rejected.reduce((a, x) => a + x.count, 0);
    if (rej) rejectedTotal.inc({ signal: 'metrics' }, rej);
    return rej;
  };

  const writeLogs = async (tenant: string, batch: LogsBatch, token: string): Promise<number> => {
    const verdict = limits.checkLogs(batch, now());
    const chunks = encodeLogs(tenant, batch, streamsCommitted, verdict.keep);
    await Promise.all([insert(SHAPES.streams, chunks.streams, token), insert(SHAPES.logs, chunks.logs, token)]);
    streamsCommitted.commit(chunks.newStreams);
    const rej = verdict.rejected.reduce((a, x) => a + x.count, 0);
    if (rej) rejectedTotal.inc({ signal: 'logs' }, rej);
    return rej;
  };

  const writeSpans = async (tenant: string, batch: SpansBatch, token: string): Promise<void> => {
    await insert(SHAPES.spans, encodeSpans(tenant, batch), token);
  };

  const markerExists = async (who: ClusterIdentity, batchId: string): Promise<boolean> => {
    const rows = await store.queryRows<{ n: number }>({
      sql: `SELECT 1 AS n FROM ${store.database}.ingest_batches WHERE tenant = {t:String} AND source = {s:String} AND batch_id = {b:String} LIMIT 1`,
      params: { t: who.tenant, s: who.cluster, b: batchId },
    });
    return rows.length > 0;
  };

  const recordDelivered = async (who: ClusterIdentity, batchId: string): Promise<void> => {
    const w = new RowBinaryWriter(256);
    w.string(who.tenant);
    w.string(who.cluster);
    w.string(batchId);
    w.int64(now());
    await insert(MARKERS, { data: w.finish(), rows: 1 }, `marker/${who.cluster}/${batchId}`);
  };

  const write = async (who: ClusterIdentity, batchId: string, resend: boolean, body: Uint8Array): Promise<FleetBatchWrite> => {
    if (resend && (await markerExists(who, batchId))) return { duplicate: true, frames: 0, samples: 0, logRecords: 0, spans: 0, rejected: 0 };
    const raw = await decompress(body, 'snappy', config.limits.maxRequestBytes);
    if (!raw.ok) throw new FleetwatchError(raw.status === 413 ? 'FW_ERR_INGEST_TOO_LARGE' : 'FW_ERR_INGEST_BAD_REQUEST', raw.message);
    if (activeBytes > 0 && activeBytes + raw.value.length > maxBytes) throw new FleetwatchError('FW_ERR_INGEST_OVERLOADED', `more than ${maxBytes} bytes of collector batches are being written`);
    activeBytes += raw.value.length;
    try {
      const c = cachesFor(who.cluster);
      const decoded = decodeFleetBatch(raw.value, { forceLabels: c.force, seriesCache: c.series, streamCache: c.streams });
      if (!decoded.ok) throw new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', decoded.message);
      let byTenant = decoded.value.byTenant;
      if (deps.auth.enabled) byTenant = new Map([[who.tenant, mergeTenants([...byTenant.values()])]]);
      let samples = 0;
      let logRecords = 0;
      let spans = 0;
      let rejected = 0;
      const writes: Promise<unknown>[] = [];
      for (const [tenant, content] of byTenant) {
        if (!TENANT_RE.test(tenant)) throw new FleetwatchError('FW_ERR_TENANT_INVALID', `record tenant ${JSON.stringify(tenant)}`);
        const token = `fleet/${who.cluster}/${batchId}/${tenant}`;
        if (content.metrics) {
          samples += content.metrics.sampleCount;
          writes.push(writeMetrics(tenant, content.metrics, token).then((n) => (rejected += n)));
        }
        if (content.logs) {
          logRecords += content.logs.recordCount;
          writes.push(writeLogs(tenant, content.logs, token).then((n) => (rejected += n)));
        }
        if (content.spans) {
          spans += content.spans.spans.length;
          writes.push(writeSpans(tenant, content.spans, token));
        }
      }
      await Promise.all(writes);
      await recordDelivered(who, batchId);
      framesTotal.inc(decoded.value.frames);
      return { duplicate: false, frames: decoded.value.frames, samples: samples - rejected, logRecords, spans, rejected };
    } finally {
      activeBytes -= raw.value.length;
    }
  };

  const handle = async (who: ClusterIdentity, batchId: string, resend: boolean, body: Uint8Array): Promise<FleetBatchWrite> => {
    const key = `${who.tenant}\u0000${who.cluster}\u0000${batchId}`;
    // a copy still being written: wait for it, then look again
    for (let p = inflight.get(key); p; p = inflight.get(key)) await p.catch(() => undefined);
    // from here to inflight.set nothing awaits, so two copies cannot both start
    if (recent.has(key)) {
      batchesTotal.inc({ outcome: 'duplicate' });
      return { duplicate: true, frames: 0, samples: 0, logRecords: 0, spans: 0, rejected: 0 };
    }
    if (activeBatches >= maxBatches) {
      batchesTotal.inc({ outcome: 'overloaded' });
      throw new FleetwatchError('FW_ERR_INGEST_OVERLOADED', `${activeBatches} collector batches are being written (ingest.maxCollectorBatches)`);
    }
    activeBatches++;
    const work = write(who, batchId, resend, body);
    inflight.set(key, work);
    try {
      const out = await work;
      recent.add(key);
      batchesTotal.inc({ outcome: out.duplicate ? 'duplicate' : 'stored' });
      return out;
    } catch (e) {
      batchesTotal.inc({ outcome: e instanceof FleetwatchError && !e.retryable ? 'rejected' : 'error' });
      throw e;
    } finally {
      inflight.delete(key);
      activeBatches--;
    }
  };

  return {
    handle,
    async shutdown() {
      await Promise.all([...inflight.values()].map((p) => p.catch(() => undefined)));
    },
  };
}

function mergeTenants(list: FleetTenantContent[]): FleetTenantContent {
  if (list.length === 1) return list[0] as FleetTenantContent;
  const spans = list.flatMap((c) => c.spans?.spans ?? []);
  return {
    metrics: mergeMetrics(list.flatMap((c) => (c.metrics ? [c.metrics] : []))),
    logs: mergeLogs(list.flatMap((c) => (c.logs ? [c.logs] : []))),
    spans: spans.length ? { spans, rejected: [] } : undefined,
  };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const fe = toFleetwatchError(err);
  if (fe.status >= 500 && fe.status !== 503) req.log.error({ err }, 'collector batch failed');
  if (fe.status === 429 || fe.status === 503) reply.header('Retry-After', '1');
  return reply.code(fe.status).send({ status: 'error', errorType: fe.code, error: fe.message });
}

export function registerFleetBatchRoute(app: FastifyInstance, auth: ClusterAuth, batches: FleetBatches): void {
  app.post(FLEET_BATCHES_PATH, async (req, reply) => {
    try {
      const who = auth.identify(req);
      const id = header(req, 'x-fleetwatch-batch-id') ?? '';
      if (!BATCH_ID_RE.test(id)) throw new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', 'X-Fleetwatch-Batch-Id is missing or not 1-200 of [A-Za-z0-9._:-]');
      const enc = header(req, 'content-encoding')?.trim().toLowerCase();
      if (enc !== 'snappy') throw new FleetwatchError('FW_ERR_INGEST_UNSUPPORTED_MEDIA', 'fleet batches are snappy-compressed (Content-Encoding: snappy)');
      const body = req.body instanceof Uint8Array ? req.body : new Uint8Array(0);
      const out = await batches.handle(who, id, header(req, 'x-fleetwatch-resend') === '1', body);
      return reply.code(200).send({ status: 'success', data: out });
    } catch (e) {
      return sendError(req, reply, e);
    }
  });
}
