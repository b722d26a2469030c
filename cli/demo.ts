// `fleetwatch demo`: central plus simulated clusters that send what real ones
// would — Prometheus remote_write metrics, Loki push logs, OTLP/JSON traces —
// over HTTP to central, with faults injected on a schedule, so dashboards,
// queries and alerts have something to show. Each cluster's loop schedules
// its next round after the current one ends (no overlapping timers).
import { encodeRemoteWriteV1, snappyCompress } from '../protocols/index.ts';
import type { Central } from './central.ts';

export interface DemoOptions {
  readonly clusters: number;
  readonly intervalMs: number;
  /** log lines per cluster per round */
  readonly linesPerRound: number;
}

export interface Demo {
  stop(): Promise<void>;
}

interface ClusterState {
  readonly name: string;
  readonly requests: Map<string, number>;
  readonly buckets: Map<string, number>;
  round: number;
}

const SERVICES = ['checkout', 'cart', 'search', 'payments'];
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The fault schedule, in rounds of one cycle of 60: cluster 2 goes silent for
 * rounds 20-29 (a network partition), cluster 1's payments service fails and
 * slows down for rounds 40-49.
 */
export function faultsAt(clusterIndex: number, round: number): { silent: boolean; errorRate: number; slowFactor: number } {
  const r = round % 60;
  const silent = clusterIndex === 2 && r >= 20 && r < 30;
  const degraded = clusterIndex === 1 && r >= 40 && r < 50;
  return { silent, errorRate: degraded ? 0.3 : 0.01, slowFactor: degraded ? 8 : 1 };
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function startDemo(central: Central, opts: DemoOptions): Demo {
  const url = central.httpUrl;
  const clusters: ClusterState[] = Array.from({ length: opts.clusters }, (_, i) => ({ name: `cluster-${String.fromCharCode(97 + i)}`, requests: new Map(), buckets: new Map(), round: 0 }));
  const abort = new AbortController();
  const loops = clusters.map((c, i) => runCluster(c, i));

  async function runCluster(c: ClusterState, index: number): Promise<void> {
    const random = rng(index + 1);
    while (!abort.signal.aborted) {
      const started = Date.now();
      const fault = faultsAt(index, c.round);
      if (!fault.silent) {
        try {
          await sendRound(c, random, fault, started);
        } catch (e) {
          if (!abort.signal.aborted) central.app.log.warn({ cluster: c.name, err: (e as Error).message }, 'demo cluster could not send');
        }
      }
      c.round++;
      const wait = Math.max(0, opts.intervalMs - (Date.now() - started));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        abort.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async function post(path: string, body: Uint8Array | string, headers: Record<string, string>): Promise<void> {
    // not aborted on stop: a round in flight finishes, so central never sees a half-sent request
    const r = await fetch(`${url}${path}`, { method: 'POST', body, headers });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  }

  async function sendRound(c: ClusterState, random: () => number, fault: ReturnType<typeof faultsAt>, nowMs: number): Promise<void> {
    const series: { labels: Record<string, string>; samples: { timestampMs: number; value: number }[] }[] = [];
    const add = (labels: Record<string, string>, value: number) => series.push({ labels: { cluster: c.name, ...labels }, samples: [{ timestampMs: nowMs, value }] });
    const logs: [string, string][] = [];
    const spans: unknown[] = [];
    for (const svc of SERVICES) {
      const failing = svc === 'payments' ? fault.errorRate : 0.01;
      const n = 20 + Math.floor(random() * 30);
      for (let k = 0; k < n; k++) {
        const code = random() < failing ? '500' : '200';
        const key = `${svc}|${code}`;
        c.requests.set(key, (c.requests.get(key) ?? 0) + 1);
        const latency = (0.01 + random() * 0.09) * (svc === 'payments' ? fault.slowFactor : 1);
        for (const b of BUCKETS) if (latency <= b) c.buckets.set(`${svc}|${b}`, (c.buckets.get(`${svc}|${b}`) ?? 0) + 1);
        c.buckets.set(`${svc}|+Inf`, (c.buckets.get(`${svc}|+Inf`) ?? 0) + 1);
        c.buckets.set(`${svc}|sum`, (c.buckets.get(`${svc}|sum`) ?? 0) + latency);
        if (logs.length < opts.linesPerRound) {
          const level = code === '500' ? 'error' : random() < 0.1 ? 'warn' : 'info';
          logs.push([`${BigInt(nowMs) * 1_000_000n + BigInt(k)}`, random() < 0.5 ? `level=${level} service=${svc} status=${code} duration=${(latency * 1000).toFixed(1)}ms msg="handled request"` : JSON.stringify({ level, service: svc, status: Number(code), duration_ms: Math.round(latency * 1000), msg: 'handled request' })]);
        }
        if (k === 0) spans.push(demoSpan(svc, code, nowMs, latency, random));
      }
      add({ __name__: 'up', job: svc, instance: `${svc}-0:8080` }, 1);
      for (const code of ['200', '500']) add({ __name__: 'http_requests_total', job: svc, code }, c.requests.get(`${svc}|${code}`) ?? 0);
      for (const b of [...BUCKETS.map(String), '+Inf']) add({ __name__: 'http_request_duration_seconds_bucket', job: svc, le: b }, c.buckets.get(`${svc}|${b}`) ?? 0);
      add({ __name__: 'http_request_duration_seconds_sum', job: svc }, c.buckets.get(`${svc}|sum`) ?? 0);
      add({ __name__: 'http_request_duration_seconds_count', job: svc }, c.buckets.get(`${svc}|+Inf`) ?? 0);
      add({ __name__: 'process_cpu_utilization', job: svc }, Math.min(1, 0.2 + random() * 0.3 + (svc === 'payments' && fault.slowFactor > 1 ? 0.4 : 0)));
    }
    const rw = await snappyCompress(encodeRemoteWriteV1(series));
    await post('/api/v1/write', rw, { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' });
    await post('/loki/api/v1/push', JSON.stringify({ streams: [{ stream: { cluster: c.name, job: 'demo-app', namespace: 'shop' }, values: logs }] }), { 'content-type': 'application/json' });
    await post(
      '/v1/traces',
      JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }, { key: 'k8s.cluster.name', value: { stringValue: c.name } }] }, scopeSpans: [{ scope: { name: 'demo' }, spans }] }] }),
      { 'content-type': 'application/json' },
    );
  }

  return {
    async stop() {
      abort.abort();
      await Promise.all(loops);
    },
  };
}

function hex(random: () => number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(random() * 256).toString(16).padStart(2, '0');
  return s;
}

function demoSpan(service: string, code: string, nowMs: number, latencySeconds: number, random: () => number): unknown {
  const start = BigInt(nowMs) * 1_000_000n;
  return {
    traceId: hex(random, 16),
    spanId: hex(random, 8),
    name: `GET /${service}`,
    kind: 2,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: (start + BigInt(Math.round(latencySeconds * 1e9))).toString(),
    attributes: [
      { key: 'http.route', value: { stringValue: `/${service}` } },
      { key: 'http.response.status_code', value: { intValue: code } },
    ],
    status: { code: code === '500' ? 2 : 1 },
  };
}
