// Prometheus remote_write 1.0 and 2.0: request bytes (already decompressed)
// into a MetricsBatch, and the encoders the collector's shipper, the tests
// and the benchmarks use.
//
// Specs followed:
// - 1.0: https://prometheus.io/docs/specs/remote_write_spec/ with messages from
//   prometheus/prompb/remote.proto and types.proto:
//     WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//     TimeSeries   { labels = 1; samples = 2; exemplars = 3; histograms = 4; }
//     Label        { string name = 1; string value = 2; }
//     Sample       { double value = 1; int64 timestamp = 2; }
//     Exemplar     { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
//     MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
// - 2.0: https://prometheus.io/docs/specs/remote_write_spec_2_0/ with
//   prometheus/prompb/io/prometheus/write/v2/types.proto:
//     Request    { reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
//     TimeSeries { repeated uint32 labels_refs = 1; samples = 2; histograms = 3; exemplars = 4;
//                  Metadata metadata = 5; int64 created_timestamp = 6 (older drafts) }
//     Sample     { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3 (newer drafts) }
//     Exemplar   { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp = 3; }
//     Metadata   { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
//   Start/created timestamps have no column in MetricsBatch and are skipped.
//
// The hot loop writes each sample straight into typed columns: no object per
// sample, and the value's 8 bytes are copied raw so the stale-marker NaN
// (0x7ff0000000000002) keeps its exact bits.
import { sortLabels, type Labels } from '../core/index.ts';
import { ProtobufDecodeError, ProtobufReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf-reader.ts';
import { ProtobufWriter } from './protobuf-writer.ts';
import { RejectionCollector, formatLabelSet, toLabels, type LabelsInput } from './decode-helpers.ts';
import { EMPTY_LABELS, makeSeries } from './series.ts';
import { LabelBytesCacheImpl, type LabelBytesCache, type LabelBytesCacheOptions } from './label-bytes-cache.ts';
import type { DecodeResult, Exemplar, MetricMetadata, MetricsBatch, SeriesRef } from './types.ts';

export interface DecodeRemoteWriteOptions {
  /** refuse (400) a request carrying more time series than this */
  readonly maxSeries?: number;
  /**
   * Reuse what earlier requests decoded for byte-identical 1.0 label sets
   * (see label-bytes-cache.ts). Optional; results are the same without it.
   */
  readonly seriesCache?: RemoteWriteSeriesCache;
}

/**
 * Decoded series (or rejection reasons) by the raw bytes of their labels,
 * and label names and values by their bytes (`strings`).
 *
 * Why the strings: a decoded series keeps 16 strings for 8 labels, and most
 * of them repeat across series (every name; job, namespace, instance, metric
 * names...). Decoding them afresh kept a copy per series: with 100k series
 * ~1.6M strings, the largest part of the heap every full collection marks.
 * Looking the bytes up costs about what building the string did.
 */
export interface RemoteWriteSeriesCache extends LabelBytesCache<SeriesRef | string> {
  readonly strings: LabelBytesCache<string>;
}

/** label strings kept (both generations): a label vocabulary, not the series */
const INTERNED_STRINGS = 1 << 16;

class SeriesAndStringsCache extends LabelBytesCacheImpl<SeriesRef | string> implements RemoteWriteSeriesCache {
  readonly strings: LabelBytesCache<string> = new LabelBytesCacheImpl<string>({ maxEntries: INTERNED_STRINGS });
}

export function createRemoteWriteSeriesCache(options: LabelBytesCacheOptions): RemoteWriteSeriesCache {
  return new SeriesAndStringsCache(options);
}

export type RemoteWriteVersion = 1 | 2;

/** Content types per spec; 2.0 receivers answer 415 to anything else. */
export const REMOTE_WRITE_V1_CONTENT_TYPE = 'application/x-protobuf';
export const REMOTE_WRITE_V2_CONTENT_TYPE = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';

/** Response headers a 2.0 receiver must set (values from {@link remoteWriteWrittenCounts}). */
export const REMOTE_WRITE_WRITTEN_HEADERS = {
  samples: 'X-Prometheus-Remote-Write-Samples-Written',
  histograms: 'X-Prometheus-Remote-Write-Histograms-Written',
  exemplars: 'X-Prometheus-Remote-Write-Exemplars-Written',
} as const;

/** MetricType enum of both versions (2.0 calls 0 UNSPECIFIED; we store it as unknown). */
const METRIC_TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'] as const;

function metricTypeName(n: number): string {
  return METRIC_TYPES[n] ?? 'unknown';
}

function metricTypeNumber(t: string): number {
  const i = (METRIC_TYPES as readonly string[]).indexOf(t);
  return i < 0 ? 0 : i;
}

// Field tags, (field number << 3) | wire type, as constants so the hot
// switches compare against literals.
const LEN1 = (1 << 3) | WIRE_LEN;
const LEN2 = (2 << 3) | WIRE_LEN;
const LEN3 = (3 << 3) | WIRE_LEN;
const LEN4 = (4 << 3) | WIRE_LEN;
const LEN5 = (5 << 3) | WIRE_LEN;
const VARINT1 = (1 << 3) | WIRE_VARINT;
const VARINT2 = (2 << 3) | WIRE_VARINT;
const VARINT3 = (3 << 3) | WIRE_VARINT;
const VARINT4 = (4 << 3) | WIRE_VARINT;
const FIXED64_1 = (1 << 3) | WIRE_FIXED64;
const FIXED64_2 = (2 << 3) | WIRE_FIXED64;

/**
 * Picks the protobuf message from the Content-Type header, as Prometheus's
 * own receiver does (storage/remote/write_handler.go): the media type must be
 * application/x-protobuf; `proto=prometheus.WriteRequest` or no proto
 * parameter means 1.0, `proto=io.prometheus.write.v2.Request` means 2.0,
 * anything else is 415. A missing header means 1.0, which old senders omit.
 */
export function remoteWriteVersion(contentType: string | undefined): DecodeResult<RemoteWriteVersion> {
  const ct = (contentType ?? '').trim();
  if (ct === '') return { ok: true, value: 1 };
  const parts = ct.split(';');
  const media = (parts[0] as string).trim().toLowerCase();
  if (media !== REMOTE_WRITE_V1_CONTENT_TYPE) {
    return unsupported(`expected ${REMOTE_WRITE_V1_CONTENT_TYPE} as the media type, got ${JSON.stringify(ct)}`);
  }
  let version: RemoteWriteVersion = 1;
  for (let i = 1; i < parts.length; i++) {
    const p = (parts[i] as string).trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) return unsupported(`malformed Content-Type parameter ${JSON.stringify(p)}`);
    const key = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (key !== 'proto') continue;
    if (value === 'prometheus.WriteRequest') version = 1;
    else if (value === 'io.prometheus.write.v2.Request') version = 2;
    else return unsupported(`unsupported remote write message ${JSON.stringify(value)}; accepted: prometheus.WriteRequest, io.prometheus.write.v2.Request`);
  }
  return { ok: true, value: version };
}

