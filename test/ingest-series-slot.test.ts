// What ingest keeps per decoded series object (ingest/series-slot.ts): the
// limits' verdict and the series row's commit state. Decoders reuse series
// objects across requests (and tenants), so a slot must never carry one
// tenant's state or one limits' verdict into another's rows. Every case
// compares the rows of reused series objects with the rows of fresh ones.
import { describe, expect, it } from 'vitest';
import { createRemoteWriteSeriesCache, decodeRemoteWrite, encodeRemoteWriteV1, makeSeries, type MetricsBatch, type SeriesRef } from '../protocols/index.ts';
import { RowBinaryReader } from '../storage/index.ts';
import { encodeMetrics, limitMetricNameIdsForTest, markCommitted } from '../ingest/row-encoders.ts';
import { createLimitChecker, type WriteLimits } from '../ingest/limits.ts';
import { SeriesCache } from '../ingest/series-cache.ts';
import { SeriesSlot } from '../ingest/series-slot.ts';
import { nativeRows } from './helpers/native.ts';

const DAY_MS = 86_400_000;
const T0 = 20_000 * DAY_MS + 1_000;
const STALE = -12345.5;

/** Samples as (series index, ts, value); a value of STALE becomes Prometheus's stale marker, bit for bit. */
function batchOf(series: SeriesRef[], samples: [number, number, number][]): MetricsBatch {
  const values = Float64Array.from(samples.map((s) => (s[2] === STALE ? 0 : s[2])));
  const words = new Uint32Array(values.buffer);
  samples.forEach((s, i) => {
    if (s[2] !== STALE) return;
    words[2 * i] = 2;
    words[2 * i + 1] = 0x7ff00000;
  });
  return {
    series,
    sampleSeries: Uint32Array.from(samples.map((s) => s[0])),
    timestampsMs: Float64Array.from(samples.map((s) => s[1])),
    values,
    sampleCount: samples.length,
    exemplars: [],
    metadata: [],
    histogramCount: 0,
    rejected: [],
  };
}

/** The sample rows as plain values (value as its 64 bits, so NaN payloads compare). */
function sampleRows(data: Uint8Array): [string, string, string, number, string][] {
  return nativeRows(data).map((r) => {
    const fp = BigInt(r.fingerprint as string);
    return [r.tenant as string, r.metric_name as string, `${Number(fp >> 32n)}:${Number(fp & 0xffffffffn)}`, Number(r.timestamp_ms), r.value as string];
  });
}

function seriesRowKeys(data: Uint8Array): string[] {
  const r = RowBinaryReader.of(data);
  const out: string[] = [];
  while (!r.done) {
    const tenant = r.string();
    const day = r.uint8() | (r.uint8() << 8);
    const metric = r.string();
    const [hi, lo] = r.uint64Parts();
    r.skipStringMap();
    out.push(`${tenant}/${day}/${metric}/${hi}:${lo}`);
  }
  return out;
}

const labelsOf = (i: number): [string[], string[]] => [
  ['__name__', 'job', 'pod'],
  [`m${i % 2}`, 'api', `p-${i}`],
];
const fresh = (n: number): SeriesRef[] => Array.from({ length: n }, (_, i) => makeSeries(...labelsOf(i)));

