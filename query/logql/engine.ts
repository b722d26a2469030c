// LogQL evaluation over ClickHouse. What ClickHouse can do runs there:
// stream selection (log_streams), the time range, line filters (through the
// body's skip index) and counting that needs no parsing (per stream or per
// group of labels, in sub-buckets summed into windows here). The rest of the
// pipeline runs in TypeScript over the rows that survive.
// Range semantics as Loki: a step at t aggregates (t - range - offset, t - offset];
// steps run start, start+step, ... <= end; log queries read [start, end).
import { FleetwatchError } from '../../core/index.ts';
import { SqlBuilder, RowBinaryReader, type Store } from '../../storage/index.ts';
import type { Expr, LabelFilterExpr, LabelMatcher, LogSelector, MetricExpr, RangeAggregation, Stage, VectorAggregation } from './ast.ts';
import { createReader, likeEscape, mapStorageError, TENANT_LABEL, type Reader, type StreamRef } from './reader.ts';
import { compilePipeline, ERR_SAMPLE, ERROR_LABEL, ERROR_DETAILS_LABEL, LabelsBuilder, labelsKey, matcherFn, type Entry, type Pipeline, compileLabelFilter, labelFilterNames } from './pipeline.ts';
import { regexLiteral, sqlRegex } from './regex.ts';
import { parsePatternExpr, patternLiterals } from './pattern.ts';
import { parseGoDurationNs, goDurationError, parseHumanBytes, parseGoFloat } from './units.ts';
import { aggregate, keyOf, labelReplace, newSeries, sortPairs, vectorScalar, vectorVector, type LabelPairs, type Matrix, type Series } from './matrix.ts';
import { scalarOp } from './parse.ts';

export interface EngineLimits {
  readonly maxStreams: number;
  readonly maxSeries: number;
  readonly timeoutMs: number;
  readonly maxBytesRead: number;
}

export interface EngineOptions {
  readonly store: Store;
  readonly limits: EngineLimits;
  /** push line filters and counting into ClickHouse (tests turn it off to compare) */
  readonly pushdown?: boolean;
}

export type Direction = 'forward' | 'backward';

export interface QueryRequest {
  readonly expr: Expr;
  readonly tenants: readonly string[];
  /** log queries: [start, end); metric queries: steps start..end */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepNs: bigint;
  readonly intervalNs: bigint;
  readonly direction: Direction;
  readonly limit: number;
  /** instant query: one step at endNs */
  readonly instant: boolean;
  readonly signal?: AbortSignal;
}

export interface LogEntryOut {
  readonly tsNs: bigint;
  readonly line: string;
  readonly structuredMetadata: LabelPairs;
  readonly parsed: LabelPairs;
}

export interface StreamOut {
  /** all labels (stream, metadata, parsed) */
  readonly labels: LabelPairs;
  /** the stream labels only (categorize-labels) */
  readonly streamLabels: LabelPairs;
  readonly entries: LogEntryOut[];
}

export interface QueryStats {
  linesProcessed: number;
  bytesProcessed: number;
  postFilterLines: number;
  entriesReturned: number;
  streams: number;
  queries: number;
}

export type QueryResult =
  | { readonly type: 'streams'; readonly streams: StreamOut[]; readonly stats: QueryStats }
  | { readonly type: 'matrix'; readonly series: Series[]; readonly timesMs: number[]; readonly stats: QueryStats }
  | { readonly type: 'vector'; readonly samples: { labels: LabelPairs; value: number }[]; readonly timeMs: number; readonly stats: QueryStats }
  | { readonly type: 'scalar'; readonly value: number; readonly timeMs: number; readonly stats: QueryStats };

/** Loki's pipeline error for a metric query whose samples carry __error__. */
export class PipelineError extends FleetwatchError {
  constructor(errorType: string, series: string) {
    super(
      'FW_ERR_QUERY_BAD_DATA',
      `pipeline error: '${errorType}' for series: '${series}'.\nUse a label filter to intentionally skip this error. (e.g | __error__!="${errorType}").\nTo skip all potential errors you can match empty errors.(e.g __error__="")\nThe label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`,
    );
  }
}

const LINE_MUTATORS = new Set<Stage['kind']>(['line_format', 'decolorize', 'unpack']);

interface SelectorPlan {
  /** SQL conditions on a logs row */
  readonly conds: (q: SqlBuilder) => string[];
  /** stages left for TypeScript, in order */
  readonly tsStages: Stage[];
  readonly pipeline: Pipeline | null;
  /** label filters are pre-filtered in SQL */
  readonly prefiltered: boolean;
}

/**
 * Splits a pipeline into what ClickHouse filters and what runs here. Line
 * filters before any stage that rewrites the line run in ClickHouse alone.
 * Label filters always run here, but when ClickHouse can tell that a row
 * cannot pass one, it drops the row first (a superset prefilter):
 *  - before any parser, a label is structured metadata or the stream's:
 *    the filter is decided per stream here, rows with metadata of that
 *    name are kept for the exact check;
 *  - after `| json` (and only line filters / label filters), a simple
 *    label name can only come from the top-level JSON key: ClickHouse's
 *    JSONExtract drops rows whose value certainly fails; anything it cannot
 *    read (invalid JSON, other types, escapes it reads differently) is kept.
 */
export function planSelector(sel: LogSelector, pushdown: boolean, streams: readonly StreamRef[] = []): SelectorPlan {
  const sqlParts: ((q: SqlBuilder) => string)[] = [];
  const tsStages: Stage[] = [];
  let lineChanged = false;
  let prefiltered = false;
  // whether any stage so far can set __error__ (parsers, conversions, templates)
  let errorsPossible = false;
  // what a label can be at this point: 'stream' (stream or metadata), 'json' (also a top-level JSON key), 'unknown'
  let labels: 'stream' | 'json' | 'unknown' = 'stream';
  for (const s of sel.pipeline) {
    if (LINE_MUTATORS.has(s.kind)) lineChanged = true;
    if (s.kind === 'drop' && !errorsPossible && s.items.every((i) => i.name === ERROR_LABEL || i.name === ERROR_DETAILS_LABEL)) continue; // nothing to drop yet
    if (stageSetsErrors(s)) errorsPossible = true;
    if (s.kind === 'label_filter') {
      tsStages.push(s);
      if (pushdown && labels !== 'unknown') {
        const pre = labels === 'stream' ? streamLabelPrefilter(s.expr, streams) : jsonLabelPrefilter(s.expr, streams);
        if (pre) {
          sqlParts.push(pre);
          prefiltered = true;
        }
      }
      continue;
    }
    if (s.kind === 'json' && s.params.length === 0 && !lineChanged && labels !== 'unknown') labels = 'json';
    else if (s.kind !== 'line_filter') labels = 'unknown';
    if (!pushdown || lineChanged || s.kind !== 'line_filter' || s.ip) {
      tsStages.push(s);
      continue;
    }
    const pushed = lineFilterSql(s.op, s.values);
    if (pushed.sql) sqlParts.push(pushed.sql);
    if (!pushed.exact) tsStages.push(s);
  }
  return {
    conds: (q) => sqlParts.map((f) => f(q)),
    tsStages,
    pipeline: tsStages.length ? compilePipeline(tsStages) : null,
    prefiltered,
  };
}

