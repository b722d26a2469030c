// ingest: central's write path (validation, limits, the ingest log or group-committed inserts)
// and the HTTP/gRPC receivers that feed it.
export { createIngester, ingesterOptionsFromConfig } from './ingester.ts';
export type { Ingester, IngesterOptions, MetricsCommitted, WriteOutcome } from './ingester.ts';
export { limitsFromConfig } from './limits.ts';
export type { WriteLimits } from './limits.ts';
export { SHAPES, SAMPLES_ROWBINARY } from './row-encoders.ts';
export { openIngestLog, openIngestLogFromConfig, ingestLogEnabled, INGEST_LOG_SHAPES } from './ingest-log.ts';
export type { IngestLog, IngestLogOptions, IngestLogStats } from './ingest-log.ts';
export { createIngestService } from './module.ts';
export type { IngestService, IngestDeps } from './module.ts';
export { registerHttpReceivers } from './http-receivers.ts';
export type { ReceiverDeps } from './http-receivers.ts';
export { createFleetService } from './fleet-service.ts';
export type { FleetService } from './fleet-service.ts';
export { createClusterAuth, isValidClusterName } from './fleet-auth.ts';
export type { ClusterAuth, ClusterIdentity } from './fleet-auth.ts';
export type { FleetBatchWrite } from './fleet-batches.ts';
export type { ClusterEntry, HeartbeatReport } from './fleet-registry.ts';
export { startGrpcReceiver } from './grpc-receiver.ts';
export type { GrpcReceiver, GrpcReceiverOptions } from './grpc-receiver.ts';
