// Series look-up: the series a selector matches, from metrics_series (one
// row per series per day, so only the days in range are read), as
// fingerprints plus name-sorted labels. Sample queries then name exactly
// these series — tenant, metric_name and fingerprint are the samples
// table's key prefix — and the labels never travel through the sample
// queries: results are matched back here by (tenant, fingerprint).
import { sortLabels, type Labels } from '../../core/index.ts';
import { SqlBuilder, type Sql } from '../../storage/index.ts';
import type { LabelMatcher } from './ast.ts';
import { RowReader } from './ch-row-reader.ts';
import { isMultiTenant, seriesFromWhere, splitTenantMatchers, TENANT_LABEL, type TenantScope } from './clickhouse-sql.ts';
import { PromqlError } from './errors.ts';

export interface MatchedSeries {
  readonly tenant: string;
  readonly fingerprint: bigint;
  readonly metric: string;
  /** name-sorted, with __name__; with __tenant_id__ when the query reads several tenants */
  readonly labels: Labels;
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
}

export function tooManySeries(limit: number): PromqlError {
  return new PromqlError('execution', `query would select more than ${limit} series; narrow the selector (query.maxSeries)`, { code: 'FW_ERR_QUERY_TOO_LARGE' });
}

const EMPTY: SeriesLookup = { series: [], tenants: [], metrics: [], wholeMetric: false, find: () => undefined };

function key(tenant: string, hi: number, lo: number): string {
  return `${tenant}\u0000${hi}:${lo}`;
}

/** The series matching `matchers` with a row for a day in [startMs, endMs]; throws past maxSeries. */
export async function lookupSeries(env: LookupEnv, matchers: readonly LabelMatcher[], startMs: number, endMs: number, run: (q: Sql) => Promise<Uint8Array>): Promise<SeriesLookup> {
  const split = splitTenantMatchers(env.scope, matchers);
  if (split.tenants.length === 0 || startMs > endMs) return EMPTY;
  const q = new SqlBuilder();
  const from = seriesFromWhere(q, { db: env.db, tenants: split.tenants, matchers: split.matchers, startMs, endMs });
  q.add(`SELECT tenant, fingerprint, any(metric_name), any(labels) ${from} GROUP BY tenant, fingerprint LIMIT ${q.param('UInt64', env.maxSeries + 1)}`);
  const r = RowReader.of(await run(q.build()));
  const multi = isMultiTenant(env.scope);
  const series: MatchedSeries[] = [];
  const byKey = new Map<string, MatchedSeries>();
  const tenants = new Set<string>();
  const metrics = new Set<string>();
  while (!r.done) {
    const tenant = r.string();
    const [hi, lo] = r.uint64Parts();
    const metric = r.string();
    const names: string[] = [];
    const values: string[] = [];
    r.stringMap(names, values);
    if (multi) {
      names.push(TENANT_LABEL);
      values.push(tenant);
    }
    if (series.length >= env.maxSeries) throw tooManySeries(env.maxSeries);
    const s: MatchedSeries = { tenant, fingerprint: (BigInt(hi) << 32n) | BigInt(lo), metric, labels: sortLabels(names, values) };
    series.push(s);
    byKey.set(key(tenant, hi, lo), s);
    tenants.add(tenant);
    metrics.add(metric);
  }
  if (series.length === 0) return EMPTY;
  const wholeMetric = split.matchers.every((m) => m.name === '__name__' && m.type === '=');
  return { series, tenants: [...tenants], metrics: [...metrics], wholeMetric, find: (t, hi, lo) => byKey.get(key(t, hi, lo)) };
}

/**
 * Conditions that restrict metrics_samples rows to the looked-up series:
 * the key prefix (tenant, metric_name, fingerprint), so ClickHouse reads
 * only their granules.
 */
export function seriesRestriction(q: SqlBuilder, l: SeriesLookup): string[] {
  const conds = [`tenant IN ${q.param('Array(String)', l.tenants)}`, `metric_name IN ${q.param('Array(String)', l.metrics)}`];
  // A set of thousands of fingerprints costs a hash probe per row; a selector that names only its metric needs none.
  if (!l.wholeMetric) conds.push(`fingerprint IN ${q.param('Array(UInt64)', [...new Set(l.series.map((s) => s.fingerprint))])}`);
  return conds;
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
    e.fps.push(s.fingerprint);
    e.ids.push(groupOf(s));
  }
  const transforms = [...perTenant].map(([tenant, e]) => [tenant, `transform(fingerprint, ${q.param('Array(UInt64)', e.fps)}, ${q.param('Array(UInt32)', e.ids)}, toUInt32(0))`] as const);
  if (transforms.length === 1) return (transforms[0] as readonly [string, string])[1];
  return `multiIf(${transforms.map(([t, x]) => `tenant = ${q.param('String', t)}, ${x}`).join(', ')}, toUInt32(0))`;
}
