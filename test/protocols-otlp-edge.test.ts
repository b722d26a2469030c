// OTLP decoders on hand-built bodies: the Prometheus naming rules, the
// corners of the OTLP/JSON and protobuf encodings (field order, unknown
// fields, packed/unpacked repeats, 64-bit values), partial-success cases,
// malformed bodies (400, never an exception) and the response encoders
// (checked with the OTel SDK's own response parsers).
import { describe, it, expect } from 'vitest';
import protobuf from 'protobufjs';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { labelsToRecord, type Labels } from '../core/index.ts';
import {
  decodeOtlpLogs,
  decodeOtlpMetrics,
  decodeOtlpTraces,
  encodeOtlpExportResponse,
  encodeRpcStatus,
  formatPromFloat,
  isStaleNaN,
  promLabelName,
  promMetricName,
  promUnit,
  type MetricsBatch,
  type PromMetricType,
} from '../protocols/index.ts';

const rec = (l: Labels): Record<string, string> => labelsToRecord(l);

function samplesOf(b: MetricsBatch): { labels: Record<string, string>; t: number; v: number }[] {
  const out: { labels: Record<string, string>; t: number; v: number }[] = [];
  for (let i = 0; i < b.sampleCount; i++) {
    const s = b.series[b.sampleSeries[i] as number];
    if (s === undefined) throw new Error('dangling series index');
    out.push({ labels: rec(s.labels), t: b.timestampsMs[i] as number, v: b.values[i] as number });
  }
  return out;
}

// --- a tiny protobuf encoder, independent of the decoder under test --------

function uvarint(n: bigint): Buffer {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const tag = (f: number, w: number): Buffer => uvarint(BigInt((f << 3) | w));
const pb = {
  cat: (...parts: Buffer[]): Buffer => Buffer.concat(parts),
  varint: (f: number, n: number | bigint): Buffer => Buffer.concat([tag(f, 0), uvarint(BigInt(n))]),
  fixed64: (f: number, n: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, n));
    return Buffer.concat([tag(f, 1), b]);
  },
  double: (f: number, v: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return Buffer.concat([tag(f, 1), b]);
  },
  fixed32: (f: number, n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return Buffer.concat([tag(f, 5), b]);
  },
  bytes: (f: number, b: Uint8Array): Buffer => Buffer.concat([tag(f, 2), uvarint(BigInt(b.length)), b]),
  str: (f: number, s: string): Buffer => pb.bytes(f, Buffer.from(s, 'utf8')),
  msg: (f: number, ...parts: Buffer[]): Buffer => pb.bytes(f, Buffer.concat(parts)),
  packedDoubles: (f: number, vs: number[]): Buffer => {
    const b = Buffer.alloc(vs.length * 8);
    vs.forEach((v, i) => b.writeDoubleLE(v, i * 8));
    return pb.bytes(f, b);
  },
  packedFixed64: (f: number, vs: number[]): Buffer => {
    const b = Buffer.alloc(vs.length * 8);
    vs.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), i * 8));
    return pb.bytes(f, b);
  },
};
// AnyValue members
const av = {
  str: (s: string) => pb.str(1, s),
  bool: (v: boolean) => pb.varint(2, v ? 1 : 0),
  int: (n: number | bigint) => pb.varint(3, n),
  double: (v: number) => pb.double(4, v),
  array: (...vals: Buffer[]) => pb.msg(5, ...vals.map((v) => pb.msg(1, v))),
  kvlist: (...kvs: Buffer[]) => pb.msg(6, ...kvs),
  bytes: (b: Uint8Array) => pb.bytes(7, b),
};
/** a KeyValue as field `field` of its parent */
const kv = (field: number, key: string, value: Buffer): Buffer => pb.msg(field, pb.str(1, key), pb.msg(2, value));
const T0 = 1_700_000_000_000_000_000n; // ns
const T0_MS = 1_700_000_000_000;

// ---------------------------------------------------------------------------

