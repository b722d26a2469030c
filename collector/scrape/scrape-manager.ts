// Scraping as a whole: target groups from static_configs and file_sd_configs,
// one scrape loop per distinct target, loops started and stopped as
// discovery changes (a stopped loop marks its series stale), and the
// Prometheus-shaped view of it all served at GET /api/v1/targets.
//
// file_sd: each file (JSON or YAML list of {targets, labels}; `*`/`?` globs in
// the file name) is read at start, re-read every refresh_interval and soon
// after the directory reports a change. A file that fails to parse keeps its
// last good groups; a file that disappears takes its targets with it.
// https://prometheus.io/docs/prometheus/latest/configuration/configuration/#file_sd_config
import { watch, type FSWatcher } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { FastifyInstance } from 'fastify';
import { gauge, type MetricsRegistry } from '../../core/index.ts';
import type { Ingester } from '../../ingest/index.ts';
import type { Logger } from '../../core/index.ts';
import { parseTargetGroups, type FileSdConfig, type ScrapeConfig, type TargetGroup } from './config.ts';
import { ScrapeLoop } from './scrape-loop.ts';
import { formatPromDuration, targetsFromGroup } from './target.ts';

export interface ScrapingOptions {
  readonly configs: readonly ScrapeConfig[];
  readonly sink: Ingester;
  readonly tenant: string;
  readonly log: Logger;
  readonly registry?: MetricsRegistry;
  readonly userAgent: string;
}

export interface ActiveTargetView {
  readonly discoveredLabels: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly globalUrl: string;
  readonly lastError: string;
  readonly lastScrape: string;
  readonly lastScrapeDuration: number;
  readonly health: 'up' | 'down' | 'unknown';
  readonly scrapeInterval: string;
  readonly scrapeTimeout: string;
}

export interface Scraping {
  /** Prometheus's /api/v1/targets data */
  targets(): { activeTargets: ActiveTargetView[]; droppedTargets: { discoveredLabels: Record<string, string> }[] };
  /** the loops (tests) */
  loops(): ScrapeLoop[];
  stop(): Promise<void>;
}

interface Job {
  readonly cfg: ScrapeConfig;
  /** source ("static" or a file path) -> its groups */
  readonly groups: Map<string, TargetGroup[]>;
  readonly loops: Map<string, ScrapeLoop>;
  dropped: Record<string, string>[];
}

function globToRegex(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

async function expandFiles(patterns: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of patterns) {
    const base = path.basename(p);
    if (!/[*?]/.test(base)) {
      out.push(path.resolve(p));
      continue;
    }
    const dir = path.resolve(path.dirname(p));
    const re = globToRegex(base);
    try {
      for (const name of (await readdir(dir)).sort()) if (re.test(name)) out.push(path.join(dir, name));
    } catch {
      // a missing directory has no files yet
    }
  }
  return out;
}

