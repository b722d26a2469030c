// The collector → central batch format ("fleet batch") and the record frame
// it is made of. The collector's write-ahead log stores exactly these frames,
// and a shipped batch is a magic header followed by a run of frames copied
// from the WAL unchanged, snappy-compressed as one block.
//
// Why this design rather than re-encoding to remote_write / OTLP / Loki push:
// - Decode once, at the edge. The collector has already decoded and
//   validated what its clients sent; a frame holds that typed data in columns
//   (sample series index, timestamps and values as raw little-endian arrays),
//   so central copies columns instead of walking protobuf per sample, and the
//   collector never encodes anything twice: shipping is a file read plus
//   compression.
// - Labels travel as a length-prefixed byte block per series, written once
//   per series by the collector (cached on the SeriesRef) and, at central,
//   looked up by those raw bytes in a cache (as remote_write's label cache
//   does), so a series seen before costs one hash and one compare.
// - Every frame carries a CRC-32 of its body, checked when the WAL is
//   replayed, when the shipper reads it back and again at central: disk or
//   transit corruption is caught end to end, never stored.
// - Snappy because CPU, not bandwidth, is what the collector and central
//   are short of: it compresses at hundreds of MB/s and central decompresses
//   faster than it can parse; gzip would cost several times the CPU for a
//   better ratio (the block has no cross-request dictionary to exploit).
// - No state spans batches (no shared symbol table), so any central replica
//   can take any batch and a retried batch is byte-for-byte the same, which
//   is what makes idempotent batch ids work.
//
// Frame (little-endian):
//   u32 bodyLength | u32 crc32(body) | body
//   body = u8 type | u8 payloadVersion | u16 tenantBytes | u32 seqLo | u32 seqHi
//          | f64 appendedMs | tenant (UTF-8) | payload
// Batch: "FWB1" followed by frames.
//
// Payloads (varint = unsigned LEB128, string = varint length + UTF-8,
// labels = varint byte length + (varint count, (string name, string value)*)):
//   metrics: varint series, labels per series, varint samples,
//            u32[] sample series index, f64[] timestamps (ms), f64[] values
//            (raw bits: stale markers survive), varint exemplars (varint
//            series, labels, f64 ts, f64 value)*, varint metadata (string
//            family, type, help, unit)*
//   logs:    varint streams, labels per stream, varint records,
//            u32[] record stream index, i64[] timestamps (ns),
//            (string severity, body, traceId, spanId, labels metadata)*
//   spans:   varint spans, per span: 16 bytes trace id, 8 bytes span id,
//            string parent, traceState, service, name, u8 kind, i64 start ns,
//            i64 duration ns, u8 status, string status message, scope name,
//            scope version, labels attributes, labels resource, varint events
//            (i64 ns, string name, labels)*, varint links (string trace id,
//            span id, trace state, labels)*
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import type { Labels } from '../core/index.ts';
import { ProtobufDecodeError, ProtobufReader } from './protobuf-reader.ts';
import type { LabelBytesCache } from './label-bytes-cache.ts';
import { EMPTY_LABELS, makeSeries, makeStream } from './series.ts';
import type { DecodeResult, Exemplar, LogStream, LogsBatch, MetricMetadata, MetricsBatch, SeriesRef, Span, SpanEvent, SpanLink, SpansBatch } from './types.ts';

// Columns are copied as raw typed-array bytes; the format is little-endian.
if (endianness() !== 'LE') throw new Error('the fleet batch format needs a little-endian CPU');

export const FLEET_RECORD_METRICS = 1;
export const FLEET_RECORD_LOGS = 2;
export const FLEET_RECORD_SPANS = 3;
/**
 * Central's own ingest log (ingest/ingest-log.ts): ClickHouse-ready RowBinary
 * rows. Framed like the others so one WAL implementation serves both, but
 * never valid in a batch a collector ships.
 */
