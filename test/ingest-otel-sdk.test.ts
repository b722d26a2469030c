// The real OpenTelemetry JS SDK exporters (OTLP/gRPC, OTLP/HTTP protobuf,
// OTLP/HTTP JSON) sending metrics, logs and traces to a running central;
// afterwards the ClickHouse tables must hold all of it, mapped as
// https://opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics/
// (metrics) and as Loki's OTLP ingestion (logs) says. Each transport writes
// to its own tenant, so each is checked on its own against the same data.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type HrTime, type SpanContext } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { startTestCentral, type TestCentral } from './helpers/central.ts';
import { keyOf, storedLogs, storedSamples, type LabelRecord } from './helpers/ingest.ts';
import { testStore } from './helpers/store.ts';
import { createStatements, migrate, MIGRATIONS } from '../storage/index.ts';

class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const RESOURCE_ATTRS = { 'service.name': 'checkout', 'service.namespace': 'shop', 'service.instance.id': 'i-1', 'host.name': 'h1', 'deployment.environment': 'prod' };
const resource = resourceFromAttributes(RESOURCE_ATTRS);
const JOB = { job: 'shop/checkout', instance: 'i-1' };

const exportWith = <T>(exporter: { export(items: T, cb: (r: ExportResult) => void): void }, items: T): Promise<ExportResult> =>
  new Promise((resolve) => exporter.export(items, resolve));

const hrNs = (t: HrTime): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const hex = (s: string) => s.toLowerCase();

// --------------------------------------------------------------- the data

interface MetricsData {
  readonly rm: ResourceMetrics;
  /** series key -> [[ts, value]] as the Prometheus model says they must be stored */
  readonly expected: Map<string, [number, number][]>;
}

async function makeMetrics(): Promise<MetricsData> {
  const reader = new CollectingReader();
  const mp = new MeterProvider({ resource, readers: [reader] });
  const meter = mp.getMeter('shop-meter', '1.0.0');
  const orders = meter.createCounter('orders', { unit: '{order}', description: 'orders placed' });
  orders.add(7, { region: 'eu' });
  orders.add(3, { region: 'us' });
  meter.createCounter('bytes.sent', { unit: 'By', description: 'bytes sent' }).add(1024);
  const latency = meter.createHistogram('request.duration', { unit: 's', description: 'request latency', advice: { explicitBucketBoundaries: [0.1, 1] } });
  for (const v of [0.05, 0.5, 2]) latency.record(v, { route: '/pay' });
  const queue = meter.createUpDownCounter('queue.size', { description: 'items queued' });
  queue.add(5);
  queue.add(-2);
  meter.createObservableGauge('cpu.utilization', { unit: '1', description: 'cpu busy fraction' }).addCallback((r) => r.observe(0.42, { cpu: '0' }));
  const { resourceMetrics } = await reader.collect();
  await mp.shutdown();

  // every point of one collection has the same end time: the sample timestamp
  const first = resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints[0];
  if (!first) throw new Error('no data collected');
  const ts = Math.floor(hrTimeToMilliseconds(first.endTime));
  const e = new Map<string, [number, number][]>();
  const put = (labels: LabelRecord, value: number) => e.set(keyOf({ ...JOB, ...labels }), [[ts, value]]);
  put({ __name__: 'orders_total', region: 'eu' }, 7);
  put({ __name__: 'orders_total', region: 'us' }, 3);
  put({ __name__: 'bytes_sent_bytes_total' }, 1024);
  put({ __name__: 'request_duration_seconds_bucket', route: '/pay', le: '0.1' }, 1);
  put({ __name__: 'request_duration_seconds_bucket', route: '/pay', le: '1' }, 2);
  put({ __name__: 'request_duration_seconds_bucket', route: '/pay', le: '+Inf' }, 3);
  put({ __name__: 'request_duration_seconds_sum', route: '/pay' }, 0.05 + 0.5 + 2);
  put({ __name__: 'request_duration_seconds_count', route: '/pay' }, 3);
  put({ __name__: 'queue_size' }, 3);
  put({ __name__: 'cpu_utilization_ratio', cpu: '0' }, 0.42);
  // resource attributes other than service.* go to target_info
  put({ __name__: 'target_info', host_name: 'h1', deployment_environment: 'prod' }, 1);
  return { rm: resourceMetrics, expected: e };
}

const SPAN_CTX: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };

