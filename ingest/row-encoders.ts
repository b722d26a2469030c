// Typed batches -> RowBinary chunks for each ClickHouse table. Column lists
// and structures here must match storage/schema.ts (test/ingest-rows.test.ts
// checks them against the live tables).
import { NativeBlockWriter, RowBinaryWriter, type InsertFormat } from '../storage/index.ts';
import type { LogsBatch, MetricsBatch, SeriesRef, SpansBatch } from '../protocols/index.ts';
import { SeriesCache, type PendingSeries } from './series-cache.ts';
import { NAME_EMPTY, NAME_OVERFLOW, NAME_UNNUMBERED, SeriesSlot, seriesSlotFor } from './series-slot.ts';

export interface TableShape {
  readonly table: string;
  readonly columns: readonly string[];
  readonly structure: string;
  readonly format: InsertFormat;
}

function shape(table: string, cols: readonly [string, string][], format: InsertFormat = 'RowBinary'): TableShape {
  return { table, columns: cols.map((c) => c[0]), structure: cols.map(([n, t]) => `${n} ${t}`).join(', '), format };
}

export const SHAPES = {
  series: shape('metrics_series', [['tenant', 'String'], ['date', 'Date'], ['metric_name', 'String'], ['fingerprint', 'UInt64'], ['labels', 'Map(String, String)']]),
  // Native blocks (storage/native.ts): the bulk of all rows, and the cheapest for ClickHouse to take
  samples: shape('metrics_samples', [['tenant', 'LowCardinality(String)'], ['metric_name', 'LowCardinality(String)'], ['fingerprint', 'UInt64'], ['timestamp_ms', 'Int64'], ['value', 'Float64']], 'Native'),
  exemplars: shape('metrics_exemplars', [['tenant', 'String'], ['metric_name', 'String'], ['fingerprint', 'UInt64'], ['timestamp_ms', 'Int64'], ['value', 'Float64'], ['labels', 'Map(String, String)']]),
  metadata: shape('metrics_metadata', [['tenant', 'String'], ['metric_name', 'String'], ['type', 'String'], ['help', 'String'], ['unit', 'String'], ['updated_ms', 'Int64']]),
  streams: shape('log_streams', [['tenant', 'String'], ['date', 'Date'], ['fingerprint', 'UInt64'], ['labels', 'Map(String, String)']]),
  logs: shape('logs', [['tenant', 'String'], ['stream_fingerprint', 'UInt64'], ['timestamp', 'DateTime64(9)'], ['severity', 'String'], ['body', 'String'], ['trace_id', 'String'], ['span_id', 'String'], ['metadata', 'Map(String, String)']]),
  spans: shape('spans', [
    ['tenant', 'String'],
    ['trace_id', 'FixedString(16)'],
    ['span_id', 'FixedString(8)'],
    ['parent_span_id', 'String'],
    ['trace_state', 'String'],
    ['service_name', 'String'],
    ['name', 'String'],
    ['kind', 'UInt8'],
    ['start_time', 'DateTime64(9)'],
    ['duration_ns', 'UInt64'],
    ['status_code', 'UInt8'],
    ['status_message', 'String'],
    ['scope_name', 'String'],
    ['scope_version', 'String'],
    ['attributes', 'Map(String, String)'],
    ['resource_attributes', 'Map(String, String)'],
    ['events', 'Array(Tuple(Int64, String, Map(String, String)))'],
    ['links', 'Array(Tuple(String, String, String, Map(String, String)))'],
  ]),
} as const;

/**
 * metrics_samples as RowBinary, as encoded before the Native shape: kept so
 * an ingest log written then is still inserted correctly (ingest-log.ts).
 */
export const SAMPLES_ROWBINARY: TableShape = shape('metrics_samples', [['tenant', 'String'], ['metric_name', 'String'], ['fingerprint', 'UInt64'], ['timestamp_ms', 'Int64'], ['value', 'Float64']]);

export interface Chunk {
  readonly data: Uint8Array;
  readonly rows: number;
}

const MS_PER_DAY = 86_400_000;
const EMPTY: Chunk = { data: new Uint8Array(0), rows: 0 };