export function startScraping(opts: ScrapingOptions): Scraping {
  const jobs: Job[] = opts.configs.map((cfg) => ({ cfg, groups: new Map([['static', [...cfg.staticConfigs]]]), loops: new Map(), dropped: [] }));
  const timers = new Set<NodeJS.Timeout>();
  const watchers: FSWatcher[] = [];
  let stopped = false;
  if (opts.registry) gauge(opts.registry, 'fleetwatch_collector_scrape_targets', 'active scrape targets', [], () => jobs.reduce((a, j) => a + j.loops.size, 0));

  const sync = (job: Job): void => {
    if (stopped) return;
    const want = new Map<string, ReturnType<typeof targetsFromGroup>['active'][number]>();
    const dropped: Record<string, string>[] = [];
    for (const groups of job.groups.values()) {
      for (const g of groups) {
        const r = targetsFromGroup(job.cfg, g);
        for (const t of r.active) if (!want.has(t.key)) want.set(t.key, t);
        dropped.push(...r.dropped);
        for (const e of r.errors) opts.log.warn({ job: job.cfg.jobName, error: e }, 'scrape target skipped');
      }
    }
    job.dropped = dropped;
    for (const [key, loop] of job.loops) {
      if (!want.has(key)) {
        job.loops.delete(key);
        void loop.stop();
      }
    }
    for (const [key, t] of want) {
      if (job.loops.has(key)) continue;
      const loop = new ScrapeLoop(t, job.cfg, { sink: opts.sink, tenant: opts.tenant, log: opts.log, userAgent: opts.userAgent, ...(opts.registry ? { registry: opts.registry } : {}) });
      job.loops.set(key, loop);
      loop.start();
    }
  };

  const readSdFile = async (file: string): Promise<TargetGroup[] | undefined> => {
    const text = await readFile(file, 'utf8');
    const doc = file.endsWith('.json') ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
    return parseTargetGroups(doc ?? [], file, file);
  };

  const startFileSd = (job: Job, sd: FileSdConfig): void => {
    let known = new Set<string>();
    let pending: NodeJS.Timeout | undefined;
    const refresh = async (): Promise<void> => {
      const files = await expandFiles(sd.files);
      let changed = false;
      for (const f of known) {
        if (!files.includes(f)) {
          job.groups.delete(f);
          changed = true;
        }
      }
      for (const f of files) {
        try {
          const groups = await readSdFile(f);
          if (groups && JSON.stringify(groups) !== JSON.stringify(job.groups.get(f))) {
            job.groups.set(f, groups);
            changed = true;
          }
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
            if (job.groups.delete(f)) changed = true;
          } else opts.log.error({ file: f, error: (e as Error).message }, 'file_sd: cannot read targets; keeping the last good ones');
        }
      }
      known = new Set(files);
      if (changed) sync(job);
    };
    const soon = () => {
      if (pending || stopped) return;
      pending = setTimeout(() => {
        pending = undefined;
        void refresh();
      }, 100);
      timers.add(pending);
    };
    const loop = () => {
      if (stopped) return;
      void refresh().finally(() => {
        if (stopped) return;
        const t = setTimeout(loop, sd.refreshIntervalMs);
        timers.add(t);
      });
    };
    loop();
    for (const dir of new Set(sd.files.map((f) => path.resolve(path.dirname(f))))) {
      try {
        const w = watch(dir, () => soon());
        w.on('error', () => undefined);
        watchers.push(w);
      } catch {
        // no directory yet: the periodic refresh covers it
      }
    }
  };

  for (const job of jobs) {
    sync(job);
    for (const sd of job.cfg.fileSdConfigs) startFileSd(job, sd);
  }

  return {
    targets() {
      const activeTargets: ActiveTargetView[] = [];
      for (const job of jobs) {
        for (const loop of job.loops.values()) {
          const t = loop.target;
          const s = loop.state;
          activeTargets.push({
            discoveredLabels: { ...t.discoveredLabels },
            labels: Object.fromEntries(t.labels.names.map((n, i) => [n, t.labels.values[i] as string])),
            scrapePool: t.scrapePool,
            scrapeUrl: t.url,
            globalUrl: t.url,
            lastError: s.lastError,
            lastScrape: s.lastScrapeMs ? new Date(s.lastScrapeMs).toISOString() : '0001-01-01T00:00:00Z',
            lastScrapeDuration: s.lastScrapeDurationSeconds,
            health: s.health,
            scrapeInterval: formatPromDuration(t.intervalMs),
            scrapeTimeout: formatPromDuration(t.timeoutMs),
          });
        }
      }
      return { activeTargets, droppedTargets: jobs.flatMap((j) => j.dropped.map((d) => ({ discoveredLabels: d }))) };
    },
    loops: () => jobs.flatMap((j) => [...j.loops.values()]),
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const w of watchers) w.close();
      await Promise.all(jobs.flatMap((j) => [...j.loops.values()].map((l) => l.stop())));
    },
  };
}

/** GET /api/v1/targets on the collector, in Prometheus's shape. */
export function registerTargetsApi(app: FastifyInstance, scraping: () => Scraping | undefined): void {
  app.get('/api/v1/targets', async () => ({ status: 'success', data: scraping()?.targets() ?? { activeTargets: [], droppedTargets: [] } }));
}