async function makeLogs(): Promise<ReadableLogRecord[]> {
  const mem = new InMemoryLogRecordExporter();
  const lp = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: mem })] });
  const logger = lp.getLogger('app-logger', '1.2.3');
  const t0 = Date.now() - 60_000;
  logger.emit({ timestamp: t0, severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'disk almost full', attributes: { mount: '/data', 'retry.count': 3 } });
  logger.emit({ timestamp: t0 + 1, severityNumber: SeverityNumber.ERROR, body: { event: 'login', ok: false }, attributes: { 'http.route': '/login' }, context: trace.setSpanContext(ROOT_CONTEXT, SPAN_CTX) });
  logger.emit({ timestamp: t0 + 2, body: 'no severity at all' });
  await lp.forceFlush();
  const out = mem.getFinishedLogRecords();
  await lp.shutdown();
  return out;
}

async function makeSpans(): Promise<{ root: ReadableSpan[]; children: ReadableSpan[] }> {
  const mem = new InMemorySpanExporter();
  const tp = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(mem)] });
  const tracer = tp.getTracer('shop-tracer', '0.1.0');
  const t0 = Date.now() - 30_000;
  const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: t0, attributes: { 'http.method': 'GET', 'http.status_code': 200, cached: true, tags: ['a', 'b'] } });
  const linked: SpanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
  const child = tracer.startSpan('charge card', { kind: SpanKind.CLIENT, startTime: t0 + 5, links: [{ context: linked, attributes: { 'link.reason': 'retry-of' } }] }, trace.setSpan(ROOT_CONTEXT, root));
  child.addEvent('retry', { attempt: 2 }, t0 + 7);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  child.end(t0 + 9);
  root.setStatus({ code: SpanStatusCode.OK });
  root.end(t0 + 12.5);
  await tp.forceFlush();
  const spans = mem.getFinishedSpans();
  await tp.shutdown();
  return { root: spans.filter((s) => s.name === 'GET /checkout'), children: spans.filter((s) => s.name !== 'GET /checkout') };
}

// --------------------------------------------------------------- transports

interface Transport {
  readonly tenant: string;
  metrics(): { export: (rm: ResourceMetrics, cb: (r: ExportResult) => void) => void; shutdown(): Promise<void> };
  logs(): { export: (l: ReadableLogRecord[], cb: (r: ExportResult) => void) => void; shutdown(): Promise<void> };
  traces(): { export: (s: ReadableSpan[], cb: (r: ExportResult) => void) => void; shutdown(): Promise<void> };
}

function transports(c: TestCentral): Transport[] {
  const grpcUrl = `http://${c.grpcAddress}`;
  const md = (tenant: string) => {
    const m = new Metadata();
    m.set('x-scope-orgid', tenant);
    return m;
  };
  const headers = (tenant: string) => ({ 'X-Scope-OrgID': tenant });
  return [
    {
      tenant: 'otel-grpc',
      metrics: () => new GrpcMetricExporter({ url: grpcUrl, metadata: md('otel-grpc'), compression: CompressionAlgorithm.GZIP }),
      logs: () => new GrpcLogExporter({ url: grpcUrl, metadata: md('otel-grpc') }),
      traces: () => new GrpcTraceExporter({ url: grpcUrl, metadata: md('otel-grpc'), compression: CompressionAlgorithm.GZIP }),
    },
    {
      tenant: 'otel-proto',
      metrics: () => new ProtoMetricExporter({ url: `${c.httpUrl}/v1/metrics`, headers: headers('otel-proto'), compression: CompressionAlgorithm.GZIP }),
      logs: () => new ProtoLogExporter({ url: `${c.httpUrl}/v1/logs`, headers: headers('otel-proto'), compression: CompressionAlgorithm.GZIP }),
      traces: () => new ProtoTraceExporter({ url: `${c.httpUrl}/v1/traces`, headers: headers('otel-proto') }),
    },
    {
      tenant: 'otel-json',
      metrics: () => new JsonMetricExporter({ url: `${c.httpUrl}/v1/metrics`, headers: headers('otel-json') }),
      logs: () => new JsonLogExporter({ url: `${c.httpUrl}/v1/logs`, headers: headers('otel-json') }),
      traces: () => new JsonTraceExporter({ url: `${c.httpUrl}/v1/traces`, headers: headers('otel-json'), compression: CompressionAlgorithm.GZIP }),
    },
  ];
}

// --------------------------------------------------------------- tests