describe('Prometheus names from OTLP names and units', () => {
  const cases: [string, string, PromMetricType, boolean, string][] = [
    ['http.server.duration', 's', 'histogram', false, 'http_server_duration_seconds'],
    ['http.server.request.size', 'By', 'histogram', false, 'http_server_request_size_bytes'],
    ['requests', '1', 'counter', false, 'requests_total'],
    ['cpu.utilization', '1', 'gauge', true, 'cpu_utilization_ratio'],
    ['cpu.utilization_ratio', '1', 'gauge', true, 'cpu_utilization_ratio'],
    ['items', '1', 'gauge', false, 'items'], // non-monotonic sum: no _ratio
    ['system.network.io', 'By/s', 'gauge', false, 'system_network_io_bytes_per_second'],
    ['packets', '{packet}', 'counter', false, 'packets_total'],
    ['packets.rate', '{packet}/s', 'gauge', false, 'packets_rate_per_second'],
    ['rate', '1/s', 'gauge', false, 'rate_per_second'],
    ['foo_total', 's', 'counter', false, 'foo_seconds_total'],
    ['duration_seconds', 's', 'gauge', false, 'duration_seconds'],
    ['io_bytes', 'By/s', 'gauge', false, 'io_bytes_per_second'],
    ['2xx.count', '', 'counter', false, '_2xx_count_total'],
    ['a..b__c-d', '', 'gauge', false, 'a_b_c_d'],
    ['ns:metric', '', 'gauge', false, 'ns:metric'],
    ['memory', 'MiBy', 'gauge', false, 'memory_mebibytes'],
    ['disk', 'TiBy', 'gauge', false, 'disk_tebibytes'],
    ['speed', 'm/s', 'gauge', false, 'speed_meters_per_second'],
    ['temp', 'Cel', 'gauge', false, 'temp_celsius'],
    ['weird', 'foo.bar', 'gauge', false, 'weird_foo_bar'],
    ['...', 's', 'gauge', false, ''],
  ];
  it.each(cases)('%s [%s] as %s → %s', (name, unit, type, otlpGauge, want) => {
    expect(promMetricName(name, unit, type, otlpGauge)).toBe(want);
  });

  it('unit words for metadata', () => {
    expect(promUnit('s')).toBe('seconds');
    expect(promUnit('By/s')).toBe('bytes_per_second');
    expect(promUnit('1')).toBe('');
    expect(promUnit('{request}')).toBe('');
    expect(promUnit('%')).toBe('percent');
  });

  it('label names', () => {
    expect(promLabelName('http.method')).toBe('http_method');
    expect(promLabelName('a..b')).toBe('a_b');
    expect(promLabelName('2xx')).toBe('key_2xx');
    expect(promLabelName('_private')).toBe('key_private');
    expect(promLabelName('__name__')).toBe('key_name_');
    expect(promLabelName('ok_name')).toBe('ok_name');
    expect(promLabelName('')).toBe('');
  });

  it('le / quantile values as Go FormatFloat(v, f, -1) writes them', () => {
    expect(formatPromFloat(0.005)).toBe('0.005');
    expect(formatPromFloat(1)).toBe('1');
    expect(formatPromFloat(123.456)).toBe('123.456');
    expect(formatPromFloat(1e21)).toBe('1000000000000000000000');
    expect(formatPromFloat(1e-7)).toBe('0.0000001');
    expect(formatPromFloat(-2.5e-8)).toBe('-0.000000025');
    expect(formatPromFloat(1.5e22)).toBe('15000000000000000000000');
    expect(formatPromFloat(Infinity)).toBe('+Inf');
  });
});

// ---------------------------------------------------------------------------

const jsonMetrics = (metrics: unknown[], resourceAttributes: unknown[] = [], scope: unknown = { name: 's' }): Buffer =>
  Buffer.from(JSON.stringify({ resourceMetrics: [{ resource: { attributes: resourceAttributes }, scopeMetrics: [{ scope, metrics }] }] }));
const sattr = (key: string, v: string) => ({ key, value: { stringValue: v } });

