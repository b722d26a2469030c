// A ClickHouse server (or cluster) through @clickhouse/client. Kept thin: the
// SQL and formats are the same as the embedded store's, which the test suite
// proves through chDB (no modern ClickHouse server can run in CI).
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import { FleetwatchError } from '../core/index.ts';
import { insertParts, withSettings, type BinaryFormat, type InsertBatch, type QueryOptions, type Store } from './store.ts';
import { ident, type Sql } from './sql.ts';
import { parseJsonEachRow } from './chdb-store.ts';

export interface ServerOptions {
  readonly url: string;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly tls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  readonly requestTimeoutMs: number;
}

export async function openServer(opts: ServerOptions): Promise<Store> {
  const tls = opts.tls?.caFile
    ? opts.tls.certFile
      ? { ca_cert: readFileSync(opts.tls.caFile), cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }
      : { ca_cert: readFileSync(opts.tls.caFile) }
    : undefined;
  const client = createClient({
    url: opts.url,
    username: opts.user,
    password: opts.password,
    request_timeout: opts.requestTimeoutMs,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    // failures surface as errors we report ourselves; the client's own log would print stack traces
    log: { level: ClickHouseLogLevel.OFF },
    ...(tls ? { tls } : {}),
  });
  const store = new ServerStore(client, ident(opts.database));
  try {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${store.database}` });
  } catch (e) {
    await client.close();
    throw new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', `cannot reach ClickHouse at ${opts.url}: ${(e as Error).message}; check --clickhouse-url, user and password`, { cause: e });
  }
  return store;
}

class ServerStore implements Store {
  readonly kind = 'server' as const;
  private closed = false;
  constructor(private readonly client: ClickHouseClient, readonly database: string) {}

  private async raw(q: Sql, format: string, opts?: QueryOptions): Promise<Uint8Array> {
    try {
      const r = await this.client.exec({
        query: `${withSettings(q.sql, opts)} FORMAT ${format}`,
        query_params: q.params as Record<string, unknown>,
        ...(opts?.signal ? { abort_signal: opts.signal } : {}),
      });
      const chunks: Buffer[] = [];
      for await (const c of r.stream) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } catch (e) {
      throw mapError(e);
    }
  }

  async exec(q: Sql, opts?: QueryOptions): Promise<void> {
    try {
      await this.client.command({ query: withSettings(q.sql, opts), query_params: q.params as Record<string, unknown>, ...(opts?.signal ? { abort_signal: opts.signal } : {}) });
    } catch (e) {
      throw mapError(e);
    }
  }

  async queryRows<T>(q: Sql, opts?: QueryOptions): Promise<T[]> {
    return parseJsonEachRow<T>(await this.raw(q, 'JSONEachRow', opts));
  }

  queryBinary(q: Sql, format: BinaryFormat, opts?: QueryOptions): Promise<Uint8Array> {
    return this.raw(q, format, opts);
  }

  async insert(batch: InsertBatch, opts?: QueryOptions): Promise<void> {
    if (batch.rows === 0) return;
    try {
      const r = await this.client.exec({
        query: `INSERT INTO ${this.database}.${ident(batch.table)} (${batch.columns.map(ident).join(', ')}) FORMAT ${batch.format === 'Native' ? 'Native' : 'RowBinary'}`,
        values: Readable.from(insertParts(batch).map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))),
        ...(opts?.signal ? { abort_signal: opts.signal } : {}),
        // per-insert settings, e.g. insert_deduplication_token (collector batches)
        ...(opts?.settings ? { clickhouse_settings: opts.settings as Record<string, string | number> } : {}),
      });
      r.stream.resume();
    } catch (e) {
      throw mapError(e);
    }
  }

  async ping(): Promise<void> {
    const r = await this.client.ping();
    if (!r.success) throw new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', String((r as { error?: Error }).error?.message ?? 'ping failed'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }
}

function mapError(e: unknown): Error {
  const err = e as { code?: string; message?: string; name?: string };
  if (err?.name === 'AbortError') return new FleetwatchError('FW_ERR_QUERY_CANCELED', undefined, { cause: e });
  if (err?.code === '159') return new FleetwatchError('FW_ERR_QUERY_TIMEOUT', err.message, { cause: e });
  if (err?.code === 'ECONNREFUSED' || err?.code === 'ENOTFOUND' || err?.code === 'ECONNRESET') return new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', err.message, { cause: e });
  return new FleetwatchError('FW_ERR_STORAGE_QUERY', err?.message ?? String(e), { cause: e });
}