function stageSetsErrors(s: Stage): boolean {
  switch (s.kind) {
    case 'json':
    case 'logfmt':
    case 'unpack':
    case 'line_format':
    case 'label_format':
      return true;
    case 'label_filter':
      return hasConversion(s.expr);
    default:
      return false;
  }
}

function hasConversion(f: LabelFilterExpr): boolean {
  if (f.kind === 'and' || f.kind === 'or') return hasConversion(f.left) || hasConversion(f.right);
  return f.kind === 'number' || f.kind === 'duration' || f.kind === 'bytes';
}

/**
 * `sum by (...)` counting over `| json` with label filters, in ClickHouse:
 * a JSON label is its top-level key (the only place a name without `_` can
 * come from), read with JSONExtract. Exact only when every row reads as
 * Loki reads it, so the query also counts rows that might not (not valid
 * JSON, a float whose text ClickHouse normalises, a value a numeric filter
 * could not convert); any such row sends the query to TypeScript instead.
 */
export interface JsonCountPlan {
  /** SQL for the value a label has for a row */
  value(q: SqlBuilder, name: string): string;
  /** conditions on a row (line filters and label filters) */
  conds(q: SqlBuilder): string[];
  /** 1 for a row the SQL might read differently from Loki */
  unsure(q: SqlBuilder, groupBy: readonly string[]): string;
}

export function jsonCountPlan(sel: LogSelector, streams: readonly StreamRef[], groupBy: readonly string[]): JsonCountPlan | undefined {
  let json = false;
  const lineParts: ((q: SqlBuilder) => string)[] = [];
  const filters: LabelFilterExpr[] = [];
  for (const st of sel.pipeline) {
    if (st.kind === 'line_filter') {
      if (st.ip) return undefined;
      const sql = lineFilterSql(st.op, st.values);
      if (!sql.exact) return undefined;
      if (sql.sql) lineParts.push(sql.sql);
    } else if (st.kind === 'json' && st.params.length === 0 && !json) json = true;
    else if (st.kind === 'label_filter' && json) filters.push(st.expr);
    else if (st.kind === 'drop' && st.items.every((i) => i.name === ERROR_LABEL || i.name === ERROR_DETAILS_LABEL)) continue;
    else return undefined;
  }
  if (!json) return undefined;
  // a label name is read from the top-level key of that name; a name with `_`
  // could also be flattened from nested keys or sanitized from other keys,
  // and rows where that is possible are "unsure" (see below)
  const usable = (n: string): boolean => n !== ERROR_LABEL && n !== ERROR_DETAILS_LABEL && !n.startsWith('__') && LABEL_NAME.test(n);
  const leaves: { name: string; numeric: boolean }[] = [];
  const walk = (f: LabelFilterExpr): boolean => {
    if (f.kind === 'and' || f.kind === 'or') return walk(f.left) && walk(f.right);
    if (f.kind === 'string') {
      // `__error__=""` keeps every row once no row can err; other error tests are not handled
      if (f.matcher.name === ERROR_LABEL) return f.matcher.op === '=' && f.matcher.value === '';
      leaves.push({ name: f.matcher.name, numeric: false });
      return usable(f.matcher.name);
    }
    if (f.kind === 'number') {
      leaves.push({ name: f.name, numeric: true });
      return usable(f.name);
    }
    return false;
  };
  if (!filters.every(walk) || !groupBy.every(usable)) return undefined;
  const single = new Set(streams.map((s) => s.tenant)).size <= 1;
  const streamValue = (q: SqlBuilder, name: string): string => {
    const vals = streams.map((s) => s.labels.map.get(name) ?? '');
    return single
      ? `transform(stream_fingerprint, ${q.param('Array(UInt64)', streams.map((s) => s.fp))}, ${q.param('Array(String)', vals)}, '')`
      : `transform(concat(toString(tenant), ':', toString(stream_fingerprint)), ${q.param('Array(String)', streams.map((s) => `${s.tenant}:${s.fp}`))}, ${q.param('Array(String)', vals)}, '')`;
  };
  const owned = (name: string): bigint[] => streams.filter((s) => s.labels.map.has(name)).map((s) => s.fp);
  const value = (q: SqlBuilder, name: string): string => {
    if (name === TENANT_LABEL) return 'toString(tenant)';
    const key = q.param('String', name);
    const fromJson = `multiIf(JSONType(body, ${key}) = 'String', JSONExtractString(body, ${key}), JSONType(body, ${key}) IN ('Int64', 'UInt64', 'Bool'), JSONExtractRaw(body, ${key}), '')`;
    const fps = owned(name);
    return metadataValueSql(q, name, fps.length ? `if(${fpsSql(q, fps)}, ${streamValue(q, name)}, ${fromJson})` : fromJson);
  };
  const filterSql = (q: SqlBuilder, f: LabelFilterExpr): string => {
    switch (f.kind) {
      case 'and':
        return `(${filterSql(q, f.left)} AND ${filterSql(q, f.right)})`;
      case 'or':
        return `(${filterSql(q, f.left)} OR ${filterSql(q, f.right)})`;
      case 'string': {
        if (f.matcher.name === ERROR_LABEL) return '1';
        const v = value(q, f.matcher.name);
        const m = f.matcher;
        if (m.op === '=' || m.op === '!=') return `${v} ${m.op} ${q.param('String', m.value)}`;
        return `${m.op === '!~' ? 'NOT ' : ''}match(${v}, ${q.param('String', sqlRegex(m.value, { anchored: true }))})`;
      }
      case 'number': {
        // a missing label drops the row (Loki); a value that does not convert is "unsure"
        const v = value(q, f.name);
        const op = f.op === '==' ? '=' : f.op;
        return `(${v} != '' AND ifNull(toFloat64OrNull(${v}) ${op} ${q.param('Float64', f.value)}, 0))`;
      }
      default:
        return '0';
    }
  };
  return {
    value,
    conds: (q) => [...lineParts.map((f) => f(q)), ...filters.map((f) => filterSql(q, f))],
    unsure: (q, groups) => {
      const names = [...new Set([...leaves.map((l) => l.name), ...groups])].filter((n) => n !== TENANT_LABEL && n !== ERROR_LABEL);
      const parts = ['NOT isValidJSON(body)', "JSONType(body) != 'Object'"];
      let nested = false;
      for (const n of names) {
        parts.push(`JSONType(body, ${q.param('String', n)}) = 'Double'`);
        const segs = n.split('_');
        if (segs.length < 2) continue;
        nested = true;
        // a_b_c may also come from {"a": {"b_c"}} or {"a_b": {"c"}}: any such object makes the row unsure
        for (let i = 1; i < segs.length; i++) {
          const prefix = segs.slice(0, i).join('_');
          if (prefix) parts.push(`JSONType(body, ${q.param('String', prefix)}) = 'Object'`);
        }
      }
      if (nested) {
        // keys Loki would sanitize (or an empty key it skips) could produce the same name
        parts.push("JSONType(body, '') = 'Object'");
        parts.push("arrayExists(k -> NOT match(k, '^[A-Za-z_][A-Za-z0-9_]*$'), JSONExtractKeys(body))");
      }
      for (const l of leaves) if (l.numeric) parts.push(`(${value(q, l.name)} != '' AND isNull(toFloat64OrNull(${value(q, l.name)})))`);
      return `(${parts.join(' OR ')})`;
    },
  };
}