export const FLEET_RECORD_ROWS = 4;
export type FleetRecordType = typeof FLEET_RECORD_METRICS | typeof FLEET_RECORD_LOGS | typeof FLEET_RECORD_SPANS | typeof FLEET_RECORD_ROWS;

const PAYLOAD_VERSION = 1;
/** u32 length + u32 crc */
export const FLEET_FRAME_HEADER_BYTES = 8;
/** fixed part of a frame body before the tenant */
const BODY_FIXED_BYTES = 20;
/** a frame body larger than this is treated as corruption */
export const FLEET_MAX_FRAME_BYTES = 512 * 1024 * 1024;

export const FLEET_BATCH_MAGIC = Buffer.from('FWB1', 'latin1');
export const FLEET_BATCH_CONTENT_TYPE = 'application/x-fleetwatch-batch';

// --- writing ---------------------------------------------------------------

class FleetWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  varint(v: number): void {
    this.ensure(5);
    v >>>= 0;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The first `count` elements of a typed array, as their raw bytes. */
  column(a: Uint32Array | Float64Array | BigInt64Array, count: number): void {
    this.raw(new Uint8Array(a.buffer, a.byteOffset, count * a.BYTES_PER_ELEMENT));
  }

  string(s: string): void {
    // the length prefix is written after the bytes are known: reserve the
    // varint size of the worst case, shift when the real length is shorter
    const max = s.length * 3;
    const lenBytes = varintSize(max);
    this.ensure(max + lenBytes);
    const written = s.length === 0 ? 0 : this.buf.write(s, this.pos + lenBytes, 'utf8');
    const need = varintSize(written);
    if (need !== lenBytes) this.buf.copyWithin(this.pos + need, this.pos + lenBytes, this.pos + lenBytes + written);
    this.varint(written);
    this.pos += written;
  }

  /** A label block written before (see {@link encodeFleetLabels}). */
  labelBlock(block: Uint8Array): void {
    this.varint(block.length);
    this.raw(block);
  }

