// OTLP and Loki push ingest throughput (issue #3): pre-encoded OTLP/HTTP
// protobuf traces and logs requests (built by the OTel SDK and its
// exporters' serializer) and snappy protobuf Loki push requests (promtail's
// format) sent to a `fleetwatch all` process on a fresh data dir by 4
// concurrent senders, one signal after another. Reports spans/s, log
// records/s, Loki lines/s and MB/s, CPU and peak RSS, and checks the row
// counts afterwards.
//
//   npm run bench:ingest-otlp-loki -- [--spans 200000] [--logs 200000] [--lines 400000] [--senders 4]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { encodeLokiPushProto, snappyCompress, type LokiStreamInput } from '../../protocols/index.ts';
import { startFleetwatch } from '../../test/helpers/proc.ts';
import { cpuSeconds, fmt, peakRssBytes, prng, sendAll } from '../lib/measure.ts';
import { machineLine, writeSection } from '../lib/results.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const SPANS = arg('spans', 200_000);
const LOGS = arg('logs', 200_000);
const LINES = arg('lines', 400_000);
const SENDERS = arg('senders', 4);
const SPANS_PER_REQUEST = 500;
const LOGS_PER_REQUEST = 500;
const LINES_PER_REQUEST = 1000;
const STREAMS_PER_REQUEST = 10;
const SERVICES = 20;

const rnd = prng(7);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const ROUTES = ['/cart', '/checkout', '/api/v1/items', '/api/v1/items/{id}', '/login', '/search', '/health'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const WORDS = 'request handled user cache miss hit upstream timeout retry connection pool database query slow ok error payment order item cart session token'.split(' ');
const sentence = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');

interface Phase {
  readonly name: string;
  readonly unit: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly okStatuses: number[];
  readonly table: string;
  readonly items: number;
  readonly lanes: Uint8Array[][];
  readonly wireBytes: number;
  /** log text (bodies / lines) in the requests, what Loki counts as ingested bytes */
  readonly contentBytes: number;
}

function lanesOf(bodies: Uint8Array[]): Uint8Array[][] {
  const lanes: Uint8Array[][] = Array.from({ length: SENDERS }, () => []);
  bodies.forEach((b, i) => (lanes[i % SENDERS] as Uint8Array[]).push(b));
  return lanes;
}

/** Traces of 5 spans (a server span and 4 children), as a service's SDK exports them. */
async function buildSpans(): Promise<Phase> {
  const bodies: Uint8Array[] = [];
  const t0 = Date.now() - 30 * 60_000;
  let made = 0;
  for (let req = 0; made < SPANS; req++) {
    const service = `svc-${req % SERVICES}`;
    const mem = new InMemorySpanExporter();
    const tp = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service, 'service.instance.id': `${service}-0`, 'k8s.namespace.name': 'shop', 'host.name': `node-${req % 7}` }), spanProcessors: [new SimpleSpanProcessor(mem)] });
    const tracer = tp.getTracer('bench', '1.0.0');
    const n = Math.min(SPANS_PER_REQUEST, SPANS - made);
    for (let i = 0; i < n; i += 5) {
      const start = t0 + made + i;
      const route = pick(ROUTES);
      const root = tracer.startSpan(`${pick(METHODS)} ${route}`, { kind: SpanKind.SERVER, startTime: start, attributes: { 'http.method': 'GET', 'http.route': route, 'http.status_code': 200, 'net.peer.name': `10.0.${i % 255}.${req % 255}` } });
      const ctx = trace.setSpan(ROOT_CONTEXT, root);
      for (let c = 0; c < Math.min(4, n - i - 1); c++) {
        const child = tracer.startSpan(c % 2 ? 'SELECT orders' : 'redis GET', { kind: SpanKind.CLIENT, startTime: start + c, attributes: { 'db.system': c % 2 ? 'postgresql' : 'redis', 'db.statement': c % 2 ? 'SELECT * FROM orders WHERE id = $1' : 'GET session:*' } }, ctx);
        if (rnd() < 0.05) {
          child.addEvent('exception', { 'exception.type': 'TimeoutError', 'exception.message': 'upstream timed out' }, start + c + 1);
          child.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
        }
        child.end(start + c + 2);
      }
      root.end(start + 10);
    }
    await tp.forceFlush();
    const spans = mem.getFinishedSpans();
    await tp.shutdown();
    bodies.push(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
    made += spans.length;
  }
  return { name: 'OTLP traces (protobuf)', unit: 'spans', path: '/v1/traces', headers: { 'content-type': 'application/x-protobuf' }, okStatuses: [200], table: 'spans', items: made, lanes: lanesOf(bodies), wireBytes: bodies.reduce((a, b) => a + b.length, 0), contentBytes: 0 };
}

