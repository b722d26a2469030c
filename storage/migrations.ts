// Versioned, idempotent migrations, run at start. Each migration is a list of
// statements that are safe to run again (IF NOT EXISTS); the versions applied
// are recorded in schema_migrations so a restart applies only what is new.
import type { Store } from './store.ts';
import { createStatements, retentionStatements, TABLES, ttlClause, type Retention } from './schema.ts';
import { ident } from './sql.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  statements(opts: { database: string; cluster?: string; retention?: Retention }): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema: metrics, logs, traces, fleet state',
    statements: (o) => createStatements(o).slice(1),
  },
  {
    version: 2,
    name: 'trace_index: root_service/root_name merge with max (anyLast lost the root when a later batch had none)',
    statements: (o) => {
      const db = ident(o.database);
      const on = o.cluster ? ` ON CLUSTER ${ident(o.cluster)}` : '';
      const modify = 'MODIFY COLUMN root_service SimpleAggregateFunction(max, String), MODIFY COLUMN root_name SimpleAggregateFunction(max, String)';
      return o.cluster ? [`ALTER TABLE ${db}.trace_index_local${on} ${modify}`, `ALTER TABLE ${db}.trace_index${on} ${modify}`] : [`ALTER TABLE ${db}.trace_index${on} ${modify}`];
    },
  },
  {
    version: 3,
    name: 'insert deduplication window on append-only tables (collector batch ids)',
    // Collector batches are inserted with insert_deduplication_token = their
    // batch id, so a batch re-sent after central died between committing its
    // rows and recording the id is dropped by ClickHouse itself
    // (ingest/fleet-batches.ts). A plain MergeTree keeps no tokens unless this
    // window is set; Replicated tables keep them by default
    // (replicated_deduplication_window).
    statements: (o) =>
      o.cluster ? [] : ['metrics_samples', 'metrics_exemplars', 'logs', 'spans'].map((t) => `ALTER TABLE ${ident(o.database)}.${t} MODIFY SETTING non_replicated_deduplication_window = 10000`),
  },
  {
    version: 4,
    name: 'logs: drop the ngrambf_v1 skip index on body (skipped no granules on realistic logs, made inserts 3.5x slower)',
    // Measured in issue #6 (bench/logs, schema.ts note on the logs table).
    // LogQL line filters still run in ClickHouse, as LIKE/position/match scans.
    statements: (o) => {
      const on = o.cluster ? ` ON CLUSTER ${ident(o.cluster)}` : '';
      return [`ALTER TABLE ${ident(o.database)}.${o.cluster ? 'logs_local' : 'logs'}${on} DROP INDEX IF EXISTS idx_body`];
    },
  },
];

export interface MigrateResult {
  readonly applied: number[];
  readonly current: number;
}

export async function migrate(store: Store, opts: { cluster?: string; retention?: Retention } = {}): Promise<MigrateResult> {
  const db = ident(store.database);
  const on = opts.cluster ? ` ON CLUSTER ${ident(opts.cluster)}` : '';
  await store.exec({
    sql: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations${on} (version UInt32, name String, applied_at DateTime DEFAULT now()) ENGINE = ${opts.cluster ? "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/" + db + "/schema_migrations', '{replica}')" : 'ReplacingMergeTree'} ORDER BY version`,
    params: {},
  });
  const rows = await store.queryRows<{ version: number }>({ sql: `SELECT DISTINCT version FROM ${db}.schema_migrations`, params: {} });
  const done = new Set(rows.map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    const ctx = { database: store.database, ...(opts.cluster ? { cluster: opts.cluster } : {}), ...(opts.retention ? { retention: opts.retention } : {}) };
    for (const stmt of m.statements(ctx)) await store.exec({ sql: stmt, params: {} });
    await store.exec({ sql: `INSERT INTO ${db}.schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})`, params: { v: m.version, n: m.name } });
    applied.push(m.version);
  }
  return { applied, current: Math.max(0, ...MIGRATIONS.map((m) => m.version)) };
}

/**
 * Brings each signal table's TTL in line with the configured retention.
 * Only tables whose TTL differs are altered, and existing parts are not
 * rewritten (materialize_ttl_after_modify = 0): expiry drops whole parts.
 */
export async function applyRetention(store: Store, retention: Retention, cluster?: string): Promise<string[]> {
  const db = ident(store.database);
  const rows = await store.queryRows<{ name: string; create_table_query: string }>({
    sql: `SELECT name, create_table_query FROM system.tables WHERE database = {db:String}`,
    params: { db: store.database },
  });
  const current = new Map(rows.map((r) => [r.name, r.create_table_query]));
  const changed: string[] = [];
  const stmts = retentionStatements({ database: store.database, retention, ...(cluster ? { cluster } : {}) });
  for (const t of TABLES) {
    if (!t.ttlTime) continue;
    const local = cluster ? `${t.name}_local` : t.name;
    const have = current.get(local) ?? '';
    const want = ttlClause(t, retention);
    const hasTtl = /\bTTL\b/.test(have);
    // ClickHouse stores `INTERVAL n SECOND` as `toIntervalSecond(n)`
    const secs = /(?:INTERVAL (\d+) SECOND|toIntervalSecond\((\d+)\))/.exec(have)?.slice(1).find(Boolean);
    const wantSecs = /INTERVAL (\d+) SECOND/.exec(want)?.[1];
    if ((!want && !hasTtl) || (want && secs === wantSecs)) continue;
    const stmt = stmts.find((s) => s.startsWith(`ALTER TABLE ${db}.${local} `));
    if (stmt) {
      await store.exec({ sql: stmt, params: {} }, { settings: { materialize_ttl_after_modify: 0 } });
      changed.push(local);
    }
  }
  return changed;
}
