// The typed batches every receiver decodes into. A body is decoded once, at
// the edge, into these column-shaped batches; ingest writes them to
// ClickHouse without re-parsing. Label sets are name-sorted parallel arrays
// and carry their fingerprint (two unsigned 32-bit halves, see core/labels.ts).
import type { Labels } from '../core/index.ts';

export interface SeriesRef {
  /** name-sorted, includes __name__ */
  readonly labels: Labels;
  readonly metricName: string;
  readonly fpHi: number;
  readonly fpLo: number;
  /**
   * A slot for the consumer's per-series work (ingest keeps the series'
   * encoded row prefix and commit state here). Decoders that reuse SeriesRef
   * objects across requests let that work happen once per series instead of
   * once per sample. Created undefined so every SeriesRef has one shape.
   */
  cache: unknown;
  /** a slot for the query side's in-memory head (storage/head.ts), as cache */
  head: unknown;
}

export interface Exemplar {
  readonly seriesIndex: number;
  readonly labels: Labels;
  readonly timestampMs: number;
  readonly value: number;
}

export interface MetricMetadata {
  readonly metricFamilyName: string;
  /** counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown */
  readonly type: string;
  readonly help: string;
  readonly unit: string;
}

/** A rejected part of a request that did not poison the rest. */
export interface Rejection {
  readonly reason: string;
  /** how many samples / points / records / spans it covered */
  readonly count: number;
}

/**
 * Metrics in columns. Sample i belongs to series[sampleSeries[i]]. Within a
 * series, samples keep the order they arrived in. Stale markers keep their
 * exact NaN bit pattern (0x7ff0000000000002) in `values`.
 */
export interface MetricsBatch {
  readonly series: SeriesRef[];
  readonly sampleSeries: Uint32Array;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  readonly sampleCount: number;
  readonly exemplars: Exemplar[];
  readonly metadata: MetricMetadata[];
  /** native histogram samples seen (stored or rejected by ingest, never silently dropped) */
  readonly histogramCount: number;
  readonly rejected: Rejection[];
}

export interface LogStream {
  readonly labels: Labels;
  readonly fpHi: number;
  readonly fpLo: number;
  /** consumer's per-stream slot, as SeriesRef.cache */
  cache: unknown;
}

/** Log records in columns; record i belongs to streams[recordStream[i]]. */
export interface LogsBatch {
  readonly streams: LogStream[];
  readonly recordStream: Uint32Array;
  /** nanoseconds since the epoch (exceeds 2^53, hence bigint) */
  readonly timestampsNs: BigInt64Array;
  readonly bodies: string[];
  readonly severities: string[];
  /** lowercase hex, '' when absent */
  readonly traceIds: string[];
  readonly spanIds: string[];
  /** structured metadata / OTLP log attributes, name-sorted */
  readonly metadata: Labels[];
  readonly recordCount: number;
  readonly rejected: Rejection[];
}

export interface SpanEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly attributes: Labels;
}

export interface SpanLink {
  /** lowercase hex */
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly attributes: Labels;
}

export interface Span {
  /** 16 bytes */
  readonly traceId: Uint8Array;
  /** 8 bytes */
  readonly spanId: Uint8Array;
  /** lowercase hex, '' for a root span */
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly serviceName: string;
  readonly name: string;
  /** OTLP SpanKind number (0 unspecified .. 5 consumer) */
  readonly kind: number;
  readonly startTimeNs: bigint;
  readonly durationNs: bigint;
  /** OTLP status code (0 unset, 1 ok, 2 error) */
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly scopeName: string;
  readonly scopeVersion: string;
  /** attribute values rendered as strings (arrays/maps as JSON) */
  readonly attributes: Labels;
  readonly resourceAttributes: Labels;
  readonly events: SpanEvent[];
  readonly links: SpanLink[];
}

export interface SpansBatch {
  readonly spans: Span[];
  readonly rejected: Rejection[];
}

/** Decoders return values, not exceptions, for bad input (house style). */
export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string };
