// The one storage interface. Two connection kinds implement it: embedded chDB
// (default) and a ClickHouse server through @clickhouse/client. Both speak the
// same SQL built by storage/schema.ts and the query engines.
import type { Sql } from './sql.ts';

export type BinaryFormat = 'RowBinary' | 'RowBinaryWithNamesAndTypes' | 'Native' | 'ArrowStream';

export interface QueryOptions {
  /** Real cancellation: sent as max_execution_time and as an abort of the wait. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** ClickHouse settings for this query only. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

/**
 * How an insert's rows are encoded: RowBinary (storage/row-binary.ts), or
 * Native blocks one after another (storage/native.ts), which carry their own
 * column types.
 */
export type InsertFormat = 'RowBinary' | 'Native';

export interface InsertBatch {
  /** target table without database */
  readonly table: string;
  /** column list in the order of the rows' columns */
  readonly columns: readonly string[];
  /** "name Type, ..." matching the rows (RowBinary has no types of its own) */
  readonly structure: string;
  /** default RowBinary */
  readonly format?: InsertFormat;
  /** the rows, whole or in pieces that concatenate to them (saves a copy of large inserts) */
  readonly data: Uint8Array | readonly Uint8Array[];
  readonly rows: number;
}

/** The pieces of an insert's rows. */
export function insertParts(b: InsertBatch): readonly Uint8Array[] {
  return b.data instanceof Uint8Array ? [b.data] : b.data;
}

/** Bytes of an insert's rows. */
export function insertBytes(b: InsertBatch): number {
  let n = 0;
  for (const p of insertParts(b)) n += p.byteLength;
  return n;
}

export interface Store {
  readonly kind: 'embedded' | 'server';
  readonly database: string;
  /** DDL and statements without a result. */
  exec(q: Sql, opts?: QueryOptions): Promise<void>;
  /** Small results as objects (JSONEachRow; 64-bit integers arrive as strings). */
  queryRows<T = Record<string, unknown>>(q: Sql, opts?: QueryOptions): Promise<T[]>;
  /** Bulk results in a binary format. */
  queryBinary(q: Sql, format: BinaryFormat, opts?: QueryOptions): Promise<Uint8Array>;
  /** One committed insert of RowBinary rows; resolves only once ClickHouse has them. */
  insert(batch: InsertBatch, opts?: QueryOptions): Promise<void>;
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Appends per-query settings (incl. max_execution_time) to a SELECT. */
export function withSettings(sqlText: string, opts: QueryOptions | undefined): string {
  const settings: Record<string, string | number> = { ...(opts?.settings ?? {}) };
  if (opts?.timeoutMs && opts.timeoutMs > 0) settings['max_execution_time'] = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  const entries = Object.entries(settings);
  if (entries.length === 0) return sqlText;
  for (const [k] of entries) if (!/^[a-z_0-9]+$/i.test(k)) throw new Error(`bad setting name ${k}`);
  const list = entries.map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${String(v).replace(/[\\']/g, '\\$&')}'`}`).join(', ');
  return `${sqlText} SETTINGS ${list}`;
}
