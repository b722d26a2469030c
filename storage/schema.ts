// The ClickHouse schema: one description of every table, rendered as DDL for
// a single node (embedded chDB or one server) or for a cluster
// (ReplicatedMergeTree "_local" tables + Distributed tables, ON CLUSTER).
import { ident } from './sql.ts';

export type Signal = 'metrics' | 'logs' | 'traces' | 'state';

export interface ColumnDef {
  readonly name: string;
  readonly type: string;
  readonly codec?: string;
  /** DEFAULT / MATERIALIZED expression */
  readonly default?: string;
}

export interface TableDef {
  readonly name: string;
  readonly signal: Signal;
  readonly columns: readonly ColumnDef[];
  readonly engine: 'MergeTree' | 'ReplacingMergeTree' | 'AggregatingMergeTree';
  /** engine arguments (ReplacingMergeTree version column) */
  readonly engineArgs?: readonly string[];
  readonly orderBy: string;
  readonly partitionBy?: string;
  readonly primaryKey?: string;
  /** expression of type DateTime that TTL counts from; retention from config */
  readonly ttlTime?: string;
  /** fixed TTL (state tables) independent of signal retention */
  readonly fixedTtl?: string;
  readonly indexes?: readonly string[];
  readonly settings?: Readonly<Record<string, string | number>>;
  /** Distributed sharding key in cluster mode */
  readonly shardingKey: string;
}

export interface ViewDef {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly select: string;
}

const LC = 'LowCardinality(String)';

/** The time bucket in metrics_samples' sorting key (ms); queries filter on intDiv(timestamp_ms, this) to prune by it. */
export const SAMPLES_BUCKET_MS = 3_600_000;
const LABELS = 'Map(LowCardinality(String), String)';

