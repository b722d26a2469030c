// The collector -> central batch format: what the collector encodes central
// decodes, bit for bit, with the cluster label enforced and damage refused.
import { describe, it, expect } from 'vitest';
import {
  FLEET_BATCH_MAGIC,
  FLEET_RECORD_LOGS,
  FLEET_RECORD_METRICS,
  FLEET_RECORD_SPANS,
  createLabelBytesCache,
  decodeFleetBatch,
  decodeLokiPush,
  decodeRemoteWrite,
  encodeFleetFrame,
  encodeFleetLabels,
  encodeFleetLogs,
  encodeFleetMetrics,
  encodeFleetSpans,
  encodeLokiPushProto,
  encodeRemoteWriteV1,
  isStaleNaN,
  staleNaN,
  type MetricsBatch,
  type SeriesRef,
  type SpansBatch,
} from '../protocols/index.ts';
import { createStamper, externalLabelsFromConfig } from '../collector/index.ts';
import { labelsToRecord } from '../core/index.ts';

const stamper = createStamper(externalLabelsFromConfig('east', ['region=eu', 'job=ignored-when-present']));

function metricsBatch(): MetricsBatch {
  const body = encodeRemoteWriteV1(
    [
      { labels: { __name__: 'up', job: 'node', instance: 'a:9100' }, samples: [{ timestampMs: 1000, value: 1 }, { timestampMs: 2000, value: staleNaN() }], exemplars: [{ labels: { trace_id: 'abc' }, value: 0.5, timestampMs: 1500 }] },
      { labels: { __name__: 'http_requests_total', code: '200', cluster: 'spoofed' }, samples: [{ timestampMs: 1000, value: 42.5 }] },
    ],
    [{ metricFamilyName: 'up', type: 'gauge', help: 'is it up', unit: '' }],
  );
  const r = decodeRemoteWrite(body, 1);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

function batchOf(...frames: Buffer[]): Buffer {
  return Buffer.concat([FLEET_BATCH_MAGIC, ...frames]);
}

describe('fleet batch format', () => {
  it('round-trips metrics bit for bit, with external labels stamped and the cluster enforced', () => {
    const m = metricsBatch();
    const frame = encodeFleetFrame(FLEET_RECORD_METRICS, 7, 123, 'team-a', encodeFleetMetrics(m, stamper.seriesBlock));
    const out = decodeFleetBatch(batchOf(frame), { forceLabels: { names: ['cluster'], values: ['east'] } });
    if (!out.ok) throw new Error(out.message);
    expect(out.value.frames).toBe(1);
    expect(out.value.firstSeq).toBe(7);
    const got = out.value.byTenant.get('team-a')?.metrics as MetricsBatch;
    expect(got.sampleCount).toBe(3);
    const series = got.series.map((s) => labelsToRecord(s.labels));
    expect(series).toEqual([
      { __name__: 'up', cluster: 'east', instance: 'a:9100', job: 'node', region: 'eu' },
      // "job" is not overwritten where present elsewhere, "cluster" always is
      { __name__: 'http_requests_total', cluster: 'east', code: '200', job: 'ignored-when-present', region: 'eu' },
    ]);
    expect([...got.timestampsMs]).toEqual([1000, 2000, 1000]);
    expect(got.values[0]).toBe(1);
    expect(isStaleNaN(got.values[1] as number)).toBe(true);
    expect(got.values[2]).toBe(42.5);
    expect([...got.sampleSeries]).toEqual([0, 0, 1]);
    expect(got.exemplars).toEqual([{ seriesIndex: 0, labels: { names: ['trace_id'], values: ['abc'] }, timestampMs: 1500, value: 0.5 }]);
    expect(got.metadata).toEqual([{ metricFamilyName: 'up', type: 'gauge', help: 'is it up', unit: '' }]);
    // fingerprints are central's own, computed from the final labels
    const direct = decodeRemoteWrite(encodeRemoteWriteV1([{ labels: series[0] as Record<string, string>, samples: [{ timestampMs: 1, value: 1 }] }]), 1);
    if (!direct.ok) throw new Error(direct.message);
    expect([got.series[0]?.fpHi, got.series[0]?.fpLo]).toEqual([direct.value.series[0]?.fpHi, direct.value.series[0]?.fpLo]);
  });

  it('central stamps the credential cluster over whatever the collector sent', () => {
    const spoofing = createStamper(externalLabelsFromConfig('west', []));
    const frame = encodeFleetFrame(FLEET_RECORD_METRICS, 1, 1, 'fake', encodeFleetMetrics(metricsBatch(), spoofing.seriesBlock));
    const out = decodeFleetBatch(batchOf(frame), { forceLabels: { names: ['cluster'], values: ['east'] } });
    if (!out.ok) throw new Error(out.message);
    for (const s of out.value.byTenant.get('fake')?.metrics?.series ?? []) expect(labelsToRecord(s.labels)['cluster']).toBe('east');
  });

  it('round-trips logs and spans, merging frames per tenant and type', () => {
    const push = decodeLokiPush(
      encodeLokiPushProto([
        { labels: { app: 'api' }, entries: [{ timestampNs: 1_700_000_000_123_456_789n, line: 'hello ünïcode', metadata: { trace_id: 't1' } }, { timestampNs: 1_700_000_000_123_456_790n, line: '' }] },
        { labels: { app: 'db' }, entries: [{ timestampNs: 5n, line: 'x' }] },
      ]),
      'application/x-protobuf',
    );
    if (!push.ok) throw new Error(push.message);
    const logs = push.value;
    const spans: SpansBatch = {
      rejected: [],
      spans: [
        {
          traceId: new Uint8Array(16).fill(1),
          spanId: new Uint8Array(8).fill(2),
          parentSpanId: '',
          traceState: 'k=v',
          serviceName: 'svc',
          name: 'GET /',
          kind: 2,
          startTimeNs: 1_700_000_000_000_000_001n,
          durationNs: 2n ** 63n + 5n, // above int64: kept as uint64
          statusCode: 2,
          statusMessage: 'boom',
          scopeName: 'lib',
          scopeVersion: '1.0',
          attributes: { names: ['http.method'], values: ['GET'] },
          resourceAttributes: { names: ['service.name'], values: ['svc'] },
          events: [{ timeUnixNano: 7n, name: 'ev', attributes: { names: ['a'], values: ['b'] } }],
          links: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceState: '', attributes: { names: [], values: [] } }],
        },
      ],
    };
    const body = batchOf(
      encodeFleetFrame(FLEET_RECORD_LOGS, 1, 1, 'fake', encodeFleetLogs(logs, stamper.streamBlock)),
      encodeFleetFrame(FLEET_RECORD_SPANS, 2, 1, 'fake', encodeFleetSpans(spans, stamper.resource)),
      encodeFleetFrame(FLEET_RECORD_LOGS, 3, 1, 'fake', encodeFleetLogs(logs, stamper.streamBlock)),
    );
    const out = decodeFleetBatch(body, {});
    if (!out.ok) throw new Error(out.message);
    const t = out.value.byTenant.get('fake');
    expect(t?.logs?.recordCount).toBe(6);
    expect(t?.logs?.bodies).toEqual(['hello ünïcode', '', 'x', 'hello ünïcode', '', 'x']);
    expect([...(t?.logs?.timestampsNs ?? [])].slice(0, 3)).toEqual([1_700_000_000_123_456_789n, 1_700_000_000_123_456_790n, 5n]);
    expect(t?.logs?.streams.map((s) => labelsToRecord(s.labels))[0]).toEqual({ app: 'api', cluster: 'east', job: 'ignored-when-present', region: 'eu' });
    expect([...(t?.logs?.recordStream ?? [])]).toEqual([0, 0, 1, 2, 2, 3]);
    expect(labelsToRecord(t?.logs?.metadata[0] ?? { names: [], values: [] })).toEqual({ trace_id: 't1' });
    const span = t?.spans?.spans[0];
    expect(span?.durationNs).toBe(2n ** 63n + 5n);
    expect(span?.startTimeNs).toBe(1_700_000_000_000_000_001n);
    expect({ ...span, traceId: [...(span?.traceId ?? [])], spanId: [...(span?.spanId ?? [])] }).toMatchObject({
      traceId: new Array(16).fill(1),
      spanId: new Array(8).fill(2),
      traceState: 'k=v',
      name: 'GET /',
      kind: 2,
      statusCode: 2,
      statusMessage: 'boom',
      resourceAttributes: { names: ['cluster', 'job', 'region', 'service.name'], values: ['east', 'ignored-when-present', 'eu', 'svc'] },
      events: [{ timeUnixNano: 7n, name: 'ev', attributes: { names: ['a'], values: ['b'] } }],
    });
  });

  it('reuses decoded series by their label bytes', () => {
    const cache = createLabelBytesCache<SeriesRef>({ maxEntries: 100 });
    const frame = encodeFleetFrame(FLEET_RECORD_METRICS, 1, 1, 'fake', encodeFleetMetrics(metricsBatch(), stamper.seriesBlock));
    const a = decodeFleetBatch(batchOf(frame), { seriesCache: cache });
    const b = decodeFleetBatch(batchOf(frame), { seriesCache: cache });
    if (!a.ok || !b.ok) throw new Error('decode failed');
    expect(b.value.byTenant.get('fake')?.metrics?.series[0]).toBe(a.value.byTenant.get('fake')?.metrics?.series[0]);
  });

  it('refuses damaged batches as a whole', () => {
    const frame = encodeFleetFrame(FLEET_RECORD_METRICS, 1, 1, 'fake', encodeFleetMetrics(metricsBatch(), stamper.seriesBlock));
    const flipped = Buffer.from(frame);
    flipped[frame.length - 3] = (flipped[frame.length - 3] as number) ^ 1;
    expect(decodeFleetBatch(batchOf(frame, flipped))).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/frame 1 .*checksum/) });
    expect(decodeFleetBatch(batchOf(frame.subarray(0, frame.length - 1)))).toMatchObject({ ok: false, status: 400 });
    expect(decodeFleetBatch(Buffer.from('nope'))).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/magic/) });
    // a valid CRC over a payload that lies about its series count
    const liar = Buffer.from([...encodeFleetLabels({ names: [], values: [] })]);
    const bad = encodeFleetFrame(FLEET_RECORD_METRICS, 1, 1, 'fake', Buffer.concat([Buffer.from([1]), Buffer.from([liar.length]), liar, Buffer.from([1]), Buffer.from([5, 0, 0, 0])]));
    expect(decodeFleetBatch(batchOf(bad))).toMatchObject({ ok: false, status: 400 });
  });
});
