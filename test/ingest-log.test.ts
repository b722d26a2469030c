// Central's ingest log (ingest/ingest-log.ts) against real chDB: appends are
// durable before they resolve, reads through the barrier see them, a restart
// replays what was not inserted, and an insert whose answer was lost (or a
// crash between inserting and recording it) never stores rows twice.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FleetwatchError, silentLogger } from '../core/index.ts';
import { NativeBlockWriter, RowBinaryWriter, withReadBarrier, type InsertBatch, type QueryOptions, type Store } from '../storage/index.ts';
import { INGEST_LOG_SHAPES, SAMPLES_ROWBINARY, SHAPES, openIngestLog, type IngestLog, type IngestLogOptions } from '../ingest/index.ts';
import { testStore } from './helpers/store.ts';

const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

async function freshStore(): Promise<Store> {
  const s = await testStore();
  stores.push(s);
  return s;
}

/** `n` sample rows of metric m (fingerprints from fp0), one per series, as a Native block (SHAPES.samples). */
function samples(n: number, fp0: number, ts: number): { data: Buffer; rows: number } {
  const fp = new Uint32Array(2 * n);
  const t = new Uint32Array(2 * n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    fp[2 * i] = fp0 + i;
    t[2 * i] = ts;
    v[i] = i;
  }
  const block = new NativeBlockWriter(n)
    .constantLowCardinalityString('tenant', 't')
    .constantLowCardinalityString('metric_name', 'm')
    .fixed64('fingerprint', 'UInt64', fp)
    .fixed64('timestamp_ms', 'Int64', t)
    .fixed64('value', 'Float64', new Uint32Array(v.buffer))
    .finish();
  return { data: block, rows: n };
}

/** The same rows as RowBinary (SAMPLES_ROWBINARY: what logs written before the Native shape hold). */
function rowBinarySamples(n: number, fp0: number, ts: number): { data: Buffer; rows: number } {
  const w = new RowBinaryWriter();
  for (let i = 0; i < n; i++) {
    w.string('t');
    w.string('m');
    w.uint64(BigInt(fp0 + i));
    w.int64(ts);
    w.float64(i);
  }
  return { data: w.finish(), rows: n };
}

function seriesRows(n: number, fp0: number): { data: Buffer; rows: number } {
  const w = new RowBinaryWriter();
  for (let i = 0; i < n; i++) {
    w.string('t');
    w.uint16(20_000); // Date: days since 1970
    w.string('m');
    w.uint64(BigInt(fp0 + i));
    w.stringMap(['__name__', 'i'], ['m', String(fp0 + i)]);
  }
  return { data: w.finish(), rows: n };
}

async function count(store: Store, table: string): Promise<number> {
  const r = await store.queryRows<{ n: string }>({ sql: `SELECT count() AS n FROM ${store.database}.${table}`, params: {} });
  return Number(r[0]?.n);
}

function open(store: Store, dir: string, extra: Partial<IngestLogOptions> = {}): Promise<IngestLog> {
  return openIngestLog({ dir, store, shapes: INGEST_LOG_SHAPES, maxPendingBytes: 64 * 1024 * 1024, flushBytes: 1024 * 1024, flushMs: 60_000, maxInsertBytes: 8 * 1024 * 1024, log: silentLogger, minBackoffMs: 5, maxBackoffMs: 20, ...extra });
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'fw-ingest-log-'));

/** A store whose inserts commit but whose answer is lost (an error instead) the first `lose` times per table. */
function losingAnswers(inner: Store, lose: number, tables: readonly string[]): Store & { calls: Map<string, number> } {
  const calls = new Map<string, number>();
  return {
    ...inner,
    kind: inner.kind,
    database: inner.database,
    exec: (q, o) => inner.exec(q, o),
    queryRows: (q, o) => inner.queryRows(q, o),
    queryBinary: (q, f, o) => inner.queryBinary(q, f, o),
    ping: () => inner.ping(),
    close: async () => undefined,
    calls,
    insert: async (b: InsertBatch, o?: QueryOptions) => {
      const n = (calls.get(b.table) ?? 0) + 1;
      calls.set(b.table, n);
      await inner.insert(b, o);
      if (tables.includes(b.table) && n <= lose) throw new Error('connection reset after the insert committed');
    },
  };
}

