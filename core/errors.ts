// One catalog of user-facing errors. Each has a stable code, an HTTP status
// and a message that says what to do. Protocol front ends (Prometheus, Loki,
// OTLP, gRPC) map these to their own error shapes; test/errors.test.ts checks
// every code is documented in docs/errors.md.

export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

export const ERROR_CATALOG = {
  FW_ERR_CONFIG_INVALID: { status: 500, message: 'invalid configuration' },
  FW_ERR_STORAGE_UNAVAILABLE: { status: 503, message: 'storage is not reachable; retry later' },
  FW_ERR_STORAGE_DATA_DIR: { status: 500, message: 'the data directory cannot be used' },
  FW_ERR_STORAGE_QUERY: { status: 500, message: 'a storage query failed' },
  FW_ERR_INGEST_BAD_REQUEST: { status: 400, message: 'the request body could not be decoded' },
  FW_ERR_INGEST_UNSUPPORTED_MEDIA: { status: 415, message: 'unsupported content type or encoding' },
  FW_ERR_INGEST_TOO_LARGE: { status: 413, message: 'the request body is larger than the configured limit' },
  FW_ERR_INGEST_LIMIT: { status: 400, message: 'the request breaks a per-tenant limit' },
  FW_ERR_INGEST_OVERLOADED: { status: 429, message: 'ingest is over capacity; retry with backoff' },
  FW_ERR_TENANT_MISSING: { status: 401, message: 'no tenant: send the X-Scope-OrgID header' },
  FW_ERR_TENANT_INVALID: { status: 400, message: 'the tenant id is not valid' },
  FW_ERR_AUTH_UNAUTHORIZED: { status: 401, message: 'missing or unknown credentials' },
  FW_ERR_WAL_FULL: { status: 429, message: 'the collector\'s write-ahead log is full while central catches up; retry with backoff' },
  FW_ERR_WAL_IO: { status: 503, message: 'the collector cannot write its write-ahead log; retry later' },
  FW_ERR_QUERY_BAD_DATA: { status: 400, message: 'the query or its parameters are not valid' },
  FW_ERR_QUERY_EXECUTION: { status: 422, message: 'the query could not be executed' },
  FW_ERR_QUERY_TIMEOUT: { status: 503, message: 'the query timed out' },
  FW_ERR_QUERY_CANCELED: { status: 499, message: 'the query was canceled' },
  FW_ERR_QUERY_TOO_LARGE: { status: 422, message: 'the query would load too much data; narrow it' },
  FW_ERR_NOT_FOUND: { status: 404, message: 'no such resource' },
  FW_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** An error meant for a user: stable code, HTTP status, helpful message. */
export class FleetwatchError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; retryable?: boolean }) {
    const spec = ERROR_CATALOG[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FleetwatchError';
    this.code = code;
    this.status = spec.status;
    this.retryable = options?.retryable ?? (spec.status === 429 || spec.status === 503);
  }
}

export function isFleetwatchError(e: unknown): e is FleetwatchError {
  return e instanceof FleetwatchError;
}

/** An expected failure carried as a value rather than thrown. */
export type Result<T> = { ok: true; value: T } | { ok: false; retryable: boolean; error: FleetwatchError };
