import { describe, it, expect, afterAll } from 'vitest';
import { testStore } from './helpers/store.ts';
import { createStatements, applyRetention, TABLES, type Store } from '../storage/index.ts';
import { runFleetwatch } from './helpers/proc.ts';

const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

describe('cluster-mode DDL', () => {
  it('every statement parses in ClickHouse (chDB formatQuery)', async () => {
    const store = await testStore({ migrate: false });
    stores.push(store);
    const stmts = createStatements({ database: 'fleetwatch', cluster: 'fleet', retention: { metricsMs: 30 * 86_400_000, logsMs: 14 * 86_400_000, tracesMs: 7 * 86_400_000 } });
    // a local + a Distributed table per table, the views, and the database
    expect(stmts.length).toBe(1 + TABLES.length * 2 + 1);
    for (const stmt of stmts) {
      const rows = await store.queryRows<{ f: string }>({ sql: 'SELECT formatQuery({q:String}) AS f', params: { q: stmt } });
      expect(rows[0]?.f, stmt).toContain('ON CLUSTER fleet');
    }
    const samples = stmts.find((s) => s.includes('fleetwatch.metrics_samples_local'));
    expect(samples).toContain("ReplicatedMergeTree('/clickhouse/tables/{shard}/fleetwatch/metrics_samples_local', '{replica}')");
    expect(stmts.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS fleetwatch.metrics_samples ON CLUSTER'))).toContain('Distributed(fleet, fleetwatch, metrics_samples_local, fingerprint)');
  });

  it('a typo in a statement is caught by the parser check', async () => {
    const store = await testStore({ migrate: false });
    stores.push(store);
    await expect(store.queryRows({ sql: 'SELECT formatQuery({q:String}) AS f', params: { q: 'CREATE TABLE x ON CLUSTER c (a UInt8) ENGINE = MergeTree ORDR BY a' } })).rejects.toThrow(/Syntax error/);
  });

  it('`fleetwatch schema --cluster` prints the cluster DDL', async () => {
    const r = await runFleetwatch(['schema', '--cluster', 'fleet', '--clickhouse-database', 'fw']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CREATE TABLE IF NOT EXISTS fw.logs_local ON CLUSTER fleet');
    expect(r.stdout).toContain('ENGINE = Distributed(fleet, fw, logs_local, stream_fingerprint)');
    const single = await runFleetwatch(['schema']);
    expect(single.stdout).toContain('ENGINE = MergeTree()');
    expect(single.stdout).not.toContain('ON CLUSTER');
  });
});

describe('retention', () => {
  it('creates TTLs from config and alters only what changed', async () => {
    const retention = { metricsMs: 30 * 86_400_000, logsMs: 14 * 86_400_000, tracesMs: 7 * 86_400_000 };
    const store = await testStore({ retention });
    stores.push(store);
    const ttlOf = async (table: string) => {
      const rows = await store.queryRows<{ q: string }>({ sql: 'SELECT create_table_query AS q FROM system.tables WHERE database = {db:String} AND name = {t:String}', params: { db: store.database, t: table } });
      return rows[0]?.q ?? '';
    };
    expect(await ttlOf('logs')).toContain(`TTL toDateTime(timestamp) + toIntervalSecond(${14 * 86_400})`);
    expect(await applyRetention(store, retention)).toEqual([]);
    const changed = await applyRetention(store, { ...retention, logsMs: 2 * 86_400_000 });
    expect(changed).toEqual(['log_streams', 'logs']);
    expect(await ttlOf('logs')).toContain(`toIntervalSecond(${2 * 86_400})`);
    expect(await ttlOf('metrics_samples')).toContain(`toIntervalSecond(${30 * 86_400})`);
    expect(await ttlOf('metrics_samples')).toContain('ttl_only_drop_parts = 1');
    // retention 0 keeps data forever: the TTL is removed
    expect(await applyRetention(store, { ...retention, logsMs: 2 * 86_400_000, tracesMs: 0 })).toEqual(['spans', 'trace_index']);
    expect(await ttlOf('spans')).not.toContain('TTL');
  });
});
