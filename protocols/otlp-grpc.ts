// OTLP/gRPC service definitions for @grpc/grpc-js
// (opentelemetry.proto.collector.{metrics,logs,trace}.v1.*Service/Export).
// The request is passed through as raw bytes (our decoders read protobuf
// themselves; grpc-js has already undone gRPC compression), and the response
// is encoded by encodeOtlpExportResponse, so no protobufjs is involved.
//
// Failures follow the OTLP spec
// (https://github.com/open-telemetry/opentelemetry-proto/blob/main/docs/specification.md#failures):
// retryable conditions answer UNAVAILABLE (with RetryInfo when we know how
// long to wait); RESOURCE_EXHAUSTED is retryable only with RetryInfo, so we
// attach one only when the server can recover (a per-tenant rate limit), and
// leave it off for requests that can never succeed (too large); bad data
// answers INVALID_ARGUMENT (non-retryable: the client drops the data).
import { EventEmitter } from 'node:events';
import { Metadata, status as GrpcStatus, type ServiceDefinition, type UntypedServiceImplementation, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { isFleetwatchError } from '../core/index.ts';
import { encodeOtlpExportResponse, encodeRetryInfoAny, type OtlpSignal } from './otlp-common.ts';
import type { Rejection } from './types.ts';

/** gRPC status codes (re-exported so callers need not import grpc-js for them). */
export const GRPC_STATUS = GrpcStatus;

export type OtlpGrpcResult =
  | { readonly ok: true; readonly rejected: readonly Rejection[] }
  | {
      readonly ok: false;
      /** a gRPC status code (GRPC_STATUS) */
      readonly code: number;
      readonly message: string;
      /** when set (UNAVAILABLE / RESOURCE_EXHAUSTED), a RetryInfo detail tells the client when to retry */
      readonly retryDelayMs?: number;
    };

export interface OtlpGrpcCall {
  /** all request metadata (authorization etc.) */
  readonly metadata: Metadata;
  /** aborted when the client cancels or its deadline passes */
  readonly signal: AbortSignal;
  readonly peer: string;
}

/**
 * Handles one Export call. `tenant` is the raw `x-scope-orgid` metadata value
 * ('' when absent); validating it is the handler's job. `body` is the
 * serialized Export*ServiceRequest.
 */
export type OtlpGrpcHandler = (tenant: string, body: Uint8Array, call: OtlpGrpcCall) => Promise<OtlpGrpcResult>;

export interface OtlpGrpcHandlers {
  readonly metrics?: OtlpGrpcHandler;
  readonly logs?: OtlpGrpcHandler;
  readonly traces?: OtlpGrpcHandler;
}

export interface OtlpGrpcService {
  readonly signal: OtlpSignal;
  /** pass to server.addService(definition, implementation) */
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

const SERVICE_PATHS: Readonly<Record<OtlpSignal, string>> = {
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
};

const passthrough = (b: Buffer): Buffer => b;

/**
 * The service definition for one signal. Server side: requests stay raw
 * Buffers, responses are Rejection lists encoded as Export*ServiceResponse.
 * Client side (tests, tools): requests are raw Buffers, responses raw Buffers.
 */
export function otlpGrpcServiceDefinition(signal: OtlpSignal): ServiceDefinition {
  return {
    Export: {
      path: SERVICE_PATHS[signal],
      requestStream: false,
      responseStream: false,
      requestSerialize: passthrough,
      requestDeserialize: passthrough,
      responseSerialize: (rejected: readonly Rejection[]) => encodeOtlpExportResponse(signal, rejected, 'protobuf'),
      responseDeserialize: passthrough,
      originalName: 'export',
    },
  };
}

/** OTLP client retry table ("Failures"): is this code retryable, given whether RetryInfo came with it? */
export function isRetryableGrpcCode(code: number, hasRetryInfo: boolean): boolean {
  switch (code) {
    case GrpcStatus.CANCELLED:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.ABORTED:
    case GrpcStatus.OUT_OF_RANGE:
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DATA_LOSS:
      return true;
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return hasRetryInfo;
    default:
      return false;
  }
}

/**
 * The gRPC answer for an HTTP-style status (FleetwatchError.status). 429
 * (ingest over capacity) is backpressure, which the spec signals with
 * UNAVAILABLE (+ RetryInfo); 413 (a request that will never fit) is
 * RESOURCE_EXHAUSTED without RetryInfo, so clients drop it instead of
 * retrying forever.
 */
export function grpcCodeForHttpStatus(status: number): { code: number; retryable: boolean } {
  switch (status) {
    case 400:
    case 415:
    case 422:
      return { code: GrpcStatus.INVALID_ARGUMENT, retryable: false };
    case 401:
      return { code: GrpcStatus.UNAUTHENTICATED, retryable: false };
    case 403:
      return { code: GrpcStatus.PERMISSION_DENIED, retryable: false };
    case 404:
      return { code: GrpcStatus.NOT_FOUND, retryable: false };
    case 413:
      return { code: GrpcStatus.RESOURCE_EXHAUSTED, retryable: false };
    case 429:
      return { code: GrpcStatus.UNAVAILABLE, retryable: true };
    case 499:
      return { code: GrpcStatus.CANCELLED, retryable: true };
    case 503:
      return { code: GrpcStatus.UNAVAILABLE, retryable: true };
    case 504:
      return { code: GrpcStatus.DEADLINE_EXCEEDED, retryable: true };
    default:
      return status >= 500 ? { code: GrpcStatus.INTERNAL, retryable: false } : { code: GrpcStatus.INVALID_ARGUMENT, retryable: false };
  }
}

/** Retry delay advertised when a thrown error is retryable but says nothing more. */
const DEFAULT_RETRY_DELAY_MS = 1000;

/** grpc-js error object for a failed export, with RetryInfo in grpc-status-details-bin when asked for. */
function statusError(code: number, message: string, retryDelayMs: number | undefined): { code: number; details: string; metadata?: Metadata } {
  if (retryDelayMs === undefined || (code !== GrpcStatus.UNAVAILABLE && code !== GrpcStatus.RESOURCE_EXHAUSTED)) return { code, details: message };
  // google.rpc.Status{code=1, message=2, details=3: Any(RetryInfo)}
  const detailAny = encodeRetryInfoAny(retryDelayMs);
  const parts: number[] = [0x08, code];
  const msg = Buffer.from(message, 'utf8');
  const head = (field: number, len: number): number[] => {
    const out = [(field << 3) | 2];
    let n = len;
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const statusBytes = Buffer.concat([Buffer.from(parts), Buffer.from(head(2, msg.length)), msg, Buffer.from(head(3, detailAny.length)), detailAny]);
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', statusBytes);
  return { code, details: message, metadata };
}

function firstValue(md: Metadata, key: string): string {
  const v = md.get(key)[0];
  return v === undefined ? '' : typeof v === 'string' ? v : v.toString('utf8');
}

/**
 * Builds the OTLP/gRPC services for the signals that have a handler:
 *
 *   for (const s of createOtlpGrpcServices(handlers)) server.addService(s.definition, s.implementation);
 */
export function createOtlpGrpcServices(handlers: OtlpGrpcHandlers): OtlpGrpcService[] {
  const out: OtlpGrpcService[] = [];
  for (const signal of ['metrics', 'logs', 'traces'] as const) {
    const handler = handlers[signal];
    if (handler === undefined) continue;
    const exportCall = (call: ServerUnaryCall<Buffer, readonly Rejection[]>, callback: sendUnaryData<readonly Rejection[]>): void => {
      const ac = new AbortController();
      (call as EventEmitter).once('cancelled', () => ac.abort(new Error('the client cancelled the call')));
      const info: OtlpGrpcCall = { metadata: call.metadata, signal: ac.signal, peer: call.getPeer() };
      let result: Promise<OtlpGrpcResult>;
      try {
        result = handler(firstValue(call.metadata, 'x-scope-orgid'), call.request, info);
      } catch (e) {
        result = Promise.reject(e);
      }
      result.then(
        (r) => {
          if (r.ok) callback(null, r.rejected);
          else callback(statusError(r.code, r.message, r.retryDelayMs));
        },
        (e: unknown) => {
          // a handler should answer with a result; a thrown FleetwatchError still gets its proper status
          if (isFleetwatchError(e)) {
            const g = grpcCodeForHttpStatus(e.status);
            callback(statusError(g.code, e.message, e.retryable ? DEFAULT_RETRY_DELAY_MS : undefined));
          } else callback(statusError(GrpcStatus.INTERNAL, 'internal error', undefined));
        },
      );
    };
    out.push({ signal, definition: otlpGrpcServiceDefinition(signal), implementation: { Export: exportCall } });
  }
  return out;
}