async function buildLogs(): Promise<Phase> {
  const bodies: Uint8Array[] = [];
  const t0 = Date.now() - 30 * 60_000;
  let made = 0;
  let contentBytes = 0;
  for (let req = 0; made < LOGS; req++) {
    const service = `svc-${req % SERVICES}`;
    const mem = new InMemoryLogRecordExporter();
    const lp = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service, 'service.instance.id': `${service}-0`, 'k8s.namespace.name': 'shop', 'k8s.pod.name': `${service}-pod-${req % 3}` }), processors: [new SimpleLogRecordProcessor({ exporter: mem })] });
    const logger = lp.getLogger('bench', '1.0.0');
    const n = Math.min(LOGS_PER_REQUEST, LOGS - made);
    for (let i = 0; i < n; i++) {
      const body = `${pick(METHODS)} ${pick(ROUTES)} ${sentence(12)} in ${Math.floor(rnd() * 900)} ms`;
      contentBytes += Buffer.byteLength(body);
      const error = rnd() < 0.05;
      logger.emit({ timestamp: t0 + made + i, severityNumber: error ? SeverityNumber.ERROR : SeverityNumber.INFO, severityText: error ? 'ERROR' : 'INFO', body, attributes: { 'user.id': `u${Math.floor(rnd() * 10_000)}`, 'http.status_code': error ? 500 : 200, thread: `worker-${i % 8}` } });
    }
    await lp.forceFlush();
    const records = mem.getFinishedLogRecords();
    await lp.shutdown();
    bodies.push(ProtobufLogsSerializer.serializeRequest(records) as Uint8Array);
    made += records.length;
  }
  return { name: 'OTLP logs (protobuf)', unit: 'log records', path: '/v1/logs', headers: { 'content-type': 'application/x-protobuf' }, okStatuses: [200], table: 'logs', items: made, lanes: lanesOf(bodies), wireBytes: bodies.reduce((a, b) => a + b.length, 0), contentBytes };
}

/** promtail-style pushes: snappy protobuf, 10 streams of 5 labels per request, lines in time order per stream. */
async function buildLoki(): Promise<Phase> {
  const bodies: Uint8Array[] = [];
  const t0 = BigInt(Date.now() - 30 * 60_000) * 1_000_000n;
  let made = 0;
  let contentBytes = 0;
  for (let req = 0; made < LINES; req++) {
    const n = Math.min(LINES_PER_REQUEST, LINES - made);
    const streams: LokiStreamInput[] = [];
    for (let s = 0; s < STREAMS_PER_REQUEST; s++) {
      const pod = (req * STREAMS_PER_REQUEST + s) % 400;
      const entries = [];
      for (let i = s; i < n; i += STREAMS_PER_REQUEST) {
        const line = `ts=${made + i} level=${rnd() < 0.05 ? 'error' : 'info'} caller=handler.go:${Math.floor(rnd() * 400)} method=${pick(METHODS)} path=${pick(ROUTES)} msg="${sentence(8)}" duration=${Math.floor(rnd() * 900)}ms`;
        contentBytes += Buffer.byteLength(line);
        entries.push({ timestampNs: t0 + BigInt(made + i) * 1000n, line });
      }
      streams.push({ labels: { cluster: `c${pod % 4}`, namespace: `ns-${pod % 10}`, app: `app-${pod % 40}`, pod: `pod-${pod}`, container: 'main' }, entries });
    }
    bodies.push(await snappyCompress(encodeLokiPushProto(streams)));
    made += n;
  }
  return { name: 'Loki push (snappy protobuf)', unit: 'lines', path: '/loki/api/v1/push', headers: { 'content-type': 'application/x-protobuf' }, okStatuses: [204], table: 'logs', items: made, lanes: lanesOf(bodies), wireBytes: bodies.reduce((a, b) => a + b.length, 0), contentBytes };
}

async function tableRows(url: string): Promise<Record<string, number>> {
  const r = (await (await fetch(`${url}/api/v1/status/storage`)).json()) as { data: { table: string; rows: number }[] };
  return Object.fromEntries(r.data.map((t) => [t.table, t.rows]));
}

