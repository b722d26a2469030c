// The in-memory head (storage/head.ts) and the source that answers from it
// (query/promql/head-source.ts): what it takes and drops, that views handed
// to queries never change, that the floor only rises, that warm() loads
// what ClickHouse holds, and that queries answered from the head equal the
// same queries answered by ClickHouse (with pushdown) and by the evaluator
// over the reference data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REMOTE_WRITE_V1_CONTENT_TYPE, encodeRemoteWriteV1, snappyCompress } from '../protocols/index.ts';
import { freePort, startFleetwatch, type Running } from './helpers/proc.ts';
import { fingerprintParts, sortLabels } from '../core/index.ts';
import { Head, type HeadBatch, type HeadSeries, type HeadSeriesRef, type Store } from '../storage/index.ts';
import { createEngine } from '../query/promql/engine.ts';
import { createClickHouseSource } from '../query/promql/clickhouse-source.ts';
import { createHeadSource } from '../query/promql/head-source.ts';
import { createMemorySource } from '../query/promql/memory-source.ts';
import { labelsToString } from '../query/promql/label-set.ts';
import type { QueryResult } from '../query/promql/value.ts';
import type { SelectRequest, SeriesSource } from '../query/promql/series-source.ts';
import { CORPUS } from './conformance/corpus.ts';
import { testStore } from './helpers/store.ts';
import { generateSeries, isStaleBits, setStale, writeSeries, type TestSeries } from './helpers/promql-data.ts';

const MINUTE = 60_000;

function ref(labels: Record<string, string>): HeadSeriesRef {
  const names = Object.keys(labels);
  const l = sortLabels(names, names.map((k) => labels[k] as string));
  const [fpHi, fpLo] = fingerprintParts(l.names, l.values);
  return { labels: l, metricName: labels['__name__'] ?? '', fpHi, fpLo };
}

/** A batch of (series index, ts, value) samples. */
function batch(series: HeadSeriesRef[], samples: [number, number, number][]): HeadBatch {
  return {
    series,
    sampleSeries: Uint32Array.from(samples.map((s) => s[0])),
    timestampsMs: Float64Array.from(samples.map((s) => s[1])),
    values: Float64Array.from(samples.map((s) => s[2])),
    sampleCount: samples.length,
  };
}

function contents(h: Head, tenant: string, metric: string | null = null): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const s of h.series(tenant, metric)) {
    const rows: [number, number][] = [];
    const { t, v } = h.samplesOf(s);
    for (let i = 0; i < t.length; i++) rows.push([t[i] as number, v[i] as number]);
    out[labelsToString(s.labels)] = rows;
  }
  return out;
}

