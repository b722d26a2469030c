// Writes series straight into a store's metrics tables (as ingest would:
// one metrics_series row per series per day, RowBinary sample rows with the
// value bits copied as they are), and builds the same data for the PromQL
// memory source, so engine results over ClickHouse and over memory compare.
import { fingerprintParts, sortLabels } from '../../core/index.ts';
import { RowBinaryWriter, type Store } from '../../storage/index.ts';

export interface TestSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly timestampsMs: readonly number[];
  /** bits kept: put staleness markers in with staleNaN() */
  readonly values: Float64Array;
}

const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0] as number;

/** A Float64Array holding one staleness marker (read it with [0]: V8 keeps the bits in typed arrays). */
export function staleValues(n: number): Float64Array {
  return new Float64Array(n).fill(STALE);
}

export function isStaleBits(values: Float64Array, i: number): boolean {
  return new BigUint64Array(values.buffer, values.byteOffset, values.length)[i] === 0x7ff0000000000002n;
}

/** Sets values[i] to a staleness marker, bit-exact. */
export function setStale(values: Float64Array, i: number): void {
  new BigUint64Array(values.buffer, values.byteOffset, values.length)[i] = 0x7ff0000000000002n;
}

const MS_PER_DAY = 86_400_000;

export async function writeSeries(store: Store, tenant: string, series: readonly TestSeries[], opts: { duplicate?: boolean } = {}): Promise<void> {
  const sw = new RowBinaryWriter();
  const w = new RowBinaryWriter();
  let seriesRows = 0;
  let sampleRows = 0;
  for (const s of series) {
    const names = Object.keys(s.labels).filter((k) => s.labels[k] !== '');
    const sorted = sortLabels(names, names.map((k) => s.labels[k] as string));
    const [hi, lo] = fingerprintParts(sorted.names, sorted.values);
    const metric = s.labels['__name__'] ?? '';
    const days = new Set(s.timestampsMs.map((t) => Math.floor(t / MS_PER_DAY)));
    for (const day of days) {
      sw.string(tenant);
      sw.uint16(day);
      sw.string(metric);
      sw.uint64Parts(hi, lo);
      sw.stringMap(sorted.names, sorted.values);
      seriesRows++;
    }
    const bytes = new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.byteLength);
    const copies = opts.duplicate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      for (let i = 0; i < s.timestampsMs.length; i++) {
        w.string(tenant);
        w.string(metric);
        w.uint64Parts(hi, lo);
        w.int64(s.timestampsMs[i] as number);
        w.raw(bytes, i * 8, 8);
        sampleRows++;
      }
    }
  }
  if (seriesRows > 0) {
    await store.insert({ table: 'metrics_series', columns: ['tenant', 'date', 'metric_name', 'fingerprint', 'labels'], structure: 'tenant String, date Date, metric_name String, fingerprint UInt64, labels Map(String, String)', data: sw.finish(), rows: seriesRows });
  }
  if (sampleRows > 0) {
    await store.insert({ table: 'metrics_samples', columns: ['tenant', 'metric_name', 'fingerprint', 'timestamp_ms', 'value'], structure: 'tenant String, metric_name String, fingerprint UInt64, timestamp_ms Int64, value Float64', data: w.finish(), rows: sampleRows });
  }
}

/** A deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenOptions {
  readonly startMs: number;
  readonly endMs: number;
  readonly seed: number;
}

/**
 * A varied data set: counters with resets, gauges (incl. negative values),
 * classic histograms, series with gaps, series that go stale (a staleness
 * marker, then silence) and come back, scrape jitter off any grid.
 */
