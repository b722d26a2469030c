// Series look-up: the series a selector matches, from metrics_series (one
// row per series per day, so only the days in range are read), as
// fingerprints plus name-sorted labels. Sample queries then name exactly
// these series — tenant, metric_name and fingerprint are the samples
// table's key prefix — and the labels never travel through the sample
// queries: results are matched back here by (tenant, fingerprint).
//
// A label set never changes for a fingerprint, so look-ups are cached for a
// few seconds (query.seriesCacheTtlMs): a dashboard that refreshes, or a
// query that offers the same selector twice, reads metrics_series once. The
// price is that a series created meanwhile shows up in queries up to that
// long after its first samples (0 turns the cache off).
import { sortLabels, type Labels } from '../../core/index.ts';
import { SqlBuilder, type Sql } from '../../storage/index.ts';
import type { LabelMatcher } from './ast.ts';
import { RowBinaryReader as RowReader } from '../../storage/index.ts';
import { dayParam, isMultiTenant, seriesFromWhere, splitTenantMatchers, TENANT_LABEL, type TenantScope } from './clickhouse-sql.ts';
import { PromqlError } from './errors.ts';

export interface MatchedSeries {
  /** position in its look-up's series list */
  readonly index: number;
  readonly tenant: string;
  /** fingerprint halves (unsigned) */
  readonly hi: number;
  readonly lo: number;
  readonly metric: string;
  /** name-sorted, with __name__; with __tenant_id__ when the query reads several tenants */
  readonly labels: Labels;
  /** the labels without __name__, made once (cached look-ups serve many queries) */
  withoutName?: Labels;
  /** grouping label sets (and a key string) by grouping spec, made once */
  groups?: Map<string, { labels: Labels; key: string }>;
}

export function labelsWithoutName(s: MatchedSeries): Labels {
  if (s.withoutName) return s.withoutName;
  const i = s.labels.names.indexOf('__name__');
  s.withoutName = i < 0 ? s.labels : { names: s.labels.names.filter((_, j) => j !== i), values: s.labels.values.filter((_, j) => j !== i) };
  return s.withoutName;
}

export interface SeriesLookup {
  readonly series: readonly MatchedSeries[];
  readonly tenants: readonly string[];
  readonly metrics: readonly string[];
  /** every series of the named metric matched (the selector names only the metric): no fingerprint filter needed */
  readonly wholeMetric: boolean;
  /** series by tenant and fingerprint */
  find(tenant: string, hi: number, lo: number): MatchedSeries | undefined;
}

export interface LookupEnv {
  readonly db: string;
  readonly scope: TenantScope;
  readonly maxSeries: number;
  /** shared across queries; undefined = no cache */
  readonly cache?: SeriesCache;
  /** this query's own look-ups (the engine may ask for one selector twice) */
  readonly memo?: Map<string, Promise<SeriesLookup>>;
}

export function tooManySeries(limit: number): PromqlError {
  return new PromqlError('execution', `query would select more than ${limit} series; narrow the selector (query.maxSeries)`, { code: 'FW_ERR_QUERY_TOO_LARGE' });
}

const EMPTY: SeriesLookup = { series: [], tenants: [], metrics: [], wholeMetric: false, find: () => undefined };

/**
 * (tenant, fingerprint) -> series, for every row of a sample query: an
 * open-addressing table over the fingerprint halves per tenant (no key
 * string, no heap-number Map keys).
 */
class SeriesIndex {
  private readonly tables = new Map<string, { slots: Int32Array; mask: number }>();

  constructor(private readonly series: readonly MatchedSeries[]) {
    const perTenant = new Map<string, number>();
    for (const s of series) perTenant.set(s.tenant, (perTenant.get(s.tenant) ?? 0) + 1);
    for (const [tenant, n] of perTenant) {
      let size = 16;
      while (size < n * 2) size *= 2;
      this.tables.set(tenant, { slots: new Int32Array(size), mask: size - 1 });
    }
    series.forEach((s, i) => {
      const t = this.tables.get(s.tenant) as { slots: Int32Array; mask: number };
      let h = SeriesIndex.hash(s.hi, s.lo) & t.mask;
      while (t.slots[h] !== 0) h = (h + 1) & t.mask;
      t.slots[h] = i + 1;
    });
  }