describe('Head', () => {
  const a = ref({ __name__: 'up', job: 'a' });
  const b = ref({ __name__: 'up', job: 'b' });
  const c = ref({ __name__: 'load', job: 'a' });

  it('takes samples at or after the floor, honours keep/sampleKeep, keeps tenants apart', () => {
    let now = 1_000_000;
    const h = new Head({ windowMs: 100_000, maxSamples: 1000, now: () => now });
    h.append('t1', batch([a, b, c], [[0, 899_999, 1], [0, 900_000, 2], [1, 950_000, 3], [2, 960_000, 4], [0, 970_000, 5]]), Uint8Array.from([1, 0, 1]), Uint8Array.from([1, 1, 1, 0, 1]));
    h.append('t2', batch([a], [[0, 990_000, 9]]));
    expect(contents(h, 't1')).toEqual({ '{__name__="up", job="a"}': [[900_000, 2], [970_000, 5]] });
    expect(contents(h, 't1', 'load')).toEqual({});
    expect(contents(h, 't2')).toEqual({ '{__name__="up", job="a"}': [[990_000, 9]] });
    expect(h.stats()).toMatchObject({ series: 2, samples: 3, floorMs: 900_000, ready: false });
    expect(h.coveredFromMs()).toBe(Infinity);
    now += 50_000;
    h.evict();
    expect(h.stats().floorMs).toBe(950_000);
    expect(contents(h, 't1')).toEqual({ '{__name__="up", job="a"}': [[970_000, 5]] });
    expect(h.stats()).toMatchObject({ series: 2, samples: 2 });
  });

  it('sorts late samples in, drops repeated timestamps, keeps staleness bits', () => {
    const h = new Head({ windowMs: 1e9, maxSamples: 1000, now: () => 1e9 });
    const stale = new Float64Array(1);
    setStale(stale, 0);
    const bt = batch([a], [[0, 30, 3], [0, 10, 1], [0, 20, 0], [0, 10, 7]]);
    bt.values[2] = stale[0] as number;
    h.append('t', bt);
    const s = [...h.series('t', 'up')][0];
    expect(s).toBeDefined();
    const got = h.samplesOf(s as NonNullable<typeof s>);
    expect(Array.from(got.t)).toEqual([10, 20, 30]);
    expect(isStaleBits(got.v, 1)).toBe(true);
    expect(got.v[0]).toBe(1); // the first write of a timestamp stays
  });

  it('spans many chunks: in-order, late and repeated samples, eviction across chunk edges, ranges', () => {
    let now = 100_000;
    const h = new Head({ windowMs: 100_000, maxSamples: 1e6, now: () => now });
    // 200 samples at t = 1000, 1100, ... in shuffled batches of 7, each sent twice
    const ts = Array.from({ length: 200 }, (_, i) => 1000 + i * 100);
    const order = [...ts.keys()].sort((x, y) => ((x * 7919) % 200) - ((y * 7919) % 200));
    for (let i = 0; i < order.length; i += 7) {
      const part = order.slice(i, i + 7).map((k): [number, number, number] => [0, ts[k] as number, k]);
      h.append('t', batch([a], part));
      h.append('t', batch([a], part));
    }
    const s = [...h.series('t', 'up')][0] as HeadSeries;
    expect(s.count).toBe(200);
    const all = h.samplesOf(s);
    expect(Array.from(all.t)).toEqual(ts);
    expect(Array.from(all.v)).toEqual(ts.map((_, k) => k));
    const range = (a: number, b: number): [number, number] => [h.indexOf(s, a), h.indexOf(s, b, true)];
    expect(range(1050, 1300)).toEqual([1, 4]);
    expect(range(0, 999)).toEqual([0, 0]);
    expect(range(20_900, 1e9)).toEqual([199, 200]);
    // evict the first 70 (crosses two chunk edges); what remains is intact
    now = 100_000 + 8_000;
    h.evict();
    expect(h.stats().samples).toBe(130);
    const rest = h.samplesOf(s);
    expect(Array.from(rest.t)).toEqual(ts.slice(70));
    expect(range(8000, 8250)).toEqual([0, 3]);
    // a copy handed out earlier stays what it was
    expect(Array.from(all.t.subarray(0, 3))).toEqual([1000, 1100, 1200]);
    // after the eviction the series keeps appending into its last chunk and
    // across the next edges; the newest time it compares against is still right
    const more = Array.from({ length: 40 }, (_, i) => 21_000 + i * 100);
    h.append('t', batch([a], more.map((t, i): [number, number, number] => [0, t, 1000 + i])));
    h.append('t', batch([a], [[0, 24_900, -1], [0, 21_050, 5], [0, 25_000, 6]]));
    const after = h.samplesOf(s);
    const wantT = [...ts.slice(70), 21_000, 21_050, ...more.slice(1), 25_000];
    expect(Array.from(after.t)).toEqual(wantT);
    expect(after.v[wantT.indexOf(24_900)]).toBe(1039); // the repeated timestamp kept its first value
    expect(after.v[wantT.indexOf(21_050)]).toBe(5);
    expect(after.v[wantT.length - 1]).toBe(6);
    expect(h.stats().samples).toBe(130 + 42);
  });

  it('finds series by label through an index that follows new and dropped series', () => {
    let now = 1_000_000;
    const h = new Head({ windowMs: 100_000, maxSamples: 1000, now: () => now });
    const names = (xs: readonly { labels: { values: readonly string[] } }[]): string[] => xs.map((x) => x.labels.values.join(',')).sort();
    h.append('t', batch([a, b], [[0, 950_000, 1], [1, 990_000, 2]]));
    expect(names(h.seriesWithLabel('t', 'up', 'job', 'a'))).toEqual(['up,a']);
    const a2 = ref({ __name__: 'up', job: 'a', pod: 'x' });
    h.append('t', batch([a2], [[0, 991_000, 3]]));
    expect(names(h.seriesWithLabel('t', 'up', 'job', 'a'))).toEqual(['up,a', 'up,a,x']);
    expect(h.seriesWithLabel('t', 'up', 'job', 'zzz')).toEqual([]);
    expect(h.seriesWithLabel('t', 'load', 'job', 'a')).toEqual([]);
    now += 60_000; // the first series' only sample falls out of the window
    h.evict();
    expect(names(h.seriesWithLabel('t', 'up', 'job', 'a'))).toEqual(['up,a,x']);
  });

  it('keeps series apart whose fingerprints share the low half, through appends, eviction and re-adding in another order', () => {
    let now = 1_000_000;
    const h = new Head({ windowMs: 100_000, maxSamples: 1000, now: () => now });
    // fabricated fingerprints: three series of one metric with one low half (one of them above 2^31), one without
    const lo = 0x9abcdef0;
    const same = [1, 2, 0xfffffff0].map((hi, i) => ({ ...ref({ __name__: 'up', job: `j${i}` }), fpHi: hi, fpLo: lo }));
    const other = { ...ref({ __name__: 'up', job: 'k' }), fpHi: 1, fpLo: 7 };
    h.append('t', batch([...same, other], [[0, 950_000, 1], [1, 990_000, 2], [2, 950_000, 3], [3, 990_000, 4]]));
    expect(h.stats().series).toBe(4);
    expect(contents(h, 't', 'up')).toEqual({ '{__name__="up", job="j0"}': [[950_000, 1]], '{__name__="up", job="j1"}': [[990_000, 2]], '{__name__="up", job="j2"}': [[950_000, 3]], '{__name__="up", job="k"}': [[990_000, 4]] });
    // fresh objects (no head slot) with the same fingerprints find the same series
    const again: HeadSeriesRef[] = same.map((s) => ({ labels: s.labels, metricName: s.metricName, fpHi: s.fpHi, fpLo: s.fpLo }));
    h.append('t', batch(again, [[0, 991_000, 5], [1, 991_000, 6], [2, 991_000, 7]]));
    expect(h.stats().series).toBe(4);
    expect(Object.values(contents(h, 't', 'up')).map((r) => r.length)).toEqual([2, 2, 2, 1]);
    now += 60_000; // 950_000 falls out of the window (floor 960_000)
    h.evict();
    expect(contents(h, 't', 'up')).toEqual({ '{__name__="up", job="j0"}': [[991_000, 5]], '{__name__="up", job="j1"}': [[990_000, 2], [991_000, 6]], '{__name__="up", job="j2"}': [[991_000, 7]], '{__name__="up", job="k"}': [[990_000, 4]] });
    now += 30_500; // floor 990_500: j1's first and k's only sample go; k is removed
    h.evict();
    expect(h.stats().series).toBe(3);
    now += 1_000; // floor 991_500: every series is empty and removed, the chain with it
    h.evict();
    expect(h.stats().series).toBe(0);
    expect([...h.series('t', null)]).toEqual([]);
    // and the chain forms again, in another order
    h.append('t', batch([again[2], again[0]].map((s) => ({ labels: s!.labels, metricName: s!.metricName, fpHi: s!.fpHi, fpLo: s!.fpLo })), [[0, 999_000, 8], [1, 999_000, 9]]));
    expect(contents(h, 't', 'up')).toEqual({ '{__name__="up", job="j0"}': [[999_000, 9]], '{__name__="up", job="j2"}': [[999_000, 8]] });
    expect(h.seriesWithLabel('t', 'up', 'job', 'j2').map((s) => s.fpHi)).toEqual([0xfffffff0]);
  });

  it('raises the floor to stay within its sample budget', () => {
    const now = 1_000_000;
    const h = new Head({ windowMs: 1_000_000, maxSamples: 100, now: () => now });
    const samples: [number, number, number][] = [];
    for (let i = 0; i < 300; i++) samples.push([i % 3, 1000 + i * 3000, i]);
    h.append('t', batch([a, b, c], samples));
    const st = h.stats();
    expect(st.samples).toBeLessThanOrEqual(90);
    expect(st.samples).toBeGreaterThan(0);
    // complete from the new floor: exactly the samples at or after it remain
    const want = samples.filter((s) => s[1] >= st.floorMs).length;
    expect(st.samples).toBe(want);
  });
});

