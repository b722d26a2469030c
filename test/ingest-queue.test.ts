import { describe, it, expect, afterAll } from 'vitest';
import { testStore } from './helpers/store.ts';
import { PendingBudget, TableQueue } from '../ingest/table-queue.ts';
import { ProducerGate } from '../ingest/producer-gate.ts';
import { RowBinaryWriter, type Store } from '../storage/index.ts';

const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

function chunk(values: number[]): Uint8Array {
  const w = new RowBinaryWriter();
  for (const v of values) {
    w.uint64(BigInt(v));
    w.float64(v / 2);
  }
  return w.finish();
}

async function setup(opts: { budgetBytes?: number; table?: string } = {}) {
  const store = await testStore({ migrate: false });
  stores.push(store);
  await store.exec({ sql: `CREATE TABLE ${store.database}.q (k UInt64, v Float64) ENGINE = MergeTree ORDER BY k`, params: {} });
  const inserts: number[] = [];
  const queue = new TableQueue({
    store,
    table: opts.table ?? 'q',
    columns: ['k', 'v'],
    structure: 'k UInt64, v Float64',
    format: 'RowBinary',
    maxRowsPerInsert: 1000,
    budget: new PendingBudget(opts.budgetBytes ?? 1 << 20),
    gate: new ProducerGate(),
    lingerMs: 5,
    onInsert: (rows, _b, ok) => ok && inserts.push(rows),
  });
  const count = async () => Number((await store.queryRows<{ n: string }>({ sql: `SELECT count() AS n FROM ${store.database}.q`, params: {} }))[0]?.n);
  return { store, queue, inserts, count };
}

describe('table queue (group commit)', () => {
  it('commits every write once and answers only after the commit', async () => {
    const { queue, inserts, count } = await setup();
    const writes = Array.from({ length: 20 }, (_, i) => queue.write(chunk([i * 10, i * 10 + 1]), 2));
    await Promise.all(writes);
    expect(await count()).toBe(40);
    // concurrent writes share inserts
    expect(inserts.reduce((a, b) => a + b, 0)).toBe(40);
    expect(inserts.length).toBeLessThan(20);
  });

  it('never puts more than maxRowsPerInsert rows in one insert (unless one write is larger)', async () => {
    const { queue, inserts, count } = await setup();
    await Promise.all(Array.from({ length: 5 }, (_, i) => queue.write(chunk(Array.from({ length: 400 }, (_, j) => i * 1000 + j)), 400)));
    expect(await count()).toBe(2000);
    for (const n of inserts) expect(n).toBeLessThanOrEqual(1000);
  });

  it('pushes back with a retryable overload error when the budget is used up', async () => {
    const { queue } = await setup({ budgetBytes: 64 });
    const first = queue.write(chunk([1, 2, 3]), 3); // 48 bytes, admitted
    await expect(queue.write(chunk([4, 5, 6]), 3)).rejects.toMatchObject({ code: 'FW_ERR_INGEST_OVERLOADED', status: 429, retryable: true });
    await first;
    await expect(queue.write(chunk([4, 5, 6]), 3)).resolves.toBeUndefined(); // budget returned after commit
  });

  it('rejects every write of a failed insert retryably, and keeps working', async () => {
    const { queue } = await setup({ table: 'no_such_table' });
    const results = await Promise.allSettled([queue.write(chunk([1]), 1), queue.write(chunk([2]), 1)]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'FW_ERR_STORAGE_UNAVAILABLE', retryable: true });
    }
  });

  it('close() waits for queued writes and refuses new ones', async () => {
    const { queue, count } = await setup();
    const pending = queue.write(chunk([7, 8]), 2);
    await queue.close();
    await pending;
    expect(await count()).toBe(2);
    await expect(queue.write(chunk([9]), 1)).rejects.toMatchObject({ code: 'FW_ERR_STORAGE_UNAVAILABLE' });
  });
});