// Codecs chosen by measurement (issue #2): DoubleDelta on regular timestamps,
// Gorilla on float values, both followed by ZSTD.
export const TABLES: readonly TableDef[] = [
  {
    name: 'metrics_series',
    signal: 'metrics',
    // One row per series per day: label and series look-ups for a time range
    // read only the days in range.
    columns: [
      { name: 'tenant', type: LC },
      { name: 'date', type: 'Date' },
      { name: 'metric_name', type: LC },
      { name: 'fingerprint', type: 'UInt64' },
      { name: 'labels', type: LABELS, codec: 'ZSTD(1)' },
    ],
    engine: 'ReplacingMergeTree',
    orderBy: '(tenant, metric_name, date, fingerprint)',
    partitionBy: 'toYYYYMM(date)',
    ttlTime: 'toDateTime(date)',
    indexes: ['INDEX idx_fp fingerprint TYPE bloom_filter(0.01) GRANULARITY 4'],
    shardingKey: 'fingerprint',
  },
  {
    name: 'metrics_samples',
    signal: 'metrics',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'metric_name', type: LC },
      { name: 'fingerprint', type: 'UInt64' },
      { name: 'timestamp_ms', type: 'Int64', codec: 'DoubleDelta, ZSTD(1)' },
      { name: 'value', type: 'Float64', codec: 'Gorilla, ZSTD(1)' },
    ],
    engine: 'MergeTree',
    // never time first: a series' samples sit together so codecs see smooth
    // runs. An hour bucket ahead of the fingerprint (issue #4, bench/query)
    // keeps runs of 240 samples at 15 s while a query for recent data reads
    // only the last hour of its metric instead of every granule that ends a
    // series: on merged parts an instant rate over 4,000 series went from
    // ~180 ms to ~22 ms, 24 h ranges stayed the same. Queries name the bucket
    // (SAMPLES_BUCKET_MS) so the key prunes by it.
    orderBy: `(tenant, metric_name, intDiv(timestamp_ms, ${SAMPLES_BUCKET_MS}), fingerprint, timestamp_ms)`,
    partitionBy: 'toDate(intDiv(timestamp_ms, 1000))',
    ttlTime: 'toDateTime(intDiv(timestamp_ms, 1000))',
    shardingKey: 'fingerprint',
  },
  {
    name: 'metrics_exemplars',
    signal: 'metrics',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'metric_name', type: LC },
      { name: 'fingerprint', type: 'UInt64' },
      { name: 'timestamp_ms', type: 'Int64', codec: 'DoubleDelta, ZSTD(1)' },
      { name: 'value', type: 'Float64' },
      { name: 'labels', type: LABELS, codec: 'ZSTD(1)' },
    ],
    engine: 'MergeTree',
    orderBy: '(tenant, metric_name, fingerprint, timestamp_ms)',
    partitionBy: 'toDate(intDiv(timestamp_ms, 1000))',
    ttlTime: 'toDateTime(intDiv(timestamp_ms, 1000))',
    shardingKey: 'fingerprint',
  },
  {
    name: 'metrics_metadata',
    signal: 'metrics',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'metric_name', type: 'String' },
      { name: 'type', type: LC },
      { name: 'help', type: 'String' },
      { name: 'unit', type: LC },
      { name: 'updated_ms', type: 'Int64' },
    ],
    engine: 'ReplacingMergeTree',
    engineArgs: ['updated_ms'],
    orderBy: '(tenant, metric_name)',
    shardingKey: 'cityHash64(metric_name)',
  },
  {
    name: 'log_streams',
    signal: 'logs',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'date', type: 'Date' },
      { name: 'fingerprint', type: 'UInt64' },
      { name: 'labels', type: LABELS, codec: 'ZSTD(1)' },
    ],
    engine: 'ReplacingMergeTree',
    orderBy: '(tenant, date, fingerprint)',
    partitionBy: 'toYYYYMM(date)',
    ttlTime: 'toDateTime(date)',
    shardingKey: 'fingerprint',
  },
  {
    name: 'logs',
    signal: 'logs',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'stream_fingerprint', type: 'UInt64' },
      { name: 'timestamp', type: 'DateTime64(9)', codec: 'DoubleDelta, ZSTD(1)' },
      { name: 'severity', type: LC },
      { name: 'body', type: 'String', codec: 'ZSTD(1)' },
      { name: 'trace_id', type: 'String', codec: 'ZSTD(1)' },
      { name: 'span_id', type: 'String', codec: 'ZSTD(1)' },
      { name: 'metadata', type: LABELS, codec: 'ZSTD(1)' },
    ],
    engine: 'MergeTree',
    // a time bucket first, then the stream: a query for a few streams over a
    // window reads each hour's slice of those streams only
    orderBy: '(tenant, toStartOfHour(timestamp), stream_fingerprint, timestamp)',
    partitionBy: 'toDate(timestamp)',
    ttlTime: 'toDateTime(timestamp)',
    // No skip index on body (migration 4 drops the ngrambf_v1 one): measured on
    // 10 M realistic lines (issue #6, bench/logs), a 64 KiB-2 MiB trigram bloom
    // filter per 8192-row granule skipped 0-4 % of granules for rare needles
    // (hex ids share every trigram of their 4096-trigram alphabet) while making
    // inserts 3.5x slower and LIKE scans slower than without it.
    indexes: ['INDEX idx_trace trace_id TYPE bloom_filter(0.01) GRANULARITY 4'],
    shardingKey: 'stream_fingerprint',
  },
  {
    name: 'spans',
    signal: 'traces',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'trace_id', type: 'FixedString(16)' },
      { name: 'span_id', type: 'FixedString(8)' },
      { name: 'parent_span_id', type: 'String' },
      { name: 'trace_state', type: 'String', codec: 'ZSTD(1)' },
      { name: 'service_name', type: LC },
      { name: 'name', type: LC },
      { name: 'kind', type: 'UInt8' },
      { name: 'start_time', type: 'DateTime64(9)', codec: 'DoubleDelta, ZSTD(1)' },
      { name: 'duration_ns', type: 'UInt64', codec: 'T64, ZSTD(1)' },
      { name: 'status_code', type: 'UInt8' },
      { name: 'status_message', type: 'String', codec: 'ZSTD(1)' },
      { name: 'scope_name', type: LC },
      { name: 'scope_version', type: LC },
      { name: 'attributes', type: LABELS, codec: 'ZSTD(1)' },
      { name: 'resource_attributes', type: LABELS, codec: 'ZSTD(1)' },
      { name: 'events', type: 'Array(Tuple(time_unix_nano Int64, name String, attributes Map(String, String)))', codec: 'ZSTD(1)' },
      { name: 'links', type: 'Array(Tuple(trace_id String, span_id String, trace_state String, attributes Map(String, String)))', codec: 'ZSTD(1)' },
    ],
    engine: 'MergeTree',
    orderBy: '(tenant, service_name, toStartOfHour(start_time), name, start_time)',
    partitionBy: 'toDate(start_time)',
    ttlTime: 'toDateTime(start_time)',
    indexes: ['INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1', 'INDEX idx_duration duration_ns TYPE minmax GRANULARITY 1'],
    shardingKey: 'cityHash64(trace_id)',
  },
  {
    name: 'trace_index',
    signal: 'traces',
    // trace id -> time range, kept by the trace_index_mv materialized view, so
    // a trace-by-id look-up reads only the partitions the trace lives in
    columns: [
      { name: 'tenant', type: LC },
      { name: 'trace_id', type: 'FixedString(16)' },
      { name: 'start_min', type: 'SimpleAggregateFunction(min, DateTime64(9))' },
      { name: 'end_max', type: 'SimpleAggregateFunction(max, DateTime64(9))' },
      { name: 'span_count', type: 'SimpleAggregateFunction(sum, UInt64)' },
      // max, not anyLast: a batch without the root span contributes '' here,
      // and anyLast let such a later batch erase the root on merge
      { name: 'root_service', type: 'SimpleAggregateFunction(max, String)' },
      { name: 'root_name', type: 'SimpleAggregateFunction(max, String)' },
    ],
    engine: 'AggregatingMergeTree',
    orderBy: '(tenant, trace_id)',
    partitionBy: 'toDate(start_min)',
    ttlTime: 'toDateTime(start_min)',
    shardingKey: 'cityHash64(trace_id)',
  },
  {
    name: 'fleet_clusters',
    signal: 'state',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'cluster', type: 'String' },
      { name: 'version', type: 'String' },
      { name: 'first_seen_ms', type: 'Int64' },
      { name: 'last_seen_ms', type: 'Int64' },
      { name: 'queue_depth_bytes', type: 'Int64' },
      { name: 'queue_records', type: 'Int64' },
      { name: 'oldest_unshipped_ms', type: 'Int64' },
      { name: 'last_error', type: 'String' },
      { name: 'labels', type: LABELS },
    ],
    engine: 'ReplacingMergeTree',
    engineArgs: ['last_seen_ms'],
    orderBy: '(tenant, cluster)',
    shardingKey: 'cityHash64(cluster)',
  },
  {
    name: 'health_results',
    signal: 'state',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'cluster', type: 'String' },
      { name: 'timestamp_ms', type: 'Int64', codec: 'DoubleDelta, ZSTD(1)' },
      { name: 'score', type: 'Float64' },
      { name: 'state', type: LC },
      { name: 'reasons', type: 'Map(String, String)' },
    ],
    engine: 'MergeTree',
    orderBy: '(tenant, cluster, timestamp_ms)',
    partitionBy: 'toYYYYMM(toDate(intDiv(timestamp_ms, 1000)))',
    fixedTtl: 'toDateTime(intDiv(timestamp_ms, 1000)) + INTERVAL 90 DAY',
    shardingKey: 'cityHash64(cluster)',
  },
  {
    name: 'anomaly_results',
    signal: 'state',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'cluster', type: 'String' },
      { name: 'detector', type: LC },
      { name: 'signal', type: 'String' },
      { name: 'timestamp_ms', type: 'Int64', codec: 'DoubleDelta, ZSTD(1)' },
      { name: 'score', type: 'Float64' },
      { name: 'is_anomaly', type: 'UInt8' },
      { name: 'details', type: 'Map(String, String)' },
    ],
    engine: 'MergeTree',
    orderBy: '(tenant, cluster, detector, signal, timestamp_ms)',
    partitionBy: 'toYYYYMM(toDate(intDiv(timestamp_ms, 1000)))',
    fixedTtl: 'toDateTime(intDiv(timestamp_ms, 1000)) + INTERVAL 90 DAY',
    shardingKey: 'cityHash64(cluster)',
  },
  {
    name: 'controller_decisions',
    signal: 'state',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'controller', type: LC },
      { name: 'subject', type: 'String' },
      { name: 'timestamp_ms', type: 'Int64' },
      { name: 'action', type: LC },
      { name: 'reason', type: 'String' },
      { name: 'details', type: 'Map(String, String)' },
    ],
    engine: 'MergeTree',
    orderBy: '(tenant, controller, subject, timestamp_ms)',
    partitionBy: 'toYYYYMM(toDate(intDiv(timestamp_ms, 1000)))',
    fixedTtl: 'toDateTime(intDiv(timestamp_ms, 1000)) + INTERVAL 365 DAY',
    shardingKey: 'cityHash64(subject)',
  },
  {
    name: 'alert_state',
    signal: 'state',
    columns: [
      { name: 'tenant', type: LC },
      { name: 'rule_group', type: 'String' },
      { name: 'rule_name', type: 'String' },
      { name: 'fingerprint', type: 'UInt64' },
      { name: 'state', type: LC },
      { name: 'active_at_ms', type: 'Int64' },
      { name: 'value', type: 'Float64' },
      { name: 'labels', type: 'Map(String, String)' },
      { name: 'annotations', type: 'Map(String, String)' },
      { name: 'updated_ms', type: 'Int64' },
    ],
    engine: 'ReplacingMergeTree',
    engineArgs: ['updated_ms'],
    orderBy: '(tenant, rule_group, rule_name, fingerprint)',
    shardingKey: 'fingerprint',
  },
  {
    name: 'ingest_batches',
    signal: 'state',
    // batch ids the collectors have delivered: a re-sent batch is acknowledged
    // without being written twice
    columns: [
      { name: 'tenant', type: LC },
      { name: 'source', type: 'String' },
      { name: 'batch_id', type: 'String' },
      { name: 'received_ms', type: 'Int64' },
    ],
    engine: 'ReplacingMergeTree',
    orderBy: '(tenant, source, batch_id)',
    fixedTtl: 'toDateTime(intDiv(received_ms, 1000)) + INTERVAL 14 DAY',
    shardingKey: 'cityHash64(source)',
  },
];

