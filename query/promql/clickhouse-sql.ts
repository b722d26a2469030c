// PromQL label matchers and time ranges as ClickHouse conditions over the
// metrics tables (storage/schema.ts): metrics_series holds one row per series
// per day (tenant, date, metric_name, fingerprint, labels Map), metrics_samples
// the samples ordered by (tenant, metric_name, hour bucket, fingerprint,
// timestamp_ms).
//
// Matcher semantics follow Prometheus (https://prometheus.io/docs/prometheus/latest/querying/basics/#time-series-selectors):
// a missing label matches as "" (ClickHouse's map element access returns ""
// for a missing key, which is exactly that), and regexes are RE2, fully
// anchored, with "." matching newlines (Prometheus 3.x compiles "^(?s:re)$";
// ClickHouse's match() is RE2 too). Values only ever travel as typed
// parameters.
import { SAMPLES_BUCKET_MS, type SqlBuilder } from '../../storage/index.ts';
import type { LabelMatcher } from './ast.ts';
import { compileAnchored } from './regex.ts';

/** The label that names a series' tenant when a query reads several (as Cortex/Mimir tenant federation). */
export const TENANT_LABEL = '__tenant_id__';
export const METRIC_NAME = '__name__';

/** The staleness marker's bits as a UInt64 (protocols/series.ts STALE_NAN_BITS). */
export const STALE_BITS_SQL = '9218868437227405314';

export interface TenantScope {
  /** tenants the request may read (from X-Scope-OrgID) */
  readonly tenants: readonly string[];
}

/**
 * With several tenants every series carries __tenant_id__, and matchers on
 * it pick tenants; with one tenant the label does not exist and such
 * matchers are ordinary label matchers (a missing label is "").
 */
export function isMultiTenant(scope: TenantScope): boolean {
  return scope.tenants.length > 1;
}

export function matchString(m: LabelMatcher, value: string): boolean {
  switch (m.type) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return compileAnchored(m.value).test(value);
    case '!~':
      return !compileAnchored(m.value).test(value);
  }
}

/** The tenants that the __tenant_id__ matchers leave, and the remaining matchers. */
export function splitTenantMatchers(scope: TenantScope, matchers: readonly LabelMatcher[]): { tenants: string[]; matchers: LabelMatcher[] } {
  if (!isMultiTenant(scope)) return { tenants: [...scope.tenants], matchers: [...matchers] };
  const tenantMatchers = matchers.filter((m) => m.name === TENANT_LABEL);
  return {
    tenants: scope.tenants.filter((t) => tenantMatchers.every((m) => matchString(m, t))),
    matchers: matchers.filter((m) => m.name !== TENANT_LABEL),
  };
}

const REGEX_META = /[\\^$.|?*+()[\]{}]/;

/** `a|b|c` of plain literals → the literals; null for anything else. */
function literalAlternatives(re: string): string[] | null {
  const alts = re.split('|');
  for (const a of alts) if (REGEX_META.test(a)) return null;
  return alts;
}

/**
 * The condition one matcher puts on a string column expression. Common
 * regex shapes become cheaper SQL: `.*` matches everything, `.+` is
 * "not empty", a list of literals is IN.
 */
function matcherCondition(q: SqlBuilder, col: string, m: LabelMatcher): string | null {
  switch (m.type) {
    case '=':
      return `${col} = ${q.param('String', m.value)}`;
    case '!=':
      return `${col} != ${q.param('String', m.value)}`;
    case '=~':
    case '!~': {
      const neg = m.type === '!~';
      if (m.value === '.*') return neg ? '0' : null;
      if (m.value === '.+') return neg ? `${col} = ''` : `${col} != ''`;
      const lits = literalAlternatives(m.value);
      if (lits) return `${col} ${neg ? 'NOT IN' : 'IN'} ${q.param('Array(String)', lits)}`;
      const re = `^(?s:${m.value})$`;
      return `${neg ? 'NOT ' : ''}match(${col}, ${q.param('String', re)})`;
    }
  }
}

export interface MatcherColumns {
  /** the metric name column (metric_name) */
  readonly name: string;
  /** the labels Map column, or null when only name matchers apply (metrics_samples) */
  readonly labels: string | null;
}

/** Conditions for all matchers (none on __tenant_id__ in multi-tenant scope: split those off first). */
export function matcherConditions(q: SqlBuilder, matchers: readonly LabelMatcher[], cols: MatcherColumns): string[] {
  const out: string[] = [];
  for (const m of matchers) {
    let col: string;
    if (m.name === METRIC_NAME) col = cols.name;
    else if (cols.labels) col = `${cols.labels}[${q.param('String', m.name)}]`;
    else continue;
    const c = matcherCondition(q, col, m);
    if (c !== null) out.push(c);
  }
  return out;
}

/** The metric name an `__name__="x"` matcher pins, or null. */
export function pinnedMetricName(matchers: readonly LabelMatcher[]): string | null {
  for (const m of matchers) if (m.name === METRIC_NAME && m.type === '=') return m.value;
  return null;
}

const MS_PER_DAY = 86_400_000;
const MAX_DAY = 65_535; // Date's range ends 2149-06-06

/** A UTC day as ClickHouse Date parameter text. */
export function dayParam(ms: number): string {
  const day = Math.min(MAX_DAY, Math.max(0, Math.floor(ms / MS_PER_DAY)));
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** An Int64 parameter value for a millisecond time (clamped to what a JS number holds exactly). */
export function msParam(ms: number): string {
  const clamped = Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(ms)));
  return String(clamped);
}

/** A DateTime64(3) parameter (seconds with milliseconds) for a millisecond time. */
export function dateTime64Param(ms: number): string {
  const m = Math.floor(ms);
  const s = Math.floor(m / 1000);
  const frac = m - s * 1000;
  return `${s}.${String(frac).padStart(3, '0')}`;
}

export interface SeriesQuery {
  readonly db: string;
  readonly tenants: readonly string[];
  /** matchers without __tenant_id__ ones (see splitTenantMatchers) */
  readonly matchers: readonly LabelMatcher[];
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * `FROM db.metrics_series WHERE ...` for the series a selector matches in a
 * time range (only the days in range are read: the table keeps one row per
 * series per day).
 */
export function seriesFromWhere(q: SqlBuilder, s: SeriesQuery): string {
  const conds = [
    `tenant IN ${q.param('Array(String)', s.tenants)}`,
    `date >= ${q.param('Date', dayParam(s.startMs))}`,
    `date <= ${q.param('Date', dayParam(s.endMs))}`,
    ...matcherConditions(q, s.matchers, { name: 'metric_name', labels: 'labels' }),
  ];
  return `FROM ${s.db}.metrics_series WHERE ${conds.join(' AND ')}`;
}

/**
 * A metrics_samples time range [startMs, endMs], also as the range of the
 * hour bucket in the table's sorting key so the primary key prunes by it.
 */
export function sampleTimeConditions(q: SqlBuilder, startMs: number, endMs: number): string[] {
  const bucket = String(SAMPLES_BUCKET_MS);
  return [
    `intDiv(timestamp_ms, ${bucket}) >= ${q.param('Int64', msParam(Math.floor(startMs / SAMPLES_BUCKET_MS)))}`,
    `intDiv(timestamp_ms, ${bucket}) <= ${q.param('Int64', msParam(Math.floor(endMs / SAMPLES_BUCKET_MS)))}`,
    `timestamp_ms >= ${q.param('Int64', msParam(startMs))}`,
    `timestamp_ms <= ${q.param('Int64', msParam(endMs))}`,
  ];
}