  labels(l: Labels): void {
    this.labelBlock(encodeFleetLabels(l));
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** The byte form of a label set (without its length prefix): the unit central caches by. */
export function encodeFleetLabels(l: Labels): Uint8Array {
  let est = 5;
  for (let i = 0; i < l.names.length; i++) est += ((l.names[i] as string).length + (l.values[i] as string).length) * 3 + 10;
  const w = new FleetWriter(est);
  w.varint(l.names.length);
  for (let i = 0; i < l.names.length; i++) {
    w.string(l.names[i] as string);
    w.string(l.values[i] as string);
  }
  return Uint8Array.from(w.finish());
}

/**
 * Metrics payload. `labelsOf` gives each series' label block (the collector
 * returns a cached block with its external labels already stamped in).
 */
export function encodeFleetMetrics(batch: MetricsBatch, labelsOf: (s: SeriesRef) => Uint8Array): Buffer {
  const n = batch.sampleCount;
  let est = 32 + n * 20;
  const blocks: Uint8Array[] = new Array(batch.series.length);
  for (let i = 0; i < batch.series.length; i++) {
    const b = labelsOf(batch.series[i] as SeriesRef);
    blocks[i] = b;
    est += b.length + 5;
  }
  const w = new FleetWriter(est);
  w.varint(blocks.length);
  for (const b of blocks) w.labelBlock(b);
  w.varint(n);
  w.column(batch.sampleSeries, n);
  w.column(batch.timestampsMs, n);
  w.column(batch.values, n);
  w.varint(batch.exemplars.length);
  for (const e of batch.exemplars) {
    w.varint(e.seriesIndex);
    w.labels(e.labels);
    w.f64(e.timestampMs);
    w.f64(e.value);
  }
  w.varint(batch.metadata.length);
  for (const m of batch.metadata) {
    w.string(m.metricFamilyName);
    w.string(m.type);
    w.string(m.help);
    w.string(m.unit);
  }
  return w.finish();
}

export function encodeFleetLogs(batch: LogsBatch, labelsOf: (s: LogStream) => Uint8Array): Buffer {
  const n = batch.recordCount;
  let est = 32 + n * 16;
  for (let j = 0; j < n; j++) est += (batch.bodies[j] as string).length + 16;
  const blocks = batch.streams.map((s) => {
    const b = labelsOf(s);
    est += b.length + 5;
    return b;
  });
  const w = new FleetWriter(est);
  w.varint(blocks.length);
  for (const b of blocks) w.labelBlock(b);
  w.varint(n);
  w.column(batch.recordStream, n);
  w.column(batch.timestampsNs, n);
  for (let j = 0; j < n; j++) {
    w.string(batch.severities[j] ?? '');
    w.string(batch.bodies[j] ?? '');
    w.string(batch.traceIds[j] ?? '');
    w.string(batch.spanIds[j] ?? '');
    const md = batch.metadata[j];
    if (md && md.names.length > 0) w.labels(md);
    else w.varint(0);
  }
  return w.finish();
}

/** Spans payload; `resourceOf` may rewrite each span's resource attributes (external labels). */
export function encodeFleetSpans(batch: SpansBatch, resourceOf: (l: Labels) => Labels = (l) => l): Buffer {
  const w = new FleetWriter(64 + batch.spans.length * 256);
  w.varint(batch.spans.length);
  for (const s of batch.spans) {
    w.raw(fixed(s.traceId, 16));
    w.raw(fixed(s.spanId, 8));
    w.string(s.parentSpanId);
    w.string(s.traceState);
    w.string(s.serviceName);
    w.string(s.name);
    w.u8(s.kind);
    w.i64(s.startTimeNs);
    w.i64(s.durationNs);
    w.u8(s.statusCode);
    w.string(s.statusMessage);
    w.string(s.scopeName);
    w.string(s.scopeVersion);
    w.labels(s.attributes);
    w.labels(resourceOf(s.resourceAttributes));
    w.varint(s.events.length);
    for (const e of s.events) {
      w.i64(e.timeUnixNano);
      w.string(e.name);
      w.labels(e.attributes);
    }
    w.varint(s.links.length);
    for (const l of s.links) {
      w.string(l.traceId);
      w.string(l.spanId);
      w.string(l.traceState);
      w.labels(l.attributes);
    }
  }
  return w.finish();
}

function fixed(b: Uint8Array, n: number): Uint8Array {
  if (b.length === n) return b;
  const out = new Uint8Array(n);
  out.set(b.subarray(0, n));
  return out;
}

const tenantScratch = Buffer.allocUnsafe(1024);

/**
 * The frame header for a payload: length, CRC over body, and the body's
 * fixed part with the tenant. Written before the payload (writev), so the
 * payload is never copied to frame it.
 */
export function encodeFleetFrameHeader(type: FleetRecordType, seq: number, appendedMs: number, tenant: string, whole: Uint8Array | readonly Uint8Array[]): Buffer {
  const payload = whole instanceof Uint8Array ? [whole] : whole;
  let payloadBytes = 0;
  for (const p of payload) payloadBytes += p.length;
  const tenantLen = tenantScratch.write(tenant, 0, 'utf8');
  if (tenantLen >= tenantScratch.length || tenantLen > 0xffff) throw new RangeError('tenant id too long');
  const h = Buffer.allocUnsafe(FLEET_FRAME_HEADER_BYTES + BODY_FIXED_BYTES + tenantLen);
  const bodyLen = BODY_FIXED_BYTES + tenantLen + payloadBytes;
  h.writeUInt32LE(bodyLen, 0);
  h[8] = type;
  h[9] = PAYLOAD_VERSION;
  h.writeUInt16LE(tenantLen, 10);
  h.writeUInt32LE(seq % 4294967296, 12);
  h.writeUInt32LE(Math.floor(seq / 4294967296), 16);
  h.writeDoubleLE(appendedMs, 20);
  tenantScratch.copy(h, 28, 0, tenantLen);
  let crc = crc32(h.subarray(FLEET_FRAME_HEADER_BYTES));
  for (const p of payload) crc = crc32(p, crc);
  h.writeUInt32LE(crc, 4);
  return h;
}

/** One whole frame in one buffer (tests, small records). */
export function encodeFleetFrame(type: FleetRecordType, seq: number, appendedMs: number, tenant: string, payload: Uint8Array): Buffer {
  return Buffer.concat([encodeFleetFrameHeader(type, seq, appendedMs, tenant, payload), payload]);
}

// --- reading frames ----------------------------------------------------------

export interface FleetFrame {
  readonly type: number;
  readonly seq: number;
  readonly appendedMs: number;
  readonly tenant: string;
  /** offsets into the buffer the frame was read from */
  readonly start: number;
  readonly end: number;
  readonly payloadStart: number;
}

export type FleetFrameRead =
  | { readonly ok: true; readonly frame: FleetFrame }
  /** `truncated`: the buffer ends inside the frame (a torn write); `corrupt`: bad length or checksum */
  | { readonly ok: false; readonly reason: 'truncated' | 'corrupt'; readonly message: string };

/**
 * The payload of one whole frame already checked (readFleetFrame or a WAL
 * read did): no second CRC pass.
 */
export function fleetFramePayload(frame: Uint8Array): Uint8Array {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const bodyLen = b.readUInt32LE(0);
  if (FLEET_FRAME_HEADER_BYTES + bodyLen !== b.length) throw new RangeError(`a frame of ${b.length} bytes says its body has ${bodyLen}`);
  const tenantLen = b.readUInt16LE(FLEET_FRAME_HEADER_BYTES + 2);
  return frame.subarray(FLEET_FRAME_HEADER_BYTES + BODY_FIXED_BYTES + tenantLen);
}

/** Reads the frame at `off` (callers stop at the buffer's end), checking its CRC. */
export function readFleetFrame(buf: Uint8Array, off: number, end = buf.length): FleetFrameRead {
  if (end - off < FLEET_FRAME_HEADER_BYTES) return { ok: false, reason: 'truncated', message: `${end - off} bytes left, less than a frame header` };
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bodyLen = b.readUInt32LE(off);
  if (bodyLen < BODY_FIXED_BYTES || bodyLen > FLEET_MAX_FRAME_BYTES) return { ok: false, reason: 'corrupt', message: `implausible frame length ${bodyLen}` };
  const bodyStart = off + FLEET_FRAME_HEADER_BYTES;
  if (bodyStart + bodyLen > end) return { ok: false, reason: 'truncated', message: `frame of ${bodyLen} bytes runs past the end (${end - bodyStart} left)` };
  const want = b.readUInt32LE(off + 4);
  const got = crc32(b.subarray(bodyStart, bodyStart + bodyLen));
  if (want !== got) return { ok: false, reason: 'corrupt', message: `checksum mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})` };
  const type = b[bodyStart] as number;
  const version = b[bodyStart + 1] as number;
  const tenantLen = b.readUInt16LE(bodyStart + 2);
  if (version !== PAYLOAD_VERSION) return { ok: false, reason: 'corrupt', message: `unknown payload version ${version}` };
  if (type < FLEET_RECORD_METRICS || type > FLEET_RECORD_ROWS) return { ok: false, reason: 'corrupt', message: `unknown record type ${type}` };
  if (BODY_FIXED_BYTES + tenantLen > bodyLen) return { ok: false, reason: 'corrupt', message: 'tenant runs past the frame' };
  const seq = b.readUInt32LE(bodyStart + 4) + b.readUInt32LE(bodyStart + 8) * 4294967296;
  const appendedMs = b.readDoubleLE(bodyStart + 12);
  const tenant = b.toString('utf8', bodyStart + BODY_FIXED_BYTES, bodyStart + BODY_FIXED_BYTES + tenantLen);
  return { ok: true, frame: { type, seq, appendedMs, tenant, start: off, end: bodyStart + bodyLen, payloadStart: bodyStart + BODY_FIXED_BYTES + tenantLen } };
}

// --- decoding payloads -------------------------------------------------------

export interface FleetDecodeOptions {
  /**
   * Labels set on every series, log stream and span resource, replacing any
   * of the same name: central stamps the cluster its credential names, so a
   * collector cannot write as another cluster.
   */
  readonly forceLabels?: Labels;
  /** decoded series by their label block bytes (must be per forceLabels) */
  readonly seriesCache?: LabelBytesCache<SeriesRef>;
  readonly streamCache?: LabelBytesCache<LogStream>;
}

/** What one tenant's frames in a batch decode to (frames of a type merged into one batch). */
export interface FleetTenantContent {
  metrics: MetricsBatch | undefined;
  logs: LogsBatch | undefined;
  spans: SpansBatch | undefined;
}

export interface FleetBatchContent {
  readonly frames: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly byTenant: Map<string, FleetTenantContent>;
}

function bad(message: string): never {
  throw new ProtobufDecodeError(message);
}

function readLabelBlock(r: ProtobufReader, end: number, force: Labels | undefined): { names: string[]; values: string[] } {
  const saved = r.end;
  r.end = end;
  const n = r.pos === end ? 0 : r.uint32();
  if (n > (end - r.pos) / 2) bad('label count larger than its block');
  const names: string[] = new Array(n);
  const values: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const name = r.stringOrNull();
    const value = r.stringOrNull();
    if (name === null || value === null) bad('label is not valid UTF-8');
    names[i] = name;
    values[i] = value;
  }
  if (r.pos !== end) bad('label block has trailing bytes');
  r.end = saved;
  if (force) {
    for (let k = 0; k < force.names.length; k++) {
      const fname = force.names[k] as string;
      const i = names.indexOf(fname);
      if (i >= 0) values[i] = force.values[k] as string;
      else {
        names.push(fname);
        values.push(force.values[k] as string);
      }
    }
  }
  return { names, values };
}

function readLabels(r: ProtobufReader, force?: Labels): Labels {
  const e = r.lenEnd();
  if (e === r.pos && !force) return EMPTY_LABELS;
  const l = readLabelBlock(r, e, force);
  r.pos = e;
  // makeSeries-style sort without hashing: names sorted, values alongside
  const idx = l.names.map((_, i) => i).sort((a, b) => ((l.names[a] as string) < (l.names[b] as string) ? -1 : (l.names[a] as string) > (l.names[b] as string) ? 1 : 0));
  return { names: idx.map((i) => l.names[i] as string), values: idx.map((i) => l.values[i] as string) };
}

function readColumn<T extends Uint32Array | Float64Array | BigInt64Array>(r: ProtobufReader, make: (n: number) => T, n: number): T {
  const out = make(n);
  const bytes = n * out.BYTES_PER_ELEMENT;
  if (r.pos + bytes > r.end) bad('column runs past the end of the record');
  new Uint8Array(out.buffer).set(r.buf.subarray(r.pos, r.pos + bytes));
  r.pos += bytes;
  return out;
}

function decodeMetricsPayload(r: ProtobufReader, opts: FleetDecodeOptions): MetricsBatch {
  const seriesCount = r.uint32();
  if (seriesCount > r.end - r.pos) bad('series count larger than the record');
  const series: SeriesRef[] = new Array(seriesCount);
  const cache = opts.seriesCache;
  for (let i = 0; i < seriesCount; i++) {
    const e = r.lenEnd();
    const s = r.pos;
    let ref = cache?.get(r.buf, s, e);
    if (ref === undefined) {
      const l = readLabelBlock(r, e, opts.forceLabels);
      ref = makeSeries(l.names, l.values);
      cache?.set(r.buf, s, e, ref);
    }
    series[i] = ref;
    r.pos = e;
  }
  const n = r.uint32();
  if (n * 20 > r.end - r.pos) bad('sample count larger than the record');
  const sampleSeries = readColumn(r, (k) => new Uint32Array(k), n);
  for (let j = 0; j < n; j++) if ((sampleSeries[j] as number) >= seriesCount) bad(`sample ${j} names series ${sampleSeries[j]} of ${seriesCount}`);
  const timestampsMs = readColumn(r, (k) => new Float64Array(k), n);
  const values = readColumn(r, (k) => new Float64Array(k), n);
  const exemplarCount = r.uint32();
  const exemplars: Exemplar[] = [];
  for (let k = 0; k < exemplarCount; k++) {
    const seriesIndex = r.uint32();
    if (seriesIndex >= seriesCount) bad('exemplar names a missing series');
    const labels = readLabels(r);
    exemplars.push({ seriesIndex, labels, timestampMs: r.double(), value: r.double() });
  }
  const mdCount = r.uint32();
  const metadata: MetricMetadata[] = [];
  for (let k = 0; k < mdCount; k++) metadata.push({ metricFamilyName: r.string(), type: r.string(), help: r.string(), unit: r.string() });
  return { series, sampleSeries, timestampsMs, values, sampleCount: n, exemplars, metadata, histogramCount: 0, rejected: [] };
}

function decodeLogsPayload(r: ProtobufReader, opts: FleetDecodeOptions): LogsBatch {
  const streamCount = r.uint32();
  if (streamCount > r.end - r.pos) bad('stream count larger than the record');
  const streams: LogStream[] = new Array(streamCount);
  const cache = opts.streamCache;
  for (let i = 0; i < streamCount; i++) {
    const e = r.lenEnd();
    const s = r.pos;
    let ref = cache?.get(r.buf, s, e);
    if (ref === undefined) {
      const l = readLabelBlock(r, e, opts.forceLabels);
      ref = makeStream(l.names, l.values);
      cache?.set(r.buf, s, e, ref);
    }
    streams[i] = ref;
    r.pos = e;
  }
  const n = r.uint32();
  if (n * 16 > r.end - r.pos) bad('record count larger than the record');
  const recordStream = readColumn(r, (k) => new Uint32Array(k), n);
  for (let j = 0; j < n; j++) if ((recordStream[j] as number) >= streamCount) bad(`log record ${j} names stream ${recordStream[j]} of ${streamCount}`);
  const timestampsNs = readColumn(r, (k) => new BigInt64Array(k), n);
  const severities: string[] = new Array(n);
  const bodies: string[] = new Array(n);
  const traceIds: string[] = new Array(n);
  const spanIds: string[] = new Array(n);
  const metadata: Labels[] = new Array(n);
  for (let j = 0; j < n; j++) {
    severities[j] = r.string();
    bodies[j] = r.string();
    traceIds[j] = r.string();
    spanIds[j] = r.string();
    metadata[j] = readLabels(r);
  }
  return { streams, recordStream, timestampsNs, bodies, severities, traceIds, spanIds, metadata, recordCount: n, rejected: [] };
}

function rawBytes(r: ProtobufReader, n: number): Uint8Array {
  if (r.pos + n > r.end) bad('id runs past the end of the record');
  const out = r.buf.slice(r.pos, r.pos + n);
  r.pos += n;
  return out;
}

function i64(r: ProtobufReader): bigint {
  if (r.pos + 8 > r.end) bad('int64 runs past the end of the record');
  const v = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, 8).readBigInt64LE(0);
  r.pos += 8;
  return v;
}

