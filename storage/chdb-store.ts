// Embedded ClickHouse (chDB) in this process. chDB holds one data directory
// per process, so there is one EmbeddedStore per process (see openEmbedded).
// Queries use the async API so the event loop never blocks. Bulk inserts go
// as RowBinary or Native through a tmpfs file and INSERT ... SELECT FROM
// file(): chDB's raw insert takes text formats only, and the binary route
// measured ~4x faster (issue #3).
import { mkdirSync, accessSync, constants, existsSync } from 'node:fs';
import { open, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FleetwatchError } from '../core/index.ts';
import { insertParts, withSettings, type BinaryFormat, type InsertBatch, type QueryOptions, type Store } from './store.ts';
import { ident, type Sql } from './sql.ts';
import { writeAllAt } from './file-io.ts';

type ChdbModule = typeof import('chdb');
type ChdbSession = InstanceType<ChdbModule['Session']>;

/** what may appear inside the quoted literals of an insert (no quotes or backslashes) */
const SAFE_LITERAL = /^[A-Za-z0-9_ ,()./-]+$/;

let openSession: { dir: string; session: ChdbSession; users: number } | undefined;

function spoolDir(): string {
  for (const dir of ['/dev/shm', tmpdir()]) {
    try {
      accessSync(dir, constants.W_OK);
      const d = path.join(dir, `fleetwatch-${process.pid}`);
      mkdirSync(d, { recursive: true });
      return d;
    } catch {
      // try the next one
    }
  }
  throw new FleetwatchError('FW_ERR_STORAGE_DATA_DIR', 'no writable temporary directory for insert spooling');
}

export interface EmbeddedOptions {
  readonly dataDir: string;
  readonly database: string;
}

/** Opens (or shares) this process's chDB session on dataDir. */
export async function openEmbedded(opts: EmbeddedOptions): Promise<Store> {
  const dir = path.resolve(opts.dataDir, 'clickhouse');
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new FleetwatchError('FW_ERR_STORAGE_DATA_DIR', `${dir} is not a writable directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another with --data-dir`);
  }
  if (openSession && openSession.dir !== dir) {
    throw new FleetwatchError('FW_ERR_STORAGE_DATA_DIR', `this process already holds embedded ClickHouse at ${openSession.dir}; chDB allows one data directory per process`);
  }
  if (!openSession) {
    const chdb: ChdbModule = await import('chdb');
    // 64-bit integers arrive as strings in JSON results, as from a server, so
    // fingerprints never lose precision in a JS number
    const session = new chdb.Session(dir, { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
    openSession = { dir, session, users: 0 };
  }
  openSession.users++;
  const store = new EmbeddedStore(openSession.session, ident(opts.database));
  await store.exec({ sql: `CREATE DATABASE IF NOT EXISTS ${store.database}`, params: {} });
  return store;
}

class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  private closed = false;
  private readonly spool = spoolDir();

  constructor(private readonly session: ChdbSession, readonly database: string) {}

  private async run(q: Sql, format: string, opts?: QueryOptions): Promise<Uint8Array> {
    if (this.closed) throw new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', 'storage is closed');
    opts?.signal?.throwIfAborted();
    const text = withSettings(q.sql, opts);
    const o = { format, ...(opts?.signal ? { signal: opts.signal } : {}), ...(opts?.timeoutMs ? { timeout: opts.timeoutMs + 1000 } : {}) };
    try {
      const hasParams = Object.keys(q.params).length > 0;
      const r = hasParams ? await this.session.queryBindAsync(text, toBindParams(q.params), o) : await this.session.queryAsync(text, o);
      return r.bytes();
    } catch (e) {
      throw mapChdbError(e);
    }
  }

  async exec(q: Sql, opts?: QueryOptions): Promise<void> {
    await this.run(q, 'TSV', opts);
  }

  async queryRows<T>(q: Sql, opts?: QueryOptions): Promise<T[]> {
    const bytes = await this.run(q, 'JSONEachRow', opts);
    return parseJsonEachRow<T>(bytes);
  }

  queryBinary(q: Sql, format: BinaryFormat, opts?: QueryOptions): Promise<Uint8Array> {
    return this.run(q, format, opts);
  }

  async insert(batch: InsertBatch, opts?: QueryOptions): Promise<void> {
    if (batch.rows === 0) return;
    const file = path.join(this.spool, `${Date.now()}-${randomBytes(6).toString('hex')}.bin`);
    await writeParts(file, insertParts(batch));
    try {
      // No bound parameters here: chDB runs bound queries one at a time
      // process-wide, and the two literals are ours (a spool path and a
      // structure from the schema), checked below.
      if (!SAFE_LITERAL.test(file) || (batch.format !== 'Native' && !SAFE_LITERAL.test(batch.structure))) throw new Error(`unsafe insert literal: ${file} / ${batch.structure}`);
      const cols = batch.columns.map(ident).join(', ');
      // Native blocks name their own types; RowBinary needs the structure
      const source = batch.format === 'Native' ? `file('${file}', 'Native')` : `file('${file}', 'RowBinary', '${batch.structure}')`;
      await this.run({ sql: `INSERT INTO ${this.database}.${ident(batch.table)} (${cols}) SELECT * FROM ${source}`, params: {} }, 'TSV', opts);
    } finally {
      await unlink(file).catch(() => undefined);
    }
  }

  async ping(): Promise<void> {
    await this.run({ sql: 'SELECT 1', params: {} }, 'TSV');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (openSession && --openSession.users === 0) {
      const s = openSession.session;
      openSession = undefined;
      s.close();
    }
  }
}

/** Writes the pieces to a new file. */
async function writeParts(file: string, parts: readonly Uint8Array[]): Promise<void> {
  if (parts.length === 1) return writeFile(file, parts[0] as Uint8Array);
  const fh = await open(file, 'w');
  try {
    await writeAllAt(fh, parts, 0);
  } finally {
    await fh.close();
  }
}

/** chDB binds plain JS values; 64-bit ints go as bigint or decimal strings. */
function toBindParams(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return params as Record<string, unknown>;
}

export function parseJsonEachRow<T>(bytes: Uint8Array): T[] {
  const out: T[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    if (end > start) out.push(JSON.parse(buf.toString('utf8', start, end)) as T);
    start = end + 1;
  }
  return out;
}

function mapChdbError(e: unknown): Error {
  if (e instanceof FleetwatchError) return e;
  const err = e as { name?: string; message?: string; clickhouseCode?: number };
  if (err?.name === 'AbortError' || /abort/i.test(err?.name ?? '')) return new FleetwatchError('FW_ERR_QUERY_CANCELED', undefined, { cause: e });
  if (err?.clickhouseCode === 159 || /timeout/i.test(err?.name ?? '')) return new FleetwatchError('FW_ERR_QUERY_TIMEOUT', err.message, { cause: e });
  return new FleetwatchError('FW_ERR_STORAGE_QUERY', err?.message ?? String(e), { cause: e });
}

export function embeddedDataDirExists(dataDir: string): boolean {
  return existsSync(path.resolve(dataDir, 'clickhouse'));
}
