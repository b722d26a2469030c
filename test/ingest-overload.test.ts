// Overload: with a tiny limits.maxPendingBytes and many concurrent writers on
// every protocol, ingest pushes back (429 + Retry-After for remote_write and
// Loki, 503 + Retry-After for OTLP/HTTP, UNAVAILABLE with RetryInfo for
// OTLP/gRPC). Clients retry as real ones do; in the end every request has
// been acknowledged and its data is stored exactly once: a refused request
// left nothing behind that its retry would duplicate. Bounded in time: every
// writer gives up after DEADLINE_MS (and the test then fails).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { REMOTE_WRITE_V1_CONTENT_TYPE, encodeRemoteWriteV1, snappyCompress } from '../protocols/index.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';
import { grpcExport, otlpBody, post, sdkLogs, sdkSpans } from './helpers/ingest.ts';

const DEADLINE_MS = 60_000;
const REQUESTS_PER_WRITER = 8;
const MAX_REQUESTS_PER_WRITER = 200;
const NOW = Date.now();
const RW1 = { 'content-type': REMOTE_WRITE_V1_CONTENT_TYPE, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

interface Attempt {
  readonly ok: boolean;
  /** retryable push-back (overload) */
  readonly overloaded: boolean;
  /** status as the protocol states it: HTTP code or gRPC code name */
  readonly status: string;
  readonly retryAfter: string | null;
  readonly detail: string;
}

interface Tally {
  acked: number;
  readonly overloads: Attempt[];
  readonly failures: string[];
}

const tallies = new Map<string, Tally>();
const tally = (protocol: string): Tally => {
  let t = tallies.get(protocol);
  if (!t) tallies.set(protocol, (t = { acked: 0, overloads: [], failures: [] }));
  return t;
};

/** Sends until acknowledged (true), pausing after each push-back; gives up (false) on any other answer or at the deadline. */
async function sendWithRetry(protocol: string, deadline: number, send: () => Promise<Attempt>): Promise<boolean> {
  const t = tally(protocol);
  for (let attempt = 0; ; attempt++) {
    const a = await send();
    if (a.ok) {
      t.acked++;
      return true;
    }
    if (!a.overloaded) {
      t.failures.push(`${a.status}: ${a.detail}`);
      return false;
    }
    t.overloads.push(a);
    if (Date.now() > deadline) {
      t.failures.push(`still refused at the deadline: ${a.status} ${a.detail}`);
      return false;
    }
    // real clients honour Retry-After; a short jittered pause keeps the test quick
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * Math.min(attempt + 1, 5)));
  }
}

const httpAttempt = async (url: string, body: Uint8Array, headers: Record<string, string>, okStatus: number, overloadStatus: number): Promise<Attempt> => {
  try {
    const r = await post(url, body, headers);
    return { ok: r.status === okStatus, overloaded: r.status === overloadStatus, status: String(r.status), retryAfter: r.headers.get('retry-after'), detail: r.text.slice(0, 200) };
  } catch (e) {
    return { ok: false, overloaded: false, status: 'network', retryAfter: null, detail: (e as Error).message };
  }
};

let central: TestCentral;
beforeAll(async () => {
  // a few requests' worth: concurrent writers overflow it all the time
  central = await startTestCentral({ limits: { maxPendingBytes: 24 * 1024 } });
});
afterAll(async () => {
  await central?.shutdown();
});

