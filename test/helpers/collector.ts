// Helpers for the collector tests: a collector process, a load generator
// that remembers exactly which samples were acknowledged, a way to count
// each sample in central's ClickHouse, and a loopback TCP proxy that injects
// network faults.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { encodeRemoteWriteV1, snappyCompress } from '../../protocols/index.ts';
import { RowBinaryReader, type Store } from '../../storage/index.ts';
import { startFleetwatch, freePort, type Running } from './proc.ts';

export const TOKEN = 'east-token-0123456789';

export interface CollectorProcess extends Running {
  readonly dataDir: string;
  readonly port: number;
}

/** Starts `fleetwatch collector` (a real process) on a loopback port; `port`/`dataDir` reuse a previous one's. */
export async function startCollectorProcess(opts: { central: string; dataDir?: string; port?: number; grpcPort?: number; env?: Record<string, string>; token?: string; cluster?: string }): Promise<CollectorProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'fw-col-'));
  const port = opts.port ?? (await freePort());
  const args = ['collector', '--cluster', opts.cluster ?? 'east', '--central', opts.central, '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${opts.grpcPort ?? 0}`, '--log-level', 'warn'];
  if (opts.token ?? TOKEN) args.push('--token', opts.token ?? TOKEN);
  const env = {
    FLEETWATCH_COLLECTOR_SHIP_MAX_BACKOFF_MS: '1s',
    FLEETWATCH_COLLECTOR_SHIP_LINGER_MS: '100ms',
    FLEETWATCH_COLLECTOR_HEARTBEAT_INTERVAL_MS: '1s',
    FLEETWATCH_COLLECTOR_SHIP_TIMEOUT_MS: '10s',
    ...(opts.env ?? {}),
  };
  const r = await startFleetwatch(args, { port, env });
  return Object.assign(r, { dataDir, port });
}

/** Reads numeric series from a /metrics page, summed over label sets. */
export async function scrapeMetric(url: string, name: string, labelFilter = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name || !(m[2] ?? '').includes(labelFilter)) continue;
    sum += Number(m[3]);
    seen = true;
  }
  return seen ? sum : NaN;
}

