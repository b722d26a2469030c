// storage: ClickHouse schema, migrations, and the two connection kinds.
import type { Config } from '../core/index.ts';
import type { Store } from './store.ts';
import { openEmbedded } from './chdb-store.ts';
import { openServer } from './server-store.ts';
import { migrate, applyRetention } from './migrations.ts';
import type { Retention } from './schema.ts';

export type { Store, InsertBatch, InsertFormat, QueryOptions, BinaryFormat } from './store.ts';
export { insertParts, insertBytes } from './store.ts';
export type { Sql } from './sql.ts';
export type { Retention, TableDef } from './schema.ts';
export { SqlBuilder, sql, ident } from './sql.ts';
export { RowBinaryWriter, RowBinaryReader } from './row-binary.ts';
export { NativeBlockWriter } from './native.ts';
export { TABLES, VIEWS, tableDef, createStatements, retentionStatements, SAMPLES_BUCKET_MS } from './schema.ts';
export { MIGRATIONS, migrate, applyRetention } from './migrations.ts';
export { openEmbedded } from './chdb-store.ts';
export { openServer } from './server-store.ts';
export { instrumentStore } from './instrumented-store.ts';
export { createDeferredStore } from './deferred-store.ts';
export { withReadBarrier } from './read-barrier-store.ts';
export type { ReadBarrier } from './read-barrier-store.ts';
export type { DeferredStore } from './deferred-store.ts';

export function retentionFromConfig(config: Config): Retention {
  return { metricsMs: config.retention.metrics, logsMs: config.retention.logs, tracesMs: config.retention.traces };
}

/** Opens the configured store (server when --clickhouse-url is set, else chDB) and migrates it. */
export async function openStore(config: Config): Promise<Store> {
  const s = config.storage;
  const store = s.clickhouseUrl
    ? await openServer({
        url: s.clickhouseUrl,
        user: s.user,
        password: s.password,
        database: s.database,
        tls: { caFile: s.tls.caFile, certFile: s.tls.certFile, keyFile: s.tls.keyFile },
        requestTimeoutMs: s.queryTimeoutMs,
      })
    : await openEmbedded({ dataDir: s.dataDir, database: s.database });
  const retention = retentionFromConfig(config);
  const cluster = s.cluster || undefined;
  await migrate(store, { retention, ...(cluster ? { cluster } : {}) });
  await applyRetention(store, retention, cluster);
  return store;
}
export { openWal } from './wal.ts';
export type { Wal, WalOptions, WalRead, WalStats, FsyncPolicy, WalFullPolicy } from './wal.ts';
export { openShipLog } from './wal-checkpoint.ts';
export type { ShipLog, SealedBatch } from './wal-checkpoint.ts';
export { Head } from './head.ts';
export type { HeadBatch, HeadSeries, HeadSeriesRef, HeadOptions, HeadStats } from './head.ts';
