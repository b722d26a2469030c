// Prometheus remote_write 1.0/2.0 decoding, the encoders, the protobuf
// reader/writer underneath, and capped decompression. Byte sequences in the
// "hand-assembled" cases are built here with their own tiny varint helper,
// so the encoder and the decoder cannot share a bug silently.
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { compressSync as snappyCompressSync } from 'snappy';
import {
  ProtobufReader,
  ProtobufWriter,
  createLabelBytesCache,
  createRemoteWriteSeriesCache,
  hashLabelBytes,
  decodeRemoteWrite,
  decompress,
  encodeRemoteWriteV1,
  encodeRemoteWriteV2,
  isStaleNaN,
  parseContentEncoding,
  remoteWriteVersion,
  remoteWriteWrittenCounts,
  snappyCompress,
  snappyUncompressedLength,
  staleNaN,
  type MetricsBatch,
  type RemoteWriteV2SeriesInput,
} from '../protocols/index.ts';
import { fingerprintParts, hashBytes64, labelsToRecord } from '../core/index.ts';

// ---- independent byte builders -------------------------------------------

function varint(n: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
const ascii = (s: string): number[] => [...Buffer.from(s, 'utf8')];
/** length-delimited field */
const ld = (field: number, payload: number[]): number[] => [...tag(field, 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string): number[] => ld(field, ascii(s));
const vint = (field: number, n: bigint | number): number[] => [...tag(field, 0), ...varint(n)];
const f64 = (field: number, bytesLE: number[]): number[] => [...tag(field, 1), ...bytesLE];
const dbl = (v: number): number[] => [...Buffer.from(new Float64Array([v]).buffer)];
const bytes = (...parts: number[][]): Uint8Array => new Uint8Array(parts.flat());

const STALE_BYTES = [0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f];
const OTHER_NAN_BYTES = [0x01, 0, 0, 0, 0, 0, 0xf8, 0x7f];

function valueBytes(b: MetricsBatch, i: number): number[] {
  return [...new Uint8Array(b.values.buffer, b.values.byteOffset + i * 8, 8)];
}

function ok<T>(r: { ok: true; value: T } | { ok: false; status: number; message: string }): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.status}: ${r.message}`);
  return r.value;
}

/** Series as plain data, for comparing against encoder input. */
function seriesView(b: MetricsBatch): { labels: Record<string, string>; samples: { timestampMs: number; value: number }[] }[] {
  const out = b.series.map((s) => ({ labels: labelsToRecord(s.labels), samples: [] as { timestampMs: number; value: number }[] }));
  for (let i = 0; i < b.sampleCount; i++) out[b.sampleSeries[i] as number]!.samples.push({ timestampMs: b.timestampsMs[i] as number, value: b.values[i] as number });
  return out;
}

// ---- 1.0 ------------------------------------------------------------------

// WriteRequest{ timeseries=1 { labels=1, samples=2, exemplars=3, histograms=4 }, metadata=3 }
const handV1Series = ld(1, [
  ...ld(1, [...str(1, '__name__'), ...str(2, 'http_requests_total')]),
  ...ld(1, [...str(1, 'job'), ...str(2, 'api')]),
  ...ld(2, [...f64(1, dbl(1.5)), ...vint(2, 1_700_000_000_000)]),
  ...ld(2, [...f64(1, STALE_BYTES), ...vint(2, 1_700_000_015_000)]),
  ...ld(3, [...ld(1, [...str(1, 'trace_id'), ...str(2, 'abc123')]), ...f64(2, dbl(0.25)), ...vint(3, 1_700_000_000_500)]),
]);
const handV1Metadata = ld(3, [...vint(1, 1), ...str(2, 'http_requests_total'), ...str(4, 'Requests served.'), ...str(5, 'requests')]);

describe('remote_write 1.0 decoding', () => {
  it('decodes a hand-assembled WriteRequest field by field', () => {
    const b = ok(decodeRemoteWrite(bytes(handV1Series, handV1Metadata), 1, {}));
    expect(b.series).toHaveLength(1);
    const s = b.series[0]!;
    expect(s.labels).toEqual({ names: ['__name__', 'job'], values: ['http_requests_total', 'api'] });
    expect(s.metricName).toBe('http_requests_total');
    expect(b.sampleCount).toBe(2);
    expect([...b.sampleSeries]).toEqual([0, 0]);
    expect([...b.timestampsMs]).toEqual([1_700_000_000_000, 1_700_000_015_000]);
    expect(b.values[0]).toBe(1.5);
    expect(valueBytes(b, 1)).toEqual(STALE_BYTES);
    expect(b.exemplars).toEqual([{ seriesIndex: 0, labels: { names: ['trace_id'], values: ['abc123'] }, timestampMs: 1_700_000_000_500, value: 0.25 }]);
    expect(b.metadata).toEqual([{ metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests served.', unit: 'requests' }]);
    expect(b.histogramCount).toBe(0);
    expect(b.rejected).toEqual([]);
  });

  it('the encoder produces exactly the hand-assembled bytes', () => {
    const enc = encodeRemoteWriteV1(
      [
        {
          labels: { job: 'api', __name__: 'http_requests_total' },
          samples: [
            { timestampMs: 1_700_000_000_000, value: 1.5 },
            { timestampMs: 1_700_000_015_000, value: staleNaN() },
          ],
          exemplars: [{ labels: { trace_id: 'abc123' }, value: 0.25, timestampMs: 1_700_000_000_500 }],
        },
      ],
      [{ metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests served.', unit: 'requests' }],
    );
    expect([...enc]).toEqual([...handV1Series, ...handV1Metadata]);
  });

  it('skips unknown fields at every level and decodes fields in any order', () => {
    const body = bytes(
      vint(15, 7),
      ld(1, [
        ...ld(2, [...vint(2, 42), ...vint(9, 1), ...f64(1, dbl(3))]), // timestamp before value, unknown field inside
        ...str(12, 'future'),
        ...ld(1, [...str(2, 'up'), ...str(1, '__name__'), ...f64(7, dbl(1))]), // value before name
        ...tag(13, 5), 1, 2, 3, 4, // unknown fixed32
      ]),
      f64(14, dbl(9)),
    );
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect(seriesView(b)).toEqual([{ labels: { __name__: 'up' }, samples: [{ timestampMs: 42, value: 3 }] }]);
  });

  it('treats absent sample fields as zero (proto3 defaults)', () => {
    const body = bytes(ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'x')]), ...ld(2, []), ...ld(2, [...vint(2, 5)])]));
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect([...b.timestampsMs]).toEqual([0, 5]);
    expect([...b.values]).toEqual([0, 0]);
  });

  it('does not leak a rejected series value into a later sample without a value', () => {
    const body = bytes(
      ld(1, [...ld(1, [...str(1, 'job'), ...str(2, 'no-name')]), ...ld(2, [...f64(1, dbl(9)), ...vint(2, 9)])]),
      ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'x')]), ...ld(2, [...vint(2, 5)])]),
    );
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect(seriesView(b)).toEqual([{ labels: { __name__: 'x' }, samples: [{ timestampMs: 5, value: 0 }] }]);
  });

  it('decodes negative and large int64 timestamps', () => {
    const body = bytes(
      ld(1, [
        ...ld(1, [...str(1, '__name__'), ...str(2, 'x')]),
        ...ld(2, [...f64(1, dbl(1)), ...vint(2, -1n)]),
        ...ld(2, [...f64(1, dbl(2)), ...vint(2, -1_700_000_000_000n)]),
        ...ld(2, [...f64(1, dbl(3)), ...vint(2, 2n ** 52n + 7n)]),
      ]),
    );
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect([...b.timestampsMs]).toEqual([-1, -1_700_000_000_000, 2 ** 52 + 7]);
  });

  it('keeps NaN payloads bit for bit (stale marker and others)', () => {
    const body = bytes(
      ld(1, [
        ...ld(1, [...str(1, '__name__'), ...str(2, 'x')]),
        ...ld(2, [...f64(1, STALE_BYTES), ...vint(2, 1)]),
        ...ld(2, [...f64(1, OTHER_NAN_BYTES), ...vint(2, 2)]),
        ...ld(2, [...f64(1, dbl(-0)), ...vint(2, 3)]),
      ]),
    );
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect(valueBytes(b, 0)).toEqual(STALE_BYTES);
    expect(isStaleNaN(b.values[0] as number)).toBe(true);
    expect(valueBytes(b, 1)).toEqual(OTHER_NAN_BYTES);
    expect(isStaleNaN(b.values[1] as number)).toBe(false);
    expect(Object.is(b.values[2], -0)).toBe(true);
  });

  it('keeps stale markers exact across column growth (many samples)', () => {
    const samples: number[] = [];
    for (let i = 0; i < 5000; i++) samples.push(...ld(2, [...f64(1, i % 3 === 0 ? STALE_BYTES : dbl(i)), ...vint(2, i)]));
    const body = bytes(ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'x')]), ...samples]));
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect(b.sampleCount).toBe(5000);
    for (let i = 0; i < 5000; i += 1) {
      if (i % 3 === 0) expect(valueBytes(b, i)).toEqual(STALE_BYTES);
      else expect(b.values[i]).toBe(i);
      expect(b.timestampsMs[i]).toBe(i);
    }
  });

  it('the encoder writes the stale marker bit for bit', () => {
    const enc = encodeRemoteWriteV1([{ labels: { __name__: 'x' }, samples: [{ timestampMs: 1, value: staleNaN() }] }]);
    const at = Buffer.from(enc).indexOf(Buffer.from([0x09, ...STALE_BYTES]));
    expect(at).toBeGreaterThan(0);
  });

  it('counts native histograms (never drops them silently) and keeps float samples', () => {
    const hist = ld(4, [...vint(1, 5), ...f64(3, dbl(12.5)), ...vint(4, 3)]);
    const body = bytes(
      ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'h')]), ...hist, ...hist]),
      ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'f')]), ...ld(2, [...f64(1, dbl(1)), ...vint(2, 1)])]),
    );
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect(b.histogramCount).toBe(2);
    expect(seriesView(b)).toEqual([{ labels: { __name__: 'f' }, samples: [{ timestampMs: 1, value: 1 }] }]);
    expect(remoteWriteWrittenCounts(b)).toEqual({ samples: 1, histograms: 2, exemplars: 0 });
  });

  const labelCases: { name: string; labels: [string, string][]; reason: RegExp }[] = [
    { name: 'missing __name__', labels: [['job', 'a']], reason: /missing metric name/ },
    { name: 'empty label name', labels: [['__name__', 'm'], ['', 'v']], reason: /empty label name/ },
    { name: 'duplicate label name', labels: [['__name__', 'm'], ['job', 'a'], ['job', 'b']], reason: /duplicate label name "job"/ },
    { name: '__name__ with an empty value', labels: [['__name__', '']], reason: /missing metric name/ },
  ];
  for (const c of labelCases) {
    it(`rejects only the series with ${c.name}`, () => {
      const badSeries = ld(1, [...c.labels.flatMap(([n, v]) => ld(1, [...str(1, n), ...str(2, v)])), ...ld(2, [...f64(1, dbl(9)), ...vint(2, 9)]), ...ld(2, [...f64(1, dbl(8)), ...vint(2, 8)])]);
      const good = (v: number): number[] => ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'ok')]), ...ld(2, [...f64(1, dbl(v)), ...vint(2, v)])]);
      const b = ok(decodeRemoteWrite(bytes(good(1), badSeries, good(2)), 1, {}));
      expect(seriesView(b)).toEqual([
        { labels: { __name__: 'ok' }, samples: [{ timestampMs: 1, value: 1 }] },
        { labels: { __name__: 'ok' }, samples: [{ timestampMs: 2, value: 2 }] },
      ]);
      expect(b.rejected).toHaveLength(1);
      expect(b.rejected[0]!.count).toBe(2);
      expect(b.rejected[0]!.reason).toMatch(c.reason);
    });
  }

  it('rejects a series whose label is not valid UTF-8', () => {
    const body = bytes(ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'x')]), ...ld(1, [...str(1, 'bad'), ...ld(2, [0xc3, 0x28])]), ...ld(2, [...f64(1, dbl(1))])]));
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect(b.series).toEqual([]);
    expect(b.rejected).toEqual([{ reason: expect.stringMatching(/not valid UTF-8/), count: 1 }]);
  });

  it('decodes UTF-8 label values and drops labels with empty values', () => {
    const body = bytes(ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'température_°C')]), ...ld(1, [...str(1, 'empty'), ...str(2, '')]), ...ld(1, [...str(1, 'city'), ...str(2, 'Zürich — 東京 🚀')]), ...ld(2, [...f64(1, dbl(1))])]));
    const b = ok(decodeRemoteWrite(body, 1, {}));
    expect(labelsToRecord(b.series[0]!.labels)).toEqual({ __name__: 'température_°C', city: 'Zürich — 東京 🚀' });
  });

  it('refuses more series than maxSeries with 400', () => {
    const one = ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'x')]), ...ld(2, [...f64(1, dbl(1))])]);
    expect(decodeRemoteWrite(bytes(one, one), 1, { maxSeries: 2 }).ok).toBe(true);
    const r = decodeRemoteWrite(bytes(one, one, one), 1, { maxSeries: 2 });
    expect(r).toMatchObject({ ok: false, status: 400 });
  });

  it('answers 400 to a 2.0 body sent as 1.0 instead of accepting it empty', () => {
    const v2 = encodeRemoteWriteV2([{ labels: { __name__: 'x' }, samples: [{ timestampMs: 1, value: 1 }] }]);
    expect(decodeRemoteWrite(v2, 1, {})).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/2\.0/) });
    const v1 = encodeRemoteWriteV1([{ labels: { __name__: 'x' }, samples: [{ timestampMs: 1, value: 1 }] }]);
    expect(decodeRemoteWrite(v1, 2, {})).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/1\.0/) });
  });

  it('accepts an empty body as an empty request', () => {
    const b = ok(decodeRemoteWrite(new Uint8Array(0), 1, {}));
    expect(b.sampleCount).toBe(0);
    expect(b.series).toEqual([]);
  });
});

// ---- malformed input ------------------------------------------------------

describe('remote_write malformed bodies', () => {
  const malformed: { name: string; body: number[] }[] = [
    { name: 'a varint that never ends', body: [0x0a, 0xff, 0xff, 0xff] },
    { name: 'an 11-byte varint', body: [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] },
    { name: 'field number 0', body: [0x00, 0x01] },
    { name: 'wire type 7', body: [0x0f, 0x01] },
    { name: 'a group (wire type 3)', body: [0x0b, 0x0c] },
    { name: 'a length past the end', body: [0x0a, 0x10, 0x0a, 0x00] },
    { name: 'a sub-message longer than its parent', body: [0x0a, 0x03, 0x12, 0x05, 0x09, 0, 0, 0, 0] },
    { name: 'a truncated double', body: [...ld(1, [...ld(2, [0x09, 1, 2, 3])])] },
    { name: 'timeseries with the wrong wire type', body: [0x08, 0x01] },
    { name: 'sample value as a varint', body: [...ld(1, [...ld(2, [0x08, 0x01])])] },
  ];
  for (const c of malformed) {
    it(`answers 400 to ${c.name}`, () => {
      for (const version of [1, 2] as const) {
        expect(decodeRemoteWrite(new Uint8Array(c.body), version, {})).toMatchObject({ ok: false, status: 400 });
      }
    });
  }

  it('never throws on any truncation of a valid body, and answers 400 when cut inside a message', () => {
    const full = encodeRemoteWriteV1([
      { labels: { __name__: 'a', job: 'j' }, samples: [{ timestampMs: 1_700_000_000_000, value: 1 }, { timestampMs: 1_700_000_001_000, value: 2 }] },
      { labels: { __name__: 'b' }, samples: [{ timestampMs: 5, value: 3 }], exemplars: [{ labels: { t: 'x' }, value: 1, timestampMs: 2 }] },
    ]);
    const firstSeriesEnd = 2 + (full[1] as number);
    let rejectedCount = 0;
    for (let n = 1; n < full.length; n++) {
      const r = decodeRemoteWrite(full.subarray(0, n), 1, {});
      if (n === firstSeriesEnd) {
        expect(r.ok).toBe(true); // a clean cut between two series is a valid, shorter request
      } else {
        expect(r).toMatchObject({ ok: false, status: 400 });
        rejectedCount++;
      }
    }
    expect(rejectedCount).toBe(full.length - 2);
  });

  // (which error a body with several problems is named by may differ: with the
  // cache, a series' framing is walked before its fields are read)
  it('answers as without the series cache, cold or warm, to malformed, cut, mutated and random bodies', () => {
    const valid = encodeRemoteWriteV1([
      { labels: { __name__: 'a', job: 'j', long: 'v'.repeat(150) }, samples: [{ timestampMs: 1_700_000_000_000, value: 1 }] }, // a 2-byte label length
      { labels: { __name__: 'b', z: 'z' }, samples: [{ timestampMs: 5, value: 3 }], exemplars: [{ labels: { t: 'x' }, value: 1, timestampMs: 2 }] },
    ]);
    const bodies: Uint8Array[] = malformed.map((c) => new Uint8Array(c.body));
    for (let n = 1; n < valid.length; n++) bodies.push(valid.slice(0, n));
    for (let i = 0; i < valid.length; i++) {
      for (const v of [0x00, 0x7f, 0x80, 0xff, (valid[i] as number) ^ 1, 0x12, 0x1a, 0x22]) {
        const m = valid.slice();
        m[i] = v;
        bodies.push(m);
      }
    }
    let seed = 99;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
    for (let i = 0; i < 500; i++) bodies.push(Uint8Array.from({ length: rnd() % 64 }, () => rnd() & 0xff));
    const warm = createRemoteWriteSeriesCache({ maxEntries: 100 });
    ok(decodeRemoteWrite(valid, 1, { seriesCache: warm }));
    let accepted = 0;
    for (const body of bodies) {
      const plain = decodeRemoteWrite(body, 1, {});
      for (const seriesCache of [createRemoteWriteSeriesCache({ maxEntries: 100 }), warm]) {
        const got = decodeRemoteWrite(body, 1, { seriesCache });
        if (plain.ok) expect(got).toEqual(plain);
        else expect(got).toMatchObject({ ok: false, status: plain.status });
      }
      if (plain.ok) accepted++;
    }
    expect(accepted).toBeGreaterThan(100); // many mutations still decode: the fast label walk sees them
  });

  it('never throws on random garbage (seeded)', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 2000; i++) {
      const len = rnd() % 64;
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
      for (const version of [1, 2] as const) {
        const r = decodeRemoteWrite(b, version, {});
        if (!r.ok) expect(r.status).toBe(400);
      }
    }
  });
});

// ---- 2.0 ------------------------------------------------------------------

describe('remote_write 2.0 decoding', () => {
  // symbols: 0 '', 1 '__name__', 2 'rpc_duration_seconds', 3 'job', 4 'api', 5 'help text', 6 'seconds', 7 'trace_id', 8 'abc'
  const symbols = ['', '__name__', 'rpc_duration_seconds', 'job', 'api', 'help text', 'seconds', 'trace_id', 'abc'];
  const symbolBytes = symbols.flatMap((s) => str(4, s));
  const packed = (field: number, refs: number[]): number[] => ld(field, refs.flatMap((r) => varint(r)));

  it('decodes a hand-assembled Request with symbol refs, metadata and exemplars', () => {
    const ts = ld(5, [
      ...packed(1, [3, 4, 1, 2]), // unsorted on purpose: job=api, __name__=...
      ...ld(2, [...f64(1, dbl(0.5)), ...vint(2, 1_700_000_000_000), ...vint(3, 1_699_999_000_000)]), // start_timestamp skipped
      ...ld(2, [...f64(1, STALE_BYTES), ...vint(2, 1_700_000_030_000)]),
      ...ld(4, [...packed(1, [7, 8]), ...f64(2, dbl(0.4)), ...vint(3, 1_700_000_000_100)]),
      ...ld(5, [...vint(1, 2), ...vint(3, 5), ...vint(4, 6)]),
      ...vint(6, 1_699_000_000_000), // created_timestamp of older drafts, skipped
    ]);
    const b = ok(decodeRemoteWrite(bytes(symbolBytes, ts), 2, {}));
    expect(b.series.map((s) => s.labels)).toEqual([{ names: ['__name__', 'job'], values: ['rpc_duration_seconds', 'api'] }]);
    expect([...b.timestampsMs]).toEqual([1_700_000_000_000, 1_700_000_030_000]);
    expect(b.values[0]).toBe(0.5);
    expect(valueBytes(b, 1)).toEqual(STALE_BYTES);
    expect(b.exemplars).toEqual([{ seriesIndex: 0, labels: { names: ['trace_id'], values: ['abc'] }, value: 0.4, timestampMs: 1_700_000_000_100 }]);
    expect(b.metadata).toEqual([{ metricFamilyName: 'rpc_duration_seconds', type: 'gauge', help: 'help text', unit: 'seconds' }]);
  });

  it('accepts unpacked labels_refs and symbols that follow the series', () => {
    const ts = ld(5, [...vint(1, 1), ...vint(1, 2), ...vint(1, 3), ...vint(1, 4), ...ld(2, [...f64(1, dbl(7)), ...vint(2, 9)])]);
    const b = ok(decodeRemoteWrite(bytes(ts, symbolBytes), 2, {}));
    expect(seriesView(b)).toEqual([{ labels: { __name__: 'rpc_duration_seconds', job: 'api' }, samples: [{ timestampMs: 9, value: 7 }] }]);
  });

  it('counts native histograms', () => {
    const ts = ld(5, [...packed(1, [1, 2]), ...ld(3, [...vint(1, 3), ...vint(15, 1000)]), ...ld(3, [...vint(1, 4)])]);
    const b = ok(decodeRemoteWrite(bytes(symbolBytes, ts), 2, {}));
    expect(b.histogramCount).toBe(2);
    expect(b.sampleCount).toBe(0);
  });

  const badRefs: { name: string; series: number[] }[] = [
    { name: 'a label ref past the symbol table', series: ld(5, [...packed(1, [1, 99]), ...ld(2, [...f64(1, dbl(1))])]) },
    { name: 'an odd number of label refs', series: ld(5, [...packed(1, [1, 2, 3]), ...ld(2, [...f64(1, dbl(1))])]) },
    { name: 'an exemplar label ref past the table', series: ld(5, [...packed(1, [1, 2]), ...ld(2, [...f64(1, dbl(1))]), ...ld(4, [...packed(1, [7, 50])])]) },
    { name: 'a help_ref past the table', series: ld(5, [...packed(1, [1, 2]), ...ld(2, [...f64(1, dbl(1))]), ...ld(5, [...vint(1, 1), ...vint(3, 9)])]) },
    { name: 'a unit_ref past the table', series: ld(5, [...packed(1, [1, 2]), ...ld(2, [...f64(1, dbl(1))]), ...ld(5, [...vint(4, 1000)])]) },
  ];
  for (const c of badRefs) {
    it(`answers 400 to ${c.name}`, () => {
      const r = decodeRemoteWrite(bytes(symbolBytes, c.series), 2, {});
      expect(r).toMatchObject({ ok: false, status: 400 });
    });
  }

  it('answers 400 to label refs when the request has no symbols at all', () => {
    const r = decodeRemoteWrite(bytes(ld(5, [...packed(1, [0, 0]), ...ld(2, [])])), 2, {});
    expect(r).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/symbol/) });
  });

  it('rejects only the series with invalid labels', () => {
    const good = ld(5, [...packed(1, [1, 2]), ...ld(2, [...f64(1, dbl(1)), ...vint(2, 1)])]);
    const noName = ld(5, [...packed(1, [3, 4]), ...ld(2, [...f64(1, dbl(2)), ...vint(2, 2)]), ...ld(3, [])]);
    const dup = ld(5, [...packed(1, [1, 2, 3, 4, 3, 8]), ...ld(2, [...f64(1, dbl(3)), ...vint(2, 3)])]);
    const b = ok(decodeRemoteWrite(bytes(symbolBytes, good, noName, dup), 2, {}));
    expect(seriesView(b)).toEqual([{ labels: { __name__: 'rpc_duration_seconds' }, samples: [{ timestampMs: 1, value: 1 }] }]);
    expect(b.rejected.map((r) => [r.reason.replace(/ in \{.*/, ''), r.count])).toEqual([
      ['missing metric name (__name__)', 2], // one sample + one histogram
      ['duplicate label name "job"', 1],
    ]);
    expect(b.histogramCount).toBe(0);
  });
});

// ---- round trips ----------------------------------------------------------

describe('remote_write round trips through the encoders', () => {
  const cases: { name: string; series: RemoteWriteV2SeriesInput[] }[] = [
    { name: 'one series, one sample', series: [{ labels: { __name__: 'up', instance: 'localhost:9090', job: 'prometheus' }, samples: [{ timestampMs: 1_700_000_000_000, value: 1 }] }] },
    {
      name: 'many series sharing label values',
      series: Array.from({ length: 50 }, (_, i) => ({
        labels: { __name__: 'node_cpu_seconds_total', cpu: String(i % 4), mode: ['idle', 'user', 'system'][i % 3] as string, instance: `host-${i}` },
        samples: Array.from({ length: 3 }, (_, j) => ({ timestampMs: 1_700_000_000_000 + j * 15_000, value: i * 1000 + j + 0.125 })),
      })),
    },
    { name: 'special values', series: [{ labels: { __name__: 'v' }, samples: [Infinity, -Infinity, 0, -1e308, 5e-324, Number.MAX_SAFE_INTEGER].map((value, i) => ({ timestampMs: i + 1, value })) }] },
    { name: 'long label values (multi-byte lengths)', series: [{ labels: { __name__: 'long', text: 'x'.repeat(300), unicode: 'ü'.repeat(100) }, samples: [{ timestampMs: 1, value: 1 }] }] },
    { name: 'labels given as arrays', series: [{ labels: { names: ['job', '__name__'], values: ['j', 'arr'] }, samples: [{ timestampMs: 7, value: 7 }] }] },
  ];
  for (const c of cases) {
    for (const version of [1, 2] as const) {
      it(`${c.name} (${version}.0)`, () => {
        const body = version === 1 ? encodeRemoteWriteV1(c.series) : encodeRemoteWriteV2(c.series);
        const b = ok(decodeRemoteWrite(body, version, {}));
        const want = c.series.map((s) => ({ labels: 'names' in s.labels ? labelsToRecord(s.labels as { names: string[]; values: string[] }) : { ...s.labels }, samples: s.samples.map((x) => ({ ...x })) }));
        expect(seriesView(b)).toEqual(want);
        expect(b.rejected).toEqual([]);
      });
    }
  }

  it('2.0 metadata and exemplars round-trip', () => {
    const body = encodeRemoteWriteV2([
      { labels: { __name__: 'req_total' }, samples: [{ timestampMs: 1, value: 1 }], exemplars: [{ labels: { trace_id: 'f00' }, value: 1, timestampMs: 1 }], metadata: { type: 'counter', help: 'Requests.', unit: '' } },
      { labels: { __name__: 'temp' }, samples: [{ timestampMs: 1, value: 20 }], metadata: { type: 'gauge', unit: 'celsius' } },
    ]);
    const b = ok(decodeRemoteWrite(body, 2, {}));
    expect(b.metadata).toEqual([
      { metricFamilyName: 'req_total', type: 'counter', help: 'Requests.', unit: '' },
      { metricFamilyName: 'temp', type: 'gauge', help: '', unit: 'celsius' },
    ]);
    expect(b.exemplars).toEqual([{ seriesIndex: 0, labels: { names: ['trace_id'], values: ['f00'] }, value: 1, timestampMs: 1 }]);
    expect(remoteWriteWrittenCounts(b)).toEqual({ samples: 2, histograms: 0, exemplars: 1 });
  });

  it('2.0 encoder starts symbols with the empty string and de-duplicates them', () => {
    const body = encodeRemoteWriteV2([
      { labels: { __name__: 'a', job: 'x' }, samples: [{ timestampMs: 1, value: 1 }] },
      { labels: { __name__: 'b', job: 'x' }, samples: [{ timestampMs: 1, value: 1 }] },
    ]);
    const r = new ProtobufReader(body);
    const syms: string[] = [];
    while (r.more()) {
      const t = r.tag();
      if (t === ((4 << 3) | 2)) syms.push(r.string());
      else r.skip(t & 7);
    }
    expect(syms).toEqual(['', '__name__', 'a', 'job', 'x', 'b']);
  });

  it('survives snappy compression and capped decompression', async () => {
    const body = encodeRemoteWriteV1([{ labels: { __name__: 'up' }, samples: [{ timestampMs: 1, value: staleNaN() }] }]);
    const raw = ok(await decompress(await snappyCompress(body), 'snappy', 1 << 20));
    const b = ok(decodeRemoteWrite(raw, 1, {}));
    expect(valueBytes(b, 0)).toEqual(STALE_BYTES);
  });
});

// ---- content type ---------------------------------------------------------

describe('remoteWriteVersion', () => {
  const cases: [string | undefined, 1 | 2 | 415][] = [
    [undefined, 1],
    ['', 1],
    ['application/x-protobuf', 1],
    ['Application/X-Protobuf', 1],
    ['application/x-protobuf;proto=prometheus.WriteRequest', 1],
    ['application/x-protobuf; proto=prometheus.WriteRequest', 1],
    ['application/x-protobuf;proto=io.prometheus.write.v2.Request', 2],
    ['application/x-protobuf; charset=utf-8; proto="io.prometheus.write.v2.Request"', 2],
    ['application/json', 415],
    ['text/plain', 415],
    ['application/x-protobuf;proto=io.prometheus.write.v3.Request', 415],
    ['application/x-protobuf;proto=opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest', 415],
    ['application/x-protobuf;garbage', 415],
  ];
  for (const [ct, want] of cases) {
    it(`${JSON.stringify(ct)} -> ${want}`, () => {
      const r = remoteWriteVersion(ct);
      if (want === 415) expect(r).toMatchObject({ ok: false, status: 415 });
      else expect(r).toEqual({ ok: true, value: want });
    });
  }
});

// ---- compression ----------------------------------------------------------

describe('decompress', () => {
  const payload = new Uint8Array(Buffer.from('fleetwatch '.repeat(1000)));

  it('round-trips snappy, gzip and identity under the cap', async () => {
    for (const [enc, body] of [
      ['snappy', snappyCompressSync(payload)],
      ['gzip', gzipSync(payload)],
      ['identity', payload],
    ] as const) {
      const r = ok(await decompress(body, enc, payload.length));
      expect(Buffer.from(r).equals(Buffer.from(payload))).toBe(true);
    }
  });

  it('answers 413 when the decompressed body would exceed the cap', async () => {
    for (const [enc, body] of [
      ['snappy', snappyCompressSync(payload)],
      ['gzip', gzipSync(payload)],
      ['identity', payload],
    ] as const) {
      expect(await decompress(body, enc, payload.length - 1)).toMatchObject({ ok: false, status: 413 });
    }
  });

  it('checks the snappy header before decompressing', async () => {
    // Claims 4 GiB - 1 and is otherwise garbage: the size check answers first.
    const bomb = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01]);
    expect(snappyUncompressedLength(bomb)).toBe(0xffffffff);
    expect(await decompress(bomb, 'snappy', 1 << 20)).toMatchObject({ ok: false, status: 413 });
  });

  it('stops a gzip bomb at the cap', async () => {
    const big = gzipSync(new Uint8Array(50 << 20)); // 50 MiB of zeros, ~50 KiB compressed
    expect(big.length).toBeLessThan(1 << 20);
    expect(await decompress(big, 'gzip', 1 << 20)).toMatchObject({ ok: false, status: 413 });
  });

  it('answers 400 to malformed input', async () => {
    const cases: [('snappy' | 'gzip'), Uint8Array][] = [
      ['snappy', new Uint8Array([])],
      ['snappy', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
      ['snappy', new Uint8Array([0x05, 0x01, 0x02, 0x03])],
      ['snappy', (() => { const b = Buffer.from(snappyCompressSync(payload)); b[0] = 30; return b; })()],
      ['gzip', new Uint8Array([1, 2, 3, 4])],
      ['gzip', gzipSync(payload).subarray(0, 20)],
    ];
    for (const [enc, body] of cases) expect(await decompress(body, enc, 1 << 20)).toMatchObject({ ok: false, status: 400 });
  });

  it('decompresses snappy bodies on either side of the inline limit, and refuses malformed ones on both', async () => {
    // up to 4 MiB on the calling thread, larger on libuv's pool (compression.ts)
    for (const size of [100_000, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 9_000_000]) {
      const big = new Uint8Array(size);
      for (let i = 0; i < size; i++) big[i] = (i * 2654435761) >>> 27;
      const r = ok(await decompress(snappyCompressSync(big), 'snappy', 16 << 20));
      expect(Buffer.from(r).equals(Buffer.from(big))).toBe(true);
      const torn = Buffer.from(snappyCompressSync(big)).subarray(0, 1000);
      expect(await decompress(torn, 'snappy', 16 << 20)).toMatchObject({ ok: false, status: 400 });
    }
  });

  it('parses Content-Encoding', () => {
    expect(parseContentEncoding(undefined, ['snappy'], 'snappy')).toEqual({ ok: true, value: 'snappy' });
    expect(parseContentEncoding('snappy', ['snappy'])).toEqual({ ok: true, value: 'snappy' });
    expect(parseContentEncoding('GZIP', ['gzip', 'identity'])).toEqual({ ok: true, value: 'gzip' });
    expect(parseContentEncoding('', ['gzip', 'identity'])).toEqual({ ok: true, value: 'identity' });
    expect(parseContentEncoding('gzip', ['snappy'])).toMatchObject({ ok: false, status: 415 });
    expect(parseContentEncoding('br', ['gzip', 'identity'])).toMatchObject({ ok: false, status: 415 });
  });
});

// ---- reader and writer ----------------------------------------------------

describe('protobuf reader and writer', () => {
  it('reads varint boundaries and signed values', () => {
    const values: bigint[] = [0n, 1n, 127n, 128n, 16383n, 16384n, 2n ** 31n - 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, -1n, -(2n ** 31n), -(2n ** 53n) + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (const v of values) {
      const r = new ProtobufReader(new Uint8Array(varint(v)));
      expect(r.int64BigInt()).toBe(v);
      const r2 = new ProtobufReader(new Uint8Array(varint(v)));
      if (v >= -(2n ** 53n) && v <= 2n ** 53n) expect(r2.int64()).toBe(Number(v));
      const r3 = new ProtobufReader(new Uint8Array(varint(v)));
      expect(r3.uint32()).toBe(Number(BigInt.asUintN(32, v)));
      expect(r3.pos).toBe(varint(v).length);
    }
    expect(new ProtobufReader(new Uint8Array(varint(-5n))).int32()).toBe(-5);
  });

  it('skips every wire type and keeps sub-messages inside their parent', () => {
    const body = bytes(vint(1, 300), f64(2, dbl(1)), str(3, 'abc'), [...tag(4, 5), 1, 2, 3, 4], vint(5, 1));
    const r = new ProtobufReader(body);
    const seen: number[] = [];
    while (r.more()) {
      const t = r.tag();
      seen.push(t >>> 3);
      if (t >>> 3 === 5) expect(r.uint32()).toBe(1);
      else r.skip(t & 7);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    const nested = new ProtobufReader(new Uint8Array([0x0a, 0x02, 0x12, 0x05, 1, 2, 3, 4, 5]));
    nested.tag();
    nested.enter();
    nested.tag();
    expect(() => nested.lenEnd()).toThrow(/past the end/);
  });

  it('writer widens length prefixes and round-trips through the reader', () => {
    const w = new ProtobufWriter(16);
    const long = 'y'.repeat(20_000);
    w.tag(1, 2).fork();
    w.fieldString(1, long);
    w.tag(2, 2).fork().fieldInt64(1, -42).fieldDouble(2, 2.5).ldelim();
    w.ldelim();
    w.fieldString(3, 'é');
    const out = w.finish();
    const r = new ProtobufReader(out);
    expect(r.tag()).toBe((1 << 3) | 2);
    const outer = r.enter();
    expect(r.tag()).toBe((1 << 3) | 2);
    expect(r.string()).toBe(long);
    expect(r.tag()).toBe((2 << 3) | 2);
    const o2 = r.enter();
    expect(r.tag()).toBe(8);
    expect(r.int64()).toBe(-42);
    expect(r.tag()).toBe(17);
    expect(r.double()).toBe(2.5);
    r.leave(o2);
    r.leave(outer);
    expect(r.tag()).toBe((3 << 3) | 2);
    expect(r.string()).toBe('é');
    expect(r.more()).toBe(false);
  });
});

// ---- series cache ---------------------------------------------------------

describe('remote_write series cache', () => {
  const series = (i: number): number[] =>
    ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, `m${i % 3}`)]), ...ld(1, [...str(1, 'i'), ...str(2, String(i))]), ...ld(2, [...f64(1, dbl(i)), ...vint(2, 1000 + i)])]);
  const invalid = ld(1, [...ld(1, [...str(1, 'job'), ...str(2, 'no-name')]), ...ld(2, [...f64(1, dbl(9)), ...vint(2, 9)])]);
  const split = ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'split')]), ...ld(2, [...f64(1, dbl(5)), ...vint(2, 5)]), ...ld(1, [...str(1, 'late'), ...str(2, 'label')])]);
  // labels after the samples: contiguous, so cached, but not where a known set's labels are skipped from
  const samplesFirst = ld(1, [...ld(2, [...f64(1, dbl(6)), ...vint(2, 6)]), ...ld(1, [...str(1, '__name__'), ...str(2, 'late_labels')]), ...ld(1, [...str(1, 'x'), ...str(2, 'y')]), ...ld(2, [...f64(1, dbl(7)), ...vint(2, 7)])]);

  it('gives the same batches with and without the cache, on first and repeated requests', () => {
    const body = bytes(...Array.from({ length: 50 }, (_, i) => series(i)), invalid, split, samplesFirst);
    const plain = ok(decodeRemoteWrite(body, 1, {}));
    const cache = createRemoteWriteSeriesCache({ maxEntries: 1000 });
    const first = ok(decodeRemoteWrite(body, 1, { seriesCache: cache }));
    const second = ok(decodeRemoteWrite(body, 1, { seriesCache: cache }));
    expect(cache.size).toBe(52); // 51 valid + 1 rejected; the split label set is not a usable key
    for (const got of [first, second]) {
      expect(seriesView(got)).toEqual(seriesView(plain));
      expect(got.series.map((s) => [s.fpHi, s.fpLo, s.metricName])).toEqual(plain.series.map((s) => [s.fpHi, s.fpLo, s.metricName]));
      expect(got.rejected).toEqual(plain.rejected);
    }
    expect(plain.rejected).toEqual([{ reason: expect.stringMatching(/missing metric name/), count: 1 }]);
    expect(labelsToRecord(plain.series[50]!.labels)).toEqual({ __name__: 'split', late: 'label' });
    expect(labelsToRecord(second.series[51]!.labels)).toEqual({ __name__: 'late_labels', x: 'y' });
    expect(seriesView(second)[51]!.samples).toEqual([
      { timestampMs: 6, value: 6 },
      { timestampMs: 7, value: 7 },
    ]);
  });

  it('decodes label strings the same through the shared string table: UTF-8, invalid UTF-8, lengths around 12, more values than it keeps', () => {
    const invalidValue = (i: number): number[] => ld(1, [...ld(1, [...str(1, '__name__'), ...str(2, 'bad')]), ...ld(1, [...str(1, 'v'), ...ld(2, [0x61 + (i % 3), 0xc3, 0x28])]), ...ld(2, [...f64(1, dbl(i)), ...vint(2, i)])]);
    const seriesOf = (i: number): number[] =>
      ld(1, [
        ...ld(1, [...str(1, '__name__'), ...str(2, i % 2 ? 'température_°C' : 'up')]),
        ...ld(1, [...str(1, 'instance'), ...str(2, `10.0.${i >> 8}.${i & 255}:9100`)]), // 13-16 characters, unique
        ...ld(1, [...str(1, 'job'), ...str(2, `j${'x'.repeat(i % 20)}`)]), // lengths 2-21, shared
        ...ld(1, [...str(1, 'city'), ...str(2, 'Zürich — 東京 🚀')]),
        ...ld(2, [...f64(1, dbl(i)), ...vint(2, 1000 + i)]),
      ]);
    // 2 x 40,000 distinct instance values: more than the string table holds
    const bodies = [0, 1].map((part) => bytes(...Array.from({ length: 40_000 }, (_, i) => seriesOf(part * 40_000 + i)), invalidValue(part), invalidValue(part + 1)));
    const cache = createRemoteWriteSeriesCache({ maxEntries: 1_000_000 });
    for (const round of [0, 1]) {
      for (const body of bodies) {
        const plain = ok(decodeRemoteWrite(body, 1, {}));
        const cached = ok(decodeRemoteWrite(body, 1, { seriesCache: cache }));
        expect(cached.series.map((x) => [labelsToRecord(x.labels), x.metricName, x.fpHi, x.fpLo])).toEqual(plain.series.map((x) => [labelsToRecord(x.labels), x.metricName, x.fpHi, x.fpLo]));
        expect(cached.rejected).toEqual(plain.rejected);
        expect(plain.rejected).toEqual([{ reason: expect.stringMatching(/not valid UTF-8/), count: 2 }]);
        if (round === 1) expect(cache.strings.size).toBeLessThanOrEqual(1 << 16);
      }
    }
  });

  it('never returns another key\'s value and stays bounded', () => {
    const c = createLabelBytesCache<number>({ maxEntries: 8 });
    const key = (i: number): Uint8Array => new Uint8Array([...ascii('prefix-shared-by-all-keys-'), i & 0xff, i >> 8]);
    for (let i = 0; i < 100; i++) {
      const k = key(i);
      c.set(k, 0, k.length, i);
      expect(c.size).toBeLessThanOrEqual(8);
      for (let j = 0; j <= i; j++) {
        const kj = key(j);
        const got = c.get(kj, 0, kj.length);
        if (got !== undefined) expect(got).toBe(j);
      }
    }
    const last = key(99);
    const framed = new Uint8Array([7, 7, ...last, 7]);
    expect(c.get(framed, 2, 2 + last.length)).toBe(99);
    expect(c.get(framed, 2, 1 + last.length)).toBeUndefined();
  });

  const hashOf = (k: Uint8Array): number => hashLabelBytes(k, new DataView(k.buffer, k.byteOffset, k.byteLength), 0, k.length);

  it('tells apart keys that differ only in their last byte, or only in length', () => {
    const c = createLabelBytesCache<string>({ maxEntries: 1000 });
    // lengths around the 4- and 8-byte steps of the hash and the compare
    for (let n = 1; n <= 40; n++) {
      const a = new Uint8Array(n).fill(0x61);
      const b = Uint8Array.from(a);
      b[n - 1] = 0x62;
      c.set(a, 0, n, `a${n}`);
      expect(c.get(b, 0, n)).toBeUndefined();
      c.set(b, 0, n, `b${n}`);
    }
    for (let n = 1; n <= 40; n++) {
      const a = new Uint8Array(n).fill(0x61);
      const b = Uint8Array.from(a);
      b[n - 1] = 0x62;
      expect(c.get(a, 0, n)).toBe(`a${n}`);
      expect(c.get(b, 0, n)).toBe(`b${n}`);
      // the same bytes at another offset of another buffer
      const framed = new Uint8Array(n + 3);
      framed.set(b, 3);
      expect(c.get(framed, 3, 3 + n)).toBe(`b${n}`);
    }
    expect(c.get(new Uint8Array(0), 0, 0)).toBeUndefined();
  });

  it('tells apart keys that differ in any one byte (every lane of the 16-byte compare step)', () => {
    const c = createLabelBytesCache<string>({ maxEntries: 1000 });
    for (let n = 1; n <= 40; n++) {
      const a = Uint8Array.from({ length: n }, (_, i) => 0x41 + (i % 26));
      c.set(a, 0, n, `a${n}`);
      for (let p = 0; p < n; p++) {
        const b = Uint8Array.from(a);
        b[p] = (b[p] as number) ^ 0x20;
        // at an odd offset too, so the reads are unaligned
        const framed = new Uint8Array(n + 5);
        framed.set(b, 5);
        expect(c.get(b, 0, n)).toBeUndefined();
        expect(c.get(framed, 5, 5 + n)).toBeUndefined();
      }
      expect(c.get(a, 0, n)).toBe(`a${n}`);
    }
  });

  it('keeps keys with the same 32-bit hash apart, in a table small enough that every probe wraps', () => {
    // find two different keys with equal hashes (deterministic: the same pair every run)
    const seen = new Map<number, Uint8Array>();
    let pair: [Uint8Array, Uint8Array] | undefined;
    for (let i = 0; pair === undefined && i < 2_000_000; i++) {
      const k = new Uint8Array(ascii(`{job="api",pod="p-${i}"}`));
      const h = hashOf(k);
      const other = seen.get(h);
      if (other !== undefined) pair = [other, k];
      else seen.set(h, k);
    }
    expect(pair).toBeDefined();
    const [a, b] = pair as [Uint8Array, Uint8Array];
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(hashOf(a)).toBe(hashOf(b));
    const c = createLabelBytesCache<string>({ maxEntries: 4 });
    c.set(a, 0, a.length, 'a');
    expect(c.get(b, 0, b.length)).toBeUndefined();
    c.set(b, 0, b.length, 'b');
    expect(c.get(a, 0, a.length)).toBe('a');
    expect(c.get(b, 0, b.length)).toBe('b');
    // both survive a generation change (promoted by the look-ups above)
    const other = new Uint8Array(ascii('other'));
    c.set(other, 0, other.length, 'other');
    expect(c.get(a, 0, a.length)).toBe('a');
    expect(c.get(b, 0, b.length)).toBe('b');
  });

  it('never answers with another key\'s value whatever order keys are looked up in (the next-entry guess)', () => {
    // same-length keys that differ in one byte at the front, middle or end, so a
    // wrong guess survives the length check; a deterministic mix of orders
    const key = (i: number): Uint8Array => {
      const k = new Uint8Array(ascii(`{__name__="m",pod="p-00000",zone="z"}`));
      k[1 + (i % 3) * 14] = 0x41 + (i % 26);
      k[20] = 0x30 + ((i / 3) % 10 | 0);
      k[21] = 0x30 + ((i / 30) % 10 | 0);
      k[22] = 0x30 + ((i / 300) % 10 | 0);
      return k;
    };
    const n = 900;
    const c = createLabelBytesCache<number>({ maxEntries: 1_000 });
    const oracle = new Map<string, number>();
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const orders: ((j: number) => number)[] = [(j) => j, (j) => n - 1 - j, (j) => (j * 7) % n, () => Math.floor(rnd() * n), (j) => (j % 2 === 0 ? j : n - j)];
    for (let round = 0; round < 20; round++) {
      const order = orders[round % orders.length] as (j: number) => number;
      for (let j = 0; j < n; j++) {
        const i = order(j);
        const k = key(i);
        const name = Buffer.from(k).toString('latin1');
        const got = c.get(k, 0, k.length);
        if (got === undefined) {
          c.set(k, 0, k.length, i);
          oracle.set(name, i);
        } else expect(got).toBe(oracle.get(name));
      }
    }
    // a run set in one order is found in that order, and a neighbour with
    // the same length is not taken for the guessed entry
    const d = createLabelBytesCache<number>({ maxEntries: 1_000 });
    for (let i = 0; i < 300; i++) d.set(key(i), 0, key(i).length, i);
    for (let i = 0; i < 300; i++) expect(d.get(key(i), 0, key(i).length)).toBe(i);
    const stranger = key(0);
    expect(d.get(stranger, 0, stranger.length)).toBe(0);
    expect(d.get(key(1), 0, key(1).length)).toBe(1);
    stranger[30] = 0x21;
    expect(d.get(stranger, 0, stranger.length)).toBeUndefined();
  });

  it('finds every key it holds however the table fills, grows and turns over', () => {
    const c = createLabelBytesCache<number>({ maxEntries: 2_000 });
    const key = (i: number): Uint8Array => new Uint8Array(ascii(`__name__\u0000up\u0000instance\u000010.0.${i >> 8}.${i & 255}:9100`));
    for (let i = 0; i < 5_000; i++) {
      const k = key(i);
      expect(c.get(k, 0, k.length)).toBeUndefined();
      c.set(k, 0, k.length, i);
      expect(c.get(k, 0, k.length)).toBe(i);
      expect(c.size).toBeLessThanOrEqual(2_000);
    }
    // the last generation's worth of keys is all there; older ones are gone or right
    for (let i = 4_999; i >= 0; i--) {
      const k = key(i);
      const got = c.get(k, 0, k.length);
      if (i >= 4_000) expect(got).toBe(i);
      else if (got !== undefined) expect(got).toBe(i);
    }
    expect(c.size).toBeLessThanOrEqual(2_000);
    c.clear();
    expect(c.size).toBe(0);
    const k0 = key(4_999);
    expect(c.get(k0, 0, k0.length)).toBeUndefined();
  });
});

// ---- fingerprints ---------------------------------------------------------

describe('series fingerprints', () => {
  // core/labels.ts writes ASCII strings with a charCode loop (a decoder hot
  // path); this reference hashes the documented "name\xffvalue\xff" UTF-8
  // bytes, so the fast path must agree with it on any string.
  function reference(names: string[], values: string[]): [number, number] {
    const parts: number[] = [];
    for (let i = 0; i < names.length; i++) parts.push(...new TextEncoder().encode(names[i]), 0xff, ...new TextEncoder().encode(values[i]), 0xff);
    return hashBytes64(new Uint8Array(parts), parts.length);
  }
  it('matches the UTF-8 byte definition for ASCII and non-ASCII labels', () => {
    const alphabet = ['a', 'Z', '0', '_', ':', 'é', '東', '🚀', '\u0080', '\u07ff', '\uffff', '\ud800'];
    for (let k = 0; k < 2000; k++) {
      const names: string[] = [];
      const values: string[] = [];
      for (let i = 0; i < 1 + (k % 5); i++) {
        let n = '';
        let v = '';
        for (let j = 0; j < (k * 7 + i) % 13; j++) {
          n += alphabet[(k + i * 3 + j * 5) % (k % 2 === 0 ? 5 : alphabet.length)];
          v += alphabet[(k * 3 + i + j * 7) % (k % 2 === 0 ? 5 : alphabet.length)];
        }
        names.push(n);
        values.push(v);
      }
      expect(fingerprintParts(names, values)).toEqual(reference(names, values));
    }
  });
});
