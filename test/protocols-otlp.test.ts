// OTLP decoders against real request bodies: the OpenTelemetry JS SDK
// produces metrics, logs and spans, and @opentelemetry/otlp-transformer
// serializes them to protobuf and OTLP/JSON exactly as the exporters send
// them. Every mapped field is checked against what the SDK recorded.
import { describe, it, expect } from 'vitest';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type HrTime } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, AggregationType, MeterProvider, MetricReader, type MetricReaderOptions, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { labelsToRecord, type Labels } from '../core/index.ts';
import { decodeOtlpLogs, decodeOtlpMetrics, decodeOtlpTraces, isStaleNaN, type MetricsBatch, type OtlpFormat } from '../protocols/index.ts';

const FORMATS: readonly OtlpFormat[] = ['protobuf', 'json'];

class TestReader extends MetricReader {
  constructor(options?: MetricReaderOptions) {
    super(options);
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const hrNs = (t: HrTime): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const hrMs = (t: HrTime): number => Number(hrNs(t) / 1_000_000n);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const rec = (l: Labels): Record<string, string> => labelsToRecord(l);

function serializeMetrics(rm: ResourceMetrics, format: OtlpFormat): Uint8Array {
  // the transformer bundles its own sdk-metrics copy; the data shape is the same
  const body = (format === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer).serializeRequest(rm as never);
  if (body === undefined) throw new Error('serializer produced nothing');
  return body;
}

/** samples of a batch as {labels, t, v} rows for comparison */
function samplesOf(b: MetricsBatch): { labels: Record<string, string>; t: number; v: number }[] {
  const out: { labels: Record<string, string>; t: number; v: number }[] = [];
  for (let i = 0; i < b.sampleCount; i++) {
    const s = b.series[b.sampleSeries[i] as number];
    if (s === undefined) throw new Error(`sample ${i} points at no series`);
    out.push({ labels: rec(s.labels), t: b.timestampsMs[i] as number, v: b.values[i] as number });
  }
  return out;
}

const METRICS_RESOURCE = {
  'service.name': 'checkout',
  'service.namespace': 'shop',
  'service.instance.id': 'pod-7',
  'host.name': 'node-1',
  'deployment.environment': 'prod',
};

async function collectMetrics(temporality?: AggregationTemporality, exponential = false): Promise<ResourceMetrics> {
  const reader = new TestReader(temporality === undefined ? undefined : { aggregationTemporalitySelector: () => temporality });
  const provider = new MeterProvider({
    resource: resourceFromAttributes(METRICS_RESOURCE),
    readers: [reader],
    views: exponential ? [{ instrumentName: 'http.server.duration', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }] : [],
  });
  const meter = provider.getMeter('checkout-meter', '1.4.0');
  const requests = meter.createCounter('http.server.requests', { unit: '{request}', description: 'Requests served' });
  requests.add(3, { 'http.method': 'GET', 'http.status_code': 200 });
  requests.add(2, { 'http.method': 'GET', 'http.status_code': 200 });
  requests.add(1, { 'http.method': 'POST', 'http.status_code': 500 });
  const depth = meter.createUpDownCounter('queue.depth', { unit: 'By', description: 'Bytes queued' });
  depth.add(5);
  depth.add(-2);
  meter.createGauge('cpu.utilization', { unit: '1' }).record(0.75, { cpu: 0 });
  const duration = meter.createHistogram('http.server.duration', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100, 1000] } });
  for (const v of [5, 50, 50, 5000]) duration.record(v, { route: '/cart' });
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  await provider.shutdown();
  return resourceMetrics;
}

