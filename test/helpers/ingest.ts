// Reading back what central stored, and sending raw bodies to it, for the
// end-to-end ingest tests (test/ingest-*.test.ts).
import { Metadata, credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ProtobufReader, WIRE_LEN, WIRE_VARINT, otlpGrpcServiceDefinition, type OtlpSignal } from '../../protocols/index.ts';
import type { Store } from '../../storage/index.ts';

export type LabelRecord = Record<string, string>;

/** A label set as one comparable string: name-sorted `k=v` pairs. */
export function keyOf(labels: LabelRecord): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export interface StoredSeries {
  readonly labels: LabelRecord;
  /** [timestamp_ms, value] in time order (duplicates kept: they are bugs the tests look for) */
  readonly samples: [number, number][];
}

/** Every sample of a tenant, by series key (keyOf of its labels). */
export async function storedSamples(store: Store, tenant: string): Promise<Map<string, StoredSeries>> {
  const db = store.database;
  const rows = await store.queryRows<{ labels: LabelRecord; ts: string; value: number | null }>({
    sql:
      `SELECT s.labels AS labels, m.timestamp_ms AS ts, m.value AS value FROM ${db}.metrics_samples AS m ` +
      `INNER JOIN (SELECT DISTINCT fingerprint, labels FROM ${db}.metrics_series WHERE tenant = {t:String}) AS s ON s.fingerprint = m.fingerprint ` +
      `WHERE m.tenant = {t:String} ORDER BY m.fingerprint, m.timestamp_ms`,
    params: { t: tenant },
  });
  const out = new Map<string, StoredSeries>();
  for (const r of rows) {
    const k = keyOf(r.labels);
    let s = out.get(k);
    if (!s) out.set(k, (s = { labels: r.labels, samples: [] }));
    s.samples.push([Number(r.ts), r.value === null ? NaN : r.value]);
  }
  return out;
}

/** Count of rows in a table for a tenant. */
export async function countRows(store: Store, table: string, tenant: string): Promise<number> {
  if (!/^[a-z_]+$/.test(table)) throw new Error(`bad table ${table}`);
  const r = await store.queryRows<{ n: string }>({ sql: `SELECT count() AS n FROM ${store.database}.${table} WHERE tenant = {t:String}`, params: { t: tenant } });
  return Number(r[0]?.n ?? 0);
}

export interface StoredLog {
  readonly stream: LabelRecord;
  readonly ts: string;
  readonly severity: string;
  readonly body: string;
  readonly trace_id: string;
  readonly span_id: string;
  readonly metadata: LabelRecord;
}

/** Every log line of a tenant with its stream labels, in (timestamp, body) order. */
export async function storedLogs(store: Store, tenant: string): Promise<StoredLog[]> {
  const db = store.database;
  return store.queryRows<StoredLog>({
    sql:
      `SELECT s.labels AS stream, toString(toUnixTimestamp64Nano(l.timestamp)) AS ts, l.severity AS severity, l.body AS body, l.trace_id AS trace_id, l.span_id AS span_id, l.metadata AS metadata ` +
      `FROM ${db}.logs AS l INNER JOIN (SELECT DISTINCT fingerprint, labels FROM ${db}.log_streams WHERE tenant = {t:String}) AS s ON s.fingerprint = l.stream_fingerprint ` +
      `WHERE l.tenant = {t:String} ORDER BY l.timestamp, l.body`,
    params: { t: tenant },
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly text: string;
}

/** Deterministic pseudo-random bytes (the same "garbage" every run). */
export function garbage(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = a >>> 24;
  }
  return out;
}

/** POSTs a raw body and reads the whole answer. */
export async function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<HttpAnswer> {
  const r = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers });
  const buf = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, body: buf, text: buf.toString('utf8') };
}

// ---------------------------------------------------------------- OTLP bodies