describe('OTLP/JSON metrics (hand-built)', () => {
  it('summaries, exemplars, attribute types, collisions and ids', () => {
    const body = jsonMetrics(
      [
        {
          name: 'rpc.latency',
          unit: 's',
          description: 'latency',
          summary: {
            dataPoints: [
              {
                timeUnixNano: '1700000000000000000',
                count: '10',
                sum: 4.5,
                quantileValues: [
                  { quantile: 0.5, value: 0.3 },
                  { quantile: 0.99, value: 'Infinity' },
                ],
                attributes: [sattr('method', 'Get')],
              },
            ],
          },
        },
        {
          name: 'jobs',
          sum: {
            aggregationTemporality: 2,
            isMonotonic: true,
            dataPoints: [
              {
                timeUnixNano: 1700000000001000000,
                asInt: '42',
                attributes: [
                  sattr('a.b', 'dot'),
                  sattr('a_b', 'under'),
                  sattr('empty', ''),
                  { key: 'flag', value: { boolValue: true } },
                  { key: 'big', value: { intValue: '9007199254740993' } },
                  { key: 'pi', value: { doubleValue: 3.5 } },
                  { key: 'nan', value: { doubleValue: 'NaN' } },
                  { key: 'list', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 1 }, { doubleValue: '-Infinity' }, {}] } } },
                  { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } } },
                  { key: 'raw', value: { bytesValue: 'aGk=' } },
                ],
                exemplars: [
                  {
                    timeUnixNano: '1699999999999000000',
                    asDouble: 1,
                    traceId: '5B8EFFF798038103D269B633813FC60C',
                    spanId: 'EEE19B7EC3C1B174',
                    filteredAttributes: [sattr('user.id', 'u1'), sattr('trace_id', 'overridden')],
                  },
                ],
              },
            ],
          },
        },
      ],
      [sattr('service.name', 'api')],
    );
    const r = decodeOtlpMetrics(body, 'json');
    if (!r.ok) throw new Error(r.message);
    const b = r.value;
    expect(b.rejected).toEqual([]);
    const job = { job: 'api' };
    expect(samplesOf(b)).toEqual([
      { labels: { ...job, __name__: 'rpc_latency_seconds', method: 'Get', quantile: '0.5' }, t: T0_MS, v: 0.3 },
      { labels: { ...job, __name__: 'rpc_latency_seconds', method: 'Get', quantile: '0.99' }, t: T0_MS, v: Infinity },
      { labels: { ...job, __name__: 'rpc_latency_seconds_sum', method: 'Get' }, t: T0_MS, v: 4.5 },
      { labels: { ...job, __name__: 'rpc_latency_seconds_count', method: 'Get' }, t: T0_MS, v: 10 },
      {
        labels: {
          ...job,
          __name__: 'jobs_total',
          // "a.b" and "a_b" both map to a_b: values joined with ';' in key order
          a_b: 'dot;under',
          flag: 'true',
          big: '9007199254740993',
          pi: '3.5',
          nan: 'NaN',
          list: '["x",1,"-Infinity",null]',
          map: '{"k":false}',
          raw: 'aGk=',
        },
        t: T0_MS + 1,
        v: 42,
      },
    ]);
    // no target_info: the resource has nothing beyond service.name
    expect(b.exemplars).toEqual([
      {
        seriesIndex: b.sampleSeries[4],
        labels: { names: ['span_id', 'trace_id', 'user_id'], values: ['eee19b7ec3c1b174', '5b8efff798038103d269b633813fc60c', 'u1'] },
        timestampMs: T0_MS - 1,
        value: 1,
      },
    ]);
    expect(b.metadata.map((m) => [m.metricFamilyName, m.type, m.unit])).toEqual([
      ['rpc_latency_seconds', 'summary', 'seconds'],
      ['jobs_total', 'counter', ''],
    ]);
  });

  it('histogram exemplars land on the bucket they fall into; stale histograms are all stale', () => {
    const body = jsonMetrics([
      {
        name: 'lat',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              timeUnixNano: '1700000000000000000',
              count: '3',
              sum: 7,
              bucketCounts: ['1', '1', '1'],
              explicitBounds: [1, 5],
              exemplars: [
                { asDouble: 3, timeUnixNano: '1700000000000000000', spanId: '0102030405060708' },
                { asDouble: 9, timeUnixNano: '1700000000000000000' },
              ],
            },
            { timeUnixNano: '1700000000001000000', flags: 1, explicitBounds: [1, 5], bucketCounts: [] },
          ],
        },
      },
    ]);
    const r = decodeOtlpMetrics(body, 'json');
    if (!r.ok) throw new Error(r.message);
    const s = samplesOf(r.value);
    expect(s.slice(0, 5).map((x) => [x.labels.__name__, x.labels.le, x.v])).toEqual([
      ['lat_bucket', '1', 1],
      ['lat_bucket', '5', 2],
      ['lat_bucket', '+Inf', 3],
      ['lat_sum', undefined, 7],
      ['lat_count', undefined, 3],
    ]);
    const ex = r.value.exemplars.map((e) => [rec(r.value.series[e.seriesIndex]?.labels ?? { names: [], values: [] }).le, e.value]);
    expect(ex).toEqual([
      ['5', 3],
      ['+Inf', 9],
    ]);
    // stale point: every bucket series (from the bounds), _sum and _count, each the exact stale NaN
    const stale = s.slice(5);
    expect(stale.map((x) => [x.labels.__name__, x.labels.le])).toEqual([
      ['lat_bucket', '1'],
      ['lat_bucket', '5'],
      ['lat_bucket', '+Inf'],
      ['lat_sum', undefined],
      ['lat_count', undefined],
    ]);
    for (let i = 5; i < r.value.sampleCount; i++) expect(isStaleNaN(r.value.values[i] as number)).toBe(true);
  });

  it('rejects bad points with a reason and keeps the rest', () => {
    const body = jsonMetrics([
      { name: 'd', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: 1 }, { asInt: 2 }] } },
      { name: 'u', sum: { isMonotonic: true, dataPoints: [{ asInt: 1 }] } },
      { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ count: 1, bucketCounts: [1, 0], explicitBounds: [1, 2] }] } },
      { name: 'h2', histogram: { aggregationTemporality: 2, dataPoints: [{ count: 1, bucketCounts: [1, 0, 0], explicitBounds: [2, 1] }] } },
      { name: 'e', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ count: 1 }, { count: 2 }, { count: 3 }] } },
      { name: 'g', gauge: { dataPoints: [{ timeUnixNano: '1700000000000000000' }, { timeUnixNano: '1700000000000000000', asDouble: 2 }] } },
      { name: '!!!', gauge: { dataPoints: [{ asDouble: 1 }] } },
      { name: 'nodata' },
    ]);
    const r = decodeOtlpMetrics(body, 'json');
    if (!r.ok) throw new Error(r.message);
    expect(samplesOf(r.value)).toEqual([{ labels: { __name__: 'g' }, t: T0_MS, v: 2 }]);
    const byMetric = Object.fromEntries(r.value.rejected.map((x) => [x.reason.match(/^metric "([^"]*)"/)?.[1], x]));
    expect(byMetric.d).toEqual({ reason: expect.stringContaining('delta temporality'), count: 2 });
    expect(byMetric.u).toEqual({ reason: expect.stringContaining('unspecified aggregation temporality'), count: 1 });
    expect(byMetric.h).toEqual({ reason: expect.stringContaining('2 bucket counts for 2 explicit bounds'), count: 1 });
    expect(byMetric.h2).toEqual({ reason: expect.stringContaining('not strictly increasing'), count: 1 });
    expect(byMetric.e).toEqual({ reason: expect.stringContaining('exponential histograms'), count: 3 });
    expect(byMetric.g).toEqual({ reason: expect.stringContaining('neither as_double nor as_int'), count: 1 });
    expect(byMetric['!!!']).toEqual({ reason: expect.stringContaining('no characters valid'), count: 1 });
    expect(r.value.rejected.reduce((n, x) => n + x.count, 0)).toBe(10);
  });

  it('a point with a huge attribute list decodes (no quadratic label handling)', () => {
    // 100k distinct attributes: a quadratic duplicate check would not finish within the test timeout
    const attributes = Array.from({ length: 100_000 }, (_, i) => sattr(`a${i}`, 'v'));
    attributes.push(sattr('a.1', 'dot')); // a.1 and a_1 both map to a_1
    attributes.push(sattr('a_1', 'under'));
    const r = decodeOtlpMetrics(jsonMetrics([{ name: 'wide', gauge: { dataPoints: [{ timeUnixNano: '1700000000000000000', asDouble: 1, attributes }] } }]), 'json');
    if (!r.ok) throw new Error(r.message);
    const labels = r.value.series[0]?.labels;
    expect(labels?.names.length).toBe(100_002); // 100k + a_1 + __name__
    expect(rec(labels ?? { names: [], values: [] }).a_1).toBe('dot;under');
  });

  it('promotes resource attributes and scope metadata when asked', () => {
    const body = jsonMetrics(
      [{ name: 'up', gauge: { dataPoints: [{ timeUnixNano: '1700000000000000000', asDouble: 1, attributes: [sattr('region', 'point-wins?')] }] } }],
      [sattr('service.name', 'api'), sattr('region', 'eu'), sattr('k8s.pod.name', 'p1')],
      { name: 'my.lib', version: '1.0', attributes: [sattr('lib.kind', 'http')] },
    );
    const r = decodeOtlpMetrics(body, 'json', { promoteResourceAttributes: ['region', 'absent'], promoteScopeMetadata: true });
    if (!r.ok) throw new Error(r.message);
    const [up, info] = samplesOf(r.value);
    // resource labels win over a point attribute of the same name
    expect(up?.labels).toEqual({ __name__: 'up', job: 'api', region: 'eu', otel_scope_name: 'my.lib', otel_scope_version: '1.0', otel_scope_lib_kind: 'http' });
    expect(info?.labels).toEqual({ __name__: 'target_info', job: 'api', region: 'eu', k8s_pod_name: 'p1' });
  });
});

