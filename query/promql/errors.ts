// PromQL errors carry Prometheus's own errorType so the HTTP API maps them
// straight onto its envelope (https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview):
// bad_data 400, execution 422, timeout 503, canceled 499, internal 500.
// They are FleetwatchErrors too (stable FW_ERR_QUERY_* code, HTTP status), but
// their message is exactly the text Prometheus would return, without the
// catalog prefix, because Grafana and promtool show it to users verbatim.
import { FleetwatchError, type ErrorCode } from '../../core/index.ts';

export type PromqlErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

const CODE_BY_TYPE: Record<PromqlErrorType, ErrorCode> = {
  bad_data: 'FW_ERR_QUERY_BAD_DATA',
  execution: 'FW_ERR_QUERY_EXECUTION',
  timeout: 'FW_ERR_QUERY_TIMEOUT',
  canceled: 'FW_ERR_QUERY_CANCELED',
  internal: 'FW_ERR_INTERNAL',
};

export class PromqlError extends FleetwatchError {
  readonly errorType: PromqlErrorType;

  constructor(errorType: PromqlErrorType, message: string, options?: { code?: ErrorCode; cause?: unknown }) {
    super(options?.code ?? CODE_BY_TYPE[errorType], message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PromqlError';
    this.errorType = errorType;
    // Prometheus's exact wording, see the file comment.
    this.message = message;
  }
}

export function isPromqlError(e: unknown): e is PromqlError {
  return e instanceof PromqlError;
}

export function badData(message: string): PromqlError {
  return new PromqlError('bad_data', message);
}

export function execError(message: string): PromqlError {
  return new PromqlError('execution', message);
}

/** Prometheus ErrTooManySamples("query execution"). */
export function tooManySamples(): PromqlError {
  return new PromqlError('execution', 'query processing would load too many samples into memory in query execution', { code: 'FW_ERR_QUERY_TOO_LARGE' });
}

/** Prometheus ErrQueryTimeout / ErrQueryCanceled, with the "env" it was noticed in. */
export function abortError(kind: 'timeout' | 'canceled', env: string): PromqlError {
  return kind === 'timeout' ? new PromqlError('timeout', `query timed out in ${env}`) : new PromqlError('canceled', `query was canceled in ${env}`);
}
