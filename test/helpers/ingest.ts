// Reading back what central stored, and sending raw bodies to it, for the
// end-to-end ingest tests (test/ingest-*.test.ts).
import type { Store } from '../../storage/index.ts';

export type LabelRecord = Record<string, string>;

/** A label set as one comparable string: name-sorted `k=v` pairs. */
export function keyOf(labels: LabelRecord): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export interface StoredSeries {
  readonly labels: LabelRecord;
  /** [timestamp_ms, value] in time order (duplicates kept: they are bugs the tests look for) */
  readonly samples: [number, number][];
}

/** Every sample of a tenant, by series key (keyOf of its labels). */
export async function storedSamples(store: Store, tenant: string): Promise<Map<string, StoredSeries>> {
  const db = store.database;
  const rows = await store.queryRows<{ labels: LabelRecord; ts: string; value: number | null }>({
    sql:
      `SELECT s.labels AS labels, m.timestamp_ms AS ts, m.value AS value FROM ${db}.metrics_samples AS m ` +
      `INNER JOIN (SELECT DISTINCT fingerprint, labels FROM ${db}.metrics_series WHERE tenant = {t:String}) AS s ON s.fingerprint = m.fingerprint ` +
      `WHERE m.tenant = {t:String} ORDER BY m.fingerprint, m.timestamp_ms`,
    params: { t: tenant },
  });
  const out = new Map<string, StoredSeries>();
  for (const r of rows) {
    const k = keyOf(r.labels);
    let s = out.get(k);
    if (!s) out.set(k, (s = { labels: r.labels, samples: [] }));
    s.samples.push([Number(r.ts), r.value === null ? NaN : r.value]);
  }
  return out;
}

/** Count of rows in a table for a tenant. */
export async function countRows(store: Store, table: string, tenant: string): Promise<number> {
  if (!/^[a-z_]+$/.test(table)) throw new Error(`bad table ${table}`);
  const r = await store.queryRows<{ n: string }>({ sql: `SELECT count() AS n FROM ${store.database}.${table} WHERE tenant = {t:String}`, params: { t: tenant } });
  return Number(r[0]?.n ?? 0);
}

export interface StoredLog {
  readonly stream: LabelRecord;
  readonly ts: string;
  readonly severity: string;
  readonly body: string;
  readonly trace_id: string;
  readonly span_id: string;
  readonly metadata: LabelRecord;
}

/** Every log line of a tenant with its stream labels, in (timestamp, body) order. */
export async function storedLogs(store: Store, tenant: string): Promise<StoredLog[]> {
  const db = store.database;
  return store.queryRows<StoredLog>({
    sql:
      `SELECT s.labels AS stream, toString(toUnixTimestamp64Nano(l.timestamp)) AS ts, l.severity AS severity, l.body AS body, l.trace_id AS trace_id, l.span_id AS span_id, l.metadata AS metadata ` +
      `FROM ${db}.logs AS l INNER JOIN (SELECT DISTINCT fingerprint, labels FROM ${db}.log_streams WHERE tenant = {t:String}) AS s ON s.fingerprint = l.stream_fingerprint ` +
      `WHERE l.tenant = {t:String} ORDER BY l.timestamp, l.body`,
    params: { t: tenant },
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly text: string;
}

/** POSTs a raw body and reads the whole answer. */
export async function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<HttpAnswer> {
  const r = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers });
  const buf = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, body: buf, text: buf.toString('utf8') };
}