// ---------------------------------------------------------------------------

describe('protobuf metrics (hand-built)', () => {
  it('reads fields in any order, skips unknown fields and accepts unpacked repeats', () => {
    const numberPoint = pb.cat(
      pb.varint(99, 7), // unknown varint
      pb.fixed32(98, 1), // unknown fixed32
      pb.fixed64(6, -5n), // as_int (sfixed64) before the attributes
      kv(7, 'neg', av.int(-3n)),
      kv(7, 'huge', av.int(18446744073709551615n)), // int64 -1 encoded as 10-byte varint
      kv(7, 'arr', av.array(av.str('a'), av.bool(true), av.double(Infinity))),
      kv(7, 'bin', av.bytes(Buffer.from('hi'))),
      pb.fixed64(3, T0 + 999_999n), // time, rounds down to the ms
      pb.msg(5, pb.fixed64(2, T0), pb.fixed64(6, 11n), pb.bytes(5, Buffer.alloc(16, 0xab)), pb.bytes(4, Buffer.alloc(8, 0xcd)), kv(7, 'x', av.str('y'))),
    );
    const metric = pb.cat(
      pb.msg(7, pb.varint(3, 1), pb.msg(1, numberPoint), pb.varint(2, 2)), // Sum: points before temporality
      pb.str(3, 's'),
      pb.str(1, 'cpu.time'),
      pb.msg(12, kv(1, 'prometheus.type', av.str('counter'))), // Metric.metadata: ignored
    );
    const hist = pb.cat(
      pb.str(1, 'size'),
      pb.msg(
        9,
        pb.varint(2, 2),
        pb.msg(
          1,
          pb.fixed64(3, T0),
          pb.fixed64(4, 4n),
          pb.double(5, 10),
          pb.fixed64(6, 1n), // bucket_counts unpacked, one by one
          pb.fixed64(6, 2n),
          pb.fixed64(6, 1n),
          pb.packedDoubles(7, [1, 10]),
          pb.double(11, 0.5), // min, max: unused
          pb.double(12, 20),
        ),
      ),
    );
    const scopeMetrics = pb.cat(pb.msg(2, metric), pb.msg(2, hist), pb.msg(1, pb.str(1, 'scope')));
    // scope_metrics before the resource
    const body = pb.msg(1, pb.msg(2, scopeMetrics), pb.msg(1, kv(1, 'service.name', av.str('svc')), kv(1, 'service.instance.id', av.str('i1'))));
    const r = decodeOtlpMetrics(body, 'protobuf');
    if (!r.ok) throw new Error(r.message);
    const b = r.value;
    expect(b.rejected).toEqual([]);
    const base = { job: 'svc', instance: 'i1' };
    expect(samplesOf(b)).toEqual([
      { labels: { ...base, __name__: 'cpu_time_seconds_total', neg: '-3', huge: '-1', arr: '["a",true,"Infinity"]', bin: 'aGk=' }, t: T0_MS, v: -5 },
      { labels: { ...base, __name__: 'size_bucket', le: '1' }, t: T0_MS, v: 1 },
      { labels: { ...base, __name__: 'size_bucket', le: '10' }, t: T0_MS, v: 3 },
      { labels: { ...base, __name__: 'size_bucket', le: '+Inf' }, t: T0_MS, v: 4 },
      { labels: { ...base, __name__: 'size_sum' }, t: T0_MS, v: 10 },
      { labels: { ...base, __name__: 'size_count' }, t: T0_MS, v: 4 },
    ]);
    expect(b.exemplars).toEqual([
      { seriesIndex: 0, labels: { names: ['span_id', 'trace_id', 'x'], values: ['cd'.repeat(8), 'ab'.repeat(16), 'y'] }, timestampMs: T0_MS, value: 11 },
    ]);
  });

  it('reads the largest nanosecond timestamps exactly', () => {
    // 2^63 - 1 ns: the ms value needs exact 64-bit division
    const ns = 9223372036854775807n;
    const body = pb.msg(1, pb.msg(2, pb.msg(2, pb.str(1, 'g'), pb.msg(5, pb.msg(1, pb.fixed64(3, ns), pb.double(4, 1))))));
    const r = decodeOtlpMetrics(body, 'protobuf');
    if (!r.ok) throw new Error(r.message);
    expect(r.value.timestampsMs[0]).toBe(Number(ns / 1_000_000n));
  });
});