export const VIEWS: readonly ViewDef[] = [
  {
    name: 'trace_index_mv',
    from: 'spans',
    to: 'trace_index',
    select:
      'SELECT tenant, trace_id, min(start_time) AS start_min, max(start_time + toIntervalNanosecond(duration_ns)) AS end_max, count() AS span_count, ' +
      "anyLastIf(service_name, parent_span_id = '') AS root_service, anyLastIf(name, parent_span_id = '') AS root_name FROM {from} GROUP BY tenant, trace_id",
  },
];

export function tableDef(name: string): TableDef {
  const t = TABLES.find((x) => x.name === name);
  if (!t) throw new Error(`unknown table ${name}`);
  return t;
}

export interface Retention {
  readonly metricsMs: number;
  readonly logsMs: number;
  readonly tracesMs: number;
}

export interface DdlOptions {
  readonly database: string;
  /** ClickHouse cluster name; empty for a single node */
  readonly cluster?: string;
  readonly retention?: Retention;
}

function retentionSeconds(signal: Signal, r: Retention | undefined): number {
  if (!r) return 0;
  const ms = signal === 'metrics' ? r.metricsMs : signal === 'logs' ? r.logsMs : signal === 'traces' ? r.tracesMs : 0;
  return Math.floor(ms / 1000);
}

