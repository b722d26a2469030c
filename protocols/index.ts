// protocols: wire formats shared by collector and ingest. Each decoder turns
// request bytes into one of the typed batches of types.ts and returns a
// DecodeResult (a value, never an exception) for bad input.

// typed batches and building blocks
export type {
  DecodeResult,
  Exemplar,
  LogStream,
  LogsBatch,
  MetricMetadata,
  MetricsBatch,
  Rejection,
  SeriesRef,
  Span,
  SpanEvent,
  SpanLink,
  SpansBatch,
} from './types.ts';
export { EMPTY_LABELS, STALE_NAN_BITS, isStaleNaN, makeSeries, makeStream, staleNaN } from './series.ts';
export { toLabels } from './decode-helpers.ts';
export type { LabelsInput } from './decode-helpers.ts';

// compression
export { decompress, parseContentEncoding, snappyCompress, snappyUncompressedLength } from './compression.ts';
export type { ContentEncoding } from './compression.ts';

// protobuf wire format
export { ProtobufReader, ProtobufDecodeError, WIRE_VARINT, WIRE_FIXED64, WIRE_LEN, WIRE_FIXED32 } from './protobuf-reader.ts';
export { ProtobufWriter } from './protobuf-writer.ts';
export { createLabelBytesCache, hashLabelBytes } from './label-bytes-cache.ts';
export type { LabelBytesCache, LabelBytesCacheOptions } from './label-bytes-cache.ts';

// Prometheus remote_write 1.0 / 2.0
export {
  decodeRemoteWrite,
  createRemoteWriteSeriesCache,
  remoteWriteVersion,
  remoteWriteWrittenCounts,
  encodeRemoteWriteV1,
  encodeRemoteWriteV2,
  REMOTE_WRITE_V1_CONTENT_TYPE,
  REMOTE_WRITE_V2_CONTENT_TYPE,
  REMOTE_WRITE_WRITTEN_HEADERS,
} from './remote-write.ts';
export type {
  DecodeRemoteWriteOptions,
  RemoteWriteSeriesCache,
  RemoteWriteVersion,
  RemoteWriteSeriesInput,
  RemoteWriteV2SeriesInput,
  RemoteWriteSampleInput,
  RemoteWriteExemplarInput,
} from './remote-write.ts';

// Loki push
export { decodeLokiPush, lokiPushFormat, parseLokiLabels, formatLokiLabels, encodeLokiPushProto } from './loki-push.ts';
export type { LokiPushFormat, LokiStreamInput, LokiEntryInput } from './loki-push.ts';

// OTLP (metrics, logs, traces; protobuf and JSON) and OTLP/gRPC
export { decodeOtlpMetrics, promMetricName, promUnit, formatPromFloat } from './otlp-metrics.ts';
export type { OtlpMetricsOptions, PromMetricType } from './otlp-metrics.ts';
export { decodeOtlpLogs, OTLP_LOG_STREAM_ATTRIBUTES, severityName } from './otlp-logs.ts';
export { decodeOtlpTraces, UNKNOWN_SERVICE_NAME } from './otlp-traces.ts';
export { encodeOtlpExportResponse, encodeRpcStatus, partialSuccessOf, promLabelName } from './otlp-common.ts';
export type { OtlpFormat, OtlpSignal } from './otlp-common.ts';
export { createOtlpGrpcServices, otlpGrpcServiceDefinition, isRetryableGrpcCode, grpcCodeForHttpStatus, GRPC_STATUS } from './otlp-grpc.ts';
export type { OtlpGrpcHandler, OtlpGrpcHandlers, OtlpGrpcResult, OtlpGrpcCall, OtlpGrpcService } from './otlp-grpc.ts';

// the collector -> central batch format (also the collector's WAL record frame)
export {
  FLEET_BATCH_CONTENT_TYPE,
  FLEET_BATCH_MAGIC,
  FLEET_FRAME_HEADER_BYTES,
  FLEET_MAX_FRAME_BYTES,
  FLEET_RECORD_LOGS,
  FLEET_RECORD_METRICS,
  FLEET_RECORD_SPANS,
  FLEET_RECORD_ROWS,
  decodeFleetBatch,
  decodeFleetFrame,
  encodeFleetFrame,
  encodeFleetFrameHeader,
  encodeFleetLabels,
  encodeFleetLogs,
  encodeFleetMetrics,
  encodeFleetSpans,
  mergeLogs,
  mergeMetrics,
  readFleetFrame,
  fleetFramePayload,
} from './fleet-batch.ts';
export type { FleetBatchContent, FleetDecodeOptions, FleetFrame, FleetFrameRead, FleetRecordType, FleetTenantContent } from './fleet-batch.ts';