/** Label names a filter reads; undefined when one is an internal (__...) label. */
function filterNames(f: LabelFilterExpr): string[] | undefined {
  const names = labelFilterNames(f);
  return names.some((n) => n.startsWith('__')) ? undefined : [...new Set(names)];
}

/** SQL: the row has structured metadata `name` (trace/span ids live in their own columns). */
function hasMetadataSql(q: SqlBuilder, name: string): string {
  // has() on the keys subcolumn reads far less than mapContains() on the map
  const m = `has(metadata.keys, ${q.param('String', name)})`;
  return name === 'trace_id' || name === 'span_id' ? `(${m} OR ${name} != '')` : m;
}

function fpsSql(q: SqlBuilder, fps: readonly bigint[]): string {
  return fps.length ? `stream_fingerprint IN ${q.param('Array(UInt64)', fps)}` : '0';
}

/** Before any parser: decide the filter on each stream's labels; metadata rows are kept. */
function streamLabelPrefilter(f: LabelFilterExpr, streams: readonly StreamRef[]): ((q: SqlBuilder) => string) | undefined {
  const names = filterNames(f);
  if (!names || streams.length === 0) return undefined;
  const test = compileLabelFilter(f);
  const lb = new LabelsBuilder();
  const pass: bigint[] = [];
  for (const s of streams) {
    lb.reset(s.labels, undefined);
    if (test(lb)) pass.push(s.fp);
  }
  if (pass.length === streams.length) return undefined;
  return (q) => `(${[...names.map((n) => hasMetadataSql(q, n)), fpsSql(q, pass)].join(' OR ')})`;
}

const SIMPLE_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** After `| json`: ClickHouse drops rows whose top-level JSON value certainly fails the filter. */
function jsonLabelPrefilter(f: LabelFilterExpr, streams: readonly StreamRef[]): ((q: SqlBuilder) => string) | undefined {
  const leaf = (g: LabelFilterExpr): ((q: SqlBuilder) => string) | undefined => {
    switch (g.kind) {
      case 'and':
      case 'or': {
        const l = leaf(g.left);
        const r = leaf(g.right);
        if (g.kind === 'or') return l && r ? (q) => `(${l(q)} OR ${r(q)})` : undefined;
        if (l && r) return (q) => `(${l(q)} AND ${r(q)})`;
        return l ?? r;
      }
      case 'string':
      case 'number': {
        const name = g.kind === 'string' ? g.matcher.name : g.name;
        if (!SIMPLE_NAME.test(name)) return undefined;
        // a stream label or metadata of that name wins over the JSON key: keep those rows
        const owned = streams.filter((s) => s.labels.map.has(name)).map((s) => s.fp);
        return (q) => {
          const key = q.param('String', name);
          let test: string;
          // one JSON read per row: ClickHouse merges the identical calls below
          if (g.kind === 'string') {
            const v = `JSONExtractString(body, ${key})`;
            const m = g.matcher;
            const cmp =
              m.op === '=' ? `${v} = ${q.param('String', m.value)}` : m.op === '!=' ? `${v} != ${q.param('String', m.value)}` : `${m.op === '!~' ? 'NOT ' : ''}match(${v}, ${q.param('String', sqlRegex(m.value, { anchored: true }))})`;
            // '' is also what a missing key, a non-string or a bad line read as: keep those
            test = `(${v} = '' OR ${cmp})`;
          } else {
            const op = g.op === '==' ? '=' : g.op;
            // a raw value that is not a plain number (a string, null, an object, nothing) is kept
            test = `ifNull(toFloat64OrNull(JSONExtractRaw(body, ${key})) ${op} ${q.param('Float64', g.value)}, 1)`;
          }
          return `(${hasMetadataSql(q, name)} OR ${fpsSql(q, owned)} OR ${test})`;
        };
      }
      default:
        return undefined;
    }
  };
  if (!filterNames(f)) return undefined;
  return leaf(f);
}