describe('OpenTelemetry SDK exporters → central → ClickHouse', () => {
  let central: TestCentral;
  let metrics: MetricsData;
  let logs: ReadableLogRecord[];
  let spans: { root: ReadableSpan[]; children: ReadableSpan[] };
  const db = () => central.store.database;

  beforeAll(async () => {
    central = await startTestCentral();
    expect(central.grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    metrics = await makeMetrics();
    logs = await makeLogs();
    spans = await makeSpans();
    for (const t of transports(central)) {
      const m = t.metrics();
      const l = t.logs();
      const s = t.traces();
      try {
        expect((await exportWith(m, metrics.rm)).code, `${t.tenant} metrics`).toBe(ExportResultCode.SUCCESS);
        expect((await exportWith(l, logs)).code, `${t.tenant} logs`).toBe(ExportResultCode.SUCCESS);
        // the root span in one request, its child in a later one (as when two services report one trace)
        expect((await exportWith(s, spans.root)).code, `${t.tenant} root span`).toBe(ExportResultCode.SUCCESS);
        expect((await exportWith(s, spans.children)).code, `${t.tenant} child span`).toBe(ExportResultCode.SUCCESS);
      } finally {
        await Promise.all([m.shutdown(), l.shutdown(), s.shutdown()]);
      }
    }
  });

  afterAll(async () => {
    await central?.shutdown();
  });

  for (const tenant of ['otel-grpc', 'otel-proto', 'otel-json']) {
    describe(tenant, () => {
      it('metrics: Prometheus names, suffixes, histogram series, job/instance and target_info, value for value', async () => {
        const stored = await storedSamples(central.store, tenant);
        const got = new Map([...stored].map(([k, s]) => [k, s.samples]));
        expect(got).toEqual(metrics.expected);
      });

      it('metrics: metadata per family (type, help, unit)', async () => {
        const rows = await central.store.queryRows<{ metric_name: string; type: string; help: string; unit: string }>({
          sql: `SELECT metric_name, type, help, unit FROM ${db()}.metrics_metadata FINAL WHERE tenant = {t:String} ORDER BY metric_name`,
          params: { t: tenant },
        });
        expect(rows).toEqual([
          { metric_name: 'bytes_sent_bytes_total', type: 'counter', help: 'bytes sent', unit: 'bytes' },
          // unit "1" only adds the _ratio name suffix (gauges), as Prometheus's translator does
          { metric_name: 'cpu_utilization_ratio', type: 'gauge', help: 'cpu busy fraction', unit: '' },
          { metric_name: 'orders_total', type: 'counter', help: 'orders placed', unit: '' },
          { metric_name: 'queue_size', type: 'gauge', help: 'items queued', unit: '' },
          { metric_name: 'request_duration_seconds', type: 'histogram', help: 'request latency', unit: 'seconds' },
          { metric_name: 'target_info', type: 'gauge', help: 'Target metadata', unit: '' },
        ]);
      });

      it('logs: bodies, severity, timestamps, trace ids, stream labels and attributes as metadata', async () => {
        const got = await storedLogs(central.store, tenant);
        const stream = { service_name: 'checkout', service_namespace: 'shop', service_instance_id: 'i-1', deployment_environment: 'prod' };
        const base = { host_name: 'h1', scope_name: 'app-logger', scope_version: '1.2.3' };
        const observed = (i: number) => hrNs((logs[i] as ReadableLogRecord).hrTimeObserved).toString();
        const ts = (i: number) => hrNs((logs[i] as ReadableLogRecord).hrTime).toString();
        expect(got).toEqual([
          {
            stream,
            ts: ts(0),
            severity: 'WARN',
            body: 'disk almost full',
            trace_id: '',
            span_id: '',
            metadata: { ...base, mount: '/data', retry_count: '3', observed_timestamp: observed(0), severity_number: '13', severity_text: 'WARN' },
          },
          {
            stream,
            ts: ts(1),
            severity: 'ERROR',
            body: '{"event":"login","ok":false}',
            trace_id: SPAN_CTX.traceId,
            span_id: SPAN_CTX.spanId,
            metadata: { ...base, http_route: '/login', observed_timestamp: observed(1), severity_number: '17', flags: '1' },
          },
          { stream, ts: ts(2), severity: '', body: 'no severity at all', trace_id: '', span_id: '', metadata: { ...base, observed_timestamp: observed(2) } },
        ]);
      });

      it('traces: every span field, events and links', async () => {
        const rows = await central.store.queryRows<Record<string, unknown>>({
          sql:
            `SELECT lower(hex(trace_id)) AS trace_id, lower(hex(span_id)) AS span_id, parent_span_id, trace_state, service_name, name, kind, ` +
            `toString(toUnixTimestamp64Nano(start_time)) AS start_ns, toString(duration_ns) AS duration_ns, status_code, status_message, scope_name, scope_version, ` +
            `attributes, resource_attributes, ` +
            `arrayMap(e -> (toString(e.1), e.2, e.3), events) AS events, links ` +
            `FROM ${db()}.spans WHERE tenant = {t:String} ORDER BY start_time`,
          params: { t: tenant },
        });
        const root = spans.root[0] as ReadableSpan;
        const child = spans.children[0] as ReadableSpan;
        const resourceAttrs = Object.fromEntries(Object.entries(root.resource.attributes).map(([k, v]) => [k, String(v)]));
        expect(resourceAttrs).toMatchObject(RESOURCE_ATTRS);
        const common = { trace_state: '', service_name: 'checkout', scope_name: 'shop-tracer', scope_version: '0.1.0', resource_attributes: resourceAttrs };
        const durationNs = (s: ReadableSpan) => (hrNs(s.endTime) - hrNs(s.startTime)).toString();
        const asTuples = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
        expect(rows.map((r) => ({ ...r, events: asTuples(r.events), links: asTuples(r.links) }))).toEqual([
          {
            ...common,
            trace_id: hex(root.spanContext().traceId),
            span_id: hex(root.spanContext().spanId),
            parent_span_id: '',
            name: 'GET /checkout',
            kind: 2, // OTLP SPAN_KIND_SERVER
            start_ns: hrNs(root.startTime).toString(),
            duration_ns: durationNs(root),
            status_code: 1,
            status_message: '',
            attributes: { 'http.method': 'GET', 'http.status_code': '200', cached: 'true', tags: '["a","b"]' },
            events: [],
            links: [],
          },
          {
            ...common,
            trace_id: hex(root.spanContext().traceId),
            span_id: hex(child.spanContext().spanId),
            parent_span_id: hex(root.spanContext().spanId),
            name: 'charge card',
            kind: 3, // OTLP SPAN_KIND_CLIENT
            start_ns: hrNs(child.startTime).toString(),
            duration_ns: durationNs(child),
            status_code: 2,
            status_message: 'card declined',
            attributes: {},
            events: asTuples([[hrNs((child.events[0] as { time: HrTime }).time).toString(), 'retry', { attempt: '2' }]]),
            links: asTuples([{ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', trace_state: '', attributes: { 'link.reason': 'retry-of' } }]),
          },
        ]);
      });

      it('traces: trace_index (materialized view) keeps the trace time range, span count and root after parts merge', async () => {
        // the root and its child came in separate requests (two parts); once
        // merged, the root must survive the child's part, which has no root
        await central.store.exec({ sql: `OPTIMIZE TABLE ${db()}.trace_index FINAL`, params: {} });
        const rows = await central.store.queryRows<Record<string, unknown>>({
          sql:
            `SELECT lower(hex(trace_id)) AS trace_id, toString(toUnixTimestamp64Nano(start_min)) AS start_ns, toString(toUnixTimestamp64Nano(end_max)) AS end_ns, ` +
            `toString(span_count) AS spans, root_service, root_name FROM ${db()}.trace_index WHERE tenant = {t:String}`,
          params: { t: tenant },
        });
        const root = spans.root[0] as ReadableSpan;
        const child = spans.children[0] as ReadableSpan;
        const end = [root, child].map((s) => hrNs(s.endTime)).reduce((a, b) => (a > b ? a : b));
        expect(rows).toEqual([{ trace_id: hex(root.spanContext().traceId), start_ns: hrNs(root.startTime).toString(), end_ns: end.toString(), spans: '2', root_service: 'checkout', root_name: 'GET /checkout' }]);
      });
    });
  }

  it('migration 2 turns an existing trace_index root merge from anyLast into max', async () => {
    const store = await testStore({ migrate: false });
    try {
      const db = store.database;
      // a database as migration 1 left it: today's tables, with trace_index's root columns as they were
      for (const stmt of createStatements({ database: db }).slice(1)) await store.exec({ sql: stmt, params: {} });
      await store.exec({ sql: `ALTER TABLE ${db}.trace_index MODIFY COLUMN root_service SimpleAggregateFunction(anyLast, String), MODIFY COLUMN root_name SimpleAggregateFunction(anyLast, String)`, params: {} });
      await store.exec({ sql: `CREATE TABLE ${db}.schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY version`, params: {} });
      await store.exec({ sql: `INSERT INTO ${db}.schema_migrations (version, name) VALUES (1, 'initial')`, params: {} });
      const result = await migrate(store);
      expect(result.applied[0]).toBe(2);
      expect(result.current).toBe(Math.max(...MIGRATIONS.map((m) => m.version)));
      const ins = (svc: string) => store.exec({ sql: `INSERT INTO ${db}.trace_index VALUES ('t', 'aaaaaaaaaaaaaaaa', now64(9), now64(9), 1, {s:String}, {s:String})`, params: { s: svc } });
      await ins('root-service');
      await ins('');
      await store.exec({ sql: `OPTIMIZE TABLE ${db}.trace_index FINAL`, params: {} });
      expect(await store.queryRows({ sql: `SELECT root_service, root_name, toString(span_count) AS n FROM ${db}.trace_index`, params: {} })).toEqual([{ root_service: 'root-service', root_name: 'root-service', n: '2' }]);
    } finally {
      await store.close();
    }
  });
});
