// The cluster registry: collectors heartbeat (POST /api/v1/fleet/heartbeat)
// and central keeps the latest report per cluster in `fleet_clusters`
// (ReplacingMergeTree by last_seen_ms), served at GET /api/v1/fleet/clusters
// with last-seen times. Health builds on it: a cluster whose heartbeats stop
// becomes Unknown.
import type { FastifyInstance } from 'fastify';
import { FleetwatchError, tenantsOf, toFleetwatchError, type Config } from '../core/index.ts';
import { RowBinaryWriter, type Store } from '../storage/index.ts';
import type { ClusterAuth, ClusterIdentity } from './fleet-auth.ts';

export const HEARTBEAT_PATH = '/api/v1/fleet/heartbeat';
export const CLUSTERS_PATH = '/api/v1/fleet/clusters';

const STRUCTURE =
  'tenant String, cluster String, version String, first_seen_ms Int64, last_seen_ms Int64, queue_depth_bytes Int64, queue_records Int64, oldest_unshipped_ms Int64, last_error String, labels Map(String, String)';
const COLUMNS = ['tenant', 'cluster', 'version', 'first_seen_ms', 'last_seen_ms', 'queue_depth_bytes', 'queue_records', 'oldest_unshipped_ms', 'last_error', 'labels'];

export interface HeartbeatReport {
  readonly version: string;
  readonly queueDepthBytes: number;
  readonly queueRecords: number;
  readonly oldestUnshippedAgeMs: number;
  readonly lastError: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** One cluster as GET /api/v1/fleet/clusters shows it. */
export interface ClusterEntry {
  readonly tenant: string;
  readonly cluster: string;
  readonly version: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** RFC 3339 of lastSeenMs */
  readonly lastSeen: string;
  readonly secondsSinceLastSeen: number;
  readonly queueDepthBytes: number;
  readonly queueRecords: number;
  readonly oldestUnshippedAgeMs: number;
  readonly lastError: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface FleetRegistry {
  record(who: ClusterIdentity, report: HeartbeatReport): Promise<void>;
  list(tenants: readonly string[]): Promise<ClusterEntry[]>;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', `heartbeat field ${what} must be a non-negative number`);
  return Math.round(v);
}

function str(v: unknown, what: string, max: number): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', `heartbeat field ${what} must be a string`);
  return v.length > max ? `${v.slice(0, max)}…` : v;
}

/** Validates a heartbeat body (JSON: a few hundred bytes every few seconds; not a hot path). */
export function parseHeartbeat(body: Uint8Array): HeartbeatReport {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', `heartbeat is not JSON: ${(e as Error).message}`);
  }
  if (!j || typeof j !== 'object') throw new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', 'heartbeat must be a JSON object');
  const labels: Record<string, string> = {};
  if (j['labels'] !== undefined) {
    if (!j['labels'] || typeof j['labels'] !== 'object') throw new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', 'heartbeat labels must be an object');
    for (const [k, v] of Object.entries(j['labels'] as Record<string, unknown>).slice(0, 64)) labels[k.slice(0, 128)] = str(v, `labels.${k}`, 1024);
  }
  return {
    version: str(j['version'], 'version', 64),
    queueDepthBytes: num(j['queueDepthBytes'] ?? 0, 'queueDepthBytes'),
    queueRecords: num(j['queueRecords'] ?? 0, 'queueRecords'),
    oldestUnshippedAgeMs: num(j['oldestUnshippedAgeMs'] ?? 0, 'oldestUnshippedAgeMs'),
    lastError: str(j['lastError'], 'lastError', 2000),
    labels,
  };
}