/** The writer's bytes (no copy: each writer here is used for one chunk only). */
function chunkOf(w: RowBinaryWriter, rows: number): Chunk {
  return rows === 0 ? EMPTY : { data: w.finish(), rows };
}

export interface MetricsChunks {
  readonly series: Chunk;
  /** series to mark in the cache once the series chunk is committed */
  readonly newSeries: PendingSeries[];
  readonly samples: Chunk;
  readonly exemplars: Chunk;
  readonly metadata: Chunk;
}

let seriesDays = new Float64Array(4096);

/**
 * encodeMetrics' per-series "day last seen" column, reused across calls (it
 * runs synchronously): one array less per request for the garbage collector,
 * whose full collections the off-heap bytes of such arrays trigger.
 */
function seriesDayScratch(n: number): Float64Array {
  if (seriesDays.length < n) seriesDays = new Float64Array(Math.max(n, seriesDays.length * 2));
  seriesDays.fill(-1, 0, n);
  return seriesDays;
}

/** encodeMetrics' sample columns before they are copied into the block, reused across calls like seriesDays */
let sampleScratch = { fp: new Uint32Array(8192), ts: new Uint32Array(8192), value: new Uint32Array(8192), name: new Uint32Array(4096) };

function sampleColumns(n: number): typeof sampleScratch {
  if (sampleScratch.name.length < n) {
    const m = Math.max(n, sampleScratch.name.length * 2);
    sampleScratch = { fp: new Uint32Array(2 * m), ts: new Uint32Array(2 * m), value: new Uint32Array(2 * m), name: new Uint32Array(m) };
  }
  return sampleScratch;
}

// Metric names get small numbers the first time a series is encoded
// (SeriesSlot.nameId); per block, blockIndex[id] is the name's dictionary
// index, valid where blockStamp[id] is the block's generation. Bounded: past
// maxNameIds names, further ones are looked up per block instead.
let maxNameIds = 1 << 20;
const nameIds = new Map<string, number>();
let blockStamp = new Int32Array(1024);
let blockIndex = new Int32Array(1024);
let blockGeneration = 0;
/** per-block dictionary positions of names past maxNameIds (rare), by block */
let overflow: { gen: number; index: Map<string, number> } = { gen: -1, index: new Map() };

function nextBlockGeneration(): number {
  blockGeneration = (blockGeneration + 1) | 0;
  if (blockGeneration === 0) {
    // wrapped: stale stamps could equal new generations
    blockStamp.fill(0);
    blockGeneration = 1;
  }
  return blockGeneration;
}

function metricNameId(name: string): number {
  if (name === '') return NAME_EMPTY;
  let id = nameIds.get(name);
  if (id !== undefined) return id;
  if (nameIds.size >= maxNameIds) return NAME_OVERFLOW;
  id = nameIds.size;
  nameIds.set(name, id);
  if (id >= blockStamp.length) {
    const stamp = new Int32Array(blockStamp.length * 2);
    stamp.set(blockStamp);
    blockStamp = stamp;
    const index = new Int32Array(blockIndex.length * 2);
    index.set(blockIndex);
    blockIndex = index;
  }
  return id;
}

/** Tests: lowers the bound on numbered names (numbers already given stay). */
export function limitMetricNameIdsForTest(max: number): void {
  maxNameIds = max;
}

function overflowIndex(names: string[], name: string): number {
  if (overflow.gen !== blockGeneration) overflow = { gen: blockGeneration, index: new Map() };
  let idx = overflow.index.get(name);
  if (idx === undefined) {
    idx = names.length;
    names.push(name);
    overflow.index.set(name, idx);
  }
  return idx;
}

/** Marks series committed for a day (after their insert succeeded). */
export function markCommitted(cache: SeriesCache, pending: readonly PendingSeries[]): void {
  cache.commit(pending);
  for (const p of pending) {
    const slot = (p.ref as { cache: unknown }).cache;
    if (slot instanceof SeriesSlot && slot.tenant === p.tenant && p.day > slot.committedDay) slot.committedDay = p.day;
  }
}

/**
 * Encodes the samples whose series index has keep[i] = 1 (and sampleKeep[j]
 * = 1 when given). A series row goes out for each (series, day) the samples
 * touch that is not known to be committed already.
 */
