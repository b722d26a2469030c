// From discovered target groups to scrape targets, as Prometheus's
// scrape/target.go (PopulateLabels, Target.URL) does it: defaults for job,
// scheme, metrics path, interval, timeout and params go in as labels unless
// discovery set them, relabel_configs run, a missing port is filled from the
// scheme, __meta_* labels go, `instance` defaults to the address.
import { parseDurationMs, sortLabels, type Labels } from '../../core/index.ts';
import type { ScrapeConfig, TargetGroup } from './config.ts';
import { relabel } from './relabel.ts';

export interface ScrapeTarget {
  readonly scrapePool: string;
  /** labels before relabeling (Prometheus's discoveredLabels) */
  readonly discoveredLabels: Readonly<Record<string, string>>;
  /** labels after relabeling, internal (__) ones included */
  readonly allLabels: ReadonlyMap<string, string>;
  /** the labels samples get: no __ prefix, name-sorted */
  readonly labels: Labels;
  readonly url: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** identity: pool + every label */
  readonly key: string;
}

export interface GroupTargets {
  readonly active: ScrapeTarget[];
  readonly dropped: Record<string, string>[];
  readonly errors: string[];
}

/** Prometheus's model.Duration.String(): 1m30s, 15s, 500ms, 2h. */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: [string, number][] = [
    ['y', 31_536_000_000],
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let out = '';
  let rest = ms;
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}

function hasPort(addr: string): boolean {
  if (addr.startsWith('[')) return /\]:\d+$/.test(addr);
  return /:\d*$/.test(addr) && addr.split(':').length === 2;
}

function encodeQuery(params: Map<string, string[]>): string {
  return [...params.keys()]
    .sort()
    .flatMap((k) => (params.get(k) ?? []).map((v) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join('&');
}

export function targetsFromGroup(cfg: ScrapeConfig, group: TargetGroup): GroupTargets {
  const active: ScrapeTarget[] = [];
  const dropped: Record<string, string>[] = [];
  const errors: string[] = [];
  for (const address of group.targets) {
    const lb = new Map<string, string>([['__address__', address]]);
    for (const [k, v] of Object.entries(group.labels)) if (!lb.has(k)) lb.set(k, v);
    if (group.source) lb.set('__meta_filepath', group.source);
    const defaults: [string, string][] = [
      ['job', cfg.jobName],
      ['__scrape_interval__', formatPromDuration(cfg.intervalMs)],
      ['__scrape_timeout__', formatPromDuration(cfg.timeoutMs)],
      ['__metrics_path__', cfg.metricsPath],
      ['__scheme__', cfg.scheme],
    ];
    for (const [k, v] of defaults) if (!lb.get(k)) lb.set(k, v);
    for (const [k, v] of Object.entries(cfg.params)) if (v.length > 0) lb.set(`__param_${k}`, v[0] as string);
    const discovered = Object.fromEntries([...lb].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    if (!relabel(lb, cfg.relabelConfigs)) {
      dropped.push(discovered);
      continue;
    }
    let addr = lb.get('__address__') ?? '';
    if (addr === '') {
      errors.push(`target ${JSON.stringify(discovered)}: no address`);
      continue;
    }
    if (!hasPort(addr)) {
      const scheme = lb.get('__scheme__') ?? '';
      addr = `${addr}:${scheme === 'https' ? 443 : 80}`;
      lb.set('__address__', addr);
    }
    if (/[/@]/.test(addr)) {
      errors.push(`target ${addr}: "/" and "@" are not allowed in an address`);
      continue;
    }
    const intervalMs = parseDurationMs(lb.get('__scrape_interval__') ?? '');
    const timeoutMs = parseDurationMs(lb.get('__scrape_timeout__') ?? '');
    if (!intervalMs || !timeoutMs) {
      errors.push(`target ${addr}: invalid __scrape_interval__ or __scrape_timeout__`);
      continue;
    }
    if (timeoutMs > intervalMs) {
      errors.push(`target ${addr}: scrape timeout greater than scrape interval`);
      continue;
    }
    for (const k of [...lb.keys()]) if (k.startsWith('__meta_')) lb.delete(k);
    if (!lb.get('instance')) lb.set('instance', addr);
    const params = new Map<string, string[]>(Object.entries(cfg.params).map(([k, v]) => [k, [...v]]));
    for (const [k, v] of lb) {
      if (!k.startsWith('__param_')) continue;
      const name = k.slice('__param_'.length);
      const cur = params.get(name);
      if (cur && cur.length > 0) cur[0] = v;
      else params.set(name, [v]);
    }
    const query = encodeQuery(params);
    const url = `${lb.get('__scheme__') ?? 'http'}://${addr}${lb.get('__metrics_path__') ?? ''}${query ? `?${query}` : ''}`;
    const pub = [...lb].filter(([k]) => !k.startsWith('__'));
    const labels = sortLabels(
      pub.map(([k]) => k),
      pub.map(([, v]) => v),
    );
    const key = `${cfg.jobName}\u0000${[...lb].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('\u0000')}`;
    active.push({ scrapePool: cfg.jobName, discoveredLabels: discovered, allLabels: lb, labels, url, intervalMs, timeoutMs, key });
  }
  return { active, dropped, errors };
}