function unsupported(message: string): DecodeResult<never> {
  return { ok: false, status: 415, message };
}

/** Counts for the X-Prometheus-Remote-Write-*-Written headers, before ingest's own refusals. */
export function remoteWriteWrittenCounts(batch: MetricsBatch): { samples: number; histograms: number; exemplars: number } {
  return { samples: batch.sampleCount, histograms: batch.histogramCount, exemplars: batch.exemplars.length };
}

/** Decodes an uncompressed remote_write body of the given version. */
export function decodeRemoteWrite(body: Uint8Array, version: RemoteWriteVersion, opts: DecodeRemoteWriteOptions = {}): DecodeResult<MetricsBatch> {
  const maxSeries = opts.maxSeries ?? Infinity;
  try {
    return version === 2 ? decodeV2(body, maxSeries) : decodeV1(body, maxSeries, opts.seriesCache);
  } catch (e) {
    if (e instanceof ProtobufDecodeError) {
      const name = version === 2 ? 'io.prometheus.write.v2.Request' : 'prometheus.WriteRequest';
      return { ok: false, status: 400, message: `cannot decode ${name}: ${e.message}` };
    }
    throw e;
  }
}

class BadRequest extends Error {}

/** Growable sample columns; slots past `count` may hold leftovers and are overwritten. */
class SampleColumns {
  count = 0;
  /** slots below this may hold bytes of rolled-back samples */
  dirtyUntil = 0;
  seriesIdx: Uint32Array;
  timestampsMs: Float64Array;
  values: Float64Array;
  valueBytes: Uint8Array;