export function generateSeries(o: GenOptions): TestSeries[] {
  const rand = rng(o.seed);
  const out: TestSeries[] = [];
  const scrape = (intervalMs: number, jitterMs: number, gap?: [number, number], staleAt?: number, backAt?: number): number[] => {
    const t: number[] = [];
    const phase = Math.floor(rand() * intervalMs);
    for (let ts = o.startMs + phase; ts <= o.endMs; ts += intervalMs) {
      const j = Math.floor(rand() * jitterMs);
      const x = ts + j;
      if (gap && x >= gap[0] && x < gap[1]) continue;
      if (staleAt !== undefined && x >= staleAt && (backAt === undefined || x < backAt)) continue;
      t.push(x);
    }
    return t;
  };
  const withStale = (t: number[], v: number[], staleAt: number | undefined): TestSeries['values'] => {
    const vals = Float64Array.from(v);
    if (staleAt === undefined) return vals;
    // the marker goes right where the series stops
    const i = t.findIndex((x) => x >= staleAt);
    const idx = i < 0 ? t.length : i;
    t.splice(idx, 0, staleAt);
    const out = new Float64Array(vals.length + 1);
    out.set(vals.subarray(0, idx), 0);
    out.set(vals.subarray(idx), idx + 1);
    setStale(out, idx);
    return out;
  };
  const span = o.endMs - o.startMs;
  for (const cluster of ['eu', 'us']) {
    for (const job of ['api', 'db']) {
      for (let inst = 0; inst < 3; inst++) {
        const instance = `${job}-${inst}:9100`;
        for (const code of ['200', '500']) {
          const gap: [number, number] | undefined = inst === 1 && code === '500' ? [o.startMs + span * 0.4, o.startMs + span * 0.55] : undefined;
          const staleAt = inst === 2 && code === '200' && cluster === 'eu' ? Math.floor(o.startMs + span * 0.6) + 7 : undefined;
          const backAt = staleAt !== undefined && job === 'api' ? staleAt + span * 0.15 : undefined;
          const t = scrape(15_000, 900, gap, staleAt, backAt);
          let c = code === '500' ? 0 : Math.floor(rand() * 1000);
          const v = t.map((_, i) => {
            if (i > 0 && rand() < 0.01) c = Math.floor(rand() * 5); // reset
            else c += code === '500' ? (rand() < 0.3 ? 1 : 0) : Math.floor(rand() * 20);
            return c;
          });
          out.push({ labels: { __name__: 'http_requests_total', cluster, job, instance, code }, timestampsMs: t, values: withStale(t, v, staleAt) });
        }
        const tg = scrape(30_000, 2000);
        out.push({ labels: { __name__: 'temperature_celsius', cluster, job, instance }, timestampsMs: tg, values: Float64Array.from(tg.map(() => Math.round((rand() * 60 - 10) * 100) / 100)) });
        const th = scrape(15_000, 500);
        const bounds = ['0.1', '0.5', '1', '+Inf'];
        const counts = [0, 0, 0, 0];
        const bucketVals: number[][] = bounds.map(() => []);
        for (let i = 0; i < th.length; i++) {
          const obs = Math.floor(rand() * 10);
          for (let k = 0; k < obs; k++) {
            const x = rand() * 1.5;
            for (let b = 0; b < bounds.length; b++) if (bounds[b] === '+Inf' || x <= Number(bounds[b])) counts[b] = (counts[b] as number) + 1;
          }
          for (let b = 0; b < bounds.length; b++) (bucketVals[b] as number[]).push(counts[b] as number);
        }
        bounds.forEach((le, b) => {
          out.push({ labels: { __name__: 'request_duration_seconds_bucket', cluster, job, instance, le }, timestampsMs: th, values: Float64Array.from(bucketVals[b] as number[]) });
        });
      }
    }
  }
  // sparse: a sample every 4-10 minutes
  const ts: number[] = [];
  for (let x = o.startMs + 1234; x <= o.endMs; x += 240_000 + Math.floor(rand() * 360_000)) ts.push(x);
  out.push({ labels: { __name__: 'batch_last_success_seconds', job: 'batch' }, timestampsMs: ts, values: Float64Array.from(ts.map((x) => x / 1000)) });
  return out;
}