describe('Head.warm and the head source', () => {
  // recent data (warm() reads from now - window), crossing a day boundary is not needed here
  const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
  const T1 = NOW - 2 * MINUTE;
  const T0 = T1 - 2 * 3_600_000;
  const TENANT = 'team-a';
  let store: Store;
  let data: TestSeries[];
  let other: TestSeries[];
  let head: Head;
  const engine = createEngine();

  beforeAll(async () => {
    store = await testStore();
    data = generateSeries({ startMs: T0, endMs: T1, seed: 11 });
    other = generateSeries({ startMs: T0, endMs: T1, seed: 12 }).map((s) => ({ ...s, labels: { ...s.labels, owner: 'b' } }));
    // a retried write: the first 10 series twice
    await writeSeries(store, TENANT, data.slice(0, 10), { duplicate: true });
    await writeSeries(store, TENANT, data.slice(10));
    await writeSeries(store, 'team-b', other);
    head = new Head({ windowMs: 3 * 3_600_000, maxSamples: 10_000_000, now: () => NOW });
    // a write that lands while warm() runs: the first series' last samples again, and a new one
    const s0 = data[0] as TestSeries;
    const r0 = ref(s0.labels as Record<string, string>);
    const last = s0.timestampsMs.length - 1;
    head.append(TENANT, { series: [r0], sampleSeries: new Uint32Array([0, 0]), timestampsMs: Float64Array.from([s0.timestampsMs[last - 1] as number, s0.timestampsMs[last] as number]), values: s0.values.slice(last - 1), sampleCount: 2 });
    await head.warm(store);
  }, 60_000);

  afterAll(async () => {
    await store?.close();
  });

  it('loads every sample ClickHouse holds after the floor, once, bits intact', () => {
    expect(head.ready).toBe(true);
    expect(head.coveredFromMs()).toBe(NOW - 3 * 3_600_000);
    let want = 0;
    for (const s of [...data, ...other]) want += s.timestampsMs.length;
    expect(head.stats().samples).toBe(want);
    const got = new Map<string, { t: number[]; stale: number }>();
    for (const s of head.series(TENANT, null)) {
      let stale = 0;
      const { t, v } = head.samplesOf(s);
      for (let i = 0; i < v.length; i++) if (isStaleBits(v, i)) stale++;
      got.set(labelsToString(s.labels), { t: Array.from(t), stale });
    }
    expect(got.size).toBe(data.length);
    let staleTotal = 0;
    for (const s of data) {
      const names = Object.keys(s.labels).filter((k) => s.labels[k] !== '');
      const key = labelsToString(sortLabels(names, names.map((k) => s.labels[k] as string)));
      let stale = 0;
      for (let i = 0; i < s.values.length; i++) if (isStaleBits(s.values, i)) stale++;
      staleTotal += stale;
      expect(got.get(key), key).toEqual({ t: [...s.timestampsMs], stale });
    }
    expect(staleTotal).toBeGreaterThan(0);
  });

  function shape(r: QueryResult): Map<string, { t: number[]; v: number[] }> {
    const series = new Map<string, { t: number[]; v: number[] }>();
    const v = r.value;
    if (v.resultType === 'vector') for (const s of v.samples) series.set(labelsToString(s.labels), { t: [s.timestampMs], v: [s.value] });
    else if (v.resultType === 'matrix') for (const s of v.series) series.set(labelsToString(s.labels), { t: Array.from(s.timestampsMs), v: Array.from(s.values) });
    else series.set(v.resultType, { t: [v.timestampMs], v: [Number(v.value)] });
    return series;
  }

  function close(a: number, b: number): boolean {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  }

  function expectSame(got: QueryResult, want: QueryResult, what: string): void {
    const g = shape(got);
    const w = shape(want);
    expect(got.value.resultType, what).toBe(want.value.resultType);
    expect([...g.keys()].sort(), what).toEqual([...w.keys()].sort());
    for (const [k, ws] of w) {
      const gs = g.get(k) as { t: number[]; v: number[] };
      expect(gs.t, `${what} ${k}`).toEqual(ws.t);
      for (let i = 0; i < ws.v.length; i++) if (!close(gs.v[i] as number, ws.v[i] as number)) expect(`${gs.v[i]}`, `${what} ${k} @${ws.t[i]}`).toBe(`${ws.v[i]}`);
    }
    expect(got.warnings, what).toEqual(want.warnings);
  }

  async function run(src: SeriesSource, query: string, range: boolean): Promise<QueryResult | string> {
    try {
      return range ? await engine.rangeQuery(src, query, T0 + 20 * MINUTE + 123, T1 - 3 * MINUTE, 67_000) : await engine.instantQuery(src, query, T1 - 7 * MINUTE + 321);
    } catch (e) {
      return `${(e as { errorType?: string }).errorType}: ${(e as Error).message}`;
    }
  }

  // every third query of the conformance corpus, instant and (where it yields a vector or scalar) range
  const queries = CORPUS.filter((_, i) => i % 3 === 0);

  it(`answers ${queries.length} corpus queries from the head exactly as ClickHouse and the evaluator do`, async () => {
    const memory = createMemorySource(data.map((s) => ({ labels: s.labels, timestampsMs: s.timestampsMs, values: s.values })));
    let served = 0;
    let passed = 0;
    let compared = 0;
    for (const query of queries) {
      for (const range of [false, true]) {
        const ch = createClickHouseSource({ store, tenants: [TENANT] });
        const hs = createHeadSource({ head, inner: createClickHouseSource({ store, tenants: [TENANT] }), tenants: [TENANT], maxSeries: 1e6, maxSamples: 1e8 });
        const [want, got, ref0] = await Promise.all([run(ch, query, range), run(hs, query, range), run(memory, query, range)]);
        // selects and single steps come from the head; range grids from ClickHouse
        served += hs.stats.fromHead;
        passed += hs.stats.passedOn;
        if (typeof want === 'string' || typeof got === 'string' || typeof ref0 === 'string') {
          // errors: the same error either way (a range query of a range vector, ...)
          expect(got, `${query} (range: ${range})`).toBe(want);
          continue;
        }
        expectSame(got, want, `${query} (range: ${range}) head vs ClickHouse`);
        expectSame(got, ref0, `${query} (range: ${range}) head vs evaluator`);
        compared++;
      }
    }
    expect(served).toBeGreaterThan(queries.length);
    expect(served).toBeGreaterThan(3 * passed);
    expect(compared).toBeGreaterThan(queries.length);
  }, 300_000);

  it('reads several tenants with __tenant_id__, and matchers on it, as ClickHouse does', async () => {
    const tenants = [TENANT, 'team-b'];
    for (const query of ['count by (__tenant_id__) (http_requests_total)', 'sum by (owner) (rate(http_requests_total{__tenant_id__="team-b"}[5m]))', 'temperature_celsius{__tenant_id__=~"team-.*", owner=""}']) {
      const ch = createClickHouseSource({ store, tenants });
      const hs = createHeadSource({ head, inner: createClickHouseSource({ store, tenants }), tenants, maxSeries: 1e6, maxSamples: 1e8 });
      const want = await engine.instantQuery(ch, query, T1 - 60_000);
      const got = await engine.instantQuery(hs, query, T1 - 60_000);
      expect(hs.stats.fromHead, query).toBeGreaterThan(0);
      expect(shape(want).size, query).toBeGreaterThan(0);
      expectSame(got, want, query);
    }
  });

  it('passes ranges before its floor to ClickHouse, and stops at the series and sample limits', async () => {
    const hs = createHeadSource({ head, inner: createClickHouseSource({ store, tenants: [TENANT] }), tenants: [TENANT], maxSeries: 1e6, maxSamples: 1e8 });
    const req = (startMs: number): SelectRequest => ({ matchers: [{ name: '__name__', type: '=', value: 'http_requests_total' }], startMs, endMs: T1, hints: { func: '', rangeMs: 0, stepMs: 0, by: false, grouping: [], offsetMs: 0, lookbackDeltaMs: 300_000 } });
    const old = await hs.select(req(head.coveredFromMs() - 1));
    const recent = await hs.select(req(head.coveredFromMs()));
    expect(hs.stats).toEqual({ fromHead: 1, passedOn: 1 });
    expect(old.length).toBeGreaterThan(0);
    expect(recent.map((s) => labelsToString(s.labels)).sort()).toEqual(old.map((s) => labelsToString(s.labels)).sort());
    const tight = createHeadSource({ head, inner: createClickHouseSource({ store, tenants: [TENANT] }), tenants: [TENANT], maxSeries: 2, maxSamples: 1e8 });
    await expect(tight.select(req(T1 - 600_000))).rejects.toMatchObject({ errorType: 'execution' });
    const few = createHeadSource({ head, inner: createClickHouseSource({ store, tenants: [TENANT] }), tenants: [TENANT], maxSeries: 1e6, maxSamples: 10 });
    await expect(few.select(req(T1 - 600_000))).rejects.toMatchObject({ message: expect.stringContaining('too many samples') });
  });
});