function u8(r: ProtobufReader): number {
  if (r.pos >= r.end) bad('byte runs past the end of the record');
  return r.buf[r.pos++] as number;
}

function decodeSpansPayload(r: ProtobufReader, opts: FleetDecodeOptions): SpansBatch {
  const n = r.uint32();
  if (n * 40 > r.end - r.pos) bad('span count larger than the record');
  const spans: Span[] = [];
  for (let k = 0; k < n; k++) {
    const traceId = rawBytes(r, 16);
    const spanId = rawBytes(r, 8);
    const parentSpanId = r.string();
    const traceState = r.string();
    const serviceName = r.string();
    const name = r.string();
    const kind = u8(r);
    const startTimeNs = i64(r);
    const durationNs = BigInt.asUintN(64, i64(r));
    const statusCode = u8(r);
    const statusMessage = r.string();
    const scopeName = r.string();
    const scopeVersion = r.string();
    const attributes = readLabels(r);
    const resourceAttributes = readLabels(r, opts.forceLabels);
    const eventCount = r.uint32();
    const events: SpanEvent[] = [];
    for (let i = 0; i < eventCount; i++) events.push({ timeUnixNano: i64(r), name: r.string(), attributes: readLabels(r) });
    const linkCount = r.uint32();
    const links: SpanLink[] = [];
    for (let i = 0; i < linkCount; i++) links.push({ traceId: r.string(), spanId: r.string(), traceState: r.string(), attributes: readLabels(r) });
    spans.push({ traceId, spanId, parentSpanId, traceState, serviceName, name, kind, startTimeNs, durationNs, statusCode, statusMessage, scopeName, scopeVersion, attributes, resourceAttributes, events, links });
  }
  return { spans, rejected: [] };
}