// ---------------------------------------------------------------------------

describe('malformed bodies → 400, never an exception', () => {
  const realMetrics = (): Buffer => {
    const dp = pb.msg(1, kv(7, 'k', av.str('v')), pb.fixed64(3, T0), pb.double(4, 1.5));
    return pb.msg(1, pb.msg(1, kv(1, 'service.name', av.str('svc'))), pb.msg(2, pb.msg(1, pb.str(1, 's')), pb.msg(2, pb.str(1, 'm'), pb.msg(5, dp))));
  };

  it('the reference body decodes', () => {
    const r = decodeOtlpMetrics(realMetrics(), 'protobuf');
    expect(r.ok).toBe(true);
  });

  it('every truncation of a protobuf body either decodes or answers 400', () => {
    const body = realMetrics();
    let failures = 0;
    for (let n = 1; n < body.length; n++) {
      for (const decode of [decodeOtlpMetrics, decodeOtlpLogs, decodeOtlpTraces]) {
        const r = decode(body.subarray(0, n), 'protobuf');
        if (!r.ok) {
          failures++;
          expect(r.status).toBe(400);
          expect(r.message).toMatch(/^invalid OTLP (metrics|logs|traces) request: /);
        }
      }
    }
    expect(failures).toBeGreaterThan(0);
  });

  it('random bytes never throw', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 300; i++) {
      const b = Buffer.alloc(1 + (rnd() % 64));
      for (let j = 0; j < b.length; j++) b[j] = rnd() & 0xff;
      for (const decode of [decodeOtlpMetrics, decodeOtlpLogs, decodeOtlpTraces]) {
        const r = decode(b, 'protobuf');
        if (!r.ok) expect(r.status).toBe(400);
      }
    }
  });

  it.each([
    ['not JSON', '{"resourceMetrics": ['],
    ['not an object', '[1,2]'],
    ['wrong container type', '{"resourceMetrics": 5}'],
    ['bad timestamp', '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"soon","asDouble":1}]}}]}]}]}'],
    ['bad attribute value', '{"resourceMetrics":[{"resource":{"attributes":[{"key":"a","value":{"intValue":"1.5"}}]}}]}'],
    ['bad enum', '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"s","sum":{"aggregationTemporality":"CUMULATIVE","dataPoints":[]}}]}]}]}'],
  ])('JSON %s → 400', (_what, text) => {
    const r = decodeOtlpMetrics(Buffer.from(text), 'json');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.status).toBe(400);
      expect(r.message).toMatch(/^invalid OTLP metrics request: /);
    }
  });

  it('a known field with the wrong wire type → 400 naming the field', () => {
    const body = pb.msg(1, pb.msg(2, pb.msg(2, pb.varint(1, 5))));
    const r = decodeOtlpMetrics(body, 'protobuf');
    expect(r).toEqual({ ok: false, status: 400, message: expect.stringContaining('Metric.name has wire type 0') });
  });

  it('hostile AnyValue nesting is refused, not recursed into', () => {
    let v = av.str('deep');
    for (let i = 0; i < 200; i++) v = av.array(v);
    const body = pb.msg(1, pb.msg(1, kv(1, 'x', v)));
    const r = decodeOtlpTraces(body, 'protobuf');
    expect(r).toEqual({ ok: false, status: 400, message: expect.stringContaining('nested too deeply') });
    let j: unknown = { stringValue: 'deep' };
    for (let i = 0; i < 200; i++) j = { arrayValue: { values: [j] } };
    const rj = decodeOtlpTraces(Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'x', value: j }] } }] })), 'json');
    expect(rj.ok).toBe(false);
  });

  it('an empty request is a full success with nothing in it', () => {
    for (const format of ['protobuf', 'json'] as const) {
      const body = format === 'json' ? Buffer.from('{}') : Buffer.alloc(0);
      const m = decodeOtlpMetrics(body, format);
      const l = decodeOtlpLogs(body, format);
      const t = decodeOtlpTraces(body, format);
      expect(m.ok && m.value.sampleCount === 0 && l.ok && l.value.recordCount === 0 && t.ok && t.value.spans.length === 0).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------

describe('OTLP logs (hand-built)', () => {
  it('ids, timestamps, bodies, severities and stream labels', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const body = Buffer.from(
      JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [sattr('k8s.namespace.name', 'ns'), { key: 'k8s', value: { kvlistValue: { values: [{ key: 'labels', value: { kvlistValue: { values: [sattr('app', 'web')] } } }] } } }] },
            scopeLogs: [
              {
                logRecords: [
                  { timeUnixNano: '1700000000000000001', body: { intValue: '7' }, traceId: 'ABCD', severityNumber: 13 },
                  { observedTimeUnixNano: '1700000000000000002', body: { boolValue: false }, severityNumber: 13, severityText: 'Warning' },
                  { body: { bytesValue: 'aGk=' }, severityNumber: 99, spanId: '0000000000000000', traceId: '00000000000000000000000000000000' },
                  { timeUnixNano: '1700000000000000003', spanId: 'zz' },
                  { timeUnixNano: '1700000000000000004', body: { kvlistValue: { values: [sattr('a', 'b')] } }, traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708' },
                ],
              },
            ],
          },
          // same stream labels from another resource: one stream
          { resource: { attributes: [sattr('k8s.namespace.name', 'ns')] }, scopeLogs: [{ logRecords: [{ timeUnixNano: '1700000000000000005' }] }] },
        ],
      }),
    );
    const r = decodeOtlpLogs(body, 'json');
    if (!r.ok) throw new Error(r.message);
    const b = r.value;
    expect(b.rejected).toEqual([
      { reason: expect.stringContaining('invalid trace_id'), count: 1 },
      { reason: expect.stringContaining('invalid span_id'), count: 1 },
    ]);
    expect(b.recordCount).toBe(4);
    expect(b.streams.map((s) => rec(s.labels))).toEqual([{ k8s_namespace_name: 'ns', service_name: 'unknown_service' }]);
    expect([...b.recordStream]).toEqual([0, 0, 0, 0]);
    const ts = [...b.timestampsNs];
    expect(ts[0]).toBe(1_700_000_000_000_000_002n); // observed time when time is 0
    expect(ts[1]).toBeGreaterThanOrEqual(before); // neither: receive time
    expect(ts.slice(2)).toEqual([1_700_000_000_000_000_004n, 1_700_000_000_000_000_005n]);
    expect(b.bodies).toEqual(['false', 'aGk=', '{"a":"b"}', '']);
    expect(b.severities).toEqual(['Warning', '', '', '']);
    // all-zero ids mean "no id"
    expect(b.traceIds).toEqual(['', '', '0102030405060708090a0b0c0d0e0f10', '']);
    expect(b.spanIds).toEqual(['', '', '0102030405060708', '']);
    // resource kvlist flattened into structured metadata
    expect(rec(b.metadata[0] ?? { names: [], values: [] })).toEqual({ k8s_labels_app: 'web', severity_number: '13', severity_text: 'Warning' });
  });

  it('protobuf records: body kinds, flags, bad ids', () => {
    const record = (...parts: Buffer[]) => pb.msg(2, ...parts);
    const scope = pb.msg(1, pb.str(1, 'lib'), pb.str(2, '3'), kv(3, 'scope.attr', av.str('s')));
    const good = record(pb.fixed64(1, T0), pb.msg(5, av.double(1.25)), pb.fixed32(8, 1), pb.varint(2, 21), kv(6, 'severity_text', av.str('attr-loses')), pb.str(3, 'FATAL'));
    const badTrace = record(pb.fixed64(1, T0), pb.bytes(9, Buffer.alloc(15, 1)));
    const resource = pb.msg(1, kv(1, 'service.name', av.str('svc')), kv(1, 'service.version', av.str('9')));
    const body = pb.msg(1, pb.msg(2, scope, good, badTrace), resource);
    const r = decodeOtlpLogs(body, 'protobuf');
    if (!r.ok) throw new Error(r.message);
    expect(r.value.rejected).toEqual([{ reason: expect.stringContaining('invalid trace_id'), count: 1 }]);
    expect(r.value.bodies).toEqual(['1.25']);
    expect(r.value.severities).toEqual(['FATAL']);
    expect(rec(r.value.streams[0]?.labels ?? { names: [], values: [] })).toEqual({ service_name: 'svc' });
    expect(rec(r.value.metadata[0] ?? { names: [], values: [] })).toEqual({
      service_version: '9',
      scope_attr: 's',
      scope_name: 'lib',
      scope_version: '3',
      severity_number: '21',
      severity_text: 'FATAL',
      flags: '1',
    });
  });
});