async function main(): Promise<void> {
  console.log(`building ${SPANS} spans, ${LOGS} log records, ${LINES} Loki lines ...`);
  const phases = [await buildSpans(), await buildLogs(), await buildLoki()];
  for (const p of phases) console.log(`  ${p.name}: ${p.items} ${p.unit} in ${p.lanes.reduce((a, l) => a + l.length, 0)} requests, ${fmt.mib(p.wireBytes)} MiB on the wire`);

  const dataDir = mkdtempSync(path.join(tmpdir(), 'fw-bench-otlp-loki-'));
  const fw = await startFleetwatch(['all', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn']);
  const pid = fw.child.pid as number;
  const rows: { p: Phase; rate: number; toStorage: number; seconds: number; cpu: number; note: string }[] = [];
  try {
    for (const p of phases) {
      const before = (await tableRows(fw.url))[p.table] ?? 0;
      const cpu0 = cpuSeconds(pid);
      const r = await sendAll(`${fw.url}${p.path}`, p.lanes, p.headers, p.okStatuses);
      // reads wait for the ingest log: this returns once every acknowledged row is in ClickHouse
      const t1 = performance.now();
      const stored = ((await tableRows(fw.url))[p.table] ?? 0) - before;
      const settle = (performance.now() - t1) / 1000;
      const cpu = cpuSeconds(pid) - cpu0;
      const seconds = r.elapsedMs / 1000;
      const rate = p.items / seconds;
      const toStorage = p.items / (seconds + settle);
      const notes = [r.failures ? `${r.failures} failed: ${r.firstError}` : '', r.retries ? `${r.retries} retries (429/503)` : '', stored !== p.items ? `stored ${stored} of ${p.items}!` : ''].filter(Boolean);
      console.log(`${p.name}: ${fmt.int(rate)} ${p.unit}/s, ${(p.wireBytes / 1e6 / seconds).toFixed(1)} MB/s on the wire, ${cpu.toFixed(1)} CPU-s in ${seconds.toFixed(1)} s ${notes.join('; ')}`);
      rows.push({ p, rate, toStorage, seconds, cpu, note: notes.join('; ') });
    }
  } finally {
    const rss = peakRssBytes(pid);
    await fw.stop();
    const lines = [
      '## Ingest: OTLP and Loki push (issue #3)',
      '',
      `${machineLine()}. One \`fleetwatch all\` process on a fresh data dir (embedded chDB), ${SENDERS} concurrent senders each waiting for its answers (bench/lib/measure.ts \`sendAll\`), one signal after another. OTLP/HTTP protobuf bodies built by the OTel JS SDK and its exporters' serializer (${SPANS_PER_REQUEST} spans or log records per request, ${SERVICES} services; traces of 5 spans with db/http attributes, 5% with an exception event; log records with 3 attributes, ~110-byte bodies); Loki push as promtail sends it (snappy protobuf, ${LINES_PER_REQUEST} lines in ${STREAMS_PER_REQUEST} streams of 5 labels per request, ~150-byte logfmt lines). "wire MB/s": request bodies as sent; "text MB/s": log bodies / lines (what Loki counts as ingested bytes). Row counts checked after each phase. items/s: until the last request was answered (rows durable in the ingest log); "to ClickHouse": until the last row was in ClickHouse. CPU-s: until then.`,
      '',
      '| signal | items | requests | items/s | to ClickHouse, items/s | wire MB/s | text MB/s | CPU-s (fleetwatch) | notes |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...rows.map(
        ({ p, rate, toStorage, seconds, cpu, note }) =>
          `| ${p.name} | ${fmt.int(p.items)} ${p.unit} | ${fmt.int(p.lanes.reduce((a, l) => a + l.length, 0))} | **${fmt.int(rate)}** ${p.unit}/s | ${fmt.int(toStorage)} | ${(p.wireBytes / 1e6 / seconds).toFixed(1)} | ${p.contentBytes ? (p.contentBytes / 1e6 / seconds).toFixed(1) : ''} | ${cpu.toFixed(1)} | ${note} |`,
      ),
      '',
      `Peak RSS of the fleetwatch process over the run: ${fmt.mib(rss)} MiB.`,
    ];
    if (rows.length === phases.length) writeSection('ingest-otlp-loki', lines.join('\n'));
    console.log(lines.join('\n'));
  }
}

await main();
