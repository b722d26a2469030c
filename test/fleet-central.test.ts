// Central's collector endpoint on its own, against chDB: each deduplication
// layer (recorded batch ids, in-flight coalescing, ClickHouse insert tokens)
// is exercised where the others cannot help.
import { describe, it, expect, afterAll } from 'vitest';
import Fastify from 'fastify';
import { testStore } from './helpers/store.ts';
import { createFleetService } from '../ingest/index.ts';
import { createRegistry, loadConfig } from '../core/index.ts';
import { FLEET_BATCH_MAGIC, FLEET_RECORD_METRICS, encodeFleetFrame, encodeFleetMetrics, encodeRemoteWriteV1, decodeRemoteWrite, snappyCompress } from '../protocols/index.ts';
import { createStamper, externalLabelsFromConfig } from '../collector/index.ts';
import type { InsertBatch, QueryOptions, Store } from '../storage/index.ts';

const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

const stamper = createStamper(externalLabelsFromConfig('east', []));
const who = { tenant: 'fake', cluster: 'east' };

async function body(firstId: number, n: number): Promise<Uint8Array> {
  const rw = decodeRemoteWrite(encodeRemoteWriteV1([{ labels: { __name__: 'dedup_metric', s: String(firstId % 7) }, samples: Array.from({ length: n }, (_, i) => ({ timestampMs: Date.now() - 100_000 + firstId + i, value: firstId + i })) }]), 1);
  if (!rw.ok) throw new Error(rw.message);
  return snappyCompress(Buffer.concat([FLEET_BATCH_MAGIC, encodeFleetFrame(FLEET_RECORD_METRICS, 1, Date.now(), 'fake', encodeFleetMetrics(rw.value, stamper.seriesBlock))]));
}

/** A store whose inserts into one table fail while `failing` is set. */
function flaky(inner: Store): Store & { failTable: string | undefined; inserts: Map<string, number> } {
  const s = {
    ...inner,
    kind: inner.kind,
    database: inner.database,
    failTable: undefined as string | undefined,
    inserts: new Map<string, number>(),
    insert: async (b: InsertBatch, o?: QueryOptions) => {
      s.inserts.set(b.table, (s.inserts.get(b.table) ?? 0) + 1);
      if (b.table === s.failTable) throw new Error(`injected failure inserting into ${b.table}`);
      return inner.insert(b, o);
    },
    exec: inner.exec.bind(inner),
    queryRows: inner.queryRows.bind(inner),
    queryBinary: inner.queryBinary.bind(inner),
    ping: inner.ping.bind(inner),
    close: inner.close.bind(inner),
  };
  return s;
}

async function service(store: Store) {
  const config = loadConfig({ fileObject: { log: { level: 'silent' } } });
  return createFleetService({ config, store, registry: createRegistry('test'), app: Fastify() });
}

async function stored(store: Store): Promise<Map<number, number>> {
  const rows = await store.queryRows<{ v: number; n: string }>({ sql: `SELECT toInt64(value) AS v, count() AS n FROM ${store.database}.metrics_samples GROUP BY v`, params: {} });
  return new Map(rows.map((r) => [Number(r.v), Number(r.n)]));
}

describe('central deduplication of collector batches', () => {
  it('a resend after central failed between committing rows and recording the id is dropped by the insert token', async () => {
    const base = await testStore();
    stores.push(base);
    const store = flaky(base);
    const svc = await service(store);
    const b = await body(0, 100);
    store.failTable = 'ingest_batches'; // rows commit, the id is not recorded
    await expect(svc.batches.handle(who, 'w1-1-1', false, b)).rejects.toThrow(/injected failure/);
    store.failTable = undefined;
    const out = await svc.batches.handle(who, 'w1-1-1', true, b);
    expect(out.duplicate).toBe(false); // central did not know; ClickHouse did
    const counts = await stored(base);
    expect(counts.size).toBe(100);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // now recorded: the next resend is answered without any insert
    const before = store.inserts.get('metrics_samples');
    expect((await svc.batches.handle(who, 'w1-1-1', true, b)).duplicate).toBe(true);
    expect(store.inserts.get('metrics_samples')).toBe(before);
  });

  it('a resend to a restarted central finds the recorded id in ingest_batches', async () => {
    const store = await testStore();
    stores.push(store);
    const b = await body(1000, 50);
    expect((await (await service(store)).batches.handle(who, 'w2-1-1', false, b)).duplicate).toBe(false);
    const restarted = await service(store);
    expect((await restarted.batches.handle(who, 'w2-1-1', true, b)).duplicate).toBe(true);
    // another cluster's batch with the same id is its own
    expect((await restarted.batches.handle({ tenant: 'fake', cluster: 'west' }, 'w2-1-1', true, await body(2000, 10))).duplicate).toBe(false);
    const counts = await stored(store);
    expect(counts.size).toBe(60);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('copies of one batch arriving together are written once', async () => {
    const base = await testStore();
    stores.push(base);
    const store = flaky(base);
    const svc = await service(store);
    const b = await body(5000, 200);
    const outs = await Promise.all([svc.batches.handle(who, 'w3-1-9', false, b), svc.batches.handle(who, 'w3-1-9', true, b), svc.batches.handle(who, 'w3-1-9', true, b)]);
    expect(outs.map((o) => o.duplicate).sort()).toEqual([false, true, true]);
    expect(store.inserts.get('metrics_samples')).toBe(1);
    const counts = await stored(base);
    expect(counts.size).toBe(200);
  });

  it('when a samples insert fails the batch fails, and the resend completes it exactly once', async () => {
    const base = await testStore();
    stores.push(base);
    const store = flaky(base);
    const svc = await service(store);
    const b = await body(7000, 30);
    store.failTable = 'metrics_samples'; // series rows commit, samples do not
    await expect(svc.batches.handle(who, 'w4-1-1', false, b)).rejects.toMatchObject({ code: 'FW_ERR_STORAGE_UNAVAILABLE', retryable: true });
    store.failTable = undefined;
    expect((await svc.batches.handle(who, 'w4-1-1', true, b)).duplicate).toBe(false);
    const counts = await stored(base);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const series = await base.queryRows<{ labels: Record<string, string> }>({ sql: `SELECT DISTINCT labels FROM ${base.database}.metrics_series`, params: {} });
    expect(series.map((s) => s.labels['cluster'])).toEqual(['east']);
  });
});