export function encodeMetrics(tenant: string, batch: MetricsBatch, cache: SeriesCache, keep?: Uint8Array, sampleKeep?: Uint8Array, nowMs = Date.now()): MetricsChunks {
  // the sample block's columns: fingerprint, timestamp and value as 32-bit
  // halves, and each row's metric name as an index into this block's names
  const cols = sampleColumns(batch.sampleCount);
  const names = [''];
  const gen = nextBlockGeneration();
  const series = new RowBinaryWriter(4096);
  const newSeries: PendingSeries[] = [];
  // (day, series) rows already in this chunk; made for the first new series
  let newKeys: SeriesCache | undefined;
  const seriesDay = seriesDayScratch(batch.series.length);
  // the value's bits as 32-bit halves (little-endian, as the Float64Array holds them)
  const valueWords = new Uint32Array(batch.values.buffer, batch.values.byteOffset, batch.values.length * 2);
  let sampleRows = 0;
  let seriesRows = 0;
  for (let j = 0; j < batch.sampleCount; j++) {
    const si = batch.sampleSeries[j] as number;
    if ((keep && keep[si] === 0) || (sampleKeep && sampleKeep[j] === 0)) continue;
    const s = batch.series[si];
    if (!s) continue;
    const slot = seriesSlotFor(s, tenant);
    const ts = batch.timestampsMs[j] as number;
    const day = Math.floor(ts / MS_PER_DAY);
    if (seriesDay[si] !== day) {
      seriesDay[si] = day;
      if (slot.committedDay !== day && !cache.has(tenant, day, s.fpHi, s.fpLo)) {
        if ((newKeys ??= new SeriesCache(Infinity)).add(tenant, day, s.fpHi, s.fpLo)) {
          newSeries.push({ ref: s, tenant, day, fpHi: s.fpHi, fpLo: s.fpLo });
          series.string(tenant);
          series.uint16(day);
          series.string(s.metricName);
          series.uint64Parts(s.fpHi, s.fpLo);
          series.stringMap(s.labels.names, s.labels.values);
          seriesRows++;
        }
      }
    }
    const k = sampleRows++;
    cols.fp[2 * k] = s.fpLo;
    cols.fp[2 * k + 1] = s.fpHi;
    // Int64 halves of an integer ms; a Uint32Array store wraps a negative high half to two's complement
    cols.ts[2 * k] = ts >>> 0;
    cols.ts[2 * k + 1] = Math.floor(ts / 4294967296);
    // bit-exact: keeps the stale-marker NaN
    cols.value[2 * k] = valueWords[2 * j] as number;
    cols.value[2 * k + 1] = valueWords[2 * j + 1] as number;
    // the row's index in this block's metric-name dictionary, found through
    // the series' name number (no Map look-up per sample)
    let id = slot.nameId;
    if (id === NAME_UNNUMBERED) id = slot.nameId = metricNameId(s.metricName);
    let idx: number;
    if (id >= 0) {
      if (blockStamp[id] !== gen) {
        blockStamp[id] = gen;
        blockIndex[id] = names.length;
        names.push(s.metricName);
      }
      idx = blockIndex[id] as number;
    } else idx = id === NAME_EMPTY ? 0 : overflowIndex(names, s.metricName);
    cols.name[k] = idx;
  }
  const ex = new RowBinaryWriter(1024);
  let exRows = 0;
  for (const e of batch.exemplars) {
    const s = batch.series[e.seriesIndex];
    if (!s || (keep && keep[e.seriesIndex] === 0)) continue;
    ex.string(tenant);
    ex.string(s.metricName);
    ex.uint64Parts(s.fpHi, s.fpLo);
    ex.int64(e.timestampMs);
    ex.float64(e.value);
    ex.stringMap(e.labels.names, e.labels.values);
    exRows++;
  }
  const md = new RowBinaryWriter(1024);
  for (const m of batch.metadata) {
    md.string(tenant);
    md.string(m.metricFamilyName);
    md.string(m.type);
    md.string(m.help);
    md.string(m.unit);
    md.int64(nowMs);
  }
  const samples =
    sampleRows === 0
      ? EMPTY
      : {
          data: new NativeBlockWriter(sampleRows)
            .constantLowCardinalityString('tenant', tenant)
            .lowCardinalityString('metric_name', names, cols.name)
            .fixed64('fingerprint', 'UInt64', cols.fp)
            .fixed64('timestamp_ms', 'Int64', cols.ts)
            .fixed64('value', 'Float64', cols.value)
            .finish(),
          rows: sampleRows,
        };
  return { series: chunkOf(series, seriesRows), newSeries, samples, exemplars: chunkOf(ex, exRows), metadata: chunkOf(md, batch.metadata.length) };
}

