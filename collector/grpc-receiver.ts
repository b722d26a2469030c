// The collector's OTLP/gRPC receiver: protocols' OTLP services over the WAL
// sink. It differs from central's in one answer: a full WAL is
// RESOURCE_EXHAUSTED with a RetryInfo detail, the OTLP spec's signal that the
// server is throttling and the client should retry after the delay
// (https://opentelemetry.io/docs/specs/otlp/#otlpgrpc-throttling); central's
// storage trouble stays UNAVAILABLE.
import type { Config } from '../core/index.ts';
import { startGrpcReceiver, type Ingester } from '../ingest/index.ts';
import { GRPC_STATUS } from '../protocols/index.ts';

export interface CollectorGrpcReceiver {
  /** host:port it listens on */
  readonly address: string;
  shutdown(): Promise<void>;
}

export function startCollectorGrpc(config: Config, sink: Ingester): Promise<CollectorGrpcReceiver> {
  return startGrpcReceiver(config, sink, {
    maxMessageBytes: config.limits.maxRequestBytes,
    answerFor: (fe) => (fe.code === 'FW_ERR_WAL_FULL' ? { ok: false, code: GRPC_STATUS.RESOURCE_EXHAUSTED, message: fe.message, retryDelayMs: 1000 } : undefined),
    forceShutdownMs: 5_000,
  });
}
