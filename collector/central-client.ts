// How the collector talks to central: one POST helper with the collector's
// identity headers, a per-attempt timeout that really cancels the request,
// and the one place that decides which answers are worth a retry.

export interface CentralClientOptions {
  /** central's base URL, e.g. https://central:9009 */
  readonly url: string;
  /** bearer token for central (auth.clusterTokens there); empty = none */
  readonly token: string;
  readonly cluster: string;
  readonly version: string;
  readonly timeoutMs: number;
}

export interface CentralAnswer {
  /** HTTP status, or 0 when no answer came (connection refused/reset, timeout) */
  readonly status: number;
  readonly text: string;
  /** Retry-After in milliseconds, when central sent one */
  readonly retryAfterMs: number | undefined;
}

export interface CentralClient {
  post(path: string, body: Uint8Array, headers: Record<string, string>, signal?: AbortSignal): Promise<CentralAnswer>;
}

export function createCentralClient(opts: CentralClientOptions): CentralClient {
  const base = opts.url.replace(/\/+$/, '');
  const identity: Record<string, string> = {
    'user-agent': `fleetwatch-collector/${opts.version}`,
    'x-fleetwatch-cluster': opts.cluster,
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
  };
  return {
    async post(path, body, headers, signal) {
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      try {
        const res = await fetch(`${base}${path}`, { method: 'POST', headers: { ...identity, ...headers }, body, signal: combined });
        const text = await res.text();
        const ra = res.headers.get('retry-after');
        const secs = ra !== null && /^\d+(\.\d+)?$/.test(ra.trim()) ? Number(ra) : undefined;
        return { status: res.status, text, retryAfterMs: secs === undefined ? undefined : secs * 1000 };
      } catch (e) {
        const err = e as Error & { cause?: { code?: string; message?: string } };
        const why = timeout.aborted ? `no answer within ${opts.timeoutMs} ms` : err.cause?.code ?? err.cause?.message ?? err.message;
        return { status: 0, text: `${base}${path}: ${why}`, retryAfterMs: undefined };
      }
    },
  };
}

/**
 * Whether a failed send should be tried again. Everything is, except answers
 * that say the batch itself can never be accepted (malformed, too large,
 * wrong media type): retrying those would stop the queue for good. Auth
 * failures (401/403) are retried: the data is fine and an operator can fix
 * the token without losing it.
 */
export function isRetryableStatus(status: number): boolean {
  return !(status === 400 || status === 413 || status === 415 || status === 422);
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return exp / 2 + random() * (exp / 2);
}
