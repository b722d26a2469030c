// One target's scrape loop, with Prometheus's semantics (scrape/scrape.go):
// - every interval (at a fixed offset per target, spreading targets over the
//   interval), GET the target with a timeout that cancels the request;
// - samples take the scrape's start time unless honor_timestamps and the
//   exposition gives one;
// - target labels join each series; on a clash the scraped label is renamed
//   exported_<name>, or wins with honor_labels; then metric_relabel_configs;
// - report series up, scrape_duration_seconds, scrape_samples_scraped,
//   scrape_samples_post_metric_relabeling, scrape_series_added;
// - staleness: a series in the previous scrape but not this one gets a stale
//   marker (the special NaN) at this scrape's time; a failed scrape marks all
//   of the previous scrape's series stale; so does a target going away.
//   Series with explicit timestamps are exempt, as in Prometheus.
//
// Series are cached by the exact text of their name and labels, so a scrape
// of an unchanged target parses and relabels nothing, and the SeriesRef (with
// its stamped external labels) is reused.
import { counter, type MetricsRegistry } from '../../core/index.ts';
import type { Ingester } from '../../ingest/index.ts';
import { makeSeries, staleNaN, type Exemplar, type MetricMetadata, type SeriesRef } from '../../protocols/index.ts';
import type { Logger } from '../../core/index.ts';
import type { ScrapeConfig } from './config.ts';
import { SCRAPE_ACCEPT, formatOf, parseExposition, parseSeriesLabels, type ExpositionFormat } from './exposition.ts';
import { relabel } from './relabel.ts';
import type { ScrapeTarget } from './target.ts';

export interface ScrapeLoopDeps {
  readonly sink: Ingester;
  readonly tenant: string;
  readonly log: Logger;
  readonly registry?: MetricsRegistry;
  readonly userAgent: string;
}

export interface ScrapeStatus {
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
  readonly lastScrapeMs: number;
  readonly lastScrapeDurationSeconds: number;
}

interface CacheEntry {
  /** null: dropped by metric_relabel_configs or invalid */
  readonly ref: SeriesRef | null;
  iteration: number;
}

const REPORT_NAMES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;
const METADATA_EVERY_MS = 10 * 60_000;

function labelKey(s: SeriesRef): string {
  let k = '';
  for (let i = 0; i < s.labels.names.length; i++) k += `${s.labels.names[i] as string}\u0000${s.labels.values[i] as string}\u0000`;
  return k;
}

/** Growable sample columns for one scrape. */
class BatchBuilder {
  series: SeriesRef[] = [];
  private index = new Map<SeriesRef, number>();
  sampleSeries = new Uint32Array(1024);
  timestampsMs = new Float64Array(1024);
  values = new Float64Array(1024);
  count = 0;
  exemplars: Exemplar[] = [];

  add(ref: SeriesRef, ts: number, value: number): number {
    let si = this.index.get(ref);
    if (si === undefined) {
      si = this.series.length;
      this.series.push(ref);
      this.index.set(ref, si);
    }
    if (this.count === this.values.length) {
      const grow = <T extends Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.sampleSeries = grow(this.sampleSeries, (n) => new Uint32Array(n));
      this.timestampsMs = grow(this.timestampsMs, (n) => new Float64Array(n));
      this.values = grow(this.values, (n) => new Float64Array(n));
    }
    this.sampleSeries[this.count] = si;
    this.timestampsMs[this.count] = ts;
    this.values[this.count] = value;
    this.count++;
    return si;
  }
}

export class ScrapeLoop {
  private readonly cache = new Map<string, CacheEntry>();
  /**
   * one SeriesRef per label set: two lines that relabel to the same labels
   * share it, so the second is recognised as a duplicate (as Prometheus does)
   */
  private canonical = new Map<string, SeriesRef>();
  /** series of the last scrape that get staleness markers */
  private lastSeen = new Set<SeriesRef>();
  private readonly reportRefs: SeriesRef[];
  private iteration = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private stopped = false;
  private lastMetadataKey = '';
  private lastMetadataMs = 0;
  private status: ScrapeStatus = { health: 'unknown', lastError: '', lastScrapeMs: 0, lastScrapeDurationSeconds: 0 };
  private readonly m;

  constructor(
    readonly target: ScrapeTarget,
    private readonly cfg: ScrapeConfig,
    private readonly deps: ScrapeLoopDeps,
  ) {
    this.reportRefs = REPORT_NAMES.map((name) => makeSeries(['__name__', ...target.labels.names], [name, ...target.labels.values]));
    const r = deps.registry;
    this.m = r
      ? {
          scrapes: counter(r, 'fleetwatch_collector_scrapes_total', 'scrapes by job and outcome', ['job', 'outcome']),
          samples: counter(r, 'fleetwatch_collector_scraped_samples_total', 'samples written from scrapes, by job (report series and stale markers included)', ['job']),
          lost: counter(r, 'fleetwatch_collector_scraped_samples_lost_total', 'scraped samples the WAL did not take (full under backpressure)', ['job']),
        }
      : undefined;
  }

