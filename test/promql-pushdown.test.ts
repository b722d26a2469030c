// The ClickHouse series source and its pushdown, checked against the
// TypeScript evaluator: every query runs over the in-memory source (the
// reference), over ClickHouse without pushdown, and over ClickHouse with
// pushdown; the three must agree (same series and steps, values within
// 1e-9 relative — summation order differs in SQL), and the forms meant to
// be pushed down must actually be.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../storage/index.ts';
import { createEngine } from '../query/promql/engine.ts';
import { createMemorySource } from '../query/promql/memory-source.ts';
import { createClickHouseSource } from '../query/promql/clickhouse-source.ts';
import { createSeriesCache } from '../query/promql/clickhouse-series.ts';
import { sortedSamples } from '../query/promql/sample-order.ts';
import { labelsToString } from '../query/promql/label-set.ts';
import type { QueryResult } from '../query/promql/value.ts';
import type { SeriesSource } from '../query/promql/series-source.ts';
import { testStore } from './helpers/store.ts';
import { generateSeries, isStaleBits, setStale, writeSeries, type TestSeries } from './helpers/promql-data.ts';

const T0 = Date.UTC(2024, 2, 10, 23, 0, 0); // crosses a day boundary at +1h
const T1 = T0 + 2 * 3_600_000;
const TENANT = 'team-a';

let store: Store;
let data: TestSeries[];
const engine = createEngine();

beforeAll(async () => {
  store = await testStore();
  data = generateSeries({ startMs: T0, endMs: T1, seed: 7 });
  // a remote_write retry: the first 10 series written twice
  await writeSeries(store, TENANT, data.slice(0, 10), { duplicate: true });
  await writeSeries(store, TENANT, data.slice(10));
  // another tenant's data must never show up
  await writeSeries(store, 'team-b', generateSeries({ startMs: T0, endMs: T1, seed: 99 }).map((s) => ({ ...s, labels: { ...s.labels, owner: 'b' } })));
});

afterAll(async () => {
  await store?.close();
});

function memory(): SeriesSource {
  return createMemorySource(data.map((s) => ({ labels: s.labels, timestampsMs: s.timestampsMs, values: s.values })));
}

type Shape = { kind: string; series: Map<string, { t: number[]; v: number[] }> };