export function createFleetRegistry(deps: { store: Store; now?: () => number }): FleetRegistry {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  // first contact per cluster, so each row carries it (ReplacingMergeTree keeps only the latest row)
  const firstSeen = new Map<string, number>();

  const firstSeenOf = async (who: ClusterIdentity, t: number): Promise<number> => {
    const key = `${who.tenant}\u0000${who.cluster}`;
    let f = firstSeen.get(key);
    if (f === undefined) {
      const rows = await store.queryRows<{ f: string }>({
        sql: `SELECT toString(min(first_seen_ms)) AS f, count() AS n FROM ${store.database}.fleet_clusters WHERE tenant = {t:String} AND cluster = {c:String} HAVING n > 0`,
        params: { t: who.tenant, c: who.cluster },
      });
      f = rows[0] ? Number(rows[0].f) : t;
      firstSeen.set(key, f);
    }
    return f;
  };

  return {
    async record(who, report) {
      const t = now();
      const first = await firstSeenOf(who, t);
      const w = new RowBinaryWriter(512);
      w.string(who.tenant);
      w.string(who.cluster);
      w.string(report.version);
      w.int64(first);
      w.int64(t);
      w.int64(report.queueDepthBytes);
      w.int64(report.queueRecords);
      w.int64(report.oldestUnshippedAgeMs);
      w.string(report.lastError);
      const names = Object.keys(report.labels).sort();
      w.stringMap(names, names.map((n) => report.labels[n] as string));
      await store.insert({ table: 'fleet_clusters', columns: COLUMNS, structure: STRUCTURE, data: w.finish(), rows: 1 });
    },

    async list(tenants) {
      // aliases differ from the column names: ClickHouse would otherwise read
      // last_seen_ms inside argMax as the max() alias
      const rows = await store.queryRows<{
        tenant: string;
        cluster: string;
        v: string;
        first_ms: string;
        last_ms: string;
        depth: string;
        records: string;
        oldest: string;
        err: string;
        lbls: Record<string, string>;
      }>({
        // argMax rather than FINAL: the latest report per cluster, merged or not
        sql:
          `SELECT tenant, cluster, argMax(version, last_seen_ms) AS v, min(first_seen_ms) AS first_ms, max(last_seen_ms) AS last_ms, ` +
          `argMax(queue_depth_bytes, last_seen_ms) AS depth, argMax(queue_records, last_seen_ms) AS records, ` +
          `argMax(oldest_unshipped_ms, last_seen_ms) AS oldest, argMax(last_error, last_seen_ms) AS err, argMax(labels, last_seen_ms) AS lbls ` +
          `FROM ${store.database}.fleet_clusters WHERE tenant IN {tenants:Array(String)} GROUP BY tenant, cluster ORDER BY cluster, tenant`,
        params: { tenants: [...tenants] },
      });
      const t = now();
      return rows.map((r) => {
        const last = Number(r.last_ms);
        return {
          tenant: r.tenant,
          cluster: r.cluster,
          version: r.v,
          firstSeenMs: Number(r.first_ms),
          lastSeenMs: last,
          lastSeen: new Date(last).toISOString(),
          secondsSinceLastSeen: Math.max(0, (t - last) / 1000),
          queueDepthBytes: Number(r.depth),
          queueRecords: Number(r.records),
          oldestUnshippedAgeMs: Number(r.oldest),
          lastError: r.err,
          labels: r.lbls,
        };
      });
    },
  };
}

export function registerFleetRegistryRoutes(app: FastifyInstance, deps: { config: Config; auth: ClusterAuth; registry: FleetRegistry }): void {
  app.post(HEARTBEAT_PATH, async (req, reply) => {
    try {
      const who = deps.auth.identify(req);
      const report = parseHeartbeat(req.body instanceof Uint8Array ? req.body : new Uint8Array(0));
      await deps.registry.record(who, report);
      return reply.code(204).send();
    } catch (e) {
      const fe = toFleetwatchError(e);
      if (fe.status === 429 || fe.status === 503) reply.header('Retry-After', '1');
      return reply.code(fe.status).send({ status: 'error', errorType: fe.code, error: fe.message });
    }
  });

  app.get(CLUSTERS_PATH, async (req, reply) => {
    try {
      const tenants = tenantsOf(req.headers['x-scope-orgid'], deps.config.tenancy);
      return reply.send({ status: 'success', data: await deps.registry.list(tenants) });
    } catch (e) {
      const fe = toFleetwatchError(e);
      return reply.code(fe.status).send({ status: 'error', errorType: fe.code, error: fe.message });
    }
  });
}
