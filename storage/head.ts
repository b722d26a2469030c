// The head: every committed sample newer than a moving floor, held in
// memory per series, as Prometheus keeps its head block. ClickHouse stays
// the store of record; the head only answers queries whose whole time range
// it covers, because each chDB read costs a few milliseconds however small
// (bench/RESULTS.md, query section) while recent data is what dashboards,
// rules and health checks ask for most.
//
// Completeness is the invariant everything rests on: once `ready`, every
// sample committed with timestamp >= floorMs is here. It holds because
//  - ingest calls append() after each metrics commit and before answering
//    the client, for every sample stored (ingester onMetricsCommitted);
//  - what was committed before this process started is loaded by warm(),
//    and appends are taken from construction on, so nothing falls between;
//  - this process is the only writer: true by construction with embedded
//    chDB (one process per data directory); with a ClickHouse server several
//    centrals may write, so the head is off there unless configured on;
//  - eviction and the memory budget only ever raise the floor.
// A write that fails is not appended; if part of it was committed anyway,
// ClickHouse may hold samples the head lacks until the client's retry.
//
// Views handed to queries stay valid: samples below a series' end are never
// changed in place; growth, out-of-order inserts and compaction copy into new
// arrays. Values keep their bits (staleness markers are NaN payloads), so
// they are copied as 32-bit halves, never through a JS number.
import type { Labels } from '../core/index.ts';
import { RowBinaryReader } from './row-binary.ts';
import { SqlBuilder, ident } from './sql.ts';
import { SAMPLES_BUCKET_MS } from './schema.ts';
import type { Store } from './store.ts';

/** What append() reads of a write (protocols' MetricsBatch has this shape). */
export interface HeadBatch {
  readonly series: ReadonlyArray<HeadSeriesRef | undefined>;
  readonly sampleSeries: Uint32Array;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  readonly sampleCount: number;
}

export interface HeadSeriesRef {
  /** name-sorted, includes __name__ */
  readonly labels: Labels;
  readonly metricName: string;
  readonly fpHi: number;
  readonly fpLo: number;
}

/** One series' recent samples: [start, end) of t and v are valid, sorted by time, unique. */
export interface HeadSeries {
  readonly tenant: string;
  readonly metricName: string;
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly start: number;
  readonly end: number;
  /** for the query side: the labels with a tenant label, made once */
  tenantLabels: Labels | undefined;
}

export interface HeadOptions {
  /** samples older than now - windowMs are dropped (and not taken) */
  readonly windowMs: number;
  /** samples held at most; beyond it the floor rises */
  readonly maxSamples: number;
  readonly now?: () => number;
}

export interface HeadStats {
  readonly series: number;
  readonly samples: number;
  readonly floorMs: number;
  readonly ready: boolean;
}

const MIN_CAPACITY = 8;

class Series implements HeadSeries {
  t: Float64Array;
  v: Float64Array;
  /** v's bits */
  w: Uint32Array;
  start = 0;
  end = 0;
  dead = false;
  tenantLabels: Labels | undefined = undefined;
  constructor(
    readonly tenant: string,
    readonly metricName: string,
    readonly labels: Labels,
    readonly key: string,
    capacity: number,
  ) {
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
    this.w = new Uint32Array(this.v.buffer);
  }

  /** Re-homes [start, end) into fresh arrays of the given capacity (views on the old ones stay intact). */
  realloc(capacity: number): void {
    const n = this.end - this.start;
    const t = new Float64Array(capacity);
    const v = new Float64Array(capacity);
    t.set(this.t.subarray(this.start, this.end));
    v.set(this.v.subarray(this.start, this.end));
    this.t = t;
    this.v = v;
    this.w = new Uint32Array(v.buffer);
    this.start = 0;
    this.end = n;
  }

  /** Adds one sample; returns 1 if it was new, 0 if the timestamp was already held. */
  push(ts: number, lo: number, hi: number): number {
    const e = this.end;
    if (e === this.start || ts > (this.t[e - 1] as number)) {
      if (e === this.t.length) this.realloc(Math.max(MIN_CAPACITY, (e - this.start) * 2));
      const i = this.end;
      this.t[i] = ts;
      this.w[2 * i] = lo;
      this.w[2 * i + 1] = hi;
      this.end = i + 1;
      return 1;
    }
    // out of order or a repeat: find its place
    const at = lowerBound(this.t, this.start, e, ts);
    if (at < e && this.t[at] === ts) return 0; // a retried write: ClickHouse folds the duplicate too
    const n = e - this.start;
    const t = new Float64Array(Math.max(MIN_CAPACITY, n * 2));
    const v = new Float64Array(t.length);
    const k = at - this.start;
    t.set(this.t.subarray(this.start, at));
    v.set(this.v.subarray(this.start, at));
    t.set(this.t.subarray(at, e), k + 1);
    v.set(this.v.subarray(at, e), k + 1);
    t[k] = ts;
    const w = new Uint32Array(v.buffer);
    w[2 * k] = lo;
    w[2 * k + 1] = hi;
    this.t = t;
    this.v = v;
    this.w = w;
    this.start = 0;
    this.end = n + 1;
    return 1;
  }