describe.each(FORMATS)('OTLP metrics from the OTel SDK (%s)', (format) => {
  it('maps counters, up-down counters, gauges and histograms to the Prometheus model', async () => {
    const rm = await collectMetrics();
    const points = (rm.scopeMetrics[0]?.metrics ?? []).flatMap((m): readonly { endTime: HrTime }[] => m.dataPoints);
    const endTime = points[0]?.endTime;
    if (endTime === undefined) throw new Error('no data points collected');
    const t = hrMs(endTime);
    for (const p of points) expect(hrMs(p.endTime)).toBe(t);

    const r = decodeOtlpMetrics(serializeMetrics(rm, format), format);
    if (!r.ok) throw new Error(r.message);
    const b = r.value;
    expect(b.rejected).toEqual([]);
    expect(b.sampleCount).toBe(b.values.length);

    const base = { job: 'shop/checkout', instance: 'pod-7' };
    const bucket = (le: string, v: number) => ({ labels: { ...base, __name__: 'http_server_duration_milliseconds_bucket', route: '/cart', le }, t, v });
    expect(samplesOf(b)).toEqual([
      { labels: { ...base, __name__: 'http_server_requests_total', http_method: 'GET', http_status_code: '200' }, t, v: 5 },
      { labels: { ...base, __name__: 'http_server_requests_total', http_method: 'POST', http_status_code: '500' }, t, v: 1 },
      { labels: { ...base, __name__: 'queue_depth_bytes' }, t, v: 3 },
      { labels: { ...base, __name__: 'cpu_utilization_ratio', cpu: '0' }, t, v: 0.75 },
      bucket('10', 1),
      bucket('100', 3),
      bucket('1000', 3),
      bucket('+Inf', 4),
      { labels: { ...base, __name__: 'http_server_duration_milliseconds_sum', route: '/cart' }, t, v: 5105 },
      { labels: { ...base, __name__: 'http_server_duration_milliseconds_count', route: '/cart' }, t, v: 4 },
      // the other resource attributes, once per resource, with job/instance
      { labels: { ...base, __name__: 'target_info', host_name: 'node-1', deployment_environment: 'prod' }, t, v: 1 },
    ]);

    // every series is name-sorted, fingerprinted once, and listed once
    const keys = new Set(b.series.map((s) => `${s.fpHi}:${s.fpLo}`));
    expect(keys.size).toBe(b.series.length);
    for (const s of b.series) {
      expect([...s.labels.names]).toEqual([...s.labels.names].sort());
      expect(s.metricName).toBe(rec(s.labels).__name__);
    }

    expect(b.metadata).toEqual([
      { metricFamilyName: 'http_server_requests_total', type: 'counter', help: 'Requests served', unit: '' },
      { metricFamilyName: 'queue_depth_bytes', type: 'gauge', help: 'Bytes queued', unit: 'bytes' },
      { metricFamilyName: 'cpu_utilization_ratio', type: 'gauge', help: '', unit: '' },
      { metricFamilyName: 'http_server_duration_milliseconds', type: 'histogram', help: '', unit: 'milliseconds' },
      { metricFamilyName: 'target_info', type: 'gauge', help: 'Target metadata', unit: '' },
    ]);
    expect(b.histogramCount).toBe(0);
  });

  it('rejects delta sums and histograms point by point, keeping gauges', async () => {
    const rm = await collectMetrics(AggregationTemporality.DELTA);
    const r = decodeOtlpMetrics(serializeMetrics(rm, format), format);
    if (!r.ok) throw new Error(r.message);
    const names = new Set(samplesOf(r.value).map((s) => s.labels.__name__));
    expect(names).toEqual(new Set(['cpu_utilization_ratio', 'target_info']));
    const rejected = r.value.rejected;
    // counter: 2 points, up-down counter: 1, histogram: 1
    expect(rejected.reduce((n, x) => n + x.count, 0)).toBe(4);
    expect(rejected.map((x) => x.reason).join('\n')).toMatch(/http\.server\.requests.*delta temporality/);
    expect(rejected.map((x) => x.reason).join('\n')).toMatch(/http\.server\.duration.*delta temporality/);
  });

  it('rejects exponential histograms with a clear message', async () => {
    const rm = await collectMetrics(undefined, true);
    const r = decodeOtlpMetrics(serializeMetrics(rm, format), format);
    if (!r.ok) throw new Error(r.message);
    expect(r.value.rejected).toEqual([{ reason: expect.stringMatching(/"http\.server\.duration": exponential histograms are not supported/), count: 1 }]);
    expect(samplesOf(r.value).some((s) => s.labels.__name__?.startsWith('http_server_duration'))).toBe(false);
    expect(samplesOf(r.value).some((s) => s.labels.__name__ === 'http_server_requests_total')).toBe(true);
  });
});