  constructor(capacity: number) {
    this.seriesIdx = new Uint32Array(capacity);
    this.timestampsMs = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.valueBytes = new Uint8Array(this.values.buffer);
  }

  /** Reserves one slot and returns its index. */
  next(): number {
    if (this.count === this.values.length) this.grow();
    return this.count++;
  }

  private grow(): void {
    const cap = this.values.length * 2 + 16;
    const s = new Uint32Array(cap);
    s.set(this.seriesIdx);
    const t = new Float64Array(cap);
    t.set(this.timestampsMs);
    // Values move as bytes, never as numbers, so NaN payloads survive.
    const v = new Float64Array(cap);
    const vb = new Uint8Array(v.buffer);
    vb.set(this.valueBytes);
    this.seriesIdx = s;
    this.timestampsMs = t;
    this.values = v;
    this.valueBytes = vb;
  }
}

/** State shared by both versions while decoding one request. */
class BatchBuilder {
  readonly cols: SampleColumns;
  readonly series: SeriesRef[] = [];
  readonly exemplars: Exemplar[] = [];
  readonly metadataByFamily = new Map<string, MetricMetadata>();
  readonly rejected = new RejectionCollector();
  histogramCount = 0;
  seriesSeen = 0;

  constructor(bodyBytes: number, private readonly maxSeries: number) {
    // An encoded sample takes ~20 bytes and a series' labels ~100-300; senders
    // mostly batch one sample per series (Prometheus: up to 2,000 samples of
    // as many series), so 128 bytes per sample is a middle guess. The columns
    // double as needed; a guess too large costs off-heap bytes every request,
    // and those bytes are what triggers V8's full collections here.
    this.cols = new SampleColumns(Math.min(1 << 20, (bodyBytes >>> 7) + 16));
  }

  countSeries(): void {
    if (++this.seriesSeen > this.maxSeries) throw new BadRequest(`the request has more than ${this.maxSeries} series, the limit per request`);
  }

  /**
   * Validates a series' labels. Returns the series, or a reason to reject
   * it. Empty values were already dropped (Prometheus treats a label with an
   * empty value as absent).
   */
  checkLabels(names: string[], values: string[]): SeriesRef | string {
    const l = sortLabels(names, values);
    let hasName = false;
    for (let i = 0; i < l.names.length; i++) {
      const n = l.names[i] as string;
      if (n === '') return `empty label name in ${formatLabelSet(l.names, l.values)}`;
      if (i > 0 && n === l.names[i - 1]) return `duplicate label name ${JSON.stringify(n)} in ${formatLabelSet(l.names, l.values)}`;
      if (n === '__name__') hasName = true;
    }
    if (!hasName) return `missing metric name (__name__) in ${formatLabelSet(l.names, l.values)}`;
    return makeSeries(l.names, l.values);
  }

  /** Ends a series: keeps its samples and exemplars, or rolls them back and records why. */
  finishSeries(ref: SeriesRef | string, sampleStart: number, histograms: number, pending: PendingExemplar[] | null): void {
    const cols = this.cols;
    const samples = cols.count - sampleStart;
    if (typeof ref === 'string') {
      if (cols.count > cols.dirtyUntil) cols.dirtyUntil = cols.count;
      cols.count = sampleStart;
      if (samples + histograms > 0 || pending !== null) this.rejected.add(ref, samples + histograms);
      return;
    }
    this.histogramCount += histograms;
    if (samples === 0 && pending === null) return;
    const idx = this.series.length;
    this.series.push(ref);
    const si = cols.seriesIdx;
    for (let i = sampleStart; i < cols.count; i++) si[i] = idx;
    if (pending !== null) {
      for (const p of pending) this.exemplars.push({ seriesIndex: idx, labels: p.labels, timestampMs: p.timestampMs, value: p.value });
    }
  }

  build(): MetricsBatch {
    const c = this.cols;
    return {
      series: this.series,
      sampleSeries: c.seriesIdx.subarray(0, c.count),
      timestampsMs: c.timestampsMs.subarray(0, c.count),
      values: c.values.subarray(0, c.count),
      sampleCount: c.count,
      exemplars: this.exemplars,
      metadata: [...this.metadataByFamily.values()],
      histogramCount: this.histogramCount,
      rejected: this.rejected.toArray(),
    };
  }
}