/** The TTL clause for a table, or '' when it keeps data forever. */
export function ttlClause(t: TableDef, retention: Retention | undefined): string {
  if (t.fixedTtl) return `TTL ${t.fixedTtl}`;
  const secs = retentionSeconds(t.signal, retention);
  return t.ttlTime && secs > 0 ? `TTL ${t.ttlTime} + INTERVAL ${secs} SECOND` : '';
}

function columnsSql(t: TableDef): string {
  const cols = t.columns.map((c) => `    ${ident(c.name)} ${c.type}${c.default ? ` DEFAULT ${c.default}` : ''}${c.codec ? ` CODEC(${c.codec})` : ''}`);
  const idx = (t.indexes ?? []).map((i) => `    ${i}`);
  return [...cols, ...idx].join(',\n');
}

function engineSql(t: TableDef, clustered: boolean, db: string, localName: string): string {
  const args = t.engineArgs ?? [];
  if (!clustered) return `${t.engine}(${args.join(', ')})`;
  const path = `'/clickhouse/tables/{shard}/${db}/${localName}'`;
  return `Replicated${t.engine}(${[path, "'{replica}'", ...args].join(', ')})`;
}

/** CREATE statements for every table and view, in dependency order. */
export function createStatements(opts: DdlOptions): string[] {
  const db = ident(opts.database);
  const cluster = opts.cluster ? ident(opts.cluster) : '';
  const on = cluster ? ` ON CLUSTER ${cluster}` : '';
  const out: string[] = [`CREATE DATABASE IF NOT EXISTS ${db}${on}`];
  for (const t of TABLES) {
    const local = cluster ? `${t.name}_local` : t.name;
    const settings = { index_granularity: 8192, ...(t.ttlTime || t.fixedTtl ? { ttl_only_drop_parts: 1 } : {}), ...(t.settings ?? {}) };
    const parts = [
      `CREATE TABLE IF NOT EXISTS ${db}.${local}${on}\n(\n${columnsSql(t)}\n)`,
      `ENGINE = ${engineSql(t, !!cluster, db, local)}`,
      t.partitionBy ? `PARTITION BY ${t.partitionBy}` : '',
      `ORDER BY ${t.orderBy}`,
      t.primaryKey ? `PRIMARY KEY ${t.primaryKey}` : '',
      ttlClause(t, opts.retention),
      `SETTINGS ${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join(', ')}`,
    ];
    out.push(parts.filter(Boolean).join('\n'));
    if (cluster) {
      out.push(`CREATE TABLE IF NOT EXISTS ${db}.${t.name}${on} AS ${db}.${local}\nENGINE = Distributed(${cluster}, ${db}, ${local}, ${t.shardingKey})`);
    }
  }
  for (const v of VIEWS) {
    // in a cluster, views run on each shard from local table to local table
    const from = cluster ? `${v.from}_local` : v.from;
    const to = cluster ? `${v.to}_local` : v.to;
    out.push(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${v.name}${on} TO ${db}.${to}\nAS ${v.select.replace('{from}', `${db}.${from}`)}`);
  }
  return out;
}

/** ALTER statements that set each signal table's TTL to the configured retention. */
export function retentionStatements(opts: DdlOptions & { retention: Retention }): string[] {
  const db = ident(opts.database);
  const cluster = opts.cluster ? ident(opts.cluster) : '';
  const on = cluster ? ` ON CLUSTER ${cluster}` : '';
  const out: string[] = [];
  for (const t of TABLES) {
    if (!t.ttlTime) continue;
    const local = cluster ? `${t.name}_local` : t.name;
    const ttl = ttlClause(t, opts.retention);
    out.push(ttl ? `ALTER TABLE ${db}.${local}${on} MODIFY ${ttl}` : `ALTER TABLE ${db}.${local}${on} REMOVE TTL`);
  }
  return out;
}