// ---------------------------------------------------------------------------

async function collectLogs(): Promise<{ records: ReadableLogRecord[]; span: ReadableSpan }> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': 'checkout-7d9',
      cluster: 'eu-1',
      'host.name': 'node-1',
      'process.pid': 4242,
    }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const spans = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer('t');
  const span = tracer.startSpan('work');
  const logger = provider.getLogger('checkout-logger', '2.0.1');
  logger.emit({
    timestamp: [1_700_000_000, 123_456_789],
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: 'order placed',
    attributes: { 'user.id': 'u-1', 'http.status_code': 201, ok: true, ratio: 0.5, tags: ['a', 'b'], nested: { a: 1, b: { c: 'x' } } },
    context: trace.setSpan(ROOT_CONTEXT, span),
  });
  logger.emit({ severityNumber: SeverityNumber.ERROR2, body: { msg: 'failed', codes: [1, 2] }, eventName: 'order.failed' });
  span.end();
  await provider.forceFlush();
  const [finished] = spans.getFinishedSpans();
  if (finished === undefined) throw new Error('no span');
  return { records: exporter.getFinishedLogRecords(), span: finished };
}

describe.each(FORMATS)('OTLP logs from the OTel SDK (%s)', (format) => {
  it('maps resource, scope and record fields like Loki', async () => {
    const { records, span } = await collectLogs();
    expect(records).toHaveLength(2);
    const body = (format === 'json' ? JsonLogsSerializer : ProtobufLogsSerializer).serializeRequest(records as never);
    if (body === undefined) throw new Error('serializer produced nothing');
    const r = decodeOtlpLogs(body, format);
    if (!r.ok) throw new Error(r.message);
    const b = r.value;
    expect(b.rejected).toEqual([]);
    expect(b.recordCount).toBe(2);
    expect(b.streams).toHaveLength(1);
    expect(rec(b.streams[0]?.labels ?? { names: [], values: [] })).toEqual({
      service_name: 'checkout',
      k8s_namespace_name: 'shop',
      k8s_pod_name: 'checkout-7d9',
      cluster: 'eu-1',
    });
    expect([...b.recordStream]).toEqual([0, 0]);

    const [first, second] = records;
    if (first === undefined || second === undefined) throw new Error('records missing');
    expect([...b.timestampsNs]).toEqual([1_700_000_000_123_456_789n, hrNs(second.hrTime)]);
    expect(b.bodies).toEqual(['order placed', '{"msg":"failed","codes":[1,2]}']);
    expect(b.severities).toEqual(['INFO', 'ERROR2']);
    expect(b.traceIds).toEqual([span.spanContext().traceId, '']);
    expect(b.spanIds).toEqual([span.spanContext().spanId, '']);

    const common = { host_name: 'node-1', process_pid: '4242', scope_name: 'checkout-logger', scope_version: '2.0.1' };
    expect(rec(b.metadata[0] ?? { names: [], values: [] })).toEqual({
      ...common,
      user_id: 'u-1',
      http_status_code: '201',
      ok: 'true',
      ratio: '0.5',
      tags: '["a","b"]',
      nested_a: '1',
      nested_b_c: 'x',
      severity_number: '9',
      severity_text: 'INFO',
      observed_timestamp: hrNs(first.hrTimeObserved).toString(),
      flags: '1', // sampled trace flags
    });
    expect(rec(b.metadata[1] ?? { names: [], values: [] })).toEqual({
      ...common,
      severity_number: '18',
      event_name: 'order.failed',
      observed_timestamp: hrNs(second.hrTimeObserved).toString(),
    });
    for (const m of b.metadata) expect([...m.names]).toEqual([...m.names].sort());
  });
});

// ---------------------------------------------------------------------------