  private static hash(hi: number, lo: number): number {
    return (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
  }

  get(tenant: string, hi: number, lo: number): MatchedSeries | undefined {
    const t = this.tables.get(tenant);
    if (!t) return undefined;
    let h = SeriesIndex.hash(hi, lo) & t.mask;
    for (;;) {
      const id = t.slots[h] as number;
      if (id === 0) return undefined;
      const s = this.series[id - 1] as MatchedSeries;
      if (s.lo === lo && s.hi === hi) return s;
      h = (h + 1) & t.mask;
    }
  }
}

export function fingerprintOf(s: MatchedSeries): bigint {
  return (BigInt(s.hi) << 32n) | BigInt(s.lo);
}

/** A bounded, time-limited cache of look-ups (one per API instance). */
export interface SeriesCache {
  get(k: string): Promise<SeriesLookup> | undefined;
  set(k: string, v: Promise<SeriesLookup>): void;
  readonly ttlMs: number;
}

export function createSeriesCache(opts: { ttlMs: number; maxEntries?: number; maxSeries?: number }): SeriesCache {
  const maxEntries = opts.maxEntries ?? 512;
  const maxSeries = opts.maxSeries ?? 2_000_000;
  const entries = new Map<string, { at: number; v: Promise<SeriesLookup>; size: number }>();
  let total = 0;
  const drop = (k: string): void => {
    const e = entries.get(k);
    if (!e) return;
    total -= e.size;
    entries.delete(k);
  };
  return {
    ttlMs: opts.ttlMs,
    get(k) {
      const e = entries.get(k);
      if (!e) return undefined;
      if (Date.now() - e.at > opts.ttlMs) {
        drop(k);
        return undefined;
      }
      // LRU: most recently used last
      entries.delete(k);
      entries.set(k, e);
      return e.v;
    },
    set(k, v) {
      if (opts.ttlMs <= 0) return;
      drop(k);
      const e = { at: Date.now(), v, size: 0 };
      entries.set(k, e);
      v.then(
        (l) => {
          if (entries.get(k) !== e) return;
          e.size = l.series.length;
          total += e.size;
          // evict the least recently used beyond the bounds
          for (const [old] of entries) {
            if (entries.size <= maxEntries && total <= maxSeries) break;
            drop(old);
          }
        },
        () => drop(k),
      );
    },
  };
}

function cacheKey(env: LookupEnv, tenants: readonly string[], matchers: readonly LabelMatcher[], startMs: number, endMs: number): string {
  const m = matchers.map((x) => `${x.name}\u0001${x.type}\u0001${x.value}`).sort();
  return JSON.stringify([env.db, tenants, isMultiTenant(env.scope), m, dayParam(startMs), dayParam(endMs)]);
}

/** The series matching `matchers` with a row for a day in [startMs, endMs]; throws past maxSeries. */
export function lookupSeries(env: LookupEnv, matchers: readonly LabelMatcher[], startMs: number, endMs: number, run: (q: Sql) => Promise<Uint8Array>): Promise<SeriesLookup> {
  const split = splitTenantMatchers(env.scope, matchers);
  if (split.tenants.length === 0 || startMs > endMs) return Promise.resolve(EMPTY);
  const k = env.cache || env.memo ? cacheKey(env, split.tenants, split.matchers, startMs, endMs) : '';
  const hit = env.memo?.get(k) ?? env.cache?.get(k);
  if (hit) return hit;
  const p = fetchSeries(env, split.tenants, split.matchers, startMs, endMs, run);
  env.cache?.set(k, p);
  env.memo?.set(k, p);
  return p;
}

async function fetchSeries(env: LookupEnv, tenants: string[], matchers: LabelMatcher[], startMs: number, endMs: number, run: (q: Sql) => Promise<Uint8Array>): Promise<SeriesLookup> {
  const q = new SqlBuilder();
  const from = seriesFromWhere(q, { db: env.db, tenants, matchers, startMs, endMs });
  // A series has a row per day (and may have unmerged copies): LIMIT 1 BY
  // keeps one, much cheaper than GROUP BY with any() over the label map.
  q.add(`SELECT tenant, fingerprint, metric_name, labels ${from} LIMIT 1 BY tenant, fingerprint LIMIT ${q.param('UInt64', env.maxSeries + 1)}`);
  const r = RowReader.of(await run(q.build()));
  const multi = isMultiTenant(env.scope);
  const series: MatchedSeries[] = [];
  // LIMIT 1 BY already keeps one row per series; this guards the server's distributed reads too
  const seen = new Set<string>();
  const tenantSet = new Set<string>();
  const metrics = new Set<string>();
  while (!r.done) {
    const tenant = r.string();
    const [hi, lo] = r.uint64Parts();
    const k = `${tenant}\u0000${hi}:${lo}`;
    if (seen.has(k)) {
      r.string();
      r.skipStringMap();
      continue;
    }
    const metric = r.string();
    const names: string[] = [];
    const values: string[] = [];
    r.stringMapInto(names, values);
    if (multi) {
      names.push(TENANT_LABEL);
      values.push(tenant);
    }
    if (series.length >= env.maxSeries) throw tooManySeries(env.maxSeries);
    const s: MatchedSeries = { index: series.length, tenant, hi, lo, metric, labels: sortLabels(names, values) };
    series.push(s);
    seen.add(k);
    tenantSet.add(tenant);
    metrics.add(metric);
  }
  if (series.length === 0) return EMPTY;
  const wholeMetric = matchers.every((m) => m.name === '__name__' && m.type === '=');
  const index = new SeriesIndex(series);
  return { series, tenants: [...tenantSet], metrics: [...metrics], wholeMetric, find: (t, hi, lo) => index.get(t, hi, lo) };
}

/**
 * Conditions that restrict metrics_samples rows to the looked-up series:
 * the key prefix (tenant, metric_name, fingerprint), so ClickHouse reads
 * only their granules.
 */
export function seriesRestriction(q: SqlBuilder, l: SeriesLookup): string[] {
  const conds = [`tenant IN ${q.param('Array(String)', l.tenants)}`, `metric_name IN ${q.param('Array(String)', l.metrics)}`];
  // A set of thousands of fingerprints costs a hash probe per row; a selector that names only its metric needs none.
  if (!l.wholeMetric) conds.push(`fingerprint IN ${q.param('Array(UInt64)', [...new Set(l.series.map(fingerprintOf))])}`);
  return conds;
}

/** GROUP BY keys of per-series sample aggregations: the fingerprint alone when one tenant is read. */
export function seriesKeyColumns(l: SeriesLookup): string {
  return l.tenants.length === 1 ? 'fingerprint' : 'tenant, fingerprint';
}

/**
 * A SQL expression giving each sample row's group id (1-based; 0 = none)
 * from its (tenant, fingerprint), for groups computed here from labels.
 */
export function groupIdExpr(q: SqlBuilder, l: SeriesLookup, groupOf: (s: MatchedSeries) => number): string {
  const perTenant = new Map<string, { fps: bigint[]; ids: number[] }>();
  for (const s of l.series) {
    let e = perTenant.get(s.tenant);
    if (!e) perTenant.set(s.tenant, (e = { fps: [], ids: [] }));
    e.fps.push(fingerprintOf(s));
    e.ids.push(groupOf(s));
  }
  const transforms = [...perTenant].map(([tenant, e]) => [tenant, `transform(fingerprint, ${q.param('Array(UInt64)', e.fps)}, ${q.param('Array(UInt32)', e.ids)}, toUInt32(0))`] as const);
  if (transforms.length === 1) return (transforms[0] as readonly [string, string])[1];
  return `multiIf(${transforms.map(([t, x]) => `tenant = ${q.param('String', t)}, ${x}`).join(', ')}, toUInt32(0))`;
}