/** SQL for a line filter: exact when ClickHouse decides it alone, else a necessary condition. */
function lineFilterSql(op: string, values: readonly string[]): { sql?: (q: SqlBuilder) => string; exact: boolean } {
  const positive = op === '|=' || op === '|~' || op === '|>';
  if (op === '|>' || op === '!>') {
    if (op === '!>') return { exact: false };
    // the literals in order are necessary; the exact test runs here
    const alts = values.map((v) => patternLiterals(parsePatternExpr(v, 'filter')));
    if (alts.some((lits) => lits.length === 0)) return { exact: false };
    return {
      exact: false,
      sql: (q) => `(${alts.map((lits) => `body LIKE ${q.param('String', '%' + lits.map(likeEscape).join('%') + '%')}`).join(' OR ')})`,
    };
  }
  if (values.some((v) => v === '') && (op === '|=' || op === '!=')) {
    // `|= ""` matches every line; `!= ""` matches none
    return op === '|=' ? { exact: true } : { exact: true, sql: () => '0' };
  }
  const one = (q: SqlBuilder, v: string): string => {
    if (op === '|=' || op === '!=') return `body LIKE ${q.param('String', '%' + likeEscape(v) + '%')}`;
    const lit = regexLiteral(v);
    if (lit && !lit.caseInsensitive) return `body LIKE ${q.param('String', '%' + likeEscape(lit.literal) + '%')}`;
    if (lit && lit.caseInsensitive) return `body ILIKE ${q.param('String', '%' + likeEscape(lit.literal) + '%')}`;
    return `match(body, ${q.param('String', sqlRegex(v, { dotAll: true }))})`;
  };
  return {
    exact: true,
    sql: (q) => {
      const parts = values.map((v) => one(q, v));
      const any = parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`;
      return positive ? any : `NOT ${any}`;
    },
  };
}

function tenantMatch(m: LabelMatcher, v: string): boolean {
  return matcherFn(m)(v);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

const MAX_PUSHDOWN_BUCKETS = 200_000;
const COUNTING_OPS: ReadonlySet<RangeAggregation['op']> = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);

// trace_id and span_id have their own columns; Loki shows them as structured
// metadata (its OTLP ingestion stores them there), so they are merged in
const ROW_COLUMNS = 'tenant, stream_fingerprint, toUnixTimestamp64Nano(timestamp), body, metadata, trace_id, span_id';
const METADATA_SQL = "if(trace_id = '' AND span_id = '', metadata, mapConcat(mapFilter((k, v) -> v != '', map('trace_id', trace_id, 'span_id', span_id)), metadata))";

/** SQL for the value a row gives a label: structured metadata (incl. trace/span ids) over the stream's. */
function metadataValueSql(q: SqlBuilder, name: string, streamValue: string): string {
  const key = q.param('String', name);
  const ids = name === 'trace_id' || name === 'span_id' ? `, ${name} != '', ${name}` : '';
  return `multiIf(has(metadata.keys, ${key}), metadata[${key}]${ids}, ${streamValue})`;
}
const FETCH_ROWS = 500_000;

interface Ctx {
  readonly req: QueryRequest;
  /** step times (absolute ns) */
  readonly times: bigint[];
  readonly stats: QueryStats;
}

export interface Engine {
  query(req: QueryRequest): Promise<QueryResult>;
  /** streams matching selectors in [start, end] (series, labels, stats endpoints) */
  streams(tenants: readonly string[], matchers: readonly LabelMatcher[], startNs: bigint, endNs: bigint, signal?: AbortSignal): Promise<StreamRef[]>;
  readonly reader: Reader;
}

export function createEngine(opts: EngineOptions): Engine {
  const reader = createReader(opts.store, { maxStreams: opts.limits.maxStreams, timeoutMs: opts.limits.timeoutMs, maxBytesRead: opts.limits.maxBytesRead });
  const pushdown = opts.pushdown !== false;
  const db = reader.db;

  const streamsFor = (tenants: readonly string[], sel: LogSelector, startNs: bigint, endNs: bigint, signal?: AbortSignal): Promise<StreamRef[]> =>
    reader.streams(tenants, sel.matchers, startNs, endNs, tenantMatch, signal);

  /** WHERE clause selecting the streams' rows in [lo, hi) or (lo, hi] */
  const rowsWhere = (q: SqlBuilder, streams: StreamRef[], lo: bigint, hi: bigint, leftOpen: boolean, plan: SelectorPlan): void => {
    const byTenant = new Map<string, bigint[]>();
    for (const s of streams) {
      let a = byTenant.get(s.tenant);
      if (!a) byTenant.set(s.tenant, (a = []));
      a.push(s.fp);
    }
    const parts = [...byTenant].map(([t, fps]) => `(tenant = ${q.param('String', t)} AND stream_fingerprint IN ${q.param('Array(UInt64)', fps)})`);
    q.add(`WHERE (${parts.join(' OR ')})`);
    q.add(`AND timestamp ${leftOpen ? '>' : '>='} fromUnixTimestamp64Nano(${q.param('Int64', lo.toString())})`);
    q.add(`AND timestamp ${leftOpen ? '<=' : '<'} fromUnixTimestamp64Nano(${q.param('Int64', hi.toString())})`);
    for (const c of plan.conds(q)) q.add(`AND ${c}`);
  };

  const streamIndex = (streams: StreamRef[]): Map<string, StreamRef> => {
    const m = new Map<string, StreamRef>();
    for (const s of streams) m.set(`${s.tenant}\u0000${s.fp}`, s);
    return m;
  };

  interface Row {
    stream: StreamRef;
    tsNs: bigint;
    body: string;
    metadata: [string, string][] | undefined;
  }

  const readRows = (bytes: Uint8Array, idx: Map<string, StreamRef>, out: Row[]): void => {
    const r = new RowBinaryReader(bytes);
    while (!r.done) {
      const tenant = r.string();
      const fp = r.uint64();
      const ts = r.uint64();
      const body = r.string();
      const n = r.varUInt();
      let md: [string, string][] | undefined;
      if (n > 0) {
        md = [];
        for (let i = 0; i < n; i++) md.push([r.string(), r.string()]);
      }
      const traceId = r.string();
      const spanId = r.string();
      if (traceId || spanId) {
        md ??= [];
        if (traceId && !md.some((x) => x[0] === 'trace_id')) md.push(['trace_id', traceId]);
        if (spanId && !md.some((x) => x[0] === 'span_id')) md.push(['span_id', spanId]);
      }
      const stream = idx.get(`${tenant}\u0000${fp}`);
      if (stream) out.push({ stream, tsNs: ts, body, metadata: md });
    }
  };

  // ---------------- log queries ----------------

  async function evalLogs(sel: LogSelector, req: QueryRequest, stats: QueryStats): Promise<StreamOut[]> {
    const streams = await streamsFor(req.tenants, sel, req.startNs, req.endNs, req.signal);
    stats.streams += streams.length;
    if (streams.length === 0 || req.limit <= 0) return [];
    const plan = planSelector(sel, pushdown, streams);
    const idx = streamIndex(streams);
    const backward = req.direction === 'backward';
    const order = backward ? 'DESC' : 'ASC';
    const out = new Map<string, StreamOut>();
    const lb = new LabelsBuilder();
    let taken = 0;
    let lastTs: bigint | undefined;
    const interval = req.intervalNs;

    const take = (row: Row): boolean => {
      stats.linesProcessed++;
      stats.bytesProcessed += row.body.length;
      lb.reset(row.stream.labels, row.metadata);
      const e: Entry = { line: row.body, tsNs: row.tsNs, lb };
      if (plan.pipeline && !plan.pipeline.process(e)) return false;
      stats.postFilterLines++;
      if (interval > 0n && lastTs !== undefined) {
        const ok = backward ? row.tsNs <= lastTs - interval : row.tsNs >= lastTs + interval;
        if (!ok) return false;
      }
      lastTs = row.tsNs;
      const cat = lb.categorized();
      const all = lb.unchanged() ? (row.stream.labels.names.map((n, i) => [n, row.stream.labels.values[i] as string]) as LabelPairs) : lb.all();
      const k = keyOf(all);
      let s = out.get(k);
      if (!s) out.set(k, (s = { labels: all, streamLabels: cat.stream, entries: [] }));
      s.entries.push({ tsNs: row.tsNs, line: e.line, structuredMetadata: cat.structuredMetadata, parsed: cat.parsed });
      taken++;
      return true;
    };

    let lo = req.startNs;
    let hi = req.endNs; // [lo, hi)
    // a prefilter in SQL makes most fetched rows pass: start small, grow by the observed rate
    let batch = plan.pipeline || interval > 0n ? (plan.prefiltered ? Math.max(100, req.limit) : Math.max(1000, req.limit * 4)) : req.limit;
    const fetch = async (from: bigint, to: bigint, limit: number | undefined): Promise<Row[]> => {
      const q = new SqlBuilder();
      q.add(`SELECT ${ROW_COLUMNS} FROM ${db}.logs`);
      rowsWhere(q, streams, from, to, false, plan);
      q.add(`ORDER BY timestamp ${order}, stream_fingerprint${limit !== undefined ? ` LIMIT ${limit}` : ''}`);
      const rows: Row[] = [];
      readRows(await reader.queryBinary(q, req.signal), idx, rows);
      stats.queries++;
      return rows;
    };
    if (!plan.pipeline && interval === 0n) {
      // ClickHouse decided everything: its LIMIT is the answer
      for (const row of await fetch(lo, hi, req.limit)) take(row);
    }
    while (lo < hi && taken < req.limit && (plan.pipeline || interval > 0n)) {
      req.signal?.throwIfAborted();
      const before = taken;
      // one row more than the batch tells whether the batch ends inside a run of equal timestamps
      const rows = await fetch(lo, hi, batch + 1);
      if (rows.length <= batch) {
        for (let i = 0; i < rows.length && taken < req.limit; i++) take(rows[i] as Row);
        break;
      }
      const boundary = (rows[batch] as Row).tsNs;
      let cut = batch;
      while (cut > 0 && (rows[cut - 1] as Row).tsNs === boundary) cut--;
      for (let i = 0; i < cut && taken < req.limit; i++) take(rows[i] as Row);
      let seen = cut;
      if (cut === 0) {
        // the whole batch shares one timestamp: read that instant whole, then move past it
        const same = await fetch(boundary, boundary + 1n, undefined);
        seen = same.length;
        for (let i = 0; i < same.length && taken < req.limit; i++) take(same[i] as Row);
        if (backward) hi = boundary;
        else lo = boundary + 1n;
      } else if (backward) hi = boundary + 1n; // continue from the boundary instant, inclusive
      else lo = boundary;
      // size the next batch from what this one yielded
      const rate = (taken - before) / Math.max(1, seen);
      const want = rate > 0 ? Math.ceil(((req.limit - taken) / rate) * 1.5) : batch * 4;
      batch = Math.min(100_000, Math.max(plan.prefiltered ? 100 : 1000, want));
    }
    stats.entriesReturned += taken;
    // streams sorted by their labels, as Loki does
    return [...out.values()].sort((a, b) => (keyOf(a.labels) < keyOf(b.labels) ? -1 : keyOf(a.labels) > keyOf(b.labels) ? 1 : 0));
  }

  // ---------------- metric queries ----------------

  /** Sample windows for one range aggregation over pre-sorted samples. */
  function windowValue(node: RangeAggregation, ts: Float64Array | number[], vs: Float64Array | number[], from: number, to: number, endRel: number): number {
    const rangeSec = node.rangeNs / 1e9;
    const n = to - from;
    switch (node.op) {
      case 'count_over_time':
        return n;
      case 'rate':
        if (!node.unwrap) return n / rangeSec;
        return sumRange(vs, from, to) / rangeSec;
      case 'bytes_over_time':
        return sumRange(vs, from, to);
      case 'bytes_rate':
        return sumRange(vs, from, to) / rangeSec;
      case 'sum_over_time':
        return sumRange(vs, from, to);
      case 'avg_over_time': {
        let mean = 0;
        let c = 0;
        for (let i = from; i < to; i++) {
          const v = vs[i] as number;
          c++;
          if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
            if (!Number.isFinite(v) && !Number.isNaN(v) && mean > 0 === v > 0) continue;
            if (Number.isFinite(v)) continue;
          }
          mean += v / c - mean / c;
        }
        return mean;
      }
      case 'max_over_time': {
        let m = vs[from] as number;
        for (let i = from; i < to; i++) if ((vs[i] as number) > m || Number.isNaN(m)) m = vs[i] as number;
        return m;
      }
      case 'min_over_time': {
        let m = vs[from] as number;
        for (let i = from; i < to; i++) if ((vs[i] as number) < m || Number.isNaN(m)) m = vs[i] as number;
        return m;
      }
      case 'stdvar_over_time':
      case 'stddev_over_time': {
        let aux = 0;
        let c = 0;
        let mean = 0;
        for (let i = from; i < to; i++) {
          const v = vs[i] as number;
          c++;
          const d = v - mean;
          mean += d / c;
          aux += d * (v - mean);
        }
        return node.op === 'stdvar_over_time' ? aux / c : Math.sqrt(aux / c);
      }
      case 'quantile_over_time': {
        const q = node.param ?? 0;
        const arr = Array.from({ length: n }, (_, i) => vs[from + i] as number).sort((a, b) => a - b);
        if (arr.length === 0) return NaN;
        if (q < 0) return -Infinity;
        if (q > 1) return Infinity;
        const rank = q * (arr.length - 1);
        const lower = Math.max(0, Math.floor(rank));
        const upper = Math.min(arr.length - 1, lower + 1);
        const w = rank - Math.floor(rank);
        return (arr[lower] as number) * (1 - w) + (arr[upper] as number) * w;
      }
      case 'first_over_time':
        return vs[from] as number;
      case 'last_over_time':
        return vs[to - 1] as number;
      case 'rate_counter':
        return extrapolatedRate(ts, vs, from, to, node.rangeNs, endRel);
      case 'absent_over_time':
        return 1;
    }
  }

  /** Matrix for a range aggregation, from samples grouped into series (TypeScript path). */
  async function evalRangeTs(node: RangeAggregation, ctx: Ctx, streams: StreamRef[], plan: SelectorPlan): Promise<Matrix> {
    const { times } = ctx;
    const steps = times.length;
    const origin = (times[0] as bigint) - BigInt(node.offsetNs) - BigInt(node.rangeNs);
    const last = (times[steps - 1] as bigint) - BigInt(node.offsetNs);
    const idx = streamIndex(streams);
    const lb = new LabelsBuilder();
    const unwrap = node.unwrap;
    const postFilters = unwrap?.postFilters.map(compileLabelFilter) ?? [];
    const grouping = node.grouping;
    const dropUnwrapped = unwrap && (!grouping || grouping.without) ? unwrap.label : undefined;
    interface Acc {
      labels: LabelPairs;
      error: string;
      ts: number[];
      vs: number[];
    }
    const series = new Map<string, Acc>();
    const addSample = (row: Row): void => {
      ctx.stats.linesProcessed++;
      ctx.stats.bytesProcessed += row.body.length;
      lb.reset(row.stream.labels, row.metadata);
      const e: Entry = { line: row.body, tsNs: row.tsNs, lb };
      if (plan.pipeline && !plan.pipeline.process(e)) return;
      ctx.stats.postFilterLines++;
      let v = 1;
      if (unwrap) {
        const s = lb.get(unwrap.label) ?? '';
        if (s === '') return;
        let conv: number | undefined;
        let err = '';
        if (unwrap.conversion === '') {
          conv = parseGoFloat(s);
          if (conv === undefined) err = `strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`;
        } else if (unwrap.conversion === 'bytes') {
          const b = parseHumanBytes(s);
          if (b.ok) conv = b.value;
          else err = b.error;
        } else {
          const ns = parseGoDurationNs(s);
          if (ns !== undefined) conv = ns / 1e9;
          else err = goDurationError(s);
        }
        if (conv === undefined) lb.setError(ERR_SAMPLE, err);
        v = conv ?? 0;
        for (const f of postFilters) if (!f(lb)) return;
      } else if (node.op === 'bytes_over_time' || node.op === 'bytes_rate') v = Buffer.byteLength(e.line);
      let labels: LabelPairs;
      const error = lb.err;
      if (error) labels = lb.all();
      else {
        labels = lb.all();
        if (grouping) labels = grouping.without ? labels.filter((l) => !grouping.labels.includes(l[0]) && l[0] !== dropUnwrapped) : labels.filter((l) => grouping.labels.includes(l[0]));
        else if (dropUnwrapped) labels = labels.filter((l) => l[0] !== dropUnwrapped);
      }
      const k = keyOf(labels);
      let acc = series.get(k);
      if (!acc) {
        if (series.size >= opts.limits.maxSeries) throw seriesLimit(opts.limits.maxSeries);
        series.set(k, (acc = { labels, error, ts: [], vs: [] }));
      }
      acc.ts.push(Number(row.tsNs - origin));
      acc.vs.push(v);
    };

    // read the range in time chunks so no single result is unbounded
    const chunks = await timeChunks(streams, origin, last, plan, ctx);
    for (const [lo, hi] of chunks) {
      ctx.req.signal?.throwIfAborted();
      const q = new SqlBuilder();
      q.add(`SELECT ${ROW_COLUMNS} FROM ${db}.logs`);
      rowsWhere(q, streams, lo, hi, true, plan);
      const rows: Row[] = [];
      readRows(await reader.queryBinary(q, ctx.req.signal), idx, rows);
      ctx.stats.queries++;
      for (const r of rows) addSample(r);
    }

    const out: Series[] = [];
    const stepRel = times.map((t) => Number(t - BigInt(node.offsetNs) - origin));
    for (const acc of series.values()) {
      // samples in time order (stable for equal timestamps)
      const order = acc.ts.map((_, i) => i).sort((a, b) => (acc.ts[a] as number) - (acc.ts[b] as number) || a - b);
      const ts = Float64Array.from(order, (i) => acc.ts[i] as number);
      const vs = Float64Array.from(order, (i) => acc.vs[i] as number);
      const s = newSeries(acc.labels, steps);
      let from = 0;
      let to = 0;
      for (let i = 0; i < steps; i++) {
        const end = stepRel[i] as number;
        const start = end - node.rangeNs;
        while (to < ts.length && (ts[to] as number) <= end) to++;
        while (from < to && (ts[from] as number) <= start) from++;
        if (to - from === 0) continue;
        if (acc.error) throw new PipelineError(acc.error, keyOf(acc.labels));
        s.values[i] = windowValue(node, ts, vs, from, to, end);
        s.present[i] = 1;
      }
      if (s.present.some((x) => x === 1)) out.push(s);
    }
    return { steps, series: mergeSame(out, steps) };
  }

  /** Time chunks (lo, hi] covering (origin, last] with about FETCH_ROWS rows each. */
  async function timeChunks(streams: StreamRef[], origin: bigint, last: bigint, plan: SelectorPlan, ctx: Ctx): Promise<[bigint, bigint][]> {
    const q = new SqlBuilder();
    q.add(`SELECT count() FROM ${db}.logs`);
    rowsWhere(q, streams, origin, last, true, plan);
    const r = new RowBinaryReader(await reader.queryBinary(q, ctx.req.signal));
    ctx.stats.queries++;
    const total = Number(r.uint64());
    const n = Math.max(1, Math.ceil(total / FETCH_ROWS));
    const span = last - origin;
    const out: [bigint, bigint][] = [];
    for (let i = 0; i < n; i++) {
      const lo = origin + (span * BigInt(i)) / BigInt(n);
      const hi = i === n - 1 ? last : origin + (span * BigInt(i + 1)) / BigInt(n);
      out.push([lo, hi]);
    }
    return out;
  }

  /**
   * Counting pushed into ClickHouse: per series (stream + metadata, or a
   * group of labels) and sub-bucket of gcd(step, range), summed into windows.
   */
  async function evalRangeSql(node: RangeAggregation, ctx: Ctx, streams: StreamRef[], plan: SelectorPlan, groupBy: readonly string[] | undefined, jsonPlan?: JsonCountPlan): Promise<Matrix | undefined> {
    const { times } = ctx;
    const steps = times.length;
    const stepNs = steps > 1 ? Number((times[1] as bigint) - (times[0] as bigint)) : node.rangeNs;
    const g = gcd(stepNs, node.rangeNs);
    const origin = (times[0] as bigint) - BigInt(node.offsetNs) - BigInt(node.rangeNs);
    const spanRel = Number((times[steps - 1] as bigint) - (times[0] as bigint)) + node.rangeNs;
    const nBuckets = Math.ceil(spanRel / g);
    if (nBuckets > MAX_PUSHDOWN_BUCKETS) return undefined;
    const last = origin + BigInt(spanRel);
    const q = new SqlBuilder();
    const b = `intDiv(toUnixTimestamp64Nano(timestamp) - ${q.param('Int64', origin.toString())} - 1, ${q.param('Int64', String(g))})`;
    const bytes = node.op === 'bytes_over_time' || node.op === 'bytes_rate';
    const agg = bytes ? 'sum(length(body))' : 'count()';
    let keyCols: string;
    let groupLabelsOf: ((row: RowBinaryReader) => { key: string; labels: LabelPairs }) | undefined;
    if (groupBy) {
      // each grouping label: structured metadata wins over the stream label (Loki's precedence)
      const fps = streams.map((s) => s.fp);
      const tenants = streams.map((s) => s.tenant);
      const cols = groupBy.map((name) => {
        if (jsonPlan) return jsonPlan.value(q, name);
        if (name === TENANT_LABEL) return `toString(tenant)`;
        const vals = streams.map((s) => s.labels.map.get(name) ?? '');
        const streamVal = streams.length && new Set(tenants).size === 1 ? `transform(stream_fingerprint, ${q.param('Array(UInt64)', fps)}, ${q.param('Array(String)', vals)}, '')` : `transform(concat(toString(tenant), ':', toString(stream_fingerprint)), ${q.param('Array(String)', streams.map((s) => `${s.tenant}:${s.fp}`))}, ${q.param('Array(String)', vals)}, '')`;
        return metadataValueSql(q, name, streamVal);
      });
      keyCols = cols.length ? cols.map((c, i) => `${c} AS g${i}`).join(', ') : `'' AS g0`;
      groupLabelsOf = (row) => {
        const labels: LabelPairs = [];
        if (groupBy.length === 0) row.string();
        for (const name of groupBy) {
          const v = row.string();
          if (v !== '') labels.push([name, v]);
        }
        sortPairs(labels);
        return { key: keyOf(labels), labels };
      };
    } else keyCols = `tenant, stream_fingerprint, ${METADATA_SQL} AS md`;
    const nKeys = groupBy ? Math.max(1, groupBy.length) : 3;
    q.add(`SELECT ${keyCols}, ${b} AS b, ${agg} AS v${jsonPlan ? `, max(${jsonPlan.unsure(q, groupBy ?? [])}) AS unsure` : ''} FROM ${db}.logs`);
    rowsWhere(q, streams, origin, last, true, plan);
    if (jsonPlan) for (const c of jsonPlan.conds(q)) q.add(`AND ${c}`);
    q.add(`GROUP BY ${Array.from({ length: nKeys }, (_, i) => i + 1).join(', ')}, b ORDER BY ${Array.from({ length: nKeys }, (_, i) => i + 1).join(', ')}, b`);
    const data = await reader.queryBinary(q, ctx.req.signal);
    ctx.stats.queries++;
    const idx = streamIndex(streams);
    const r = new RowBinaryReader(data);
    interface Acc {
      labels: LabelPairs;
      bs: number[];
      vs: number[];
    }
    const series = new Map<string, Acc>();
    while (!r.done) {
      let key: string;
      let labels: LabelPairs;
      if (groupLabelsOf) ({ key, labels } = groupLabelsOf(r));
      else {
        const tenant = r.string();
        const fp = r.uint64();
        const n = r.varUInt();
        const st = idx.get(`${tenant}\u0000${fp}`);
        const md: [string, string][] = [];
        for (let i = 0; i < n; i++) md.push([r.string(), r.string()]);
        const m = new Map<string, string>();
        if (st) st.labels.names.forEach((nm, i) => m.set(nm, st.labels.values[i] as string));
        for (const [k, v] of md) m.set(k, v);
        labels = sortPairs([...m].filter((x) => x[1] !== ''));
        key = keyOf(labels);
      }
      const bucket = r.int64();
      const v = Number(r.uint64());
      if (jsonPlan && r.uint8() !== 0) return undefined; // a row SQL may read differently: evaluate it here
      let acc = series.get(key);
      if (!acc) {
        if (series.size >= opts.limits.maxSeries) throw seriesLimit(opts.limits.maxSeries);
        series.set(key, (acc = { labels, bs: [], vs: [] }));
      }
      acc.bs.push(bucket);
      acc.vs.push(v);
      ctx.stats.linesProcessed += bytes ? 0 : v;
    }
    const rangeBuckets = node.rangeNs / g;
    const stepBuckets = stepNs / g;
    const out: Series[] = [];
    for (const acc of series.values()) {
      const s = newSeries(acc.labels, steps);
      // buckets arrive sorted; slide a window of rangeBuckets over them
      let from = 0;
      let to = 0;
      let sum = 0;
      for (let i = 0; i < steps; i++) {
        const lo = i * stepBuckets;
        const hi = lo + rangeBuckets; // exclusive
        while (to < acc.bs.length && (acc.bs[to] as number) < hi) sum += acc.vs[to++] as number;
        while (from < to && (acc.bs[from] as number) < lo) sum -= acc.vs[from++] as number;
        if (to - from === 0) continue;
        let v = sum;
        if (node.op === 'rate' || node.op === 'bytes_rate') v = sum / (node.rangeNs / 1e9);
        if (node.op === 'absent_over_time') v = 1;
        s.values[i] = v;
        s.present[i] = 1;
      }
      if (s.present.some((x) => x === 1)) out.push(s);
    }
    return { steps, series: mergeSame(out, steps) };
  }

  function pushable(node: RangeAggregation, plan: SelectorPlan): boolean {
    return pushdown && !plan.pipeline && !node.unwrap && (node.op === 'count_over_time' || node.op === 'rate' || node.op === 'bytes_over_time' || node.op === 'bytes_rate' || node.op === 'absent_over_time');
  }

  async function evalRange(node: RangeAggregation, ctx: Ctx, groupBy?: readonly string[]): Promise<Matrix> {
    const steps = ctx.times.length;
    const lo = (ctx.times[0] as bigint) - BigInt(node.offsetNs) - BigInt(node.rangeNs);
    const hi = (ctx.times[steps - 1] as bigint) - BigInt(node.offsetNs);
    const streams = await streamsFor(ctx.req.tenants, node.selector, lo, hi, ctx.req.signal);
    ctx.stats.streams += streams.length;
    const plan = planSelector(node.selector, pushdown, streams);
    let m: Matrix;
    let jp: JsonCountPlan | undefined;
    if (streams.length === 0) m = { steps, series: [] };
    else if (pushable(node, plan)) m = (await evalRangeSql(node, ctx, streams, plan, groupBy)) ?? (await evalRangeTs(node, ctx, streams, plan));
    else if (groupBy && pushdown && COUNTING_OPS.has(node.op) && !node.unwrap && (jp = jsonCountPlan(node.selector, streams, groupBy)))
      m = (await evalRangeSql(node, ctx, streams, planSelector({ kind: 'log', matchers: [], pipeline: [] }, pushdown), groupBy, jp)) ?? (await evalRangeTs(node, ctx, streams, plan));
    else m = await evalRangeTs(node, ctx, streams, plan);
    if (node.op === 'absent_over_time') return absent(node, m, steps);
    return m;
  }

  function absent(node: RangeAggregation, m: Matrix, steps: number): Matrix {
    // 1 at the steps where nothing matched, labelled by the selector's equality matchers
    const labels: LabelPairs = [];
    const seen = new Set<string>();
    for (const mt of node.selector.matchers) {
      if (mt.op !== '=' || seen.has(mt.name)) continue;
      seen.add(mt.name);
      labels.push([mt.name, mt.value]);
    }
    const s = newSeries(labels, steps);
    for (let i = 0; i < steps; i++) {
      if (m.series.some((x) => x.present[i])) continue;
      s.values[i] = 1;
      s.present[i] = 1;
    }
    return { steps, series: s.present.some((x) => x === 1) ? [s] : [] };
  }

  /** `sum by (labels) (pushable range agg)`: grouping computed in ClickHouse. */
  function sumPushdown(node: VectorAggregation): readonly string[] | undefined {
    if (!pushdown || node.op !== 'sum' || node.expr.kind !== 'range') return undefined;
    if (node.grouping?.without) return undefined;
    const inner = node.expr;
    if (inner.op === 'absent_over_time') return undefined;
    return node.grouping?.labels ?? [];
  }

  async function evalMetric(e: MetricExpr, ctx: Ctx): Promise<Matrix | number> {
    switch (e.kind) {
      case 'literal':
        return e.value;
      case 'vector': {
        const s = newSeries([], ctx.times.length);
        s.values.fill(e.value);
        s.present.fill(1);
        return { steps: ctx.times.length, series: [s] };
      }
      case 'range':
        return evalRange(e, ctx);
      case 'vector_agg': {
        const groupBy = sumPushdown(e);
        if (groupBy && e.expr.kind === 'range') {
          const plan = planSelector(e.expr.selector, pushdown);
          const sel = e.expr.selector;
          const jsonShaped = sel.pipeline.some((st) => st.kind === 'json') && !e.expr.unwrap && COUNTING_OPS.has(e.expr.op);
          if ((pushable(e.expr, plan) && plan.tsStages.length === 0) || jsonShaped) {
            const m = await evalRange(e.expr, ctx, groupBy);
            // already one series per group; re-aggregate to merge label sets that collapsed
            return aggregate(m, 'sum', undefined, e.grouping);
          }
        }
        const inner = await evalMetric(e.expr, ctx);
        if (typeof inner === 'number') throw new FleetwatchError('FW_ERR_QUERY_BAD_DATA', `expected a vector for ${e.op}, got a scalar`);
        return aggregate(inner, e.op, e.param, e.grouping);
      }
      case 'binary': {
        const [l, r] = await Promise.all([evalMetric(e.left, ctx), evalMetric(e.right, ctx)]);
        if (typeof l === 'number' && typeof r === 'number') return scalarOp(e.op, l, r, true);
        if (typeof l === 'number') return vectorScalar(r as Matrix, l, e.op, true, e.returnBool);
        if (typeof r === 'number') return vectorScalar(l, r, e.op, false, e.returnBool);
        return vectorVector(l, r, e.op, e.returnBool, e.matching);
      }
      case 'label_replace': {
        const inner = await evalMetric(e.expr, ctx);
        if (typeof inner === 'number') throw new FleetwatchError('FW_ERR_QUERY_BAD_DATA', 'label_replace needs a vector');
        return labelReplace(inner, e.dst, e.replacement, e.src, e.regex);
      }
    }
  }

  function sortOrder(e: MetricExpr): 'sort' | 'sort_desc' | undefined {
    if (e.kind === 'vector_agg' && (e.op === 'sort' || e.op === 'sort_desc')) return e.op;
    return undefined;
  }

  return {
    reader,
    streams: (tenants, matchers, startNs, endNs, signal) => reader.streams(tenants, matchers, startNs, endNs, tenantMatch, signal),
    async query(req) {
      const stats: QueryStats = { linesProcessed: 0, bytesProcessed: 0, postFilterLines: 0, entriesReturned: 0, streams: 0, queries: 0 };
      try {
        if (req.expr.kind === 'log') {
          const streams = await evalLogs(req.expr, req, stats);
          return { type: 'streams', streams, stats };
        }
        const times: bigint[] = [];
        if (req.instant) times.push(req.endNs);
        else {
          const step = req.stepNs > 0n ? req.stepNs : 1n;
          for (let t = req.startNs; t <= req.endNs; t += step) times.push(t);
        }
        const ctx: Ctx = { req, times, stats };
        const m = await evalMetric(req.expr, ctx);
        const timesMs = times.map((t) => Number(t / 1_000_000n));
        if (typeof m === 'number') {
          if (req.instant) return { type: 'scalar', value: m, timeMs: timesMs[0] as number, stats };
          const s = newSeries([], times.length);
          s.values.fill(m);
          s.present.fill(1);
          return { type: 'matrix', series: [s], timesMs, stats };
        }
        if (m.series.length > opts.limits.maxSeries) throw seriesLimit(opts.limits.maxSeries);
        if (req.instant) {
          let samples = m.series.filter((s) => s.present[0]).map((s) => ({ labels: s.labels, value: s.values[0] as number }));
          const order = sortOrder(req.expr);
          if (order) {
            samples = samples.sort((a, b) => {
              const d = order === 'sort' ? a.value - b.value : b.value - a.value;
              return Number.isNaN(d) ? (Number.isNaN(a.value) ? 1 : -1) : d;
            });
          } else if (!containsSort(req.expr)) {
            // Loki orders instant vectors by labels unless the query sorts by value
            samples.sort((a, b) => compareLabels(a.labels, b.labels));
          }
          return { type: 'vector', samples, timeMs: timesMs[0] as number, stats };
        }
        const series = m.series.filter((s) => s.present.some((x) => x === 1)).sort((a, b) => compareLabels(a.labels, b.labels));
        return { type: 'matrix', series, timesMs, stats };
      } catch (e) {
        throw mapStorageError(e);
      }
    },
  };

}

function containsSort(e: MetricExpr): boolean {
  switch (e.kind) {
    case 'vector_agg':
      return e.op === 'sort' || e.op === 'sort_desc' || containsSort(e.expr);
    case 'binary':
      return containsSort(e.left) || containsSort(e.right);
    case 'label_replace':
      return containsSort(e.expr);
    default:
      return false;
  }
}

function sumRange(vs: Float64Array | number[], from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += vs[i] as number;
  return s;
}

/** Prometheus' extrapolated rate over the window (rate_counter), as Loki adapts it. */
function extrapolatedRate(ts: Float64Array | number[], vs: Float64Array | number[], from: number, to: number, rangeNs: number, endRel: number): number {
  const n = to - from;
  if (n < 2) return 0;
  const rangeStart = endRel - rangeNs;
  const first = vs[from] as number;
  const lastV = vs[to - 1] as number;
  let result = lastV - first;
  let prev = 0;
  for (let i = from; i < to; i++) {
    const v = vs[i] as number;
    if (v < prev) result += prev;
    prev = v;
  }
  let durationToStart = ((ts[from] as number) - rangeStart) / 1e9;
  const durationToEnd = (endRel - (ts[to - 1] as number)) / 1e9;
  const sampled = ((ts[to - 1] as number) - (ts[from] as number)) / 1e9;
  const avg = sampled / (n - 1);
  const threshold = avg * 1.1;
  if (durationToStart >= threshold) durationToStart = avg / 2;
  let durationToZero = durationToStart;
  if (result > 0 && first >= 0) durationToZero = sampled * (first / result);
  if (durationToZero < durationToStart) durationToStart = durationToZero;
  const toEnd = durationToEnd >= threshold ? avg / 2 : durationToEnd;
  const interval = sampled + durationToStart + toEnd;
  return (result * (interval / sampled)) / (rangeNs / 1e9);
}

function mergeSame(series: Series[], steps: number): Series[] {
  const m = new Map<string, Series>();
  for (const s of series) {
    const o = m.get(s.key);
    if (!o) m.set(s.key, s);
    else
      for (let i = 0; i < steps; i++)
        if (s.present[i]) {
          o.values[i] = (o.present[i] ? (o.values[i] as number) : 0) + (s.values[i] as number);
          o.present[i] = 1;
        }
  }
  return [...m.values()];
}

export function compareLabels(a: LabelPairs, b: LabelPairs): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as [string, string];
    const y = b[i] as [string, string];
    if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
    if (x[1] !== y[1]) return x[1] < y[1] ? -1 : 1;
  }
  return a.length - b.length;
}

function seriesLimit(n: number): FleetwatchError {
  return new FleetwatchError('FW_ERR_QUERY_TOO_LARGE', `maximum number of series (${n}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()`);
}

export { ERROR_LABEL, labelsKey };
