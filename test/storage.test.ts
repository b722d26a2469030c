import { describe, it, expect, afterAll } from 'vitest';
import { testStore } from './helpers/store.ts';
import { RowBinaryWriter, RowBinaryReader, migrate, type Store } from '../storage/index.ts';
import { fingerprintParts } from '../core/labels.ts';

const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

describe('RowBinaryReader', () => {
  it('skips strings and maps past their length bytes, short and long (regression: skipping lost the length varint)', () => {
    const long = 'x'.repeat(300); // a 2-byte length
    const w = new RowBinaryWriter();
    w.string('a');
    w.string(long);
    w.stringMap(['k', long], ['v', 'w']);
    w.string('end');
    const r = RowBinaryReader.of(w.finish());
    r.skipString();
    expect(r.offset).toBe(2);
    r.skipString();
    expect(r.offset).toBe(2 + 2 + 300);
    r.skipStringMap();
    expect(r.offset).toBe(304 + 1 + 2 + 2 + 302 + 2);
    expect(r.string()).toBe('end');
    expect(r.done).toBe(true);
  });
});

describe('storage on chDB', () => {
  it('round-trips series and samples', async () => {
    const store = await testStore();
    stores.push(store);
    const names = ['__name__', 'job'];
    const values = ['up', 'node'];
    const [hi, lo] = fingerprintParts(names, values);
    const w = new RowBinaryWriter();
    w.string('t1');
    w.uint16(20000);
    w.string('up');
    w.uint64Parts(hi, lo);
    w.stringMap(names, values);
    await store.insert({ table: 'metrics_series', columns: ['tenant', 'date', 'metric_name', 'fingerprint', 'labels'], structure: 'tenant String, date Date, metric_name String, fingerprint UInt64, labels Map(String, String)', data: w.finish(), rows: 1 });
    const s = new RowBinaryWriter();
    for (let i = 0; i < 3; i++) {
      s.string('t1');
      s.string('up');
      s.uint64Parts(hi, lo);
      s.int64(1_700_000_000_000 + i * 15_000);
      s.float64(i + 0.5);
    }
    await store.insert({ table: 'metrics_samples', columns: ['tenant', 'metric_name', 'fingerprint', 'timestamp_ms', 'value'], structure: 'tenant String, metric_name String, fingerprint UInt64, timestamp_ms Int64, value Float64', data: s.finish(), rows: 3 });

    const rows = await store.queryRows<{ labels: Record<string, string>; fingerprint: string }>({ sql: `SELECT labels, fingerprint FROM ${store.database}.metrics_series WHERE tenant = {t:String}`, params: { t: 't1' } });
    expect(rows).toEqual([{ labels: { __name__: 'up', job: 'node' }, fingerprint: ((BigInt(hi) << 32n) | BigInt(lo)).toString() }]);
    const bin = await store.queryBinary({ sql: `SELECT timestamp_ms, value FROM ${store.database}.metrics_samples WHERE tenant = {t:String} ORDER BY timestamp_ms`, params: { t: 't1' } }, 'RowBinary');
    const r = new RowBinaryReader(bin);
    const got: [number, number][] = [];
    while (!r.done) got.push([r.int64(), r.float64()]);
    expect(got).toEqual([
      [1_700_000_000_000, 0.5],
      [1_700_000_015_000, 1.5],
      [1_700_000_030_000, 2.5],
    ]);
  });

  it('running migrations twice is a no-op', async () => {
    const store = await testStore();
    stores.push(store);
    const again = await migrate(store);
    expect(again.applied).toEqual([]);
    const tables = await store.queryRows<{ name: string }>({ sql: 'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name', params: { db: store.database } });
    expect(tables.map((t) => t.name)).toContain('metrics_samples');
    expect(tables.map((t) => t.name)).toContain('trace_index_mv');
  });
});
