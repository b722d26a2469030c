// The collector's OTLP/gRPC receiver: protocols' OTLP services over the WAL
// sink. It differs from central's in one answer: a full WAL is
// RESOURCE_EXHAUSTED with a RetryInfo detail, the OTLP spec's signal that the
// server is throttling and the client should retry after the delay
// (https://opentelemetry.io/docs/specs/otlp/#otlpgrpc-throttling); central's
// storage trouble stays UNAVAILABLE.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { splitHostPort, toFleetwatchError, writeTenantOf, type Config } from '../core/index.ts';
import type { Ingester } from '../ingest/index.ts';
import {
  GRPC_STATUS,
  createOtlpGrpcServices,
  decodeOtlpLogs,
  decodeOtlpMetrics,
  decodeOtlpTraces,
  grpcCodeForHttpStatus,
  type DecodeResult,
  type OtlpGrpcHandler,
  type OtlpGrpcResult,
  type Rejection,
} from '../protocols/index.ts';

export interface CollectorGrpcReceiver {
  /** host:port it listens on */
  readonly address: string;
  shutdown(): Promise<void>;
}

export async function startCollectorGrpc(config: Config, sink: Ingester): Promise<CollectorGrpcReceiver> {
  const server = new Server({ 'grpc.max_receive_message_length': config.limits.maxRequestBytes });
  const handle =
    <T>(decode: (body: Uint8Array) => DecodeResult<T>, write: (tenant: string, batch: T) => Promise<{ rejected: readonly Rejection[] }>): OtlpGrpcHandler =>
    async (tenantHeader, body): Promise<OtlpGrpcResult> => {
      try {
        const tenant = writeTenantOf(tenantHeader || undefined, config.tenancy);
        const decoded = decode(body);
        if (!decoded.ok) return { ok: false, code: grpcCodeForHttpStatus(decoded.status).code, message: decoded.message };
        return { ok: true, rejected: (await write(tenant, decoded.value)).rejected };
      } catch (e) {
        const fe = toFleetwatchError(e);
        if (fe.code === 'FW_ERR_WAL_FULL') return { ok: false, code: GRPC_STATUS.RESOURCE_EXHAUSTED, message: fe.message, retryDelayMs: 1000 };
        const g = grpcCodeForHttpStatus(fe.status);
        return { ok: false, code: g.code, message: fe.message, ...(fe.retryable ? { retryDelayMs: 1000 } : {}) };
      }
    };
  for (const svc of createOtlpGrpcServices({
    metrics: handle((b) => decodeOtlpMetrics(b, 'protobuf'), (t, x) => sink.writeMetrics(t, x)),
    logs: handle((b) => decodeOtlpLogs(b, 'protobuf'), (t, x) => sink.writeLogs(t, x)),
    traces: handle((b) => decodeOtlpTraces(b, 'protobuf'), (t, x) => sink.writeSpans(t, x)),
  })) {
    server.addService(svc.definition, svc.implementation);
  }
  const { host, port } = splitHostPort(config.server.grpcListen);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let stopped: Promise<void> | undefined;
  return {
    address: `${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`,
    shutdown: () =>
      (stopped ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 5_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      })),
  };
}