/** Decodes one frame's payload into its typed batch. */
export function decodeFleetFrame(buf: Uint8Array, frame: FleetFrame, opts: FleetDecodeOptions = {}): MetricsBatch | LogsBatch | SpansBatch {
  if (frame.type === FLEET_RECORD_ROWS) bad(`record ${frame.seq} is of central's own ingest log (type ${frame.type}), not something a collector ships`);
  const r = new ProtobufReader(buf, frame.payloadStart, frame.end);
  const out = frame.type === FLEET_RECORD_METRICS ? decodeMetricsPayload(r, opts) : frame.type === FLEET_RECORD_LOGS ? decodeLogsPayload(r, opts) : decodeSpansPayload(r, opts);
  if (r.pos !== frame.end) bad(`record ${frame.seq} has ${frame.end - r.pos} trailing bytes`);
  return out;
}

/**
 * Decodes an (uncompressed) batch: checks the magic and every frame's
 * checksum, decodes each payload and merges a tenant's frames of one type
 * into one typed batch. Any damage refuses the whole batch (400): it was
 * checked when the collector read it, so damage means transit corruption or a
 * bug, and the collector keeps it for a resend.
 */
export function decodeFleetBatch(body: Uint8Array, opts: FleetDecodeOptions = {}): DecodeResult<FleetBatchContent> {
  if (body.length < FLEET_BATCH_MAGIC.length || Buffer.compare(body.subarray(0, FLEET_BATCH_MAGIC.length), FLEET_BATCH_MAGIC) !== 0) {
    return { ok: false, status: 400, message: 'not a fleet batch (bad magic)' };
  }
  const parts = new Map<string, { metrics: MetricsBatch[]; logs: LogsBatch[]; spans: SpansBatch[] }>();
  let off = FLEET_BATCH_MAGIC.length;
  let frames = 0;
  let firstSeq = -1;
  let lastSeq = -1;
  try {
    while (off < body.length) {
      const fr = readFleetFrame(body, off);
      if (!fr.ok) return { ok: false, status: 400, message: `frame ${frames} at byte ${off}: ${fr.message}` };
      const f = fr.frame;
      let p = parts.get(f.tenant);
      if (!p) parts.set(f.tenant, (p = { metrics: [], logs: [], spans: [] }));
      const decoded = decodeFleetFrame(body, f, opts);
      if (f.type === FLEET_RECORD_METRICS) p.metrics.push(decoded as MetricsBatch);
      else if (f.type === FLEET_RECORD_LOGS) p.logs.push(decoded as LogsBatch);
      else p.spans.push(decoded as SpansBatch);
      if (firstSeq < 0) firstSeq = f.seq;
      lastSeq = f.seq;
      frames++;
      off = f.end;
    }
  } catch (e) {
    if (e instanceof ProtobufDecodeError) return { ok: false, status: 400, message: `frame ${frames}: ${e.message}` };
    throw e;
  }
  const byTenant = new Map<string, FleetTenantContent>();
  for (const [tenant, p] of parts) {
    byTenant.set(tenant, { metrics: mergeMetrics(p.metrics), logs: mergeLogs(p.logs), spans: p.spans.length === 0 ? undefined : p.spans.length === 1 ? p.spans[0] : { spans: p.spans.flatMap((s) => s.spans), rejected: [] } });
  }
  return { ok: true, value: { frames, firstSeq, lastSeq, byTenant } };
}