describe('ingest log', () => {
  it('acknowledges before inserting; the barrier inserts at once and reads see every acknowledged row', async () => {
    const store = await freshStore();
    const log = await open(store, tmp());
    log.start();
    const reads = withReadBarrier(store, (s) => log.barrier(s));
    await log.append('t', [
      [SHAPES.series, seriesRows(10, 0)],
      [SHAPES.samples, samples(10, 0, 1_000)],
    ]);
    await log.append('t', [[SHAPES.samples, samples(5, 100, 2_000)]]);
    // flushMs is a minute and flushBytes far away: nothing is in ClickHouse yet
    expect(await count(store, 'metrics_samples')).toBe(0);
    expect(log.stats().records).toBe(2);
    expect(await count(reads, 'metrics_samples')).toBe(15);
    expect(await count(reads, 'metrics_series')).toBe(10);
    expect(log.stats()).toMatchObject({ records: 0, flushedSeq: 2, lastSeq: 2 });
    // nothing waits: the barrier answers at once
    await log.barrier();
    await log.close(1_000);
  });

  it('flushes on its own once flushBytes wait or the oldest record is flushMs old', async () => {
    const store = await freshStore();
    const bySize = await open(store, tmp(), { flushBytes: 4096 });
    bySize.start();
    await bySize.append('t', [[SHAPES.samples, samples(200, 0, 1_000)]]); // ~5 KB
    for (let i = 0; i < 200 && (await count(store, 'metrics_samples')) < 200; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await count(store, 'metrics_samples')).toBe(200);
    await bySize.close(1_000);

    const store2 = await freshStore();
    const byAge = await open(store2, tmp(), { flushMs: 50 });
    byAge.start();
    await byAge.append('t', [[SHAPES.samples, samples(3, 0, 1_000)]]);
    for (let i = 0; i < 200 && (await count(store2, 'metrics_samples')) < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await count(store2, 'metrics_samples')).toBe(3);
    await byAge.close(1_000);
  });

  it('a restart inserts what the last run acknowledged but never inserted', async () => {
    const store = await freshStore();
    const dir = tmp();
    const a = await open(store, dir);
    // never started: as if ClickHouse had not been reachable before the process died
    for (let i = 0; i < 5; i++) await a.append('t', [[SHAPES.samples, samples(100, i * 100, 1_000)]]);
    await a.close(0);
    expect(await count(store, 'metrics_samples')).toBe(0);

    const b = await open(store, dir);
    b.start();
    await b.barrier();
    expect(await count(store, 'metrics_samples')).toBe(500);
    await b.append('t', [[SHAPES.samples, samples(1, 10_000, 1_000)]]);
    await b.barrier();
    expect(await count(store, 'metrics_samples')).toBe(501);
    await b.close(1_000);
    // delivered segments are deleted
    const c = await open(store, dir);
    expect(c.stats().records).toBe(0);
    await c.close(0);
  });

  it('an insert whose answer was lost is retried under the same token and stored once', async () => {
    const store = await freshStore();
    const lying = losingAnswers(store, 2, ['metrics_samples', 'metrics_series']);
    const log = await open(lying, tmp());
    log.start();
    await log.append('t', [
      [SHAPES.series, seriesRows(50, 0)],
      [SHAPES.samples, samples(50, 0, 1_000)],
    ]);
    await log.barrier();
    expect(lying.calls.get('metrics_samples')).toBe(3);
    expect(await count(store, 'metrics_samples')).toBe(50);
    // ReplacingMergeTree: the series rows went in three times, one remains per key
    const distinct = await store.queryRows<{ n: string }>({ sql: `SELECT count() AS n FROM ${store.database}.metrics_series FINAL`, params: {} });
    expect(Number(distinct[0]?.n)).toBe(50);
    await log.close(1_000);
  });

  it('a crash between inserting and recording it re-inserts the sealed range after the restart, deduplicated', async () => {
    const store = await freshStore();
    const dir = tmp();
    // the first run's inserts commit but it never learns so: it dies retrying
    const lying = losingAnswers(store, 1_000, ['metrics_samples']);
    const a = await open(lying, dir);
    a.start();
    await a.append('t', [[SHAPES.samples, samples(40, 0, 1_000)]]);
    await a.append('t', [[SHAPES.samples, samples(60, 100, 1_000)]]);
    const barrier = a.barrier();
    barrier.catch(() => undefined);
    for (let i = 0; i < 200 && (lying.calls.get('metrics_samples') ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await count(store, 'metrics_samples')).toBe(100);
    await a.close(0);
    await expect(barrier).rejects.toThrow(FleetwatchError);

    // one more record after the restart: it must not join the sealed range (that would change its token)
    const b = await open(store, dir);
    await b.append('t', [[SHAPES.samples, samples(7, 1_000, 1_000)]]);
    b.start();
    await b.barrier();
    expect(await count(store, 'metrics_samples')).toBe(107);
    await b.close(1_000);
  });

  it('inserts records of the RowBinary samples shape an older log holds, beside Native ones, each once', async () => {
    const store = await freshStore();
    const dir = tmp();
    // the first answer per table is lost: both shapes' inserts are retried under their tokens
    const lying = losingAnswers(store, 1, ['metrics_samples']);
    const a = await open(lying, dir);
    await a.append('t', [[SAMPLES_ROWBINARY, rowBinarySamples(30, 0, 1_000)]]);
    await a.append('t', [[SHAPES.samples, samples(20, 100, 1_000)]]);
    await a.append('t', [[SAMPLES_ROWBINARY, rowBinarySamples(5, 200, 1_000)]]);
    await a.close(0);
    const b = await open(lying, dir);
    b.start();
    await b.barrier();
    // one range, two inserts into metrics_samples: one shared token would have dropped the second
    expect(lying.calls.get('metrics_samples')).toBe(3);
    const rows = await store.queryRows<{ fp: string; t: string; v: number; m: string; tenant: string }>({ sql: `SELECT toString(fingerprint) AS fp, toString(timestamp_ms) AS t, value AS v, metric_name AS m, tenant FROM ${store.database}.metrics_samples ORDER BY fingerprint`, params: {} });
    expect(rows.map((r) => Number(r.fp))).toEqual([...Array.from({ length: 30 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 100 + i), ...Array.from({ length: 5 }, (_, i) => 200 + i)]);
    expect(rows.every((r) => r.t === '1000' && r.m === 'm' && r.tenant === 't')).toBe(true);
    expect(rows.map((r) => r.v)).toEqual([...Array.from({ length: 30 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 5 }, (_, i) => i)]);
    await b.close(1_000);
  });

  it('refuses appends with FW_ERR_INGEST_OVERLOADED once maxPendingBytes wait, and takes them again once inserted', async () => {
    const store = await freshStore();
    const log = await open(store, tmp(), { maxPendingBytes: 10_000, flushBytes: 1 << 30 });
    const big = samples(400, 0, 1_000); // ~10.6 KB: alone it may exceed the budget
    await log.append('t', [[SHAPES.samples, big]]);
    const refused = await log.append('t', [[SHAPES.samples, samples(1, 9_999, 1_000)]]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(FleetwatchError);
    expect((refused as FleetwatchError).code).toBe('FW_ERR_INGEST_OVERLOADED');
    expect((refused as FleetwatchError).retryable).toBe(true);
    // the refusal asked for a flush; once started, the log drains and takes writes again
    log.start();
    await log.barrier();
    await log.append('t', [[SHAPES.samples, samples(1, 9_999, 1_000)]]);
    await log.barrier();
    expect(await count(store, 'metrics_samples')).toBe(401);
    await log.close(1_000);
  });

  it('a barrier gives up when its signal aborts; close refuses later appends and keeps what it could not insert', async () => {
    const store = await freshStore();
    const dir = tmp();
    const log = await open(store, dir);
    await log.append('t', [[SHAPES.samples, samples(3, 0, 1_000)]]);
    const ac = new AbortController();
    const waiting = log.barrier(ac.signal);
    ac.abort(new Error('query timed out'));
    await expect(waiting).rejects.toThrow('query timed out');
    await log.close(0);
    await expect(log.append('t', [[SHAPES.samples, samples(1, 5, 1_000)]])).rejects.toMatchObject({ code: 'FW_ERR_STORAGE_UNAVAILABLE' });
    expect(readdirSync(dir).some((n) => n.endsWith('.wal'))).toBe(true);
    const again = await open(store, dir);
    expect(again.stats().records).toBe(1);
    await again.close(0);
  });
});