describe('overload', () => {
  it('pushes back with each protocol\'s retryable answer, and after retries every acknowledged write is stored exactly once', async () => {
    const deadline = Date.now() + DEADLINE_MS;
    const db = central.store.database;
    const protocols = ['remote_write', 'loki', 'otlp-http', 'otlp-grpc'];
    // every writer sends at least REQUESTS_PER_WRITER requests, and keeps going
    // (up to MAX_REQUESTS_PER_WRITER) until every protocol has been pushed back
    // at least once, so each answer shape is checked whatever the timing
    const more = (r: number) => r < REQUESTS_PER_WRITER || (r < MAX_REQUESTS_PER_WRITER && Date.now() < deadline && !protocols.every((p) => tally(p).overloads.length > 0));
    const sent = { samples: 0, sampleSum: 0, loki: 0, otlpLogs: 0, grpcLogs: 0, spans: 0 };
    const writers: Promise<void>[] = [];

    // remote_write: 6 writers, every request brings 80 new series (series rows + samples)
    for (let w = 0; w < 6; w++) {
      writers.push(
        (async () => {
          for (let r = 0; more(r); r++) {
            const series = Array.from({ length: 80 }, (_, i) => ({ labels: { __name__: 'load_samples', w: String(w), r: String(r), i: String(i) }, samples: [{ timestampMs: NOW - 1000 * r, value: w * 1e6 + r * 1e3 + i }] }));
            const body = await snappyCompress(encodeRemoteWriteV1(series));
            if (await sendWithRetry('remote_write', deadline, () => httpAttempt(`${central.httpUrl}/api/v1/write`, body, { ...RW1, 'x-scope-orgid': 'load' }, 204, 429))) {
              sent.samples += series.length;
              for (const x of series) sent.sampleSum += x.samples[0]?.value ?? 0;
            }
          }
        })(),
      );
    }
    // Loki push: 3 writers, a new stream per request plus 60 lines
    for (let w = 0; w < 3; w++) {
      writers.push(
        (async () => {
          for (let r = 0; more(r); r++) {
            const values = Array.from({ length: 60 }, (_, i) => [(BigInt(NOW) * 1_000_000n + BigInt(r * 1000 + i)).toString(), `loki ${w}-${r}-${i}`]);
            const body = JSON.stringify({ streams: [{ stream: { app: 'load', w: String(w), r: String(r) }, values }] });
            if (await sendWithRetry('loki', deadline, () => httpAttempt(`${central.httpUrl}/loki/api/v1/push`, Buffer.from(body), { 'content-type': 'application/json', 'x-scope-orgid': 'load' }, 204, 429))) sent.loki += values.length;
          }
        })(),
      );
    }
    // OTLP/HTTP: 2 trace writers and 2 log writers
    for (let w = 0; w < 2; w++) {
      writers.push(
        (async () => {
          for (let r = 0; more(r); r++) {
            const body = otlpBody('traces', await sdkSpans(50, { service: 'load', prefix: `span ${w}-${r}` }), 'protobuf');
            if (await sendWithRetry('otlp-http', deadline, () => httpAttempt(`${central.httpUrl}/v1/traces`, body, { 'content-type': 'application/x-protobuf', 'x-scope-orgid': 'load' }, 200, 503))) sent.spans += 50;
          }
        })(),
        (async () => {
          for (let r = 0; more(r); r++) {
            const body = otlpBody('logs', await sdkLogs(50, { service: `load-http-${w}-${r}`, prefix: `otlp ${w}-${r}` }), 'json');
            if (await sendWithRetry('otlp-http', deadline, () => httpAttempt(`${central.httpUrl}/v1/logs`, body, { 'content-type': 'application/json', 'x-scope-orgid': 'load' }, 200, 503))) sent.otlpLogs += 50;
          }
        })(),
      );
    }
    // OTLP/gRPC: 2 log writers
    for (let w = 0; w < 2; w++) {
      writers.push(
        (async () => {
          for (let r = 0; more(r); r++) {
            const body = otlpBody('logs', await sdkLogs(50, { service: `load-grpc-${w}-${r}`, prefix: `grpc ${w}-${r}` }), 'protobuf');
            const ok = await sendWithRetry('otlp-grpc', deadline, async () => {
              const { err } = await grpcExport(central.grpcAddress as string, 'logs', body, 'load');
              if (err === null) return { ok: true, overloaded: false, status: 'OK', retryAfter: null, detail: '' };
              const details = err.metadata.get('grpc-status-details-bin')[0];
              const retryInfo = Buffer.isBuffer(details) && details.toString('latin1').includes('google.rpc.RetryInfo') ? 'RetryInfo' : null;
              const overloaded = err.code === GrpcStatus.UNAVAILABLE || (err.code === GrpcStatus.RESOURCE_EXHAUSTED && retryInfo !== null);
              return { ok: false, overloaded, status: GrpcStatus[err.code] ?? String(err.code), retryAfter: retryInfo, detail: err.details };
            });
            if (ok) sent.grpcLogs += 50;
          }
        })(),
      );
    }
    await Promise.all(writers);

    // every request was acknowledged in the end
    for (const p of protocols) expect(tally(p).failures, p).toEqual([]);
    expect(sent.samples).toBeGreaterThanOrEqual(6 * REQUESTS_PER_WRITER * 80);
    // every protocol was pushed back, each with its own retryable answer and Retry-After / RetryInfo
    for (const [p, answer] of [
      ['remote_write', '429 Retry-After: 1'],
      ['loki', '429 Retry-After: 1'],
      ['otlp-http', '503 Retry-After: 1'],
      ['otlp-grpc', 'UNAVAILABLE Retry-After: RetryInfo'],
    ] as const) {
      const o = tally(p).overloads;
      expect(o.length, `${p} was never pushed back`).toBeGreaterThan(0);
      expect(new Set(o.map((a) => `${a.status} Retry-After: ${a.retryAfter}`)), p).toEqual(new Set([answer]));
    }

    // exactly once: no sample, line, span or record twice, none missing
    const samples = await central.store.queryRows<{ n: string; distinct_series: string; dup: string }>({
      sql: `SELECT toString(sum(c)) AS n, toString(count()) AS distinct_series, toString(countIf(c > 1)) AS dup FROM (SELECT fingerprint, count() AS c FROM ${db}.metrics_samples WHERE tenant = 'load' GROUP BY fingerprint)`,
      params: {},
    });
    expect(samples[0]).toEqual({ n: String(sent.samples), distinct_series: String(sent.samples), dup: '0' });
    const sampleSum = await central.store.queryRows<{ s: number }>({ sql: `SELECT sum(value) AS s FROM ${db}.metrics_samples WHERE tenant = 'load'`, params: {} });
    expect(sampleSum[0]?.s).toBe(sent.sampleSum);
    const series = await central.store.queryRows<{ n: string }>({ sql: `SELECT toString(count()) AS n FROM (SELECT DISTINCT fingerprint FROM ${db}.metrics_series WHERE tenant = 'load')`, params: {} });
    expect(series[0]?.n).toBe(String(sent.samples));

    const lines = await central.store.queryRows<{ prefix: string; n: string; u: string }>({
      sql: `SELECT splitByChar(' ', body)[1] AS prefix, toString(count()) AS n, toString(uniqExact(body)) AS u FROM ${db}.logs WHERE tenant = 'load' GROUP BY prefix ORDER BY prefix`,
      params: {},
    });
    expect(lines).toEqual([
      { prefix: 'grpc', n: String(sent.grpcLogs), u: String(sent.grpcLogs) },
      { prefix: 'loki', n: String(sent.loki), u: String(sent.loki) },
      { prefix: 'otlp', n: String(sent.otlpLogs), u: String(sent.otlpLogs) },
    ]);
    const spans = await central.store.queryRows<{ n: string; u: string }>({ sql: `SELECT toString(count()) AS n, toString(uniqExact(name)) AS u FROM ${db}.spans WHERE tenant = 'load'`, params: {} });
    expect(spans[0]).toEqual({ n: String(sent.spans), u: String(sent.spans) });
    // and no reserved bytes leaked: the budget is back to zero
    const m = await (await fetch(`${central.httpUrl}/metrics`)).text();
    expect(/^fleetwatch_ingest_pending_bytes(?:\{[^}]*\})? (\S+)$/m.exec(m)?.[1]).toBe('0');
  }, DEADLINE_MS + 60_000);
});