describe('ingest series slots', () => {
  const samples: [number, number, number][] = [
    [0, T0, 1.5],
    [1, T0, 2],
    [2, T0 + 15_000, 3],
    [0, T0 + 15_000, STALE],
    [1, T0 + DAY_MS, 4], // the next day: another series row
  ];

  it('encodes reused series objects exactly as fresh ones, for each tenant in turn', () => {
    const reused = fresh(3);
    const committed = new SeriesCache(1000);
    for (const tenant of ['a', 'b', 'a', 'a-much-longer-tenant-name-than-the-others', 'b']) {
      const got = encodeMetrics(tenant, batchOf(reused, samples), committed);
      const want = encodeMetrics(tenant, batchOf(fresh(3), samples), new SeriesCache(1000));
      expect(sampleRows(got.samples.data)).toEqual(sampleRows(want.samples.data));
      expect(sampleRows(got.samples.data).every((r) => r[0] === tenant)).toBe(true);
      markCommitted(committed, got.newSeries);
    }
    const stale = sampleRows(encodeMetrics('a', batchOf(reused, samples), committed).samples.data)[3] as unknown[];
    expect(stale[4]).toBe('020000000000f07f'); // the stale marker's exact bits, little-endian
  });

  it('writes each sample as its tenant, metric, fingerprint, timestamp and value bits, skipping what was not kept', () => {
    const series = fresh(3);
    const ts = [T0, -1, 2 ** 40 + 7, -(2 ** 33) - 5];
    const batch = batchOf(series, [
      [0, ts[0] as number, 1.5],
      [1, ts[1] as number, STALE],
      [2, ts[2] as number, -0],
      [1, ts[3] as number, 3],
      [2, T0, 99],
    ]);
    const sampleKeep = Uint8Array.from([1, 1, 1, 1, 0]);
    const rows = sampleRows(encodeMetrics('tenant-x', batch, new SeriesCache(10), undefined, sampleKeep).samples.data);
    const fp = (i: number) => `${(series[i] as SeriesRef).fpHi}:${(series[i] as SeriesRef).fpLo}`;
    const bits = (v: number) => Buffer.from(new Float64Array([v]).buffer).toString('hex');
    expect(rows).toEqual([
      ['tenant-x', 'm0', fp(0), ts[0], bits(1.5)],
      ['tenant-x', 'm1', fp(1), ts[1], '020000000000f07f'],
      ['tenant-x', 'm0', fp(2), ts[2], bits(-0)],
      ['tenant-x', 'm1', fp(1), ts[3], bits(3)],
    ]);
  });

  it("names each row's metric right across blocks, with hundreds of names per block and past the bound on numbered names", () => {
    const many = (n: number, tag: string) => Array.from({ length: n }, (_, i) => makeSeries(['__name__', 'i'], [`${tag}_${i % 300}`, String(i)]));
    const check = (series: SeriesRef[], order: number[]) => {
      const batch = batchOf(series, order.map((i) => [i, T0, i]));
      const rows = sampleRows(encodeMetrics('t', batch, new SeriesCache(10_000)).samples.data);
      expect(rows.map((r) => r[1])).toEqual(order.map((i) => (series[i] as SeriesRef).metricName));
    };
    const a = many(900, 'numbered');
    const forward = a.map((_, i) => i);
    check(a, forward);
    check(a, [...forward].reverse());
    check(a, forward.filter((i) => i % 7 === 3));
    // past the bound, names are found per block instead
    limitMetricNameIdsForTest(0);
    try {
      const b = many(600, 'overflow');
      check(b, b.map((_, i) => i).reverse());
      // mixed with numbered names in one block
      check([...a.slice(0, 50), ...b.slice(0, 50)], [99, 0, 50, 1, 51, 98, 49]);
    } finally {
      limitMetricNameIdsForTest(1 << 20);
    }
  });

  it('writes a series row per tenant and day until that tenant committed it', () => {
    const reused = fresh(3);
    const committed = new SeriesCache(1000);
    const first = encodeMetrics('a', batchOf(reused, samples), committed);
    expect(seriesRowKeys(first.series.data)).toHaveLength(4); // 3 series on day 20000, one on 20001
    // not committed yet: the next request writes them again
    expect(seriesRowKeys(encodeMetrics('a', batchOf(reused, samples), committed).series.data)).toHaveLength(4);
    markCommitted(committed, first.newSeries);
    expect(encodeMetrics('a', batchOf(reused, samples), committed).series.rows).toBe(0);
    // another tenant has its own series rows, though the objects are the same
    const b = encodeMetrics('b', batchOf(reused, samples), committed);
    expect(seriesRowKeys(b.series.data).every((k) => k.startsWith('b/'))).toBe(true);
    expect(b.series.rows).toBe(4);
  });

  it("does not take a commit of one tenant's rows for another tenant now using the series", () => {
    const [s] = fresh(1) as [SeriesRef];
    const committed = new SeriesCache(1000);
    const one: [number, number, number][] = [[0, T0, 1]];
    const forA = encodeMetrics('a', batchOf([s], one), committed);
    // meanwhile the same object is encoded for tenant b
    const forB = encodeMetrics('b', batchOf([s], one), committed);
    markCommitted(committed, forA.newSeries); // a's insert succeeds, b's is still pending
    expect((s.cache as SeriesSlot).tenant).toBe('b');
    expect((s.cache as SeriesSlot).committedDay).toBe(-1);
    expect(encodeMetrics('b', batchOf([s], one), committed).series.rows).toBe(1);
    markCommitted(committed, forB.newSeries);
    expect(encodeMetrics('b', batchOf([s], one), committed).series.rows).toBe(0);
    // and a is still known committed through the shared key set
    expect(encodeMetrics('a', batchOf([s], one), committed).series.rows).toBe(0);
  });

  it('replaces whatever else a series object carried in its cache slot', () => {
    const [s] = fresh(1) as [SeriesRef];
    s.cache = { owner: 'someone else', tenant: 'a', prefix: new Uint8Array([1, 2, 3]), committedDay: 99_999 };
    const got = encodeMetrics('a', batchOf([s], [[0, T0, 1]]), new SeriesCache(10));
    expect(s.cache).toBeInstanceOf(SeriesSlot);
    expect(sampleRows(got.samples.data)).toEqual(sampleRows(encodeMetrics('a', batchOf(fresh(1), [[0, T0, 1]]), new SeriesCache(10)).samples.data));
    expect(got.series.rows).toBe(1);
  });
});