/** Spans made by the real SDK: `count` root spans of one service, named `${prefix}-${i}`. */
export async function sdkSpans(count: number, opts: { service: string; prefix: string }): Promise<ReadableSpan[]> {
  const mem = new InMemorySpanExporter();
  const tp = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': opts.service }), spanProcessors: [new SimpleSpanProcessor(mem)] });
  const tracer = tp.getTracer('fw-test');
  const t0 = Date.now() - 60_000;
  for (let i = 0; i < count; i++) {
    const s = tracer.startSpan(`${opts.prefix}-${i}`, { startTime: t0 + i, attributes: { i, 'http.route': `/r/${i % 10}` } });
    s.end(t0 + i + 1);
  }
  await tp.forceFlush();
  const out = mem.getFinishedSpans();
  await tp.shutdown();
  return out;
}

/** Log records made by the real SDK: `count` records of one service, bodies `${prefix}-${i}`. */
export async function sdkLogs(count: number, opts: { service: string; prefix: string; startMs?: number }): Promise<ReadableLogRecord[]> {
  const mem = new InMemoryLogRecordExporter();
  const lp = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': opts.service }), processors: [new SimpleLogRecordProcessor({ exporter: mem })] });
  const logger = lp.getLogger('fw-test');
  const t0 = opts.startMs ?? Date.now() - 60_000;
  for (let i = 0; i < count; i++) logger.emit({ timestamp: t0 + i, severityNumber: SeverityNumber.INFO, body: `${opts.prefix}-${i}`, attributes: { i } });
  await lp.forceFlush();
  const out = mem.getFinishedLogRecords();
  await lp.shutdown();
  return out;
}

/** An Export*ServiceRequest body as the SDK exporters serialize it. */
export function otlpBody(signal: 'traces', items: ReadableSpan[], format: 'protobuf' | 'json'): Uint8Array;
export function otlpBody(signal: 'logs', items: ReadableLogRecord[], format: 'protobuf' | 'json'): Uint8Array;
export function otlpBody(signal: 'traces' | 'logs', items: ReadableSpan[] | ReadableLogRecord[], format: 'protobuf' | 'json'): Uint8Array {
  const ser = signal === 'traces' ? (format === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer) : format === 'json' ? JsonLogsSerializer : ProtobufLogsSerializer;
  const body = (ser.serializeRequest as (x: unknown) => Uint8Array | undefined)(items);
  if (!body) throw new Error('serializer returned nothing');
  return body;
}

/** The google.rpc.Status OTLP/HTTP answers with on failure (protobuf). */
export function decodeRpcStatus(buf: Uint8Array): { code: number; message: string } {
  const r = new ProtobufReader(buf);
  let code = 0;
  let message = '';
  while (r.more()) {
    const t = r.tag();
    if (t === ((1 << 3) | WIRE_VARINT)) code = r.uint32();
    else if (t === ((2 << 3) | WIRE_LEN)) message = r.string();
    else r.skip(t & 7);
  }
  return { code, message };
}

/** One raw OTLP/gRPC Export call (no SDK retries in the way). */
export function grpcExport(address: string, signal: OtlpSignal, body: Uint8Array, tenant?: string, opts: { deadlineMs?: number } = {}): Promise<{ err: ServiceError | null; res?: Buffer }> {
  const Client = makeGenericClientConstructor(otlpGrpcServiceDefinition(signal), 'OtlpRaw');
  const client = new Client(address, credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const md = new Metadata();
  if (tenant !== undefined) md.set('x-scope-orgid', tenant);
  return new Promise((resolve) => {
    const exportFn = client.Export as (req: Buffer, md: Metadata, o: object, cb: (err: ServiceError | null, res?: Buffer) => void) => void;
    exportFn.call(client, Buffer.from(body), md, { deadline: Date.now() + (opts.deadlineMs ?? 30_000) }, (err, res) => {
      client.close();
      resolve(res === undefined ? { err } : { err, res });
    });
  });
}