interface PendingExemplar {
  labels: Labels;
  timestampMs: number;
  value: number;
}

function wrongWire(field: string, wire: number): never {
  throw new ProtobufDecodeError(`${field}: unexpected wire type ${wire}`);
}

/** Reads one Sample message (same layout in 1.0 and 2.0) into the next column slot. */
function readSample(r: ProtobufReader, cols: SampleColumns): void {
  const outer = r.enter();
  const i = cols.next();
  const vb = cols.valueBytes;
  const o = i * 8;
  // proto3: an absent value is 0; a slot reused after a rolled-back series
  // may hold old bytes (fresh slots are zero already)
  if (i < cols.dirtyUntil) vb.fill(0, o, o + 8);
  let ts = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === FIXED64_1) r.copyFixed64(vb, o);
    else if (t === VARINT2) ts = r.int64();
    else if (t >>> 3 <= 2) wrongWire('Sample', t & 7);
    else r.skip(t & 7); // start_timestamp (2.0) and future fields
  }
  cols.timestampsMs[i] = ts;
  r.leave(outer);
}

// ---------------------------------------------------------------- 1.0

function decodeV1(body: Uint8Array, maxSeries: number, cache: RemoteWriteSeriesCache | undefined): DecodeResult<MetricsBatch> {
  const r = new ProtobufReader(body);
  const b = new BatchBuilder(body.length, maxSeries);
  let sawV1Field = false;
  let sawV2Field = false;
  try {
    while (r.more()) {
      const t = r.tag();
      const field = t >>> 3;
      if (t === LEN1) {
        sawV1Field = true;
        b.countSeries();
        readSeriesV1(r, b, cache);
      } else if (t === LEN3) {
        sawV1Field = true;
        readMetadataV1(r, b);
      } else if (field === 1 || field === 3) {
        wrongWire('WriteRequest', t & 7);
      } else {
        if (field === 4 || field === 5) sawV2Field = true;
        r.skip(t & 7);
      }
    }
  } catch (e) {
    if (e instanceof BadRequest) return { ok: false, status: 400, message: e.message };
    throw e;
  }
  if (sawV2Field && !sawV1Field) {
    // Fields 4/5 are 2.0's symbols/timeseries: decoding them as 1.0 would
    // silently accept an empty request and lose the data.
    return { ok: false, status: 400, message: 'the body looks like a remote write 2.0 message (io.prometheus.write.v2.Request); send Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request' };
  }
  return { ok: true, value: b.build() };
}

function readSeriesV1(r: ProtobufReader, b: BatchBuilder, cache: RemoteWriteSeriesCache | undefined): void {
  const outer = r.enter();
  const start = r.pos;
  let known: SeriesRef | string | undefined;
  let labelStart = -1;
  let labelEnd = -1;
  if (cache !== undefined) {
    // Find the labels' byte span; senders write them together, and only a
    // contiguous span is a usable cache key.
    let contiguous = labelSpan(r);
    if (contiguous === null) {
      // something the quick walk does not read: the reader's walk (and its errors)
      contiguous = true;
      while (r.pos < r.end) {
        const at = r.pos;
        const t = r.tag();
        if (t === LEN1) {
          if (labelStart < 0) labelStart = at;
          else if (labelEnd !== at) contiguous = false;
          r.skip(WIRE_LEN);
          labelEnd = r.pos;
        } else r.skip(t & 7);
      }
    } else {
      labelStart = spanStart;
      labelEnd = spanEnd;
    }
    r.pos = start;
    if (!contiguous) labelStart = -1;
    if (labelStart >= 0) {
      known = cache.get(r.buf, labelStart, labelEnd);
      // Senders write the labels first: a known set's need not be walked again.
      if (known !== undefined && labelStart === start) r.pos = labelEnd;
    }
  }
  // made only for label sets the cache does not know (most are known)
  let names: string[] | null = null;
  let values: string[] | null = null;
  let badUtf8 = false;
  const sampleStart = b.cols.count;
  let histograms = 0;
  let pending: PendingExemplar[] | null = null;
  while (r.pos < r.end) {
    const t = r.tag();
    switch (t) {
      case LEN2:
        readSample(r, b.cols);
        break;
      case LEN1:
        if (known !== undefined) r.skip(WIRE_LEN);
        else if (!readLabelV1(r, (names ??= []), (values ??= []), cache?.strings)) badUtf8 = true;
        break;
      case LEN3:
        (pending ??= []).push(readExemplarV1(r));
        break;
      case LEN4:
        // Native histograms are counted, not decoded: ingest refuses them
        // with a clear 400 rather than dropping them silently.
        histograms++;
        r.skip(WIRE_LEN);
        break;
      default:
        if (t >>> 3 <= 4) wrongWire('TimeSeries', t & 7);
        r.skip(t & 7);
    }
  }
  r.leave(outer);
  if (known === undefined) {
    names ??= [];
    values ??= [];
    known = badUtf8 ? `label name or value is not valid UTF-8 in ${formatLabelSet(names, values)}` : b.checkLabels(names, values);
    if (labelStart >= 0) cache?.set(r.buf, labelStart, labelEnd, known);
  }
  b.finishSeries(known, sampleStart, histograms, pending);
}