async function collectSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '1.2.3', 'host.cpus': 8 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('checkout-tracer', '0.9.0');
  const other = tracer.startSpan('background');
  other.end([1_700_000_001, 0]);
  const parent = tracer.startSpan('GET /cart', {
    kind: SpanKind.SERVER,
    startTime: [1_700_000_000, 500_000_000],
    attributes: { 'http.route': '/cart', 'http.status_code': 500, retries: [1, 2], cached: false },
  });
  parent.addEvent('exception', { 'exception.type': 'TimeoutError' }, [1_700_000_000, 900_000_000]);
  parent.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timed out' });
  const child = tracer.startSpan(
    'SELECT carts',
    { kind: SpanKind.CLIENT, startTime: [1_700_000_000, 600_000_000], links: [{ context: other.spanContext(), attributes: { reason: 'batch' } }] },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  child.end([1_700_000_000, 700_000_123]);
  parent.end([1_700_000_001, 0]);
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

describe.each(FORMATS)('OTLP traces from the OTel SDK (%s)', (format) => {
  it('keeps every span field', async () => {
    const spans = await collectSpans();
    expect(spans).toHaveLength(3);
    const body = (format === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer).serializeRequest(spans as never);
    if (body === undefined) throw new Error('serializer produced nothing');
    const r = decodeOtlpTraces(body, format);
    if (!r.ok) throw new Error(r.message);
    expect(r.value.rejected).toEqual([]);
    const got = r.value.spans;
    expect(got).toHaveLength(3);
    const byName = new Map(got.map((s) => [s.name, s]));
    for (const sdk of spans) {
      const s = byName.get(sdk.name);
      if (s === undefined) throw new Error(`span ${sdk.name} missing`);
      expect(hex(s.traceId)).toBe(sdk.spanContext().traceId);
      expect(hex(s.spanId)).toBe(sdk.spanContext().spanId);
      expect(s.parentSpanId).toBe(sdk.parentSpanContext?.spanId ?? '');
      expect(s.startTimeNs).toBe(hrNs(sdk.startTime));
      expect(s.durationNs).toBe(hrNs(sdk.endTime) - hrNs(sdk.startTime));
      expect(s.kind).toBe(sdk.kind + 1); // OTLP SpanKind = API SpanKind + 1 (0 is unspecified)
      expect(s.serviceName).toBe('checkout');
      expect(s.scopeName).toBe('checkout-tracer');
      expect(s.scopeVersion).toBe('0.9.0');
      expect(rec(s.resourceAttributes)).toMatchObject({ 'service.name': 'checkout', 'service.version': '1.2.3', 'host.cpus': '8' });
    }
    const parent = byName.get('GET /cart');
    const child = byName.get('SELECT carts');
    const other = byName.get('background');
    if (!parent || !child || !other) throw new Error('spans missing');
    expect(parent.parentSpanId).toBe('');
    expect(child.parentSpanId).toBe(hex(parent.spanId));
    expect(parent.durationNs).toBe(500_000_000n);
    expect(child.durationNs).toBe(100_000_123n);
    expect(parent.statusCode).toBe(2);
    expect(parent.statusMessage).toBe('upstream timed out');
    expect(child.statusCode).toBe(0);
    expect(rec(parent.attributes)).toEqual({ 'http.route': '/cart', 'http.status_code': '500', retries: '[1,2]', cached: 'false' });
    expect(parent.events).toEqual([{ timeUnixNano: 1_700_000_000_900_000_000n, name: 'exception', attributes: { names: ['exception.type'], values: ['TimeoutError'] } }]);
    expect(child.links).toEqual([{ traceId: hex(other.traceId), spanId: hex(other.spanId), traceState: '', attributes: { names: ['reason'], values: ['batch'] } }]);
  });
});

describe('stale markers from the SDK data model', () => {
  it('keeps the exact stale NaN for NO_RECORDED_VALUE (hand-built JSON, SDKs do not emit it)', () => {
    const body = JSON.stringify({
      resourceMetrics: [
        {
          scopeMetrics: [{ metrics: [{ name: 'up', gauge: { dataPoints: [{ timeUnixNano: '1700000000000000000', flags: 1 }] } }] }],
        },
      ],
    });
    const r = decodeOtlpMetrics(Buffer.from(body), 'json');
    if (!r.ok) throw new Error(r.message);
    expect(r.value.sampleCount).toBe(1);
    expect(isStaleNaN(r.value.values[0] as number)).toBe(true);
  });
});