  get state(): ScrapeStatus {
    return this.status;
  }

  start(): void {
    // a fixed offset per target spreads targets over the interval
    let h = 0;
    for (let i = 0; i < this.target.key.length; i++) h = (Math.imul(h, 31) + this.target.key.charCodeAt(i)) | 0;
    const offset = (h >>> 0) % this.target.intervalMs;
    const now = Date.now();
    const first = now - (now % this.target.intervalMs) + offset;
    this.schedule(first < now ? first + this.target.intervalMs : first);
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.scrapeOnce().finally(() => {
        this.running = undefined;
        // the next run starts one interval after this one was due (missed runs are skipped)
        let next = at + this.target.intervalMs;
        const now = Date.now();
        while (next <= now) next += this.target.intervalMs;
        this.schedule(next);
      });
    }, Math.max(0, at - Date.now()));
  }

  /** One scrape; its samples are stamped with the time it started, as Prometheus does. */
  async scrapeOnce(): Promise<void> {
    const t0 = Date.now();
    const timestamp = t0;
    const started = performance.now();
    let body: string | undefined;
    let format: ExpositionFormat = 'prometheus';
    let error = '';
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.target.timeoutMs)]);
      const res = await fetch(this.target.url, {
        headers: {
          accept: SCRAPE_ACCEPT,
          'accept-encoding': 'gzip',
          'user-agent': this.deps.userAgent,
          'x-prometheus-scrape-timeout-seconds': String(this.target.timeoutMs / 1000),
          ...(this.cfg.authorization ? { authorization: this.cfg.authorization } : {}),
        },
        signal,
        redirect: 'follow',
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        error = `server returned HTTP status ${res.status} ${res.statusText}`;
      } else {
        body = await res.text();
        format = formatOf(res.headers.get('content-type'));
        if (this.cfg.bodySizeLimitBytes > 0 && Buffer.byteLength(body) > this.cfg.bodySizeLimitBytes) {
          error = `body size limit exceeded (${this.cfg.bodySizeLimitBytes} bytes)`;
          body = undefined;
        }
      }
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      error = err.name === 'TimeoutError' ? `context deadline exceeded (timeout ${this.target.timeoutMs} ms)` : (err.cause?.code ?? err.cause?.message ?? err.message);
    }
    if (this.stopped && this.abort.signal.aborted) return;

    const batch = new BatchBuilder();
    const seen = new Set<SeriesRef>();
    let scraped = 0;
    let kept = 0;
    let added = 0;
    let metadata: MetricMetadata[] = [];
    if (body !== undefined) {
      const parsed = parseExposition(body, format);
      if (!parsed.ok) error = parsed.error;
      else {
        const it = ++this.iteration;
        const exp = parsed.value;
        scraped = exp.samples.length;
        for (const s of exp.samples) {
          let entry = this.cache.get(s.key);
          if (!entry) {
            entry = { ref: this.seriesFor(exp.text, s.name, s.labelsAt, format), iteration: it };
            if (entry.ref) added++;
            this.cache.set(s.key, entry);
          }
          entry.iteration = it;
          const ref = entry.ref;
          if (!ref || seen.has(ref)) continue; // dropped, or a duplicate line: first one wins
          const explicit = this.cfg.honorTimestamps && s.timestampMs !== undefined;
          if (!explicit) seen.add(ref);
          const si = batch.add(ref, explicit ? (s.timestampMs as number) : timestamp, s.value);
          if (s.exemplar) batch.exemplars.push({ seriesIndex: si, labels: s.exemplar.labels, timestampMs: s.exemplar.timestampMs ?? timestamp, value: s.exemplar.value });
          kept++;
        }
        if (this.cfg.sampleLimit > 0 && kept > this.cfg.sampleLimit) {
          error = `sample limit exceeded (${kept} > ${this.cfg.sampleLimit})`;
        } else {
          metadata = this.metadataOf(exp.families, timestamp);
        }
        // forget series not seen in the last two scrapes
        if (it % 2 === 0) {
          for (const [k, e] of this.cache) if (e.iteration < it - 1) this.cache.delete(k);
          this.canonical = new Map([...this.cache.values()].flatMap((e) => (e.ref ? [[labelKey(e.ref), e.ref] as [string, SeriesRef]] : [])));
        }
      }
    }
    const failed = error !== '';
    const out = failed ? new BatchBuilder() : batch;
    const nowSeen = failed ? new Set<SeriesRef>() : seen;
    // staleness: what the previous scrape had and this one has not
    const stale = staleNaN();
    for (const ref of this.lastSeen) if (!nowSeen.has(ref)) out.add(ref, timestamp, stale);
    this.lastSeen = nowSeen;
    const durationS = (performance.now() - started) / 1000;
    const report = [failed ? 0 : 1, durationS, scraped, failed ? 0 : kept, failed ? 0 : added];
    for (let i = 0; i < this.reportRefs.length; i++) out.add(this.reportRefs[i] as SeriesRef, timestamp, report[i] as number);
    await this.write(out, failed ? [] : batch.exemplars, metadata);
    // log when a target goes down, not on every failed scrape
    if (failed && this.status.health !== 'down') this.deps.log.warn({ target: this.target.url, error }, 'scrape failed');
    this.status = { health: failed ? 'down' : 'up', lastError: error, lastScrapeMs: t0, lastScrapeDurationSeconds: durationS };
    this.m?.scrapes.inc({ job: this.cfg.jobName, outcome: failed ? 'failed' : 'ok' });
  }

  /** The series of a sample whose text was not cached: target labels, honor_labels, metric relabeling. */
  private seriesFor(text: string, name: string, labelsAt: number, format: ExpositionFormat): SeriesRef | null {
    const { names, values } = parseSeriesLabels(text, labelsAt, format);
    const lb = new Map<string, string>([['__name__', name]]);
    for (let i = 0; i < names.length; i++) if (values[i] !== '') lb.set(names[i] as string, values[i] as string);
    const tl = this.target.labels;
    if (this.cfg.honorLabels) {
      for (let i = 0; i < tl.names.length; i++) if (!lb.has(tl.names[i] as string)) lb.set(tl.names[i] as string, tl.values[i] as string);
    } else {
      const conflicts: [string, string][] = [];
      for (let i = 0; i < tl.names.length; i++) {
        const n = tl.names[i] as string;
        const existing = lb.get(n);
        if (existing !== undefined) conflicts.push([n, existing]);
        lb.set(n, tl.values[i] as string);
      }
      // as Prometheus's resolveConflictingExposedLabels: shortest names first,
      // exported_<name>, prefixed again while taken
      conflicts.sort((x, y) => x[0].length - y[0].length);
      for (const [n, v] of conflicts) {
        let alt = `exported_${n}`;
        while (lb.has(alt)) alt = `exported_${alt}`;
        lb.set(alt, v);
      }
    }
    if (!relabel(lb, this.cfg.metricRelabelConfigs)) return null;
    if (!lb.get('__name__')) return null;
    const ref = makeSeries([...lb.keys()], [...lb.values()]);
    const key = labelKey(ref);
    const same = this.canonical.get(key);
    if (same) return same;
    this.canonical.set(key, ref);
    return ref;
  }

  private metadataOf(families: Map<string, { type: string; help: string; unit: string }>, nowMs: number): MetricMetadata[] {
    const md: MetricMetadata[] = [];
    for (const [name, f] of families) md.push({ metricFamilyName: name, type: f.type === 'untyped' ? 'unknown' : f.type, help: f.help, unit: f.unit });
    const key = JSON.stringify(md);
    if (key === this.lastMetadataKey && nowMs - this.lastMetadataMs < METADATA_EVERY_MS) return [];
    this.lastMetadataKey = key;
    this.lastMetadataMs = nowMs;
    return md;
  }

  private async write(b: BatchBuilder, exemplars: Exemplar[], metadata: MetricMetadata[]): Promise<void> {
    if (b.count === 0 && metadata.length === 0) return;
    try {
      await this.deps.sink.writeMetrics(this.deps.tenant, {
        series: b.series,
        sampleSeries: b.sampleSeries,
        timestampsMs: b.timestampsMs,
        values: b.values,
        sampleCount: b.count,
        exemplars,
        metadata,
        histogramCount: 0,
        rejected: [],
      });
      this.m?.samples.inc({ job: this.cfg.jobName }, b.count);
    } catch (e) {
      this.m?.lost.inc({ job: this.cfg.jobName }, b.count);
      this.deps.log.warn({ target: this.target.url, samples: b.count, error: (e as Error).message }, 'scraped samples not written');
    }
  }

  /** Stops the loop; the last scrape's series (and the report series) are marked stale. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
    if (this.status.health === 'unknown') return;
    const out = new BatchBuilder();
    const now = Date.now();
    const stale = staleNaN();
    for (const ref of this.lastSeen) out.add(ref, now, stale);
    for (const ref of this.reportRefs) out.add(ref, now, stale);
    this.lastSeen = new Set();
    await this.write(out, [], []);
  }
}