// labelSpan's results besides its return value (no object per call)
let spanStart = -1;
let spanEnd = -1;

/**
 * Walks a TimeSeries' fields from r.pos to r.end (without moving r.pos) for
 * the span of its labels: spanStart/spanEnd (-1 without labels); returns
 * whether the labels are contiguous. Reads only what senders write (fields
 * 1-4, length-delimited, lengths below 2^14) with no per-field calls, the
 * per-series cost of a known series; anything else, well-formed or not,
 * returns null and the caller walks with the reader.
 */
function labelSpan(r: ProtobufReader): boolean | null {
  const b = r.buf;
  const end = r.end;
  let p = r.pos;
  let first = -1;
  let last = -1;
  let contiguous = true;
  while (p < end) {
    const t = b[p] as number;
    if (t !== LEN1 && t !== LEN2 && t !== LEN3 && t !== LEN4) return null;
    if (p + 1 >= end) return null;
    let len = b[p + 1] as number;
    let q = p + 2;
    if (len >= 0x80) {
      if (q >= end) return null;
      const c = b[q] as number;
      if (c >= 0x80) return null;
      len = (len & 0x7f) | (c << 7);
      q++;
    }
    const next = q + len;
    if (next > end) return null;
    if (t === LEN1) {
      if (first < 0) first = p;
      else if (last !== p) contiguous = false;
      last = next;
    }
    p = next;
  }
  spanStart = first;
  spanEnd = last;
  return contiguous;
}

/** Reads a Label into the arrays; false when a string is not valid UTF-8. Empty values are dropped. */
function readLabelV1(r: ProtobufReader, names: string[], values: string[], strings?: LabelBytesCache<string>): boolean {
  const outer = r.enter();
  let name: string | null = '';
  let value: string | null = '';
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === LEN1) name = strings === undefined ? r.stringOrNull() : internedStringOrNull(r, strings);
    else if (t === LEN2) value = strings === undefined ? r.stringOrNull() : internedStringOrNull(r, strings);
    else if (t >>> 3 <= 2) wrongWire('Label', t & 7);
    else r.skip(t & 7);
  }
  r.leave(outer);
  if (name === null || value === null) {
    names.push(name ?? '\ufffd');
    values.push(value ?? '\ufffd');
    return false;
  }
  if (value !== '') {
    names.push(name);
    values.push(value);
  }
  return true;
}

/** As r.stringOrNull(), the string shared with earlier ones of the same bytes. */
function internedStringOrNull(r: ProtobufReader, strings: LabelBytesCache<string>): string | null {
  const e = r.lenEnd();
  const s = r.pos;
  r.pos = e;
  if (e === s) return '';
  const known = strings.get(r.buf, s, e);
  if (known !== undefined) return known;
  const decoded = r.decodeUtf8(s, e, true);
  if (decoded !== null) strings.set(r.buf, s, e, decoded);
  return decoded;
}

function readExemplarV1(r: ProtobufReader): PendingExemplar {
  const outer = r.enter();
  let names: string[] | null = null;
  let values: string[] | null = null;
  let ts = 0;
  let value = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === LEN1) readLabelV1(r, (names ??= []), (values ??= []));
    else if (t === FIXED64_2) value = r.double();
    else if (t === VARINT3) ts = r.int64();
    else if (t >>> 3 <= 3) wrongWire('Exemplar', t & 7);
    else r.skip(t & 7);
  }
  r.leave(outer);
  return { labels: names === null ? EMPTY_LABELS : sortLabels(names, values as string[]), timestampMs: ts, value };
}

