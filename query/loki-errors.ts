// Loki's error responses: a status code and a plain-text body (Loki's
// server.WriteError), with Loki's texts for timeouts and cancellations.
import { ERROR_CATALOG, FleetwatchError, isFleetwatchError } from '../core/index.ts';
import { LogqlParseError } from './logql/index.ts';

const DEADLINE_TEXT = 'request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed';

/** A FleetwatchError's detail without the catalog's generic prefix. */
function detailOf(e: FleetwatchError): string {
  const prefix = ERROR_CATALOG[e.code].message + ': ';
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

/** Loki's error responses: status code and a plain-text body. */
export function lokiError(e: unknown): { status: number; text: string } {
  if (e instanceof LogqlParseError) return { status: 400, text: e.message };
  if (e instanceof DOMException && e.name === 'TimeoutError') return { status: 504, text: DEADLINE_TEXT };
  if (e instanceof DOMException && e.name === 'AbortError') return { status: 499, text: 'the request was cancelled by the client' };
  if (isFleetwatchError(e)) {
    switch (e.code) {
      case 'FW_ERR_QUERY_BAD_DATA':
      case 'FW_ERR_QUERY_TOO_LARGE':
      case 'FW_ERR_QUERY_EXECUTION':
        return { status: 400, text: detailOf(e) };
      case 'FW_ERR_QUERY_TIMEOUT':
        return { status: 504, text: DEADLINE_TEXT };
      case 'FW_ERR_QUERY_CANCELED':
        return { status: 499, text: 'the request was cancelled by the client' };
      case 'FW_ERR_TENANT_MISSING':
        return { status: 401, text: 'no org id' };
      case 'FW_ERR_TENANT_INVALID':
        return { status: 400, text: detailOf(e) };
      default:
        return { status: e.status, text: e.message };
    }
  }
  return { status: 500, text: (e as Error)?.message ?? String(e) };
}