export interface LogsChunks {
  readonly streams: Chunk;
  readonly newStreams: PendingSeries[];
  readonly logs: Chunk;
}

const NS_PER_DAY = 86_400_000_000_000n;

export function encodeLogs(tenant: string, batch: LogsBatch, cache: SeriesCache, keep?: Uint8Array): LogsChunks {
  const logs = new RowBinaryWriter(Math.max(1024, batch.recordCount * 96));
  const streams = new RowBinaryWriter(4096);
  const newStreams: PendingSeries[] = [];
  let newKeys: SeriesCache | undefined;
  const streamDay = new Float64Array(batch.streams.length).fill(-1);
  let logRows = 0;
  let streamRows = 0;
  for (let j = 0; j < batch.recordCount; j++) {
    if (keep && keep[j] === 0) continue;
    const si = batch.recordStream[j] as number;
    const s = batch.streams[si];
    if (!s) continue;
    const ts = batch.timestampsNs[j] as bigint;
    const day = Number(ts / NS_PER_DAY);
    if (streamDay[si] !== day) {
      streamDay[si] = day;
      if (!cache.has(tenant, day, s.fpHi, s.fpLo) && (newKeys ??= new SeriesCache(Infinity)).add(tenant, day, s.fpHi, s.fpLo)) {
        newStreams.push({ ref: s, tenant, day, fpHi: s.fpHi, fpLo: s.fpLo });
        streams.string(tenant);
        streams.uint16(day);
        streams.uint64Parts(s.fpHi, s.fpLo);
        streams.stringMap(s.labels.names, s.labels.values);
        streamRows++;
      }
    }
    logs.string(tenant);
    logs.uint64Parts(s.fpHi, s.fpLo);
    logs.bigInt64(ts);
    logs.string(batch.severities[j] ?? '');
    logs.string(batch.bodies[j] ?? '');
    logs.string(batch.traceIds[j] ?? '');
    logs.string(batch.spanIds[j] ?? '');
    const md = batch.metadata[j];
    if (md) logs.stringMap(md.names, md.values);
    else logs.varUInt(0);
    logRows++;
  }
  return { streams: chunkOf(streams, streamRows), newStreams, logs: chunkOf(logs, logRows) };
}

export function encodeSpans(tenant: string, batch: SpansBatch): Chunk {
  const w = new RowBinaryWriter(Math.max(1024, batch.spans.length * 512));
  for (const s of batch.spans) {
    w.string(tenant);
    w.fixedBytes(s.traceId, 16);
    w.fixedBytes(s.spanId, 8);
    w.string(s.parentSpanId);
    w.string(s.traceState);
    w.string(s.serviceName);
    w.string(s.name);
    w.uint8(s.kind);
    w.bigInt64(s.startTimeNs);
    w.uint64(s.durationNs);
    w.uint8(s.statusCode);
    w.string(s.statusMessage);
    w.string(s.scopeName);
    w.string(s.scopeVersion);
    w.stringMap(s.attributes.names, s.attributes.values);
    w.stringMap(s.resourceAttributes.names, s.resourceAttributes.values);
    w.varUInt(s.events.length);
    for (const e of s.events) {
      w.bigInt64(e.timeUnixNano);
      w.string(e.name);
      w.stringMap(e.attributes.names, e.attributes.values);
    }
    w.varUInt(s.links.length);
    for (const l of s.links) {
      w.string(l.traceId);
      w.string(l.spanId);
      w.string(l.traceState);
      w.stringMap(l.attributes.names, l.attributes.values);
    }
  }
  return chunkOf(w, batch.spans.length);
}