  /** Drops samples before cut; returns how many. */
  dropBefore(cut: number): number {
    const at = lowerBound(this.t, this.start, this.end, cut);
    const dropped = at - this.start;
    this.start = at;
    if (this.start > MIN_CAPACITY && this.start * 2 > this.t.length) this.realloc(Math.max(MIN_CAPACITY, (this.end - this.start) * 2));
    return dropped;
  }
}

/** First index in [from, to) with a[i] >= x. */
export function lowerBound(a: Float64Array, from: number, to: number, x: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [from, to) with a[i] > x. */
export function upperBound(a: Float64Array, from: number, to: number, x: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Head {
  readonly windowMs: number;
  readonly maxSamples: number;
  private readonly now: () => number;
  /** tenant -> metric name -> series key -> series */
  private readonly tenants = new Map<string, Map<string, Map<string, Series>>>();
  /** the series a decoder's SeriesRef object was last appended to */
  private readonly byRef = new WeakMap<object, Series>();
  private floor: number;
  private samples = 0;
  private seriesCount = 0;
  private isReady = false;

  constructor(opts: HeadOptions) {
    if (!(opts.windowMs > 0)) throw new Error(`head: windowMs must be positive, got ${opts.windowMs}`);
    this.windowMs = opts.windowMs;
    this.maxSamples = opts.maxSamples;
    this.now = opts.now ?? Date.now;
    this.floor = this.now() - this.windowMs;
  }

  /** The first timestamp (ms) from which the head holds every committed sample; Infinity until warm() is done. */
  coveredFromMs(): number {
    return this.isReady ? this.floor : Infinity;
  }

  get ready(): boolean {
    return this.isReady;
  }

  stats(): HeadStats {
    return { series: this.seriesCount, samples: this.samples, floorMs: this.floor, ready: this.isReady };
  }

  /** Takes a committed write's samples at or after the floor. keep/sampleKeep: 0 marks what was not stored. */
  append(tenant: string, batch: HeadBatch, keep?: Uint8Array, sampleKeep?: Uint8Array): void {
    const floor = this.floor;
    const ts = batch.timestampsMs;
    const bits = new Uint32Array(batch.values.buffer, batch.values.byteOffset, batch.values.length * 2);
    let lastSi = -1;
    let s: Series | null = null;
    let added = 0;
    for (let j = 0; j < batch.sampleCount; j++) {
      const t = ts[j] as number;
      if (!(t >= floor)) continue;
      const si = batch.sampleSeries[j] as number;
      if ((keep && keep[si] === 0) || (sampleKeep && sampleKeep[j] === 0)) continue;
      if (si !== lastSi) {
        lastSi = si;
        const ref = batch.series[si];
        s = ref ? this.seriesFor(tenant, ref) : null;
      }
      if (s) added += s.push(t, bits[2 * j] as number, bits[2 * j + 1] as number);
    }
    this.samples += added;
    if (this.samples > this.maxSamples) this.shrink();
  }

  /** The series of a tenant, of one metric when given. */
  *series(tenant: string, metricName: string | null): IterableIterator<HeadSeries> {
    const metrics = this.tenants.get(tenant);
    if (!metrics) return;
    if (metricName !== null) {
      const m = metrics.get(metricName);
      if (m) yield* m.values();
      return;
    }
    for (const m of metrics.values()) yield* m.values();
  }

  /** Raises the floor to now - window. Called periodically. */
  evict(): void {
    this.dropBefore(this.now() - this.windowMs);
  }

  /**
   * Loads what ClickHouse holds at or after the floor (committed before
   * this process started, or by anything else before now), merging with
   * what appends brought meanwhile, then marks the head ready.
   */
  async warm(store: Store): Promise<void> {
    const from = this.floor;
    const db = ident(store.database);
    const q = new SqlBuilder();
    const fromP = q.param('Int64', String(Math.floor(from)));
    const bucketP = q.param('Int64', String(Math.floor(from / SAMPLES_BUCKET_MS)));
    q.add(`SELECT s.tenant, s.fingerprint, s.metric_name, s.ts, s.vs, m.labels FROM (`);
    q.add(`SELECT tenant, fingerprint, any(metric_name) AS metric_name, arraySort(x -> x.1, groupArray((timestamp_ms, value))) AS a,`);
    q.add(`arrayMap(x -> toFloat64(x.1), a) AS ts, arrayMap(x -> x.2, a) AS vs`);
    q.add(`FROM ${db}.metrics_samples WHERE timestamp_ms >= ${fromP} AND intDiv(timestamp_ms, ${SAMPLES_BUCKET_MS}) >= ${bucketP}`);
    q.add(`GROUP BY tenant, fingerprint) AS s INNER JOIN (`);
    q.add(`SELECT tenant, fingerprint, labels FROM ${db}.metrics_series WHERE date >= toDate(intDiv(${fromP}, 1000)) LIMIT 1 BY tenant, fingerprint`);
    q.add(`) AS m ON s.tenant = m.tenant AND s.fingerprint = m.fingerprint`);
    const r = RowBinaryReader.of(await store.queryBinary(q.build(), 'RowBinary'));
    let added = 0;
    while (!r.done) {
      const tenant = r.string();
      const [hi, lo] = r.uint64Parts();
      const metricName = r.string();
      const t = r.float64Array();
      const v = r.float64Array();
      const names: string[] = [];
      const values: string[] = [];
      r.stringMapInto(names, values);
      const s = this.seriesByKey(tenant, metricName, `${hi}:${lo}`, () => sortedLabels(names, values), t.length);
      added += mergeInto(s, t, v, this.floor);
    }
    this.samples += added;
    this.isReady = true;
    if (this.samples > this.maxSamples) this.shrink();
  }

  /** Starts periodic eviction; returns the stopper. */
  startEviction(everyMs = Math.max(1_000, Math.min(30_000, this.windowMs / 20))): () => void {
    const timer = setInterval(() => this.evict(), everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private seriesFor(tenant: string, ref: HeadSeriesRef): Series {
    const known = this.byRef.get(ref);
    if (known !== undefined && !known.dead && known.tenant === tenant) return known;
    const s = this.seriesByKey(tenant, ref.metricName, `${ref.fpHi}:${ref.fpLo}`, () => ref.labels, MIN_CAPACITY);
    this.byRef.set(ref, s);
    return s;
  }

  private seriesByKey(tenant: string, metricName: string, key: string, labels: () => Labels, capacity: number): Series {
    let metrics = this.tenants.get(tenant);
    if (!metrics) this.tenants.set(tenant, (metrics = new Map()));
    let bucket = metrics.get(metricName);
    if (!bucket) metrics.set(metricName, (bucket = new Map()));
    let s = bucket.get(key);
    if (!s) {
      s = new Series(tenant, metricName, labels(), key, Math.max(MIN_CAPACITY, capacity));
      bucket.set(key, s);
      this.seriesCount++;
    }
    return s;
  }

  private dropBefore(cut: number): void {
    if (!(cut > this.floor)) return;
    this.floor = cut;
    for (const [tenant, metrics] of this.tenants) {
      for (const [name, bucket] of metrics) {
        for (const [key, s] of bucket) {
          this.samples -= s.dropBefore(cut);
          if (s.start === s.end) {
            s.dead = true;
            bucket.delete(key);
            this.seriesCount--;
          }
        }
        if (bucket.size === 0) metrics.delete(name);
      }
      if (metrics.size === 0) this.tenants.delete(tenant);
    }
  }

  /** Over budget: raise the floor in quarters of what the head spans until it fits in 90% of the budget. */
  private shrink(): void {
    const target = this.maxSamples * 0.9;
    const now = this.now();
    for (let i = 0; i < 16 && this.samples > target; i++) {
      const span = Math.max(1_000, now - this.floor);
      this.dropBefore(this.floor + span / 4);
    }
    // everything left is in the future: give up holding anything
    if (this.samples > target) this.dropBefore(Infinity);
  }
}

function sortedLabels(names: string[], values: string[]): Labels {
  const idx = names.map((_, i) => i).sort((a, b) => ((names[a] as string) < (names[b] as string) ? -1 : (names[a] as string) > (names[b] as string) ? 1 : 0));
  return { names: idx.map((i) => names[i] as string), values: idx.map((i) => values[i] as string) };
}

/** Merges sorted samples (t, v) at or after floor into a series; returns how many were new. */
function mergeInto(s: Series, t: Float64Array, v: Float64Array, floor: number): number {
  let from = lowerBound(t, 0, t.length, floor);
  if (from === t.length) return 0;
  const inBits = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
  if (s.start === s.end || (t[from] as number) > (s.t[s.end - 1] as number)) {
    // the common case at start: nothing appended yet for this series
    let added = 0;
    for (; from < t.length; from++) added += s.push(t[from] as number, inBits[2 * from] as number, inBits[2 * from + 1] as number);
    return added;
  }
  const n = s.end - s.start + (t.length - from);
  const mt = new Float64Array(Math.max(MIN_CAPACITY, n));
  const mv = new Float64Array(mt.length);
  const mw = new Uint32Array(mv.buffer);
  let i = s.start;
  let j = from;
  let k = 0;
  let added = 0;
  while (i < s.end || j < t.length) {
    const a = i < s.end ? (s.t[i] as number) : Infinity;
    const b = j < t.length ? (t[j] as number) : Infinity;
    if (a <= b) {
      mt[k] = a;
      mw[2 * k] = s.w[2 * i] as number;
      mw[2 * k + 1] = s.w[2 * i + 1] as number;
      i++;
      if (a === b) j++; // appended since start wins; the same write either way
    } else {
      if (k > 0 && mt[k - 1] === b) {
        j++; // a sample ClickHouse holds twice (a retried write before the fold)
        continue;
      }
      mt[k] = b;
      mw[2 * k] = inBits[2 * j] as number;
      mw[2 * k + 1] = inBits[2 * j + 1] as number;
      j++;
      added++;
    }
    k++;
  }
  s.t = mt;
  s.v = mv;
  s.w = mw;
  s.start = 0;
  s.end = k;
  return added;
}