// ---------------------------------------------------------------------------

describe('OTLP traces (hand-built)', () => {
  const span = (over: Record<string, unknown>) => ({
    traceId: '0102030405060708090a0b0c0d0e0f10',
    spanId: '0102030405060708',
    name: 'op',
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000000000500',
    ...over,
  });
  it('rejects spans with invalid ids, with reasons, and keeps the rest', () => {
    const body = Buffer.from(
      JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'dup', value: { stringValue: '1' } }, { key: 'dup', value: { stringValue: '2' } }] },
            scopeSpans: [
              {
                spans: [
                  span({ name: 'ok', traceId: '0102030405060708090A0B0C0D0E0F10', kind: 9, endTimeUnixNano: '1' }),
                  span({ traceId: '00000000000000000000000000000000' }),
                  span({ traceId: '0102' }),
                  span({ traceId: 'not hex at all, not hex at all!!' }),
                  span({ spanId: '0000000000000000' }),
                  span({ spanId: '01020304' }),
                  span({ parentSpanId: '0102' }),
                  span({ name: 'zero-parent', parentSpanId: '0000000000000000' }),
                ],
              },
            ],
          },
        ],
      }),
    );
    const r = decodeOtlpTraces(body, 'json');
    if (!r.ok) throw new Error(r.message);
    expect(r.value.spans.map((s) => s.name)).toEqual(['ok', 'zero-parent']);
    const [ok, zp] = r.value.spans;
    expect(Buffer.from(ok?.traceId ?? []).toString('hex')).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(ok?.kind).toBe(0); // out of range
    expect(ok?.durationNs).toBe(0n); // end before start
    expect(ok?.serviceName).toBe('unknown_service');
    expect(ok?.resourceAttributes).toEqual({ names: ['dup'], values: ['2'] });
    expect(zp?.parentSpanId).toBe('');
    expect(r.value.rejected).toEqual([
      { reason: expect.stringContaining('invalid trace_id'), count: 3 },
      { reason: expect.stringContaining('invalid span_id'), count: 2 },
      { reason: expect.stringContaining('invalid parent_span_id'), count: 1 },
    ]);
  });

  it('accepts enum names as well as numbers in OTLP/JSON', () => {
    const t = decodeOtlpTraces(Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span({ kind: 'SPAN_KIND_CLIENT', status: { code: 'STATUS_CODE_ERROR' } })] }] }] })), 'json');
    expect(t.ok && [t.value.spans[0]?.kind, t.value.spans[0]?.statusCode]).toEqual([3, 2]);
    const m = decodeOtlpMetrics(jsonMetrics([{ name: 'c', sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', isMonotonic: true, dataPoints: [{ asInt: '1' }] } }]), 'json');
    expect(m.ok && m.value.series[0]?.metricName).toBe('c_total');
    const l = decodeOtlpLogs(Buffer.from(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 'SEVERITY_NUMBER_WARN3' }] }] }] })), 'json');
    expect(l.ok && l.value.severities).toEqual(['WARN3']);
  });

  it('long attribute lists sort correctly, last value winning', () => {
    const attributes = Array.from({ length: 200 }, (_, i) => ({ key: `k${String((i * 37) % 100).padStart(3, '0')}`, value: { intValue: i } }));
    const r = decodeOtlpTraces(Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span({ attributes })] }] }] })), 'json');
    if (!r.ok) throw new Error(r.message);
    const a = r.value.spans[0]?.attributes;
    expect(a?.names).toEqual(Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}`));
    // key k000 is written at i = 0 and i = 100: the later one wins
    expect(a?.values[0]).toBe('100');
  });

  it('protobuf spans: ids copied out of the request body', () => {
    const s = pb.msg(2, pb.bytes(1, Buffer.alloc(16, 7)), pb.bytes(2, Buffer.alloc(8, 9)), pb.bytes(4, Buffer.alloc(8, 3)), pb.str(5, 'x'), pb.varint(6, 3), pb.fixed64(7, T0), pb.fixed64(8, T0 + 10n), pb.str(3, 'k=v'), pb.fixed32(16, 0x101));
    const body = pb.msg(1, pb.msg(2, s));
    const r = decodeOtlpTraces(body, 'protobuf');
    if (!r.ok) throw new Error(r.message);
    const got = r.value.spans[0];
    body.fill(0); // the batch must not alias the request buffer
    expect(Buffer.from(got?.traceId ?? []).toString('hex')).toBe('07'.repeat(16));
    expect(Buffer.from(got?.spanId ?? []).toString('hex')).toBe('09'.repeat(8));
    expect(got?.parentSpanId).toBe('03'.repeat(8));
    expect(got?.traceState).toBe('k=v');
    expect(got?.kind).toBe(3);
    expect(got?.durationNs).toBe(10n);
  });
});

// ---------------------------------------------------------------------------

describe('Export*ServiceResponse and google.rpc.Status encoders', () => {
  const rejected = [
    { reason: 'metric "x": delta temporality is not supported', count: 2 },
    { reason: 'metric "y": exponential histograms are not supported', count: 1 },
  ];

  it('full success: empty message / {}', () => {
    expect(encodeOtlpExportResponse('metrics', [], 'protobuf').length).toBe(0);
    expect(encodeOtlpExportResponse('traces', [], 'json').toString()).toBe('{}');
  });

  it('partial success parses with the OTel SDK response deserializers', () => {
    const pm = ProtobufMetricsSerializer.deserializeResponse(encodeOtlpExportResponse('metrics', rejected, 'protobuf'));
    expect(Number(pm.partialSuccess?.rejectedDataPoints)).toBe(3);
    expect(pm.partialSuccess?.errorMessage).toBe('3 data points rejected: metric "x": delta temporality is not supported (2); metric "y": exponential histograms are not supported (1)');
    const jm = JsonMetricsSerializer.deserializeResponse(encodeOtlpExportResponse('metrics', rejected, 'json'));
    expect(Number(jm.partialSuccess?.rejectedDataPoints)).toBe(3);
    expect(jm.partialSuccess?.errorMessage).toBe(pm.partialSuccess?.errorMessage);

    const one = [{ reason: 'span with an invalid trace_id', count: 300 }];
    const pt = ProtobufTraceSerializer.deserializeResponse(encodeOtlpExportResponse('traces', one, 'protobuf'));
    expect(Number(pt.partialSuccess?.rejectedSpans)).toBe(300);
    const jt = JsonTraceSerializer.deserializeResponse(encodeOtlpExportResponse('traces', one, 'json'));
    expect(Number(jt.partialSuccess?.rejectedSpans)).toBe(300);
    const pl = ProtobufLogsSerializer.deserializeResponse(encodeOtlpExportResponse('logs', one, 'protobuf'));
    expect(Number(pl.partialSuccess?.rejectedLogRecords)).toBe(300);
    const jl = JsonLogsSerializer.deserializeResponse(encodeOtlpExportResponse('logs', one, 'json'));
    expect(Number(jl.partialSuccess?.rejectedLogRecords)).toBe(300);
  });

  it('google.rpc.Status with RetryInfo, protobuf and JSON', () => {
    const root = protobuf.Root.fromJSON({
      nested: {
        Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } } },
        Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
        RetryInfo: { fields: { retry_delay: { type: 'Duration', id: 1 } } },
        Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    });
    const Status = root.lookupType('Status');
    const RetryInfo = root.lookupType('RetryInfo');
    const st = Status.toObject(Status.decode(encodeRpcStatus(14, 'ingest is over capacity', 'protobuf', 2500)), { longs: Number, bytes: Buffer });
    expect(st.code).toBe(14);
    expect(st.message).toBe('ingest is over capacity');
    expect(st.details[0].type_url).toBe('type.googleapis.com/google.rpc.RetryInfo');
    expect(RetryInfo.toObject(RetryInfo.decode(st.details[0].value), { longs: Number })).toEqual({ retry_delay: { seconds: 2, nanos: 500_000_000 } });
    expect(JSON.parse(encodeRpcStatus(3, 'bad', 'json').toString())).toEqual({ code: 3, message: 'bad' });
    expect(JSON.parse(encodeRpcStatus(14, 'later', 'json', 1000).toString())).toEqual({ code: 14, message: 'later', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }] });
  });
});
