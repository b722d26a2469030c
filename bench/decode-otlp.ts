// Micro-benchmark: decoding OTLP export requests as the OTel JS SDK sends
// them (bodies built by @opentelemetry/otlp-transformer, the exporters'
// serializer), protobuf and JSON, for metrics, logs and traces.
//
//   npx tsx bench/decode-otlp.ts [itemsPerRequest=2000] [rounds=20]
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeOtlpLogs, decodeOtlpMetrics, decodeOtlpTraces, type OtlpFormat } from '../protocols/index.ts';

const items = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 20);

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const resource = resourceFromAttributes({ 'service.name': 'checkout', 'service.instance.id': 'pod-1', 'host.name': 'node-1', 'k8s.namespace.name': 'shop' });

async function metricsData(): Promise<unknown> {
  const reader = new Reader();
  const mp = new MeterProvider({ resource, readers: [reader] });
  const meter = mp.getMeter('bench');
  const counter = meter.createCounter('http.server.requests', { unit: '{request}' });
  const hist = meter.createHistogram('http.server.duration', { unit: 's' });
  // 90% counter points, 10% histogram points (each ~18 Prometheus series)
  for (let i = 0; i < items; i++) {
    if (i % 10 === 0) hist.record(i / 1000, { 'http.route': `/r/${i}`, 'http.method': 'GET' });
    else counter.add(i, { 'http.route': `/r/${i}`, 'http.method': 'GET', 'http.status_code': 200, zone: 'z1' });
  }
  return (await reader.collect()).resourceMetrics;
}

async function logsData(): Promise<unknown> {
  const exporter = new InMemoryLogRecordExporter();
  const lp = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
  for (let i = 0; i < items; i++) lp.getLogger('bench').emit({ severityNumber: 9, body: `request ${i} handled in ${i % 100} ms`, attributes: { 'user.id': `u${i}`, route: '/cart', status: 200 } });
  await lp.forceFlush();
  return exporter.getFinishedLogRecords();
}

async function spansData(): Promise<unknown> {
  const exporter = new InMemorySpanExporter();
  const tp = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  for (let i = 0; i < items; i++) {
    const s = tp.getTracer('bench').startSpan(`op${i % 10}`, { attributes: { 'http.route': '/cart', 'http.status_code': 200, i } });
    s.addEvent('retry', { attempt: 1 });
    s.end();
  }
  await tp.forceFlush();
  return exporter.getFinishedSpans();
}

function measure(name: string, body: Uint8Array, decode: () => number): void {
  for (let i = 0; i < 3; i++) decode();
  let n = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) n += decode();
  const ns = Number(process.hrtime.bigint() - start);
  console.log(`${name}: ${(body.length / 1024).toFixed(0)} KiB, ${((ns / rounds) / 1e6).toFixed(2)} ms per request, ${((n / ns) * 1e9 / 1e6).toFixed(2)} M items/s`);
}

const serializers = {
  metrics: { protobuf: ProtobufMetricsSerializer, json: JsonMetricsSerializer },
  logs: { protobuf: ProtobufLogsSerializer, json: JsonLogsSerializer },
  traces: { protobuf: ProtobufTraceSerializer, json: JsonTraceSerializer },
};

const data = { metrics: await metricsData(), logs: await logsData(), traces: await spansData() };
for (const format of ['protobuf', 'json'] as OtlpFormat[]) {
  const m = serializers.metrics[format].serializeRequest(data.metrics as never) as Uint8Array;
  measure(`metrics ${format} (${items} points → Prometheus samples)`, m, () => {
    const r = decodeOtlpMetrics(m, format);
    if (!r.ok) throw new Error(r.message);
    return r.value.sampleCount;
  });
  const l = serializers.logs[format].serializeRequest(data.logs as never) as Uint8Array;
  measure(`logs ${format} (${items} records)`, l, () => {
    const r = decodeOtlpLogs(l, format);
    if (!r.ok) throw new Error(r.message);
    return r.value.recordCount;
  });
  const t = serializers.traces[format].serializeRequest(data.traces as never) as Uint8Array;
  measure(`traces ${format} (${items} spans)`, t, () => {
    const r = decodeOtlpTraces(t, format);
    if (!r.ok) throw new Error(r.message);
    return r.value.spans.length;
  });
}