function readMetadataV1(r: ProtobufReader, b: BatchBuilder): void {
  const outer = r.enter();
  let type = 0;
  let family = '';
  let help = '';
  let unit = '';
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === VARINT1) type = r.uint32();
    else if (t === LEN2) family = r.string();
    else if (t === LEN4) help = r.string();
    else if (t === LEN5) unit = r.string();
    else if (t >>> 3 <= 5 && t >>> 3 !== 3) wrongWire('MetricMetadata', t & 7);
    else r.skip(t & 7);
  }
  r.leave(outer);
  if (family !== '') b.metadataByFamily.set(family, { metricFamilyName: family, type: metricTypeName(type), help, unit });
}

// ---------------------------------------------------------------- 2.0

function decodeV2(body: Uint8Array, maxSeries: number): DecodeResult<MetricsBatch> {
  const r = new ProtobufReader(body);
  const b = new BatchBuilder(body.length, maxSeries);
  // Symbols may in principle follow the series that use them, so the first
  // pass collects symbols and series offsets; the second decodes series.
  const symbols: string[] = [];
  let invalidSymbols: Set<number> | null = null;
  const seriesAt: number[] = [];
  let sawV1Field = false;
  while (r.more()) {
    const t = r.tag();
    if (t === LEN4) {
      const s = r.stringOrNull();
      if (s === null) (invalidSymbols ??= new Set()).add(symbols.length);
      symbols.push(s ?? '\ufffd');
    } else if (t === LEN5) {
      const end = r.lenEnd();
      seriesAt.push(r.pos, end);
      r.pos = end;
    } else if (t >>> 3 === 4 || t >>> 3 === 5) {
      wrongWire('Request', t & 7);
    } else {
      if (t >>> 3 <= 3) sawV1Field = true;
      r.skip(t & 7);
    }
  }
  if (sawV1Field && seriesAt.length === 0) {
    // 2.0 reserves fields 1-3 so a 1.0 WriteRequest never parses as a valid 2.0 Request.
    return { ok: false, status: 400, message: 'the body looks like a remote write 1.0 message (prometheus.WriteRequest) but the Content-Type says 2.0' };
  }
  const ctx: V2Context = { symbols, invalidSymbols, refs: [] };
  try {
    for (let i = 0; i < seriesAt.length; i += 2) {
      b.countSeries();
      r.pos = seriesAt[i] as number;
      r.end = seriesAt[i + 1] as number;
      readSeriesV2(r, b, ctx);
    }
  } catch (e) {
    if (e instanceof BadRequest) return { ok: false, status: 400, message: e.message };
    throw e;
  }
  return { ok: true, value: b.build() };
}

interface V2Context {
  readonly symbols: readonly string[];
  readonly invalidSymbols: ReadonlySet<number> | null;
  /** scratch for labels_refs */
  refs: number[];
}

function symbolAt(ctx: V2Context, ref: number, what: string): string {
  const s = ctx.symbols[ref];
  if (s === undefined) throw new BadRequest(`${what} refers to symbol ${ref}, but the request has only ${ctx.symbols.length} symbols`);
  return s;
}

/** Resolves labels_refs pairs; drops empty values; returns false if a symbol is not valid UTF-8. */
function resolveLabelRefs(ctx: V2Context, refs: readonly number[], names: string[], values: string[], what: string): boolean {
  if (refs.length % 2 !== 0) throw new BadRequest(`${what}: labels_refs has an odd length (${refs.length}); it must hold name/value pairs`);
  let ok = true;
  for (let i = 0; i < refs.length; i += 2) {
    const nr = refs[i] as number;
    const vr = refs[i + 1] as number;
    const name = symbolAt(ctx, nr, what);
    const value = symbolAt(ctx, vr, what);
    if (ctx.invalidSymbols !== null && (ctx.invalidSymbols.has(nr) || ctx.invalidSymbols.has(vr))) ok = false;
    if (value === '') continue;
    names.push(name);
    values.push(value);
  }
  return ok;
}