/** Concatenates metrics batches (series lists appended, sample indices shifted). */
export function mergeMetrics(list: readonly MetricsBatch[]): MetricsBatch | undefined {
  if (list.length <= 1) return list[0];
  let samples = 0;
  for (const b of list) samples += b.sampleCount;
  const sampleSeries = new Uint32Array(samples);
  const timestampsMs = new Float64Array(samples);
  const values = new Float64Array(samples);
  const series: SeriesRef[] = [];
  const exemplars: Exemplar[] = [];
  const metadata: MetricMetadata[] = [];
  let at = 0;
  let histogramCount = 0;
  for (const b of list) {
    const base = series.length;
    for (const s of b.series) series.push(s);
    for (let j = 0; j < b.sampleCount; j++) sampleSeries[at + j] = (b.sampleSeries[j] as number) + base;
    timestampsMs.set(b.timestampsMs.subarray(0, b.sampleCount), at);
    values.set(b.values.subarray(0, b.sampleCount), at);
    for (const e of b.exemplars) exemplars.push({ ...e, seriesIndex: e.seriesIndex + base });
    for (const m of b.metadata) metadata.push(m);
    histogramCount += b.histogramCount;
    at += b.sampleCount;
  }
  return { series, sampleSeries, timestampsMs, values, sampleCount: samples, exemplars, metadata, histogramCount, rejected: list.flatMap((b) => b.rejected) };
}

