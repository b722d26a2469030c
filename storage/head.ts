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
// Samples live in fixed 32-sample chunks carved from shared pages, so
// appending never allocates per series and a series' slack is under one
// chunk; queries get copies (copy()). Values keep their bits (staleness
// markers are NaN payloads): they move as 32-bit halves or whole-array
// copies, never through a JS number.
//
// Appends visit ~every series once per scrape, far more series than CPU
// caches hold, so an append costs what it touches: the Series object, then
// one 16-byte (timestamp, value) pair, interleaved in the page so both share
// a cache line; the chunk being filled is kept on the series (`tail`), not
// looked up in its chunk list, and the newest timestamp is read from the
// page next to where the sample goes (a double field on the object would be
// a separately allocated HeapNumber: one more miss).
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
  /** the head's slot on a decoder's series object (SeriesRef.head): the series it was last appended to */
  head?: unknown;
}

/** One series of the head, as the query side sees it. */
export interface HeadSeries {
  readonly tenant: string;
  readonly metricName: string;
  readonly labels: Labels;
  readonly fpHi: number;
  readonly fpLo: number;
  /** samples held */
  readonly count: number;
  /** for the query side: the labels with a tenant label, made once */
  tenantLabels: Labels | undefined;
  /** for the query side: anything it derives from the series once */
  slot: unknown;
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

const CHUNK_BITS = 5;
const CHUNK = 1 << CHUNK_BITS; // samples per chunk
const PAGE_CHUNK_BITS = 11;
const PAGE_CHUNKS = 1 << PAGE_CHUNK_BITS; // chunks per page: 64 Ki samples, 1 MiB of t + v

/**
 * Chunk storage shared by all series: pages of samples, a free list of chunk
 * ids. Sample i of a page is t[2i] (its timestamp) and w[4i+2], w[4i+3] (its
 * value's low and high 32 bits): two views of one buffer.
 */
class Pool {
  readonly t: Float64Array[] = [];
  readonly w: Uint32Array[] = [];
  private readonly free: number[] = [];
  private next = 0;

  alloc(): number {
    const id = this.free.pop();
    if (id !== undefined) return id;
    const c = this.next++;
    if (c >> PAGE_CHUNK_BITS >= this.t.length) {
      const page = new Float64Array(PAGE_CHUNKS * CHUNK * 2);
      this.t.push(page);
      this.w.push(new Uint32Array(page.buffer));
    }
    return c;
  }

  release(id: number): void {
    this.free.push(id);
  }
}

/**
 * One metric's series, with a label index built when a query first needs it
 * (dropped when the set changes). Series are keyed by the low half of their
 * fingerprint as a small integer (a Smi: no key object) and chained through
 * Series.sameLo on the rare equal low halves; a string key per series cost
 * three strings each (two number strings and their concatenation), ~300k
 * objects for the garbage collector to mark at 100k series.
 */
class Bucket {
  private readonly byLo = new Map<number, Series>();
  size = 0;
  byLabel: Map<string, Map<string, Series[]>> | null = null;

  find(fpHi: number, fpLo: number): Series | undefined {
    let s = this.byLo.get(fpLo | 0);
    while (s !== undefined && s.fpHi !== fpHi) s = s.sameLo;
    return s;
  }

  add(s: Series): void {
    const first = this.byLo.get(s.fpLo | 0);
    if (first === undefined) this.byLo.set(s.fpLo | 0, s);
    else {
      s.sameLo = first.sameLo;
      first.sameLo = s;
    }
    this.size++;
    this.byLabel = null;
  }

  /** Removes s if it is this bucket's series for its fingerprint; whether it was. */
  delete(s: Series): boolean {
    const key = s.fpLo | 0;
    const first = this.byLo.get(key);
    if (first === s) {
      if (s.sameLo === undefined) this.byLo.delete(key);
      else this.byLo.set(key, s.sameLo);
    } else {
      let prev = first;
      while (prev !== undefined && prev.sameLo !== s) prev = prev.sameLo;
      if (prev === undefined) return false;
      prev.sameLo = s.sameLo;
    }
    s.sameLo = undefined;
    this.size--;
    this.byLabel = null;
    return true;
  }

  *all(): IterableIterator<Series> {
    for (const first of this.byLo.values()) for (let s: Series | undefined = first; s !== undefined; s = s.sameLo) yield s;
  }