function readSeriesV2(r: ProtobufReader, b: BatchBuilder, ctx: V2Context): void {
  const refs = ctx.refs;
  refs.length = 0;
  const sampleStart = b.cols.count;
  let histograms = 0;
  let pendingRaw: { refs: number[]; value: number; timestampMs: number }[] | null = null;
  let meta: { type: number; helpRef: number; unitRef: number } | null = null;
  while (r.pos < r.end) {
    const t = r.tag();
    switch (t) {
      case LEN2:
        readSample(r, b.cols);
        break;
      case LEN1:
      case VARINT1:
        r.repeatedUint32(t & 7, refs);
        break;
      case LEN3:
        histograms++;
        r.skip(WIRE_LEN);
        break;
      case LEN4:
        (pendingRaw ??= []).push(readExemplarV2(r));
        break;
      case LEN5:
        meta = readMetadataV2(r);
        break;
      default:
        if (t >>> 3 <= 5) wrongWire('TimeSeries', t & 7);
        r.skip(t & 7); // created_timestamp (6) and future fields
    }
  }
  const names: string[] = [];
  const values: string[] = [];
  const utf8Ok = resolveLabelRefs(ctx, refs, names, values, 'series');
  let pending: PendingExemplar[] | null = null;
  if (pendingRaw !== null) {
    pending = [];
    for (const e of pendingRaw) {
      const en: string[] = [];
      const ev: string[] = [];
      resolveLabelRefs(ctx, e.refs, en, ev, 'exemplar');
      pending.push({ labels: en.length === 0 ? EMPTY_LABELS : sortLabels(en, ev), timestampMs: e.timestampMs, value: e.value });
    }
  }
  let help = '';
  let unit = '';
  if (meta !== null) {
    help = symbolAt(ctx, meta.helpRef, 'metadata help_ref');
    unit = symbolAt(ctx, meta.unitRef, 'metadata unit_ref');
  }
  const ref = utf8Ok ? b.checkLabels(names, values) : `label name or value is not valid UTF-8 in ${formatLabelSet(names, values)}`;
  b.finishSeries(ref, sampleStart, histograms, pending);
  if (meta !== null && typeof ref !== 'string' && (meta.type !== 0 || help !== '' || unit !== '')) {
    const family = ref.metricName;
    if (family !== '') b.metadataByFamily.set(family, { metricFamilyName: family, type: metricTypeName(meta.type), help, unit });
  }
}

function readExemplarV2(r: ProtobufReader): { refs: number[]; value: number; timestampMs: number } {
  const outer = r.enter();
  const refs: number[] = [];
  let value = 0;
  let ts = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === LEN1 || t === VARINT1) r.repeatedUint32(t & 7, refs);
    else if (t === FIXED64_2) value = r.double();
    else if (t === VARINT3) ts = r.int64();
    else if (t >>> 3 <= 3) wrongWire('Exemplar', t & 7);
    else r.skip(t & 7);
  }
  r.leave(outer);
  return { refs, value, timestampMs: ts };
}

function readMetadataV2(r: ProtobufReader): { type: number; helpRef: number; unitRef: number } {
  const outer = r.enter();
  let type = 0;
  let helpRef = 0;
  let unitRef = 0;
  while (r.pos < r.end) {
    const t = r.tag();
    if (t === VARINT1) type = r.uint32();
    else if (t === VARINT3) helpRef = r.uint32();
    else if (t === VARINT4) unitRef = r.uint32();
    else if (t >>> 3 <= 4 && t >>> 3 !== 2) wrongWire('Metadata', t & 7);
    else r.skip(t & 7);
  }
  r.leave(outer);
  return { type, helpRef, unitRef };
}

// ---------------------------------------------------------------- encoders

export interface RemoteWriteSampleInput {
  readonly timestampMs: number;
  readonly value: number;
}

export interface RemoteWriteExemplarInput {
  readonly labels?: LabelsInput;
  readonly value: number;
  readonly timestampMs: number;
}

export interface RemoteWriteSeriesInput {
  readonly labels: LabelsInput;
  readonly samples: readonly RemoteWriteSampleInput[];
  readonly exemplars?: readonly RemoteWriteExemplarInput[];
}

export interface RemoteWriteV2SeriesInput extends RemoteWriteSeriesInput {
  /** 2.0 carries metadata per series */
  readonly metadata?: { readonly type: string; readonly help?: string; readonly unit?: string };
}