export function mergeLogs(list: readonly LogsBatch[]): LogsBatch | undefined {
  if (list.length <= 1) return list[0];
  let n = 0;
  for (const b of list) n += b.recordCount;
  const recordStream = new Uint32Array(n);
  const timestampsNs = new BigInt64Array(n);
  const streams: LogStream[] = [];
  const out = { bodies: [] as string[], severities: [] as string[], traceIds: [] as string[], spanIds: [] as string[], metadata: [] as Labels[] };
  let at = 0;
  for (const b of list) {
    const base = streams.length;
    for (const s of b.streams) streams.push(s);
    for (let j = 0; j < b.recordCount; j++) {
      recordStream[at + j] = (b.recordStream[j] as number) + base;
      out.bodies.push(b.bodies[j] as string);
      out.severities.push(b.severities[j] as string);
      out.traceIds.push(b.traceIds[j] as string);
      out.spanIds.push(b.spanIds[j] as string);
      out.metadata.push(b.metadata[j] ?? EMPTY_LABELS);
    }
    timestampsNs.set(b.timestampsNs.subarray(0, b.recordCount), at);
    at += b.recordCount;
  }
  return { streams, recordStream, timestampsNs, ...out, recordCount: n, rejected: list.flatMap((b) => b.rejected) };
}
