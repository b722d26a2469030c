// The real OpenTelemetry JS exporters (OTLP/gRPC, OTLP/HTTP protobuf and
// JSON) against tiny loopback servers built on our decoders, response
// encoders and OTLP/gRPC service definitions. Everything binds 127.0.0.1 on
// port 0 and is closed in afterAll.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Metadata, Server, ServerCredentials, credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter as HttpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as HttpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPLogExporter as HttpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as HttpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { labelsToRecord } from '../core/index.ts';
import {
  GRPC_STATUS,
  createOtlpGrpcServices,
  decodeOtlpLogs,
  decodeOtlpMetrics,
  decodeOtlpTraces,
  encodeOtlpExportResponse,
  isRetryableGrpcCode,
  otlpGrpcServiceDefinition,
  type LogsBatch,
  type MetricsBatch,
  type OtlpGrpcCall,
  type OtlpGrpcResult,
  type OtlpSignal,
  type SpansBatch,
} from '../protocols/index.ts';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const resource = resourceFromAttributes({ 'service.name': 'exporter-test', 'service.instance.id': 'i-9' });

async function someMetrics(): Promise<ResourceMetrics> {
  const reader = new TestReader();
  const mp = new MeterProvider({ resource, readers: [reader] });
  mp.getMeter('m').createCounter('orders', { unit: '{order}' }).add(7, { region: 'eu' });
  mp.getMeter('m').createHistogram('latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1] } }).record(0.5);
  const { resourceMetrics } = await reader.collect();
  await mp.shutdown();
  return resourceMetrics;
}

async function someLogs(): Promise<ReadableLogRecord[]> {
  const exporter = new InMemoryLogRecordExporter();
  const lp = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
  lp.getLogger('l').emit({ severityNumber: SeverityNumber.WARN, body: 'disk almost full', attributes: { mount: '/data' } });
  await lp.forceFlush();
  return exporter.getFinishedLogRecords();
}

async function someSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const tp = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const s = tp.getTracer('t').startSpan('checkout', { attributes: { step: 3 } });
  s.end();
  await tp.forceFlush();
  return exporter.getFinishedSpans();
}

const exportWith = <T>(exporter: { export(items: T, cb: (r: ExportResult) => void): void }, items: T): Promise<ExportResult> =>
  new Promise((resolve) => exporter.export(items, resolve));

function metricNames(b: MetricsBatch): string[] {
  return [...new Set(b.series.map((s) => s.metricName))].sort();
}

// ---------------------------------------------------------------------------

interface Received {
  tenant: string;
  signal: OtlpSignal;
  metrics?: MetricsBatch;
  logs?: LogsBatch;
  spans?: SpansBatch;
}