/** Encodes a prometheus.WriteRequest (uncompressed; see snappyCompress). */
export function encodeRemoteWriteV1(series: readonly RemoteWriteSeriesInput[], metadata: readonly MetricMetadata[] = []): Uint8Array {
  const w = new ProtobufWriter(64 + series.length * 64);
  for (const s of series) {
    w.tag(1, WIRE_LEN).fork();
    writeLabelsV1(w, 1, toLabels(s.labels));
    for (const smp of s.samples) {
      w.tag(2, WIRE_LEN).fork();
      w.fieldDouble(1, smp.value);
      if (smp.timestampMs !== 0) w.fieldInt64(2, smp.timestampMs);
      w.ldelim();
    }
    for (const e of s.exemplars ?? []) {
      w.tag(3, WIRE_LEN).fork();
      if (e.labels) writeLabelsV1(w, 1, toLabels(e.labels));
      w.fieldDouble(2, e.value);
      if (e.timestampMs !== 0) w.fieldInt64(3, e.timestampMs);
      w.ldelim();
    }
    w.ldelim();
  }
  for (const m of metadata) {
    w.tag(3, WIRE_LEN).fork();
    const type = metricTypeNumber(m.type);
    if (type !== 0) w.fieldUint32(1, type);
    if (m.metricFamilyName !== '') w.fieldString(2, m.metricFamilyName);
    if (m.help !== '') w.fieldString(4, m.help);
    if (m.unit !== '') w.fieldString(5, m.unit);
    w.ldelim();
  }
  return w.finish();
}

function writeLabelsV1(w: ProtobufWriter, field: number, l: Labels): void {
  for (let i = 0; i < l.names.length; i++) {
    w.tag(field, WIRE_LEN).fork();
    w.fieldString(1, l.names[i] as string);
    w.fieldString(2, l.values[i] as string);
    w.ldelim();
  }
}

/** Encodes an io.prometheus.write.v2.Request (uncompressed; see snappyCompress). */
export function encodeRemoteWriteV2(series: readonly RemoteWriteV2SeriesInput[]): Uint8Array {
  // The spec asks for symbols[0] === '' so that 0 can mean "no string".
  const symbols: string[] = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      index.set(s, i);
    }
    return i;
  };
  const labelRefs = (l: Labels): number[] => {
    const out: number[] = [];
    for (let i = 0; i < l.names.length; i++) out.push(ref(l.names[i] as string), ref(l.values[i] as string));
    return out;
  };
  const w = new ProtobufWriter(64 + series.length * 48);
  // Series are written first into their own buffer so symbols, which they
  // fill in, can precede them on the wire as senders conventionally do.
  for (const s of series) {
    w.tag(5, WIRE_LEN).fork();
    w.fieldPackedUint32(1, labelRefs(toLabels(s.labels)));
    for (const smp of s.samples) {
      w.tag(2, WIRE_LEN).fork();
      w.fieldDouble(1, smp.value);
      if (smp.timestampMs !== 0) w.fieldInt64(2, smp.timestampMs);
      w.ldelim();
    }
    for (const e of s.exemplars ?? []) {
      w.tag(4, WIRE_LEN).fork();
      if (e.labels) w.fieldPackedUint32(1, labelRefs(toLabels(e.labels)));
      w.fieldDouble(2, e.value);
      if (e.timestampMs !== 0) w.fieldInt64(3, e.timestampMs);
      w.ldelim();
    }
    if (s.metadata) {
      w.tag(5, WIRE_LEN).fork();
      const type = metricTypeNumber(s.metadata.type);
      if (type !== 0) w.fieldUint32(1, type);
      const h = ref(s.metadata.help ?? '');
      if (h !== 0) w.fieldUint32(3, h);
      const u = ref(s.metadata.unit ?? '');
      if (u !== 0) w.fieldUint32(4, u);
      w.ldelim();
    }
    w.ldelim();
  }
  const seriesBytes = w.finish();
  const out = new ProtobufWriter(seriesBytes.length + symbols.length * 16 + 16);
  for (const s of symbols) out.fieldString(4, s);
  const head = out.finish();
  const all = new Uint8Array(head.length + seriesBytes.length);
  all.set(head, 0);
  all.set(seriesBytes, head.length);
  return all;
}