  /** The series whose label `name` is `value` ("" never indexes: a missing label matches it). */
  withLabel(name: string, value: string): readonly Series[] {
    this.byLabel ??= new Map();
    let idx = this.byLabel.get(name);
    if (!idx) {
      idx = new Map();
      for (const s of this.all()) {
        const i = s.labels.names.indexOf(name);
        if (i < 0) continue;
        const v = s.labels.values[i] as string;
        let list = idx.get(v);
        if (!list) idx.set(v, (list = []));
        list.push(s);
      }
      this.byLabel.set(name, idx);
    }
    return idx.get(value) ?? [];
  }
}

class Series implements HeadSeries {
  /** chunk ids in time order, from chunks[first] */
  chunks: number[] = [];
  first = 0;
  /** the last chunk id (where the next sample goes unless it is full), -1 with no chunks */
  tail = -1;
  /** offset of the oldest sample in chunks[first] */
  off = 0;
  count = 0;
  dead = false;
  tenantLabels: Labels | undefined = undefined;
  slot: unknown = undefined;
  /** the bucket's next series with the same fingerprint low half (Bucket) */
  sameLo: Series | undefined = undefined;
  constructor(
    /** the pool its chunks come from (a series object is never shared between heads) */
    readonly pool: object,
    readonly tenant: string,
    readonly metricName: string,
    readonly labels: Labels,
    readonly fpHi: number,
    readonly fpLo: number,
  ) {}
}

/** The newest sample's time (s.count > 0): it is in the tail chunk. */
function lastTime(pool: Pool, s: Series): number {
  const c = s.tail;
  const p = s.off + s.count - 1;
  return (pool.t[c >>> PAGE_CHUNK_BITS] as Float64Array)[2 * (((c & (PAGE_CHUNKS - 1)) << CHUNK_BITS) + (p & (CHUNK - 1)))] as number;
}

/** First logical index in [0, s.count) whose time is >= x (strict: > x). */
function search(pool: Pool, s: Series, x: number, strict: boolean): number {
  let lo = 0;
  let hi = s.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = s.off + mid;
    const c = s.chunks[s.first + (p >>> CHUNK_BITS)] as number;
    const t = (pool.t[c >>> PAGE_CHUNK_BITS] as Float64Array)[2 * (((c & (PAGE_CHUNKS - 1)) << CHUNK_BITS) + (p & (CHUNK - 1)))] as number;
    if (t < x || (strict && t === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Head {
  readonly windowMs: number;
  readonly maxSamples: number;
  private readonly now: () => number;
  private readonly pool = new Pool();
  /** tenant -> metric name -> series key -> series */
  private readonly tenants = new Map<string, Map<string, Bucket>>();
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
      if (s) added += this.push(s, t, bits[2 * j] as number, bits[2 * j + 1] as number);
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
      if (m) yield* m.all();
      return;
    }
    for (const m of metrics.values()) yield* m.all();
  }

  /**
   * The series of a tenant's metric whose label `name` equals `value`
   * (non-empty), from an index made on first use per metric and label.
   */
  seriesWithLabel(tenant: string, metricName: string, name: string, value: string): readonly HeadSeries[] {
    return this.tenants.get(tenant)?.get(metricName)?.withLabel(name, value) ?? [];
  }

  /** The first logical index of a series' samples with t >= ms (after: t > ms). */
  indexOf(hs: HeadSeries, ms: number, after = false): number {
    return search(this.pool, hs as Series, ms, after);
  }

  /**
   * Copies samples [from, to) of a series into t and w (the value bits as
   * 32-bit halves, e.g. a Uint32Array over a Float64Array) at `at`.
   */
  copy(hs: HeadSeries, from: number, to: number, t: Float64Array, w: Uint32Array, at: number): void {
    const s = hs as Series;
    let i = from;
    let k = at;
    while (i < to) {
      const p = s.off + i;
      const c = s.chunks[s.first + (p >>> CHUNK_BITS)] as number;
      const pos = p & (CHUNK - 1);
      const n = Math.min(CHUNK - pos, to - i);
      let base = ((c & (PAGE_CHUNKS - 1)) << CHUNK_BITS) + pos;
      const page = c >>> PAGE_CHUNK_BITS;
      const pt = this.pool.t[page] as Float64Array;
      const pw = this.pool.w[page] as Uint32Array;
      // element loops: runs are at most 32 samples, shorter than a subarray's setup
      for (const end = k + n; k < end; k++, base++) {
        t[k] = pt[2 * base] as number;
        w[2 * k] = pw[4 * base + 2] as number;
        w[2 * k + 1] = pw[4 * base + 3] as number;
      }
      i += n;
    }
  }

  /** All of a series' samples, copied. */
  samplesOf(hs: HeadSeries): { t: Float64Array; v: Float64Array } {
    const t = new Float64Array(hs.count);
    const v = new Float64Array(hs.count);
    this.copy(hs, 0, hs.count, t, new Uint32Array(v.buffer), 0);
    return { t, v };
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
      const s = this.seriesByKey(tenant, metricName, hi, lo, () => sortedLabels(names, values));
      added += this.merge(s, t, v, lowerBound(t, 0, t.length, this.floor));
      if (s.count === 0) this.remove(s);
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

  /** Adds one sample; 1 if new, 0 if its timestamp was already held (a retried write: ClickHouse folds it too). */
  private push(s: Series, ts: number, lo: number, hi: number): number {
    if (s.count > 0) {
      const last = lastTime(this.pool, s);
      if (ts <= last) return ts === last ? 0 : this.insertLate(s, ts, lo, hi);
    }
    const slot = (s.off + s.count) & (CHUNK - 1);
    // chunks hold positions [off, off + count) from chunks[first] on, so the
    // next sample starts a new chunk exactly when its slot is 0 (or there is none)
    let c = s.tail;
    if (slot === 0 || c < 0) {
      c = this.pool.alloc();
      s.chunks.push(c);
      s.tail = c;
    }
    const page = c >>> PAGE_CHUNK_BITS;
    const i = ((c & (PAGE_CHUNKS - 1)) << CHUNK_BITS) + slot;
    (this.pool.t[page] as Float64Array)[2 * i] = ts;
    const w = this.pool.w[page] as Uint32Array;
    w[4 * i + 2] = lo;
    w[4 * i + 3] = hi;
    s.count++;
    return 1;
  }

  /** A sample older than the series' newest: rewrites the series with it sorted in (rare). */
  private insertLate(s: Series, ts: number, lo: number, hi: number): number {
    const at = search(this.pool, s, ts, false);
    const { t, v } = this.samplesOf(s);
    if (at < s.count && t[at] === ts) return 0;
    const w = new Uint32Array(v.buffer);
    this.clear(s);
    for (let i = 0; i < t.length; i++) {
      if (i === at) this.push(s, ts, lo, hi);
      this.push(s, t[i] as number, w[2 * i] as number, w[2 * i + 1] as number);
    }
    return 1;
  }

  /** Merges sorted samples t/v from index `from` into a series (appends since start win a tie); returns how many were new. */
  private merge(s: Series, t: Float64Array, v: Float64Array, from: number): number {
    const bits = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
    let added = 0;
    if (s.count === 0 || (from < t.length && (t[from] as number) > lastTime(this.pool, s))) {
      for (let i = from; i < t.length; i++) added += this.push(s, t[i] as number, bits[2 * i] as number, bits[2 * i + 1] as number);
      return added;
    }
    const had = this.samplesOf(s);
    const hw = new Uint32Array(had.v.buffer);
    this.clear(s);
    let i = 0;
    let j = from;
    while (i < had.t.length || j < t.length) {
      const a = i < had.t.length ? (had.t[i] as number) : Infinity;
      const b = j < t.length ? (t[j] as number) : Infinity;
      if (a <= b) {
        this.push(s, a, hw[2 * i] as number, hw[2 * i + 1] as number);
        i++;
        if (a === b) j++;
      } else {
        added += this.push(s, b, bits[2 * j] as number, bits[2 * j + 1] as number);
        j++;
      }
    }
    return added;
  }

  /** Gives a series' chunks back. */
  private clear(s: Series): void {
    for (let i = s.first; i < s.chunks.length; i++) this.pool.release(s.chunks[i] as number);
    s.chunks = [];
    s.first = 0;
    s.tail = -1;
    s.off = 0;
    s.count = 0;
  }

  private seriesFor(tenant: string, ref: HeadSeriesRef): Series {
    const known = ref.head as Series | undefined;
    if (known !== undefined && !known.dead && known.tenant === tenant && known.pool === this.pool) return known;
    const s = this.seriesByKey(tenant, ref.metricName, ref.fpHi, ref.fpLo, () => ref.labels);
    ref.head = s;
    return s;
  }

  private seriesByKey(tenant: string, metricName: string, fpHi: number, fpLo: number, labels: () => Labels): Series {
    let metrics = this.tenants.get(tenant);
    if (!metrics) this.tenants.set(tenant, (metrics = new Map()));
    let bucket = metrics.get(metricName);
    if (!bucket) metrics.set(metricName, (bucket = new Bucket()));
    let s = bucket.find(fpHi, fpLo);
    if (!s) {
      s = new Series(this.pool, tenant, metricName, labels(), fpHi, fpLo);
      bucket.add(s);
      this.seriesCount++;
    }
    return s;
  }

  private remove(s: Series): void {
    this.clear(s);
    s.dead = true;
    const metrics = this.tenants.get(s.tenant);
    const bucket = metrics?.get(s.metricName);
    if (bucket?.delete(s)) {
      this.seriesCount--;
      if (bucket.size === 0) metrics?.delete(s.metricName);
      if (metrics?.size === 0) this.tenants.delete(s.tenant);
    }
  }

  /** Drops samples before cut from every series; series left empty go. */
  private dropBefore(cut: number): void {
    if (!(cut > this.floor)) return;
    this.floor = cut;
    for (const metrics of [...this.tenants.values()]) {
      for (const bucket of [...metrics.values()]) {
        for (const s of [...bucket.all()]) {
          const n = search(this.pool, s, cut, false);
          if (n === 0) continue;
          this.samples -= n;
          if (n === s.count) {
            this.remove(s);
            continue;
          }
          const p = s.off + n;
          const whole = p >>> CHUNK_BITS;
          for (let i = 0; i < whole; i++) this.pool.release(s.chunks[s.first + i] as number);
          s.first += whole;
          s.off = p & (CHUNK - 1);
          s.count -= n;
          if (s.first > 16 && s.first * 2 > s.chunks.length) {
            s.chunks = s.chunks.slice(s.first);
            s.first = 0;
          }
        }
      }
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

/** First index in [from, to) with a[i] >= x. */
function lowerBound(a: Float64Array, from: number, to: number, x: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
