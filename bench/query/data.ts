// The query benchmark's data set: 10,000 series x 24 h at a 15 s scrape
// interval (57.6 M samples), every value a pure function of (series, step)
// so the same data can be written time-major (remote_write, as scrapes
// arrive) and series-major (OpenMetrics for promtool's backfill) without
// holding it in memory.
//
//   http_requests_total{job,instance,cluster,method,code}      4,000 counters (some reset once)
//   http_request_duration_seconds_bucket{job,instance,cluster,le} 5,000 (500 classic histograms x 10 buckets)
//   process_resident_memory_bytes{job,instance,cluster}          500 gauges
//   up{job,instance,cluster}                                     500 gauges
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export const STEP_MS = 15_000;
export const STEPS = 24 * 240; // 24 h
export const JOBS = 20;
export const INSTANCES = 25;
const METHODS = ['GET', 'POST'];
const CODES = ['200', '404', '500', '503'];
const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
// share of requests at or below each bucket bound (a log-normal-ish latency)
const CDF = [0.02, 0.06, 0.18, 0.38, 0.62, 0.84, 0.94, 0.98, 0.995, 1];

type Kind = 'counter' | 'bucket' | 'memory' | 'up';

export interface BenchSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly kind: Kind;
  /** per-series scrape offset within the interval, ms */
  readonly offsetMs: number;
  /** index of the histogram (buckets) or of the series (others) for the value functions */
  readonly seed: number;
  /** bucket index for histogram buckets */
  readonly bucket: number;
}

function hash2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

export function benchSeries(): BenchSeries[] {
  const out: BenchSeries[] = [];
  let n = 0;
  let hist = 0;
  for (let j = 0; j < JOBS; j++) {
    const job = `svc-${String(j).padStart(2, '0')}`;
    for (let i = 0; i < INSTANCES; i++) {
      const base = { job, instance: `10.0.${j}.${i}:8080`, cluster: `c-${i % 4}` };
      const offsetMs = Math.floor(hash2(j, i) * STEP_MS);
      for (const method of METHODS) for (const code of CODES) out.push({ labels: { __name__: 'http_requests_total', ...base, method, code }, kind: 'counter', offsetMs, seed: n++, bucket: 0 });
      for (let b = 0; b < LE.length; b++) out.push({ labels: { __name__: 'http_request_duration_seconds_bucket', ...base, le: LE[b] as string }, kind: 'bucket', offsetMs, seed: hist, bucket: b });
      hist++;
      out.push({ labels: { __name__: 'process_resident_memory_bytes', ...base }, kind: 'memory', offsetMs, seed: n++, bucket: 0 });
      out.push({ labels: { __name__: 'up', ...base }, kind: 'up', offsetMs, seed: n++, bucket: 0 });
    }
  }
  return out;
}

/** Timestamp of step k of a series: its scrape offset plus up to 25 ms of jitter. */
export function timestampMs(startMs: number, s: BenchSeries, k: number): number {
  return startMs + k * STEP_MS + s.offsetMs + Math.floor(hash2(s.seed * 31 + s.bucket, k) * 25);
}

export function valueAt(s: BenchSeries, k: number): number {
  switch (s.kind) {
    case 'counter': {
      // requests per scrape: 1..60, some series reset once (a restart)
      const perStep = 1 + Math.floor(hash2(s.seed, -1) * 60) * (s.labels['code'] === '200' ? 1 : 0.05);
      const resetAt = hash2(s.seed, -2) < 0.1 ? 1000 + Math.floor(hash2(s.seed, -3) * 4000) : -1;
      const kk = resetAt >= 0 && k >= resetAt ? k - resetAt : k;
      return Math.floor((kk + 0.9 * hash2(s.seed, k)) * perStep);
    }
    case 'bucket': {
      // cumulative counts stay monotonic in time and across buckets: one noise term per histogram
      const perStep = 5 + Math.floor(hash2(s.seed, -4) * 100);
      return Math.floor((k + 0.9 * hash2(s.seed + 100_000, k)) * perStep * (CDF[s.bucket] as number));
    }
    case 'memory':
      return Math.round(2e8 + 1e8 * Math.sin(k / 240 + s.seed) + 1e7 * hash2(s.seed, k));
    case 'up':
      return 1;
  }
}

function labelText(l: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const k of Object.keys(l).sort()) if (k !== '__name__') parts.push(`${k}="${l[k]}"`);
  return `${l['__name__']}{${parts.join(',')}}`;
}

/** Writes the data as OpenMetrics text (series-major, timestamps in seconds) for `promtool tsdb create-blocks-from openmetrics`. */
export async function writeOpenMetrics(file: string, startMs: number, series: readonly BenchSeries[]): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 4 << 20 });
  // one family after the other, as OpenMetrics requires
  const byName = [...series].sort((a, b) => ((a.labels['__name__'] as string) < (b.labels['__name__'] as string) ? -1 : (a.labels['__name__'] as string) > (b.labels['__name__'] as string) ? 1 : 0));
  let chunk = '';
  for (const s of byName) {
    const prefix = `${labelText(s.labels)} `;
    for (let k = 0; k < STEPS; k++) {
      const t = timestampMs(startMs, s, k);
      chunk += `${prefix}${valueAt(s, k)} ${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}\n`;
    }
    if (chunk.length > 1 << 22) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.write(`${chunk}# EOF\n`);
  out.end();
  await once(out, 'finish');
}