describe('OTLP/gRPC services with the OTel gRPC exporters', () => {
  const received: Received[] = [];
  /** what the next call answers instead of decoding, when set */
  let override: ((call: OtlpGrpcCall) => Promise<OtlpGrpcResult>) | null = null;
  let server: Server;
  let address = '';

  beforeAll(async () => {
    const handle = (signal: OtlpSignal) => async (tenant: string, body: Uint8Array, call: OtlpGrpcCall): Promise<OtlpGrpcResult> => {
      if (override !== null) return override(call);
      if (signal === 'metrics') {
        const r = decodeOtlpMetrics(body, 'protobuf');
        if (!r.ok) return { ok: false, code: GRPC_STATUS.INVALID_ARGUMENT, message: r.message };
        received.push({ tenant, signal, metrics: r.value });
        return { ok: true, rejected: r.value.rejected };
      }
      if (signal === 'logs') {
        const r = decodeOtlpLogs(body, 'protobuf');
        if (!r.ok) return { ok: false, code: GRPC_STATUS.INVALID_ARGUMENT, message: r.message };
        received.push({ tenant, signal, logs: r.value });
        // a partial success, to see the exporter accept it
        return { ok: true, rejected: [{ reason: 'log record too old', count: 1 }] };
      }
      const r = decodeOtlpTraces(body, 'protobuf');
      if (!r.ok) return { ok: false, code: GRPC_STATUS.INVALID_ARGUMENT, message: r.message };
      received.push({ tenant, signal, spans: r.value });
      return { ok: true, rejected: r.value.rejected };
    };
    server = new Server();
    for (const s of createOtlpGrpcServices({ metrics: handle('metrics'), logs: handle('logs'), traces: handle('traces') })) server.addService(s.definition, s.implementation);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  const tenantMetadata = (tenant: string): Metadata => {
    const md = new Metadata();
    md.set('x-scope-orgid', tenant);
    return md;
  };

  it('metrics (gzip), logs and traces arrive decoded, with the tenant header', async () => {
    const metricsExporter = new GrpcMetricExporter({ url: `http://${address}`, metadata: tenantMetadata('team-a'), compression: CompressionAlgorithm.GZIP });
    const logsExporter = new GrpcLogExporter({ url: `http://${address}`, metadata: tenantMetadata('team-b') });
    const traceExporter = new GrpcTraceExporter({ url: `http://${address}` });
    try {
      expect((await exportWith(metricsExporter, await someMetrics())).code).toBe(ExportResultCode.SUCCESS);
      expect((await exportWith(logsExporter, await someLogs())).code).toBe(ExportResultCode.SUCCESS);
      expect((await exportWith(traceExporter, await someSpans())).code).toBe(ExportResultCode.SUCCESS);
    } finally {
      await Promise.all([metricsExporter.shutdown(), logsExporter.shutdown(), traceExporter.shutdown()]);
    }
    const [m, l, t] = received;
    expect(m?.tenant).toBe('team-a');
    expect(metricNames(m?.metrics as MetricsBatch)).toEqual(['latency_seconds_bucket', 'latency_seconds_count', 'latency_seconds_sum', 'orders_total']);
    const orders = m?.metrics?.series.find((s) => s.metricName === 'orders_total');
    expect(labelsToRecord(orders?.labels ?? { names: [], values: [] })).toEqual({ __name__: 'orders_total', job: 'exporter-test', instance: 'i-9', region: 'eu' });
    expect(l?.tenant).toBe('team-b');
    expect(l?.logs?.bodies).toEqual(['disk almost full']);
    expect(l?.logs?.severities).toEqual(['WARN']);
    expect(t?.tenant).toBe(''); // no header: the handler decides what that means
    expect(t?.spans?.spans.map((s) => [s.name, s.serviceName, labelsToRecord(s.attributes)])).toEqual([['checkout', 'exporter-test', { step: '3' }]]);
  });

  // a raw client for the status-code cases (the SDK exporters retry and hide details)
  const rawExport = (signal: OtlpSignal, body: Buffer, deadlineMs?: number): Promise<{ err: ServiceError | null; res?: Buffer }> => {
    const Client = makeGenericClientConstructor(otlpGrpcServiceDefinition(signal), 'OtlpRaw');
    const client = new Client(address, credentials.createInsecure());
    const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    return new Promise((resolve) => {
      const exportFn = client.Export as (req: Buffer, md: Metadata, opts: object, cb: (err: ServiceError | null, res?: Buffer) => void) => void;
      exportFn.call(client, body, new Metadata(), options, (err, res) => {
        client.close();
        resolve(res === undefined ? { err } : { err, res });
      });
    });
  };

  it('a body that does not decode answers INVALID_ARGUMENT (not retryable)', async () => {
    const { err } = await rawExport('traces', Buffer.from([0x0a, 0xff]));
    expect(err?.code).toBe(GRPC_STATUS.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/invalid OTLP traces request/);
    expect(isRetryableGrpcCode(GRPC_STATUS.INVALID_ARGUMENT, false)).toBe(false);
  });

  it('partial success comes back as an ExportTraceServiceResponse', async () => {
    const span = Buffer.concat([Buffer.from([0x0a, 2, 1, 2]), Buffer.from([0x12, 8]), Buffer.alloc(8, 1)]); // 2-byte trace id
    const body = Buffer.concat([Buffer.from([0x0a, span.length + 4, 0x12, span.length + 2, 0x12, span.length]), span]);
    const { err, res } = await rawExport('traces', body);
    expect(err).toBeNull();
    // ExportTraceServiceResponse{partial_success{rejected_spans=1, error_message}}
    expect(res?.[0]).toBe(0x0a);
    expect(res?.subarray(2, 4)).toEqual(Buffer.from([0x08, 0x01]));
    expect(res?.toString('utf8')).toMatch(/1 spans rejected: span with an invalid trace_id/);
  });

  it('UNAVAILABLE carries RetryInfo in grpc-status-details-bin', async () => {
    override = async () => ({ ok: false, code: GRPC_STATUS.UNAVAILABLE, message: 'ingest is over capacity', retryDelayMs: 3000 });
    try {
      const { err } = await rawExport('metrics', Buffer.alloc(0));
      expect(err?.code).toBe(GRPC_STATUS.UNAVAILABLE);
      expect(err?.details).toBe('ingest is over capacity');
      const details = err?.metadata.get('grpc-status-details-bin')[0];
      expect(Buffer.isBuffer(details)).toBe(true);
      const text = (details as Buffer).toString('latin1');
      expect(text).toContain('type.googleapis.com/google.rpc.RetryInfo');
      // Duration{seconds=3}: 0x08 0x03 inside RetryInfo{retry_delay=1}
      expect((details as Buffer).includes(Buffer.from([0x0a, 0x02, 0x08, 0x03]))).toBe(true);
      expect(isRetryableGrpcCode(GRPC_STATUS.UNAVAILABLE, true)).toBe(true);
      // RESOURCE_EXHAUSTED is retryable only when RetryInfo says the server can recover
      expect(isRetryableGrpcCode(GRPC_STATUS.RESOURCE_EXHAUSTED, false)).toBe(false);
      expect(isRetryableGrpcCode(GRPC_STATUS.RESOURCE_EXHAUSTED, true)).toBe(true);
    } finally {
      override = null;
    }
  });

  it('a handler that throws answers INTERNAL without leaking the error', async () => {
    override = async () => {
      throw new Error('secret internals');
    };
    try {
      const { err } = await rawExport('logs', Buffer.alloc(0));
      expect(err?.code).toBe(GRPC_STATUS.INTERNAL);
      expect(err?.details).toBe('internal error');
    } finally {
      override = null;
    }
  });

  it('a call past its deadline aborts the handler signal', async () => {
    let sawAbort!: () => void;
    const aborted = new Promise<void>((resolve) => {
      sawAbort = resolve;
    });
    override = (call) =>
      new Promise((resolve) => {
        call.signal.addEventListener('abort', () => {
          sawAbort();
          resolve({ ok: true, rejected: [] });
        });
      });
    try {
      const { err } = await rawExport('metrics', Buffer.alloc(0), 100);
      expect(err?.code).toBe(GRPC_STATUS.DEADLINE_EXCEEDED);
      await aborted;
    } finally {
      override = null;
    }
  });
});

// ---------------------------------------------------------------------------

describe('OTLP/HTTP exporters (protobuf and JSON) against our decoders', () => {
  const received: { path: string; contentType: string; metrics?: MetricsBatch; logs?: LogsBatch; spans?: SpansBatch }[] = [];
  let http: HttpServer;
  let base = '';

  const readBody = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
  };

  beforeAll(async () => {
    http = createServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        const contentType = req.headers['content-type'] ?? '';
        const format = contentType.startsWith('application/json') ? 'json' : 'protobuf';
        const path = req.url ?? '';
        const signal: OtlpSignal = path === '/v1/metrics' ? 'metrics' : path === '/v1/logs' ? 'logs' : 'traces';
        let rejected: { reason: string; count: number }[] = [];
        if (signal === 'metrics') {
          const r = decodeOtlpMetrics(body, format);
          if (!r.ok) return void res.writeHead(400).end(r.message);
          received.push({ path, contentType, metrics: r.value });
          rejected = [{ reason: 'sample too old', count: 1 }];
        } else if (signal === 'logs') {
          const r = decodeOtlpLogs(body, format);
          if (!r.ok) return void res.writeHead(400).end(r.message);
          received.push({ path, contentType, logs: r.value });
        } else {
          const r = decodeOtlpTraces(body, format);
          if (!r.ok) return void res.writeHead(400).end(r.message);
          received.push({ path, contentType, spans: r.value });
        }
        res.writeHead(200, { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf' });
        res.end(encodeOtlpExportResponse(signal, rejected, format));
      })();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const addr = http.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    base = `http://127.0.0.1:${addr.port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  it('metrics over http/protobuf (gzip) and http/json', async () => {
    const data = await someMetrics();
    const proto = new HttpProtoMetricExporter({ url: `${base}/v1/metrics`, compression: CompressionAlgorithm.GZIP });
    const json = new HttpJsonMetricExporter({ url: `${base}/v1/metrics` });
    try {
      expect((await exportWith(proto, data)).code).toBe(ExportResultCode.SUCCESS);
      expect((await exportWith(json, data)).code).toBe(ExportResultCode.SUCCESS);
    } finally {
      await Promise.all([proto.shutdown(), json.shutdown()]);
    }
    const [p, j] = received.splice(0);
    expect(p?.contentType).toBe('application/x-protobuf');
    expect(j?.contentType).toBe('application/json');
    // both encodings decode to the same batch
    expect(j?.metrics).toEqual(p?.metrics);
    expect(metricNames(p?.metrics as MetricsBatch)).toEqual(['latency_seconds_bucket', 'latency_seconds_count', 'latency_seconds_sum', 'orders_total']);
  });

  it('logs over http/protobuf and traces over http/json', async () => {
    const logs = new HttpProtoLogExporter({ url: `${base}/v1/logs` });
    const traces = new HttpJsonTraceExporter({ url: `${base}/v1/traces` });
    try {
      expect((await exportWith(logs, await someLogs())).code).toBe(ExportResultCode.SUCCESS);
      expect((await exportWith(traces, await someSpans())).code).toBe(ExportResultCode.SUCCESS);
    } finally {
      await Promise.all([logs.shutdown(), traces.shutdown()]);
    }
    const [l, t] = received.splice(0);
    expect(l?.logs?.bodies).toEqual(['disk almost full']);
    const meta = labelsToRecord(l?.logs?.metadata[0] ?? { names: [], values: [] });
    expect(meta.mount).toBe('/data');
    expect(meta.service_instance_id).toBeUndefined(); // a stream label, not metadata
    expect(labelsToRecord(l?.logs?.streams[0]?.labels ?? { names: [], values: [] })).toEqual({ service_name: 'exporter-test', service_instance_id: 'i-9' });
    expect(t?.spans?.spans[0]?.name).toBe('checkout');
  });
});