describe('label limits remembered per series object', () => {
  const limits = (maxLabelValueLength: number): WriteLimits => ({ maxLabelsPerSeries: 10, maxLabelNameLength: 100, maxLabelValueLength, maxSeriesPerRequest: 0, maxSampleAgeMs: 0, maxSampleFutureMs: 0 });
  const samples: [number, number, number][] = [
    [0, T0, 1],
    [1, T0, 2],
    [1, T0 + 1, 3],
  ];

  it('gives each checker its own verdict for the same objects, and the same verdict as for fresh objects', () => {
    const long = makeSeries(['__name__', 'pod'], ['m', 'a-rather-long-pod-name']);
    const short = makeSeries(['__name__', 'pod'], ['m', 'p']);
    const strict = createLimitChecker(limits(5));
    const lax = createLimitChecker(limits(100));
    for (let round = 0; round < 3; round++) {
      const s = strict.checkMetrics(batchOf([short, long], samples), T0);
      expect(Array.from(s.keep ?? [])).toEqual([1, 0]);
      expect(s.rejected).toEqual([{ reason: 'value of label "pod" is longer than 5', count: 2 }]);
      const l = lax.checkMetrics(batchOf([short, long], samples), T0);
      expect(l.keep).toBeUndefined();
      expect(l.rejected).toEqual([]);
      const again = strict.checkMetrics(batchOf([makeSeries(['__name__', 'pod'], ['m', 'p']), makeSeries(['__name__', 'pod'], ['m', 'a-rather-long-pod-name'])], samples), T0);
      expect(again).toEqual(s);
    }
  });

  it('keeps the verdict when the encoder later fills in the same slot, for any tenant', () => {
    const strict = createLimitChecker(limits(5));
    const long = makeSeries(['__name__', 'pod'], ['m', 'a-rather-long-pod-name']);
    expect(strict.checkMetrics(batchOf([long], [[0, T0, 1]]), T0).keep).toEqual(Uint8Array.from([0]));
    encodeMetrics('a', batchOf([long], [[0, T0, 1]]), new SeriesCache(10));
    encodeMetrics('b', batchOf([long], [[0, T0, 1]]), new SeriesCache(10));
    expect(strict.checkMetrics(batchOf([long], [[0, T0, 1]]), T0).keep).toEqual(Uint8Array.from([0]));
  });

  it('checks decoded remote_write series the same whether the label cache knew them or not', () => {
    const body = encodeRemoteWriteV1([
      { labels: { __name__: 'm', pod: 'p' }, samples: [{ timestampMs: T0, value: 1 }] },
      { labels: { __name__: 'm', pod: 'a-rather-long-pod-name' }, samples: [{ timestampMs: T0, value: 2 }] },
    ]);
    const cache = createRemoteWriteSeriesCache({ maxEntries: 100 });
    const strict = createLimitChecker(limits(5));
    const verdicts = [1, 2, 3].map(() => {
      const r = decodeRemoteWrite(body, 1, { seriesCache: cache });
      if (!r.ok) throw new Error(r.message);
      return strict.checkMetrics(r.value, T0);
    });
    expect(verdicts[1]).toEqual(verdicts[0]);
    expect(verdicts[2]).toEqual(verdicts[0]);
    expect(Array.from(verdicts[0]?.keep ?? [])).toEqual([1, 0]);
  });
});