function shape(r: QueryResult): Shape {
  const series = new Map<string, { t: number[]; v: number[] }>();
  const v = r.value;
  if (v.resultType === 'vector') for (const s of v.samples) series.set(labelsToString(s.labels), { t: [s.timestampMs], v: [s.value] });
  else if (v.resultType === 'matrix') for (const s of v.series) series.set(labelsToString(s.labels), { t: Array.from(s.timestampsMs), v: Array.from(s.values) });
  else series.set('', { t: [v.timestampMs], v: [Number(v.value)] });
  return { kind: v.resultType, series };
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function expectSame(got: QueryResult, want: QueryResult, what: string): void {
  const g = shape(got);
  const w = shape(want);
  expect(g.kind, what).toBe(w.kind);
  expect([...g.series.keys()].sort(), what).toEqual([...w.series.keys()].sort());
  for (const [k, ws] of w.series) {
    const gs = g.series.get(k) as { t: number[]; v: number[] };
    expect(gs.t, `${what} ${k}`).toEqual(ws.t);
    for (let i = 0; i < ws.v.length; i++) {
      if (!close(gs.v[i] as number, ws.v[i] as number)) expect(`${gs.v[i]}`, `${what} ${k} at ${ws.t[i]}`).toBe(`${ws.v[i]}`);
    }
  }
  expect(got.warnings, what).toEqual(want.warnings);
  expect(got.infos, what).toEqual(want.infos);
}

// [query, pushed down?]
const CASES: ReadonlyArray<readonly [string, boolean]> = [
  ['rate(http_requests_total[5m])', true],
  ['increase(http_requests_total{job="api"}[10m])', true],
  ['delta(temperature_celsius[15m])', true],
  ['irate(http_requests_total[2m])', true],
  ['idelta(temperature_celsius[5m])', true],
  ['last_over_time(temperature_celsius[10m])', true],
  ['last_over_time(http_requests_total[1m])', true],
  ['sum by (job) (rate(http_requests_total[5m]))', true],
  ['sum without (instance, code) (rate(http_requests_total[5m]))', true],
  ['sum(rate(http_requests_total[5m]))', true],
  ['avg by (cluster) (irate(http_requests_total[1m]))', true],
  ['max(delta(temperature_celsius[10m]))', true],
  ['min by (job) (temperature_celsius)', true],
  ['max without (instance) (temperature_celsius offset 7m)', true],
  ['count by (code) (rate(http_requests_total[5m] offset 10m))', true],
  ['group by (job) (temperature_celsius)', true],
  ['sum(http_requests_total)', true],
  ['count(http_requests_total)', true],
  ['sum by (__name__, job) (temperature_celsius)', true],
  ['sum by (__name__) (rate(http_requests_total[5m]))', true],
  ['sum by (le) (rate(request_duration_seconds_bucket[5m]))', true],
  ['histogram_quantile(0.9, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))', true],
  ['topk(3, rate(http_requests_total[5m]))', true],
  [`rate(http_requests_total[5m] @ ${(T0 + 3_600_000) / 1000})`, true],
  ['sum(rate(http_requests_total[5m] @ end()))', true],
  ['sum by (job) (increase(http_requests_total{instance=~"api-.*"}[5m]))', true],
  ['rate(http_requests_total{code!="200"}[3m])', true],
  ['rate(http_requests_total{instance!~"db-[01]:9100"}[3m])', true],
  ['sum by (job) (rate(http_requests_total[5m])) / sum by (job) (rate(http_requests_total{code="500"}[5m]))', true],
  ['rate(batch_last_success_seconds[10m])', false],
  ['avg(last_over_time(batch_last_success_seconds[15m]))', true],
  ['sum(batch_last_success_seconds)', true],
  // range functions over subqueries of pushed-down forms
  ['max_over_time(sum by (job) (rate(http_requests_total[5m]))[30m:1m])', true],
  ['avg_over_time(rate(http_requests_total[5m])[20m:2m] offset 5m)', true],
  ['quantile_over_time(0.5, sum(temperature_celsius)[15m:1m])', true],
  ['min_over_time(sum(http_requests_total)[1h:])', true],
  ['last_over_time(max by (job) (temperature_celsius)[10m:1m] @ end())', true],
  ['deriv(sum(rate(http_requests_total[5m]))[30m:1m])', true],
  ['count_over_time(sum by (code) (irate(http_requests_total[1m]))[10m:45s])', true],
  ['max_over_time(temperature_celsius[10m:1m])', false],
  ['rate(sum(http_requests_total)[10m:1m])', false],
  ['quantile_over_time(2, sum(temperature_celsius)[15m:1m])', false],
  // not pushed down: no pinned name, annotation, unsupported function
  ['rate({__name__=~"http_requests_total|nothing"}[5m])', false],
  ['rate(temperature_celsius[5m])', false],
  ['sum_over_time(temperature_celsius[5m])', false],
  ['stddev by (job) (temperature_celsius)', false],
  ['temperature_celsius', false],
  ['http_requests_total[5m]', false],
];

const INSTANT_TIMES = [T0 + 30 * 60_000, T0 + 65 * 60_000 + 123, T1, T1 + 4 * 60_000];
const RANGES: ReadonlyArray<readonly [number, number, number]> = [
  [T0 + 10 * 60_000, T1, 60_000],
  [T0 + 5 * 60_000 + 500, T1 + 6 * 60_000, 37_000],
];

describe('ClickHouse source vs the in-memory source (evaluator)', () => {
  for (const [query, pushes] of CASES) {
    it(query, async () => {
      const mem = memory();
      const plain = createClickHouseSource({ store, tenants: [TENANT], pushdown: false });
      // the default (small aggregations folded by the evaluator over per-series results) ...
      const pushed = createClickHouseSource({ store, tenants: [TENANT] });
      // ... and every pushed form aggregated in ClickHouse
      const pushedAll = createClickHouseSource({ store, tenants: [TENANT], smallAggregationPoints: 0 });
      const variants = [
        ['select', plain],
        ['pushdown', pushed],
        ['pushdown, aggregated in ClickHouse', pushedAll],
      ] as const;
      for (const t of INSTANT_TIMES) {
        const want = await engine.instantQuery(mem, query, t);
        for (const [name, src] of variants) expectSame(await engine.instantQuery(src, query, t), want, `instant ${query} @${t} (${name})`);
      }
      if (!query.endsWith(']')) {
        for (const [s, e, step] of RANGES) {
          const want = await engine.rangeQuery(mem, query, s, e, step);
          for (const [name, src] of variants) expectSame(await engine.rangeQuery(src, query, s, e, step), want, `range ${query} ${s}..${e}/${step} (${name})`);
        }
      }
      expect(plain.stats.pushedDown).toBe(0);
      if (pushes) expect(pushedAll.stats.pushedDown, 'pushed down').toBeGreaterThan(0);
      else expect(pushedAll.stats.pushedDown, 'not pushed down').toBe(0);
    });
  }
});

describe('sample order', () => {
  it('sorts interleaved runs, keeps the first of a timestamp and staleness bits', () => {
    for (const n of [7, 500]) {
      // two parts' runs read in the wrong order, plus a repeated timestamp
      const first = Array.from({ length: n }, (_, i) => (n + i) * 10);
      const second = Array.from({ length: n }, (_, i) => i * 10);
      const t = Float64Array.from([...first, ...second, 0]);
      const v = Float64Array.from([...first, ...second, -1].map((x) => x / 10));
      setStale(v, 1);
      const [tt, vv] = sortedSamples(t, v);
      expect(Array.from(tt)).toEqual(Array.from({ length: 2 * n }, (_, i) => i * 10));
      expect(vv[0]).toBe(0); // the first sample at t=0 stays, the repeat (-0.1) goes
      expect(isStaleBits(vv, n + 1)).toBe(true);
      expect(vv[n + 2]).toBe((n + 2) / 1);
    }
  });
});

describe('select()', () => {
  const matchersOf = (name: string) => [{ name: '__name__', type: '=' as const, value: name }];

  it('returns staleness markers bit-exact and folds duplicate samples', async () => {
    const src = createClickHouseSource({ store, tenants: [TENANT] });
    const sets = await src.select({ matchers: matchersOf('http_requests_total'), startMs: T0, endMs: T1 + 60_000, hints: { func: '', rangeMs: 0, stepMs: 0, by: false, grouping: [], offsetMs: 0, lookbackDeltaMs: 300_000 } });
    const want = data.filter((s) => s.labels['__name__'] === 'http_requests_total');
    expect(sets.length).toBe(want.length);
    let staleSeen = 0;
    for (const w of want) {
      const key = labelsToString({ names: Object.keys(w.labels).sort(), values: Object.keys(w.labels).sort().map((k) => w.labels[k] as string) });
      const got = sets.find((s) => labelsToString(s.labels) === key);
      expect(got, key).toBeDefined();
      expect(Array.from(got!.timestampsMs)).toEqual(w.timestampsMs);
      const gotBits = new BigUint64Array(got!.values.buffer, got!.values.byteOffset, got!.values.length);
      const wantBits = new BigUint64Array(w.values.buffer, w.values.byteOffset, w.values.length);
      expect(Array.from(gotBits)).toEqual(Array.from(wantBits));
      for (let i = 0; i < got!.values.length; i++) if (isStaleBits(got!.values, i)) staleSeen++;
    }
    expect(staleSeen).toBeGreaterThan(0);
  });

  it('keeps tenants apart; several tenants carry __tenant_id__', async () => {
    const hints = { func: '', rangeMs: 0, stepMs: 0, by: false, grouping: [], offsetMs: 0, lookbackDeltaMs: 300_000 };
    const a = await createClickHouseSource({ store, tenants: [TENANT] }).select({ matchers: matchersOf('temperature_celsius'), startMs: T0, endMs: T1, hints });
    expect(a.length).toBeGreaterThan(0);
    expect(a.every((s) => !s.labels.names.includes('owner'))).toBe(true);
    const none = await createClickHouseSource({ store, tenants: ['nobody'] }).select({ matchers: matchersOf('temperature_celsius'), startMs: T0, endMs: T1, hints });
    expect(none).toEqual([]);
    const both = await createClickHouseSource({ store, tenants: [TENANT, 'team-b'] }).select({ matchers: matchersOf('temperature_celsius'), startMs: T0, endMs: T1, hints });
    expect(both.length).toBe(2 * a.length);
    expect(new Set(both.map((s) => s.labels.values[s.labels.names.indexOf('__tenant_id__')]))).toEqual(new Set([TENANT, 'team-b']));
    const onlyB = await createClickHouseSource({ store, tenants: [TENANT, 'team-b'] }).select({ matchers: [...matchersOf('temperature_celsius'), { name: '__tenant_id__', type: '=~', value: 'team-b' }], startMs: T0, endMs: T1, hints });
    expect(onlyB.length).toBe(a.length);
    expect(onlyB.every((s) => s.labels.names.includes('owner'))).toBe(true);
    // a multi-tenant aggregation groups by tenant when asked
    const r = await engine.instantQuery(createClickHouseSource({ store, tenants: [TENANT, 'team-b'] }), 'count by (__tenant_id__) (temperature_celsius)', T1);
    expect(r.value.resultType === 'vector' && r.value.samples.map((s) => s.value)).toEqual([a.length, a.length]);
  });

  it('aggregates across tenants the same way in ClickHouse, in JS and in the evaluator', async () => {
    const tenants = [TENANT, 'team-b'];
    for (const query of ['sum by (__tenant_id__, job) (rate(http_requests_total[5m]))', 'count without (instance) (rate(http_requests_total[5m]))', 'rate(http_requests_total{__tenant_id__="team-b", job="api"}[5m])']) {
      const plain = createClickHouseSource({ store, tenants, pushdown: false });
      const inCh = createClickHouseSource({ store, tenants, smallAggregationPoints: 0 });
      const inJs = createClickHouseSource({ store, tenants });
      for (const [s, e, step] of RANGES) {
        const want = await engine.rangeQuery(plain, query, s, e, step);
        expect(want.value.resultType === 'matrix' && want.value.series.length, query).toBeGreaterThan(0);
        expectSame(await engine.rangeQuery(inCh, query, s, e, step), want, `${query} (ClickHouse)`);
        expectSame(await engine.rangeQuery(inJs, query, s, e, step), want, `${query} (JS)`);
      }
      expect(inCh.stats.pushedDown).toBeGreaterThan(0);
    }
  });

  it('matches regexes fully anchored, with . matching a newline (RE2, Prometheus 3.x)', async () => {
    const s = await testStore();
    try {
      const v = new Float64Array([1]);
      await writeSeries(s, 'x', [
        { labels: { __name__: 'm', l: 'api' }, timestampsMs: [T0], values: v },
        { labels: { __name__: 'm', l: 'xapi' }, timestampsMs: [T0], values: v },
        { labels: { __name__: 'm', l: 'a\nb' }, timestampsMs: [T0], values: v },
        { labels: { __name__: 'm' }, timestampsMs: [T0], values: v },
      ]);
      const hints = { func: '', rangeMs: 0, stepMs: 0, by: false, grouping: [], offsetMs: 0, lookbackDeltaMs: 300_000 };
      const sel = async (type: '=~' | '!~' | '=' | '!=', value: string) =>
        (await createClickHouseSource({ store: s, tenants: ['x'] }).select({ matchers: [{ name: '__name__', type: '=', value: 'm' }, { name: 'l', type, value }], startMs: T0, endMs: T0, hints }))
          .map((x) => x.labels.values[x.labels.names.indexOf('l')] ?? '')
          .sort();
      expect(await sel('=~', 'api')).toEqual(['api']);
      expect(await sel('=~', 'a.*')).toEqual(['a\nb', 'api']);
      expect(await sel('=~', 'a.b')).toEqual(['a\nb']);
      expect(await sel('!~', 'api|xapi')).toEqual(['', 'a\nb']);
      expect(await sel('=~', '')).toEqual(['']);
      expect(await sel('=', '')).toEqual(['']);
      expect(await sel('!=', '')).toEqual(['a\nb', 'api', 'xapi']);
      expect(await sel('=~', '.+')).toEqual(['a\nb', 'api', 'xapi']);
      expect(await sel('=~', '(?i)API')).toEqual(['api']);
    } finally {
      await s.close();
    }
  });

  it('stops at the series and sample limits', async () => {
    const hints = { func: '', rangeMs: 0, stepMs: 0, by: false, grouping: [], offsetMs: 0, lookbackDeltaMs: 300_000 };
    const req = { matchers: matchersOf('http_requests_total'), startMs: T0, endMs: T1, hints };
    await expect(createClickHouseSource({ store, tenants: [TENANT], maxSeries: 5 }).select(req)).rejects.toMatchObject({ errorType: 'execution' });
    await expect(createClickHouseSource({ store, tenants: [TENANT], maxSamples: 1000 }).select(req)).rejects.toMatchObject({ errorType: 'execution' });
    // the limit counts the series a query touches, also when ClickHouse aggregates them
    await expect(engine.instantQuery(createClickHouseSource({ store, tenants: [TENANT], maxSeries: 5 }), 'sum(rate(http_requests_total[5m]))', T1)).rejects.toMatchObject({ errorType: 'execution' });
    const r = await engine.instantQuery(createClickHouseSource({ store, tenants: [TENANT], maxSeries: 50 }), 'sum(rate(http_requests_total[5m]))', T1);
    expect(r.value.resultType).toBe('vector');
  });

  it('shares series look-ups for the cache TTL, then sees new series', async () => {
    const s = await testStore();
    try {
      const cache = createSeriesCache({ ttlMs: 300, maxEntries: 4 });
      const v = new Float64Array([1]);
      await writeSeries(s, 'x', [{ labels: { __name__: 'c', a: '1' }, timestampsMs: [T0], values: v }]);
      const count = async () => {
        const r = await engine.instantQuery(createClickHouseSource({ store: s, tenants: ['x'], seriesCache: cache }), 'count(c)', T0 + 1000);
        return r.value.resultType === 'vector' ? r.value.samples[0]?.value : undefined;
      };
      expect(await count()).toBe(1);
      await writeSeries(s, 'x', [{ labels: { __name__: 'c', a: '2' }, timestampsMs: [T0], values: v }]);
      expect(await count()).toBe(1); // cached look-up: the new series is not seen yet
      await new Promise((r) => setTimeout(r, 350));
      expect(await count()).toBe(2);
      // bounded: old entries go
      for (let i = 0; i < 6; i++) await engine.instantQuery(createClickHouseSource({ store: s, tenants: ['x'], seriesCache: cache }), `count(c{a="${i}"})`, T0 + 1000);
      await writeSeries(s, 'x', [{ labels: { __name__: 'c', a: '3' }, timestampsMs: [T0], values: v }]);
      expect(await count()).toBe(3); // evicted, so looked up again
    } finally {
      await s.close();
    }
  });

  it('a stale marker as the latest sample hides the series from instant selectors', async () => {
    const s = await testStore();
    try {
      const v = new Float64Array([5, 6, 0]);
      setStale(v, 2);
      await writeSeries(s, 'x', [{ labels: { __name__: 'g', a: '1' }, timestampsMs: [T0, T0 + 15_000, T0 + 30_000], values: v }]);
      for (const pushdown of [true, false]) {
        const src = createClickHouseSource({ store: s, tenants: ['x'], pushdown });
        const before = await engine.instantQuery(src, 'sum(g)', T0 + 20_000);
        expect(before.value.resultType === 'vector' && before.value.samples.map((x) => x.value)).toEqual([6]);
        const after = await engine.instantQuery(src, 'sum(g)', T0 + 40_000);
        expect(after.value.resultType === 'vector' && after.value.samples.length).toBe(0);
      }
    } finally {
      await s.close();
    }
  });
});