describe('the head in a real process', () => {
  const RW1 = { 'content-type': REMOTE_WRITE_V1_CONTENT_TYPE, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

  async function metric(url: string, name: string, labels = ''): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*${labels}[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  }

  async function count(url: string, atMs: number): Promise<number> {
    const r = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: 'sum(count_over_time(head_test_total[10m]))', time: String(atMs / 1000) })}`);
    const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
    return Number(body.data.result[0]?.value[1] ?? 0);
  }

  it('answers acknowledged writes at once from memory, and loads them again after a restart', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fw-head-'));
    const port = await freePort();
    const args = ['all', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn'];
    const now = Date.now();
    let fw: Running = await startFleetwatch(args, { port });
    let written = 0;
    try {
      // the head is ready once its (empty) load is done
      for (let i = 0; i < 100 && !Number.isFinite(await metric(fw.url, 'fleetwatch_head_covered_from_seconds')); i++) await new Promise((r) => setTimeout(r, 100));
      for (let round = 0; round < 5; round++) {
        const series = [];
        for (let s = 0; s < 20; s++) series.push({ labels: { __name__: 'head_test_total', pod: `p${s}` }, samples: [{ timestampMs: now - 60_000 + round * 10_000, value: round }] });
        const r = await fetch(`${fw.url}/api/v1/write`, { method: 'POST', headers: RW1, body: await snappyCompress(encodeRemoteWriteV1(series)) });
        expect(r.status).toBe(204);
        written += 20;
        // read-your-writes: the acknowledged samples are visible at once, from the head
        const before = await metric(fw.url, 'fleetwatch_promql_selects_total', 'source="head"');
        expect(await count(fw.url, now)).toBe(written);
        expect(await metric(fw.url, 'fleetwatch_promql_selects_total', 'source="head"')).toBe((Number.isNaN(before) ? 0 : before) + 1);
      }
      expect(await fw.stop('SIGTERM')).toBe(0);
      fw = await startFleetwatch(args, { port });
      for (let i = 0; i < 100 && !Number.isFinite(await metric(fw.url, 'fleetwatch_head_covered_from_seconds')); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await metric(fw.url, 'fleetwatch_head_samples')).toBe(written);
      expect(await count(fw.url, now)).toBe(written);
      expect(await metric(fw.url, 'fleetwatch_promql_selects_total', 'source="head"')).toBe(1);
      expect(await metric(fw.url, 'fleetwatch_promql_selects_total', 'source="storage"')).toBeNaN();
      // older than the head: ClickHouse answers
      expect(await count(fw.url, now - 3 * 3_600_000)).toBe(0);
      expect(await metric(fw.url, 'fleetwatch_promql_selects_total', 'source="storage"')).toBe(1);
    } finally {
      await fw.stop();
    }
  }, 120_000);
});