/** Waits until the collector's WAL has no unshipped record (bounded). */
export async function waitDrained(collectorUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let records = NaN;
    try {
      records = await scrapeMetric(collectorUrl, 'fleetwatch_collector_wal_records');
    } catch {
      // restarting
    }
    if (records === 0) return;
    if (Date.now() > deadline) throw new Error(`collector still has ${records} unshipped records after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface LoadResult {
  /** sample ids (= sample values) of acknowledged requests */
  readonly acked: number[];
  /** ids of requests answered with an error or no answer */
  readonly unacked: number[];
  readonly statuses: Map<number, number>;
  readonly retryAfterSeen: boolean;
}

export interface Load {
  /** the next id that will be used */
  readonly nextId: number;
  /** acknowledged so far */
  readonly ackedCount: number;
  stop(): Promise<LoadResult>;
}

/**
 * Sends remote_write requests from `lanes` concurrent senders, each request
 * carrying `samplesPerRequest` samples over 20 series of `metric`. Every
 * sample has a unique id, used as both its value and (offset) its
 * timestamp, so central can be checked sample by sample. A failed request is
 * not retried (its ids are "unacked").
 */
export function startLoad(url: string, opts: { metric: string; lanes?: number; samplesPerRequest?: number; pauseMs?: number; startId?: number; baseTimeMs?: number }): Load {
  const lanes = opts.lanes ?? 2;
  const per = opts.samplesPerRequest ?? 200;
  const pause = opts.pauseMs ?? 20;
  const t0 = opts.baseTimeMs ?? Date.now() - 3_600_000;
  let next = opts.startId ?? 0;
  let stopped = false;
  const acked: number[] = [];
  const unacked: number[] = [];
  const statuses = new Map<number, number>();
  let retryAfterSeen = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes });
  const u = new URL(`${url}/api/v1/write`);
  const post = (body: Uint8Array) =>
    new Promise<{ status: number; retryAfter: string | undefined }>((resolve) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
        res.on('error', () => resolve({ status: 0, retryAfter: undefined }));
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve({ status: 0, retryAfter: undefined }));
      req.end(body);
    });
  const lane = async (l: number) => {
    while (!stopped) {
      const first = next;
      next += per;
      const bySeries = new Map<number, { timestampMs: number; value: number }[]>();
      for (let id = first; id < first + per; id++) {
        const s = id % 20;
        let arr = bySeries.get(s);
        if (!arr) bySeries.set(s, (arr = []));
        arr.push({ timestampMs: t0 + id, value: id });
      }
      const series = [...bySeries].map(([s, samples]) => ({ labels: { __name__: opts.metric, series: String(s), lane: String(l) }, samples }));
      const body = await snappyCompress(encodeRemoteWriteV1(series));
      const r = await post(body);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.retryAfter !== undefined) retryAfterSeen = true;
      const target = r.status === 204 || r.status === 200 ? acked : unacked;
      for (let id = first; id < first + per; id++) target.push(id);
      if (pause > 0) await new Promise((res) => setTimeout(res, pause));
    }
  };
  const running = Promise.all(Array.from({ length: lanes }, (_, l) => lane(l)));
  return {
    get nextId() {
      return next;
    },
    get ackedCount() {
      return acked.length;
    },
    async stop() {
      stopped = true;
      await running;
      agent.destroy();
      return { acked, unacked, statuses, retryAfterSeen };
    },
  };
}

/** How many times each sample id (= value) of `metric` is stored in central. */
export async function storedCounts(store: Store, database: string, metric: string): Promise<Map<number, number>> {
  const bin = await store.queryBinary({ sql: `SELECT toInt64(value) FROM ${database}.metrics_samples WHERE metric_name = {m:String}`, params: { m: metric } }, 'RowBinary');
  const counts = new Map<number, number>();
  const rd = new RowBinaryReader(bin);
  while (!rd.done) {
    const id = rd.int64();
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Exactly-once check: every acknowledged id once, nothing twice, nothing that was never sent. */
export function exactlyOnceProblems(counts: Map<number, number>, acked: readonly number[], maxId: number): string[] {
  const problems: string[] = [];
  let missing = 0;
  for (const id of acked) if (!counts.has(id)) missing++;
  if (missing) problems.push(`${missing} of ${acked.length} acknowledged samples missing (e.g. ${acked.find((id) => !counts.has(id))})`);
  let dups = 0;
  let unknown = 0;
  for (const [id, n] of counts) {
    if (n > 1) dups++;
    if (id < 0 || id >= maxId) unknown++;
  }
  if (dups) problems.push(`${dups} samples stored more than once (e.g. ${[...counts].find(([, n]) => n > 1)?.join(' x')})`);
  if (unknown) problems.push(`${unknown} samples that were never sent`);
  return problems;
}

export type ProxyMode = 'pass' | 'faulty';

export interface FaultProxy {
  readonly url: string;
  mode: ProxyMode;
  /** how many times each fault was injected */
  readonly injected: Record<'resetUpload' | 'dropResponse' | 'delay' | 'cutResponse' | 'closed', number>;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of `target`. In `faulty` mode each new
 * connection draws one behaviour: pass, reset during the upload (the request
 * never completes), drop the response (central commits, the collector never
 * hears: the resend must be deduplicated), cut the response stream halfway,
 * or delay every chunk; a connection that survives is closed after a short
 * while (clients keep connections alive, and each new one draws again).
 * Deterministic from `seed`.
 */
export async function startFaultProxy(target: string, seed = 1): Promise<FaultProxy> {
  const t = new URL(target);
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const injected = { resetUpload: 0, dropResponse: 0, delay: 0, cutResponse: 0, closed: 0 };
  const sockets = new Set<net.Socket>();
  const proxy: FaultProxy = {
    url: '',
    mode: 'pass',
    injected,
    close: () =>
      new Promise<void>((resolve) => {
        for (const so of sockets) so.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(t.port), t.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    const kill = () => {
      client.resetAndDestroy();
      upstream.destroy();
    };
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    const roll = proxy.mode === 'faulty' ? rnd() : 1;
    if (proxy.mode === 'faulty' && roll >= 0.4) {
      setTimeout(() => {
        if (client.destroyed) return;
        injected.closed++;
        client.end();
        upstream.end();
      }, 100 + Math.floor(rnd() * 700));
    }
    if (roll < 0.15) {
      // reset after part of the upload
      injected.resetUpload++;
      let up = 0;
      const limit = 200 + Math.floor(rnd() * 20_000);
      client.on('data', (d: Buffer) => {
        up += d.length;
        if (up > limit) kill();
        else upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => client.write(d));
    } else if (roll < 0.3) {
      // the request gets through, the answer never comes back
      injected.dropResponse++;
      client.pipe(upstream);
      upstream.once('data', () => kill());
    } else if (roll < 0.4) {
      // the answer is cut short
      injected.cutResponse++;
      client.pipe(upstream);
      upstream.once('data', (d: Buffer) => {
        client.write(d.subarray(0, Math.max(1, d.length >> 1)));
        kill();
      });
    } else if (roll < 0.55) {
      injected.delay++;
      // every chunk arrives late but whole and in order; an end follows the last chunk
      const delayed = (from: net.Socket, to: net.Socket) => {
        let chain = Promise.resolve();
        from.on('data', (d: Buffer) => {
          from.pause();
          chain = chain.then(
            () =>
              new Promise<void>((res) =>
                setTimeout(() => {
                  if (!to.destroyed) to.write(d);
                  from.resume();
                  res();
                }, Math.floor(rnd() * 150)),
              ),
          );
        });
        from.on('end', () => void chain.then(() => to.end()));
      };
      delayed(client, upstream);
      delayed(upstream, client);
    } else {
      client.pipe(upstream);
      upstream.pipe(client);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as net.AddressInfo;
  return Object.assign(proxy, { url: `http://127.0.0.1:${addr.port}` });
}