describe('the committed (tenant, day, series) set', () => {
  it('tells apart tenants, days and either fingerprint half, through growth, and forgets all when full', () => {
    const c = new SeriesCache(5_000);
    const fp = (i: number): [number, number] => [(i * 2654435761) >>> 0, i % 2 === 0 ? 0xffffffff - i : i]; // high bits set on both halves
    const pending = Array.from({ length: 3_000 }, (_, i) => ({ ref: {}, tenant: i % 3 === 0 ? 'a' : 'b', day: 20_000 + (i % 2), fpHi: fp(i)[0], fpLo: fp(i)[1] }));
    c.commit(pending);
    expect(c.size).toBe(3_000);
    for (const p of pending) {
      expect(c.has(p.tenant, p.day, p.fpHi, p.fpLo)).toBe(true);
      expect(c.has(p.tenant === 'a' ? 'b' : 'a', p.day, p.fpHi, p.fpLo)).toBe(false);
      expect(c.has(p.tenant, p.day + 2, p.fpHi, p.fpLo)).toBe(false);
      expect(c.has(p.tenant, p.day, (p.fpHi ^ 0x40000000) >>> 0, p.fpLo)).toBe(false); // the low halves are all different
      expect(c.has(p.tenant, p.day, p.fpHi, (p.fpLo ^ 0x80000000) >>> 0)).toBe(false);
    }
    expect(c.has('nobody', 20_000, 1, 2)).toBe(false);
    c.commit(pending.slice(0, 10)); // already there: no growth
    expect(c.size).toBe(3_000);
    // over the bound: everything is forgotten, then the new entries kept
    const more = pending.map((p) => ({ ...p, day: p.day + 10 }));
    c.commit(more);
    expect(c.size).toBe(3_000);
    expect(c.has(pending[0]!.tenant, pending[0]!.day, pending[0]!.fpHi, pending[0]!.fpLo)).toBe(false);
    expect(c.has(more[0]!.tenant, more[0]!.day, more[0]!.fpHi, more[0]!.fpLo)).toBe(true);
  });

  it('writes one series row per series and day in a chunk, even for two objects of one series', () => {
    const twin = fresh(1).concat(fresh(1)); // equal labels, different objects
    const got = encodeMetrics('a', batchOf(twin, [[0, T0, 1], [1, T0, 2], [1, T0 + DAY_MS, 3]]), new SeriesCache(10));
    expect(seriesRowKeys(got.series.data)).toEqual([`a/20000/m0/${twin[0]!.fpHi}:${twin[0]!.fpLo}`, `a/20001/m0/${twin[0]!.fpHi}:${twin[0]!.fpLo}`]);
    expect(got.newSeries).toHaveLength(2);
  });
});
