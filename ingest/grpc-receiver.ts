// OTLP/gRPC receiver: the same decoders and ingester as OTLP/HTTP behind
// grpc-js. Overload answers RESOURCE_EXHAUSTED and storage trouble
// UNAVAILABLE, both retryable per the OTLP spec; bad data INVALID_ARGUMENT.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Config } from '../core/index.ts';
import { splitHostPort, toFleetwatchError, writeTenantOf, type FleetwatchError } from '../core/index.ts';
import {
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
import type { Ingester } from './ingester.ts';

export interface GrpcReceiver {
  /** the bound address, e.g. 127.0.0.1:4317 */
  readonly address: string;
  shutdown(): Promise<void>;
}

export interface GrpcReceiverOptions {
  readonly maxMessageBytes: number;
  /** an answer of the caller's own for some errors (the collector's full WAL) */
  readonly answerFor?: (e: FleetwatchError) => OtlpGrpcResult | undefined;
  /** how long shutdown waits for calls in progress */
  readonly forceShutdownMs?: number;
}

export async function startGrpcReceiver(config: Config, ingester: Ingester, opts: GrpcReceiverOptions): Promise<GrpcReceiver> {
  const server = new Server({ 'grpc.max_receive_message_length': opts.maxMessageBytes });

  const handle =
    <T>(decode: (body: Uint8Array) => DecodeResult<T>, write: (tenant: string, batch: T, produced: () => void) => Promise<{ rejected: readonly Rejection[] }>): OtlpGrpcHandler =>
    async (tenantHeader, body): Promise<OtlpGrpcResult> => {
      const produced = ingester.produce();
      try {
        const tenant = writeTenantOf(tenantHeader || undefined, config.tenancy);
        const decoded = decode(body);
        if (!decoded.ok) return { ok: false, code: grpcCodeForHttpStatus(decoded.status).code, message: decoded.message };
        const out = await write(tenant, decoded.value, produced);
        return { ok: true, rejected: out.rejected };
      } catch (e) {
        const fe = toFleetwatchError(e);
        const own = opts.answerFor?.(fe);
        if (own) return own;
        const g = grpcCodeForHttpStatus(fe.status);
        return { ok: false, code: g.code, message: fe.message, ...(fe.retryable ? { retryDelayMs: 1000 } : {}) };
      } finally {
        produced();
      }
    };

  for (const svc of createOtlpGrpcServices({
    metrics: handle((b) => decodeOtlpMetrics(b, 'protobuf'), (t, x, p) => ingester.writeMetrics(t, x, p)),
    logs: handle((b) => decodeOtlpLogs(b, 'protobuf'), (t, x, p) => ingester.writeLogs(t, x, p)),
    traces: handle((b) => decodeOtlpTraces(b, 'protobuf'), (t, x, p) => ingester.writeSpans(t, x, p)),
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
        const force = setTimeout(() => server.forceShutdown(), opts.forceShutdownMs ?? 10_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      })),
  };
}
