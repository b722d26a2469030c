// Reading logs from ClickHouse for LogQL: stream selection against
// log_streams, entries and per-bucket counts from logs. SQL is built from
// parts with typed parameters; results come back as RowBinary.
import { FleetwatchError } from '../../core/index.ts';
import { ident, RowBinaryReader, SqlBuilder, type Store } from '../../storage/index.ts';
import type { LabelMatcher } from './ast.ts';
import { sqlRegex } from './regex.ts';
import { makeStreamLabels, type StreamLabels } from './pipeline.ts';

export const TENANT_LABEL = '__tenant_id__';

export interface StreamRef {
  readonly tenant: string;
  readonly fp: bigint;
  /** stream labels (plus __tenant_id__ in multi-tenant queries) */
  readonly labels: StreamLabels;
}

export interface ReaderLimits {
  readonly maxStreams: number;
  readonly timeoutMs: number;
  /** ClickHouse max_bytes_to_read for one query; 0 = unlimited */
  readonly maxBytesRead: number;
}

const NS_PER_DAY = 86_400_000_000_000n;

export function dayString(ns: bigint): string {
  const day = ns < 0n ? 0n : ns / NS_PER_DAY;
  return new Date(Number(day) * 86_400_000).toISOString().slice(0, 10);
}

/** SQL for one stream matcher over a labels map column. */
export function matcherSql(q: SqlBuilder, column: string, m: LabelMatcher): string {
  const key = `${column}[${q.param('String', m.name)}]`;
  switch (m.op) {
    case '=':
      return `${key} = ${q.param('String', m.value)}`;
    case '!=':
      return `${key} != ${q.param('String', m.value)}`;
    case '=~':
      return `match(${key}, ${q.param('String', sqlRegex(m.value, { anchored: true }))})`;
    case '!~':
      return `NOT match(${key}, ${q.param('String', sqlRegex(m.value, { anchored: true }))})`;
  }
}

function tenantMatches(tenant: string, matchers: readonly LabelMatcher[], test: (m: LabelMatcher, v: string) => boolean): boolean {
  return matchers.every((m) => m.name !== TENANT_LABEL || test(m, tenant));
}

export interface Reader {
  readonly store: Store;
  readonly db: string;
  readonly limits: ReaderLimits;
  streams(tenants: readonly string[], matchers: readonly LabelMatcher[], startNs: bigint, endNs: bigint, matchTenant: (m: LabelMatcher, v: string) => boolean, signal?: AbortSignal): Promise<StreamRef[]>;
  queryBinary(q: SqlBuilder, signal?: AbortSignal): Promise<Uint8Array>;
}

export function createReader(store: Store, limits: ReaderLimits): Reader {
  const db = ident(store.database);
  const run = (q: SqlBuilder, signal?: AbortSignal): Promise<Uint8Array> => {
    const settings: Record<string, number> = {};
    if (limits.maxBytesRead > 0) settings['max_bytes_to_read'] = limits.maxBytesRead;
    return store.queryBinary(q.build(), 'RowBinary', { timeoutMs: limits.timeoutMs, ...(signal ? { signal } : {}), settings }).catch((e: unknown) => {
      throw mapStorageError(e);
    });
  };
  return {
    store,
    db,
    limits,
    queryBinary: run,
    async streams(tenants, matchers, startNs, endNs, matchTenant, signal) {
      const multi = tenants.length > 1;
      const chosen = tenants.filter((t) => tenantMatches(t, matchers, matchTenant));
      const dataMatchers = matchers.filter((m) => m.name !== TENANT_LABEL);
      const out: StreamRef[] = [];
      for (const tenant of chosen) {
        const q = new SqlBuilder();
        q.add(`SELECT fingerprint, labels FROM ${db}.log_streams WHERE tenant = ${q.param('String', tenant)}`);
        q.add(`AND date >= ${q.param('Date', dayString(startNs))} AND date <= ${q.param('Date', dayString(endNs))}`);
        for (const m of dataMatchers) q.add(`AND ${matcherSql(q, 'labels', m)}`);
        q.add(`LIMIT 1 BY fingerprint LIMIT ${Math.max(1, limits.maxStreams + 1)}`);
        const r = new RowBinaryReader(await run(q, signal));
        while (!r.done) {
          const fp = r.uint64();
          const lbs = r.stringMap();
          const names = Object.keys(lbs);
          const values = names.map((n) => lbs[n] as string);
          if (multi) {
            names.push(TENANT_LABEL);
            values.push(tenant);
          }
          out.push({ tenant, fp, labels: makeStreamLabels(names, values) });
        }
        if (out.length > limits.maxStreams) {
          throw new FleetwatchError('FW_ERR_QUERY_TOO_LARGE', `maximum number of streams (${limits.maxStreams}) reached for a single query; add more specific stream selectors or reduce the time range`);
        }
      }
      return out;
    },
  };
}

/** Storage errors that mean a limit was hit become the query errors Loki gives. */
export function mapStorageError(e: unknown): unknown {
  const msg = (e as Error)?.message ?? '';
  if (/TOO_MANY_BYTES|Limit for \(uncompressed\) bytes to read exceeded|max_bytes_to_read/i.test(msg)) {
    return new FleetwatchError('FW_ERR_QUERY_TOO_LARGE', 'the query would read too many bytes; consider adding more specific stream selectors or reduce the time range of the query');
  }
  if (/TIMEOUT_EXCEEDED|Timeout exceeded/i.test(msg)) return new FleetwatchError('FW_ERR_QUERY_TIMEOUT', 'request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed');
  return e;
}

/** Escapes a literal for LIKE. */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
