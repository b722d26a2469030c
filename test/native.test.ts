// storage/native.ts against real chDB: the blocks it writes are the bytes
// ClickHouse writes for the same columns, and they insert back value for
// value, at every LowCardinality index width.
import { describe, it, expect, afterAll } from 'vitest';
import { NativeBlockWriter, type Store } from '../storage/index.ts';
import { testStore } from './helpers/store.ts';

const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

/** [low, high] 32-bit halves of each 64-bit integer, as the writer takes them */
function words64(values: readonly bigint[]): Uint32Array {
  const w = new Uint32Array(2 * values.length);
  const u = new BigUint64Array(w.buffer);
  values.forEach((v, i) => (u[i] = BigInt.asUintN(64, v)));
  return w;
}

describe('Native blocks', () => {
  it('are byte for byte what ClickHouse writes for the same columns', async () => {
    const store = await testStore({ migrate: false });
    stores.push(store);
    const names = ['a', 'bb', 'a', 'ccc', 'a', 'é'];
    const fps = [0n, 1n, 2n ** 63n + 5n, 2n ** 64n - 1n, 42n, 7n];
    const ts = [-1n, 0n, 2n ** 40n + 3n, -(2n ** 33n), 5n, 1_764_000_000_000n];
    const valueBits = [0x3ff8000000000000n, 0x7ff0000000000002n, 0x8000000000000000n, 0x7ff0000000000000n, 0x4045000000000000n, 1n];
    const keys = ['', 'a', 'bb', 'ccc', 'é'];
    const mine = new NativeBlockWriter(6)
      .constantLowCardinalityString('tenant', 'team-1')
      .lowCardinalityString('metric_name', keys, Uint32Array.from(names, (n) => keys.indexOf(n)))
      .constantLowCardinalityString('empty', '')
      .fixed64('fingerprint', 'UInt64', words64(fps))
      .fixed64('timestamp_ms', 'Int64', words64(ts))
      .fixed64('value', 'Float64', words64(valueBits))
      .finish();
    const arr = (xs: readonly (string | bigint)[]) => `[${xs.map((x) => `'${x}'`).join(', ')}][number + 1]`;
    const theirs = await store.queryBinary(
      {
        sql: `SELECT toLowCardinality('team-1') AS tenant, toLowCardinality(${arr(names)}) AS metric_name, toLowCardinality('') AS empty, toUInt64(${arr(fps)}) AS fingerprint, toInt64(${arr(ts)}) AS timestamp_ms, reinterpretAsFloat64(toUInt64(${arr(valueBits)})) AS value FROM numbers(6)`,
        params: {},
      },
      'Native',
    );
    expect(Buffer.from(mine).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
  });

  it('insert value for value, with UInt8, UInt16 and UInt32 dictionary indexes, block after block', async () => {
    const store = await testStore({ migrate: false });
    stores.push(store);
    const db = store.database;
    await store.exec({ sql: `CREATE TABLE ${db}.n (m LowCardinality(String), k UInt64, t Int64, v Float64) ENGINE = MergeTree ORDER BY (m, k)`, params: {} });
    const blocks: Buffer[] = [];
    let total = 0;
    let vsum = 0;
    let empties = 0;
    const names = new Set<string>();
    for (const distinct of [3, 300, 70_000]) {
      const rows = distinct + 10;
      const keys = [''];
      for (let i = 1; i < distinct; i++) keys.push(`m${distinct}_${i}`);
      const idx = new Uint32Array(rows);
      const k = new Uint32Array(2 * rows);
      const t = new Uint32Array(2 * rows);
      const v = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        idx[r] = r % distinct;
        if (idx[r] === 0) empties++;
        names.add(keys[idx[r] as number] as string);
        k[2 * r] = r;
        k[2 * r + 1] = distinct;
        t[2 * r] = r * 1000;
        v[r] = r / 4;
        vsum += r / 4;
      }
      blocks.push(new NativeBlockWriter(rows).lowCardinalityString('m', keys, idx).fixed64('k', 'UInt64', k).fixed64('t', 'Int64', t).fixed64('v', 'Float64', new Uint32Array(v.buffer)).finish());
      total += rows;
    }
    await store.insert({ table: 'n', columns: ['m', 'k', 't', 'v'], structure: '', format: 'Native', data: blocks, rows: total });
    const r = await store.queryRows<{ n: string; names: string; empties: string; vs: number; hi: string; m70: string }>({
      sql: `SELECT count() AS n, uniqExact(m) AS names, countIf(m = '') AS empties, sum(v) AS vs, uniqExact(intDiv(k, 4294967296)) AS hi, any(m) FILTER (WHERE k = 4294967296 * 70000 + 69999) AS m70 FROM ${db}.n`,
      params: {},
    });
    expect(r[0]).toEqual({ n: String(total), names: String(names.size), empties: String(empties), vs: vsum, hi: '3', m70: 'm70000_69999' });
  });
});
