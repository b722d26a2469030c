// Central's ingest log: a write is acknowledged once its rows are fsynced in
// a local write-ahead log, and ClickHouse is filled from that log in large
// inserts.
//
// Why: a client waits for its answer, so group commit can only gather the
// rows of the requests in flight at once — with 4 senders of 2,000 samples,
// about 5,400 rows per insert. ClickHouse makes one part per insert and pays
// per part for sorting, compressing and later merging: measured with chDB
// (docs/ingest.md "Throughput"), 2 M sample rows cost 4.7-6.3 CPU-s inserted
// 5,400 at a time and 1.2-1.3 CPU-s inserted 100,000 at a time. The log
// decouples the two: clients wait only for an fdatasync (group-committed,
// ~0.2 ms here), inserts are as large as the flush thresholds say.
//
// Durability: the record is fdatasynced before the append resolves (the
// storage/wal.ts machinery with fsync=always), so an acknowledged write
// survives a crash of the process or the machine — more than ClickHouse's own
// default, which does not fsync parts (fsync_after_insert = 0).
//
// Exactly once into ClickHouse: the flusher reads a run of records, seals its
// sequence range in a checkpoint (storage/wal-checkpoint.ts, fsynced) before
// inserting, inserts each table's rows with `insert_deduplication_token` =
// the range's id, then records the range as delivered and lets the WAL delete
// its segments. After a crash, every sealed but undelivered range is inserted
// again under the same ids — ClickHouse drops the blocks it already has
// (non_replicated_deduplication_window on the sample, exemplar, log and span
// tables; series, streams and metadata are ReplacingMergeTree) — and only
// then do new ranges form.
//
// Visibility: rows acknowledged but not yet flushed are not in ClickHouse.
// barrier() flushes at once and resolves when everything acknowledged before
// the call is committed; central puts it in front of every storage read
// (storage/read-barrier-store.ts), so a read after an acknowledged write sees
// it, as before. Queries the in-memory head answers never wait.
//
// Overload: the log holds at most limits.maxPendingBytes of records not yet
// in ClickHouse; past that, appends are refused with FW_ERR_INGEST_OVERLOADED
// (429, or 503 for OTLP) until the flusher catches up. A failing insert is
// retried with backoff for as long as it takes: the rows are acknowledged.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FleetwatchError, counter, gauge, histogram, type Config, type Logger, type MetricsRegistry } from '../core/index.ts';
import { FLEET_RECORD_ROWS, fleetFramePayload } from '../protocols/index.ts';
import { openShipLog, openWal, type ShipLog, type Store, type Wal, type WalRead } from '../storage/index.ts';
import { SAMPLES_ROWBINARY, SHAPES, type Chunk, type TableShape } from './row-encoders.ts';
import { PayloadSlabs } from './payload-slabs.ts';

/** bytes per payload slab: ~150 remote_write requests of 2,000 samples */
const SLAB_BYTES = 8 * 1024 * 1024;

export interface IngestLogOptions {
  readonly dir: string;
  readonly store: Store;
  /** the tables records may carry; a record names its tables by index here, so the order is part of the format */
  readonly shapes: readonly TableShape[];
  /** bytes of records not yet in ClickHouse before appends are refused (a record alone may exceed it) */
  readonly maxPendingBytes: number;
  readonly segmentBytes?: number;
  /** flush once this many bytes of records wait */
  readonly flushBytes: number;
  /** flush once the oldest waiting record is this old */
  readonly flushMs: number;
  /** most bytes of records one flush takes */
  readonly maxInsertBytes: number;
  /** largest record (one request's rows) */
  readonly maxRecordBytes?: number;
  readonly log: Logger;
  readonly registry?: MetricsRegistry;
  readonly now?: () => number;
  /** after a failed insert, first and longest retry delay */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface IngestLogStats {
  readonly records: number;
  readonly bytes: number;
  /** the highest sequence number committed in ClickHouse */
  readonly flushedSeq: number;
  readonly lastSeq: number;
}

export interface IngestLog {
  /**
   * Appends one request's rows (all its tables in one record: durable
   * together or not at all); resolves once fsynced. Rejects with
   * FW_ERR_INGEST_OVERLOADED when the log is full.
   */
  append(tenant: string, parts: readonly (readonly [TableShape, Chunk])[]): Promise<void>;
  /** Starts inserting into ClickHouse (call once the store is ready); replays what an earlier run left. */
  start(): void;
  /**
   * Resolves once every append acknowledged before the call is committed in
   * ClickHouse (flushing at once rather than waiting for the thresholds), or
   * rejects when the signal aborts.
   */
  barrier(signal?: AbortSignal): Promise<void>;
  stats(): IngestLogStats;
  /**
   * Refuses new appends, flushes what is logged for up to graceMs, then
   * closes. What is left stays in the log for the next start.
   */
  close(graceMs: number): Promise<void>;
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** Opens (and replays) the log in opts.dir; flushing begins with start(). */
export async function openIngestLog(opts: IngestLogOptions): Promise<IngestLog> {
  if (opts.shapes.length > 255) throw new Error('at most 255 tables');
  try {
    await mkdir(opts.dir, { recursive: true });
  } catch (e) {
    throw new FleetwatchError('FW_ERR_STORAGE_DATA_DIR', `cannot create the ingest log directory ${opts.dir}: ${(e as Error).message}; choose another with --data-dir`);
  }
  // the checkpoint first: it tells the WAL what is delivered and where numbering stands
  const checkpoint = await openShipLog({ dir: opts.dir, fsync: 'always', log: opts.log, file: 'flushed.log' });
  const wal = await openWal({
    dir: opts.dir,
    // appends are bounded by maxPendingBytes below; the WAL's own cap only stops a runaway
    maxBytes: Math.max(4 * opts.maxPendingBytes, 4 * (opts.maxRecordBytes ?? 0), 1024 * 1024 * 1024),
    segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024,
    fsync: 'always',
    fsyncIntervalMs: 0,
    fullPolicy: 'backpressure',
    ...(opts.maxRecordBytes !== undefined ? { maxRecordBytes: opts.maxRecordBytes } : {}),
    log: opts.log,
    ...(opts.registry ? { registry: opts.registry } : {}),
    releasedSeq: checkpoint.ackedThrough,
    minNextSeq: checkpoint.sealedThrough + 1,
    metricPrefix: 'fleetwatch_ingest_log',
    owner: 'central',
    downstream: 'ClickHouse',
    ...(opts.now ? { now: opts.now } : {}),
  });
  return new FileIngestLog(opts, wal, checkpoint);
}

class FileIngestLog implements IngestLog {
  private readonly tableIndex = new Map<TableShape, number>();
  private flushed: number;
  private closing = false;
  private running: Promise<void> | undefined;
  private barrierWanted = false;
  private waiters: Waiter[] = [];
  /** wakes the flusher (new records, a barrier, close) */
  private wake: (() => void) | undefined;
  private readonly epoch: number;
  /** payloads of records not yet inserted, by sequence number (replayed ones are read from the files) */
  private readonly mem = new Map<number, Logged>();
  /** where mem's payloads live (payload-slabs.ts) */
  private readonly slabs: PayloadSlabs;
  /** set once close gave up waiting: the flusher stops between inserts */
  private stopped = false;
  /** cuts a backoff sleep short */
  private wakeSleeper: (() => void) | undefined;
  /** the flusher sleeps with nothing to flush: the next append must wake it to start the age timer */
  private idle = false;
  private readonly now: () => number;
  private readonly m;

  constructor(
    private readonly opts: IngestLogOptions,
    private readonly wal: Wal,
    private readonly checkpoint: ShipLog,
  ) {
    opts.shapes.forEach((s, i) => this.tableIndex.set(s, i));
    this.flushed = checkpoint.ackedThrough;
    // most payload bytes kept in memory: the pending budget, at most 256 MiB
    this.slabs = new PayloadSlabs(SLAB_BYTES, Math.min(opts.maxPendingBytes, 256 * 1024 * 1024));
    this.now = opts.now ?? Date.now;
    this.epoch = this.now();
    const r = opts.registry;
    this.m = r
      ? {
          inserts: counter(r, 'fleetwatch_ingest_log_inserts_total', 'ClickHouse inserts from the ingest log by table and outcome', ['table', 'outcome']),
          rows: counter(r, 'fleetwatch_ingest_log_inserted_rows_total', 'rows inserted from the ingest log by table', ['table']),
          flushes: counter(r, 'fleetwatch_ingest_log_flushes_total', 'log ranges committed to ClickHouse, by what started them', ['reason']),
          flushSeconds: histogram(r, 'fleetwatch_ingest_log_flush_duration_seconds', 'time to commit one log range to ClickHouse (all its tables)', [], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
          barrierSeconds: histogram(r, 'fleetwatch_ingest_log_barrier_wait_seconds', 'how long reads waited for acknowledged writes to reach ClickHouse', [], [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
        }
      : undefined;
    if (r) {
      gauge(r, 'fleetwatch_ingest_log_lag_seconds', 'age of the oldest acknowledged record not yet in ClickHouse (0 when none)', [], () => {
        const o = this.wal.stats().oldestUnreleasedMs;
        return o === undefined ? 0 : Math.max(0, (this.now() - o) / 1000);
      });
    }
  }

  async append(tenant: string, parts: readonly (readonly [TableShape, Chunk])[]): Promise<void> {
    let size = 1;
    let n = 0;
    for (const [, c] of parts) {
      if (c.rows === 0) continue;
      size += 9 + c.data.length;
      n++;
    }
    if (n === 0) return;
    const waiting = this.wal.stats().unreleasedBytes;
    if (waiting > 0 && waiting + size > this.opts.maxPendingBytes) {
      this.nudge(true);
      throw new FleetwatchError('FW_ERR_INGEST_OVERLOADED', `more than ${this.opts.maxPendingBytes} bytes are waiting for storage (limits.maxPendingBytes)`);
    }
    // the payload: u8 part count, per part u8 table index | u32 rows | u32 bytes,
    // then the parts' rows back to back — written as they are, not joined,
    // and copied into the payload slabs so the flusher need not read them back
    const head = Buffer.allocUnsafe(1 + 9 * n);
    const pieces: Uint8Array[] = [head];
    head[0] = n;
    let off = 1;
    for (const [shape, c] of parts) {
      if (c.rows === 0) continue;
      const idx = this.tableIndex.get(shape);
      if (idx === undefined) throw new Error(`table ${shape.table} is not one the ingest log carries`);
      head[off] = idx;
      head.writeUInt32LE(c.rows, off + 1);
      head.writeUInt32LE(c.data.length, off + 5);
      pieces.push(c.data);
      off += 9;
    }
    // the flusher takes it from memory instead of reading it back, while the slabs have room
    const held = this.slabs.hold(pieces, size);
    try {
      const seq = await this.wal.append(FLEET_RECORD_ROWS, tenant, held?.views ?? pieces);
      if (held) {
        this.slabs.appended(held.slab, seq);
        this.mem.set(seq, { pieces: held.views, bytes: size });
      }
    } catch (e) {
      if (held) this.slabs.failed(held.slab);
      const fe = e instanceof FleetwatchError ? e : undefined;
      if (fe?.code === 'FW_ERR_WAL_FULL') throw new FleetwatchError('FW_ERR_INGEST_OVERLOADED', fe.message, { cause: e });
      if (fe?.code === 'FW_ERR_WAL_IO') throw new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', `the ingest log cannot be written: ${fe.message}`, { cause: e, retryable: true });
      throw e;
    }
    if (!this.closing) this.nudge(false);
  }

  start(): void {
    this.running ??= this.run().catch((e) => this.opts.log.error({ err: (e as Error).message }, 'ingest log: flusher stopped'));
  }

  barrier(signal?: AbortSignal): Promise<void> {
    const target = this.wal.lastSeq;
    if (this.flushed >= target) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    const end = this.m?.barrierSeconds.startTimer();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal?.reason ?? new Error('aborted'));
      };
      const waiter: Waiter = {
        seq: target,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          end?.();
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.nudge(true);
    });
  }

  stats(): IngestLogStats {
    const s = this.wal.stats();
    return { records: s.records, bytes: s.unreleasedBytes, flushedSeq: this.flushed, lastSeq: this.wal.lastSeq };
  }

  async close(graceMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // refuse new appends; what is acknowledged goes to ClickHouse now if it can, the rest stays logged
    await this.wal.close();
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
      this.nudge(true);
      await Promise.race([this.running, grace]);
      clearTimeout(timer);
      this.stopped = true;
      this.wakeSleeper?.();
      this.nudge(true);
      await this.running;
    }
    // reads still waiting would wait forever
    const left = this.waiters;
    this.waiters = [];
    for (const w of left) w.reject(new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', 'central is shutting down'));
    await this.checkpoint.close();
  }

  private nudge(barrier: boolean): void {
    if (barrier) this.barrierWanted = true;
    const w = this.wake;
    if (!w) return;
    if (barrier || this.closing || this.idle || this.wal.stats().unreleasedBytes >= this.opts.flushBytes) {
      this.wake = undefined;
      w();
    }
  }

  /** Waits until a flush is due: enough bytes, the oldest record old enough, a barrier, or close. */
  private async due(): Promise<'bytes' | 'age' | 'barrier' | 'close' | 'none'> {
    for (;;) {
      if (this.stopped) return 'none';
      const s = this.wal.stats();
      if (s.records === 0) {
        this.barrierWanted = false;
        this.settleWaiters();
        if (this.closing) return 'none';
      } else {
        if (this.barrierWanted) return 'barrier';
        if (this.closing) return 'close';
        if (s.unreleasedBytes >= this.opts.flushBytes) return 'bytes';
        if (s.oldestUnreleasedMs !== undefined && this.now() - s.oldestUnreleasedMs >= this.opts.flushMs) return 'age';
      }
      this.idle = s.records === 0;
      const wait = this.idle ? 60_000 : Math.max(1, this.opts.flushMs - (this.now() - (s.oldestUnreleasedMs ?? this.now())));
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.wake = undefined;
          resolve();
        }, wait);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private async run(): Promise<void> {
    // ranges sealed by an earlier run go first, exactly as sealed
    for (const s of this.checkpoint.pending()) {
      if (this.stopped) return;
      const r = payloadsOf(await this.wal.readRange(s.firstSeq, s.lastSeq));
      this.opts.log.info({ firstSeq: s.firstSeq, lastSeq: s.lastSeq, records: r.records.length }, 'ingest log: re-inserting a range an earlier run sealed (ClickHouse drops what it already has)');
      if (!(await this.deliver(r, s.epoch, 'replay'))) return;
    }
    for (;;) {
      const reason = await this.due();
      if (reason === 'none') return;
      // settleWaiters asks again if this range does not reach every waiting read
      if (reason === 'barrier') this.barrierWanted = false;
      let r = this.fromMemory(this.flushed + 1);
      if (!r) {
        const read = await this.wal.read(this.flushed + 1, this.opts.maxInsertBytes);
        if (read) r = payloadsOf(read);
      }
      if (!r) {
        // nothing readable past what is flushed although records wait: should not happen; do not spin
        await new Promise((res) => setTimeout(res, 50));
        continue;
      }
      await this.checkpoint.seal(r.firstSeq, r.lastSeq, this.epoch);
      if (!(await this.deliver(r, this.epoch, reason))) return;
    }
  }

  /** Records from `from` on held in memory, up to maxInsertBytes (at least one); undefined when `from` is not. */
  private fromMemory(from: number): Range | undefined {
    const first = this.mem.get(from);
    if (!first) return undefined;
    const records: (readonly Uint8Array[])[] = [first.pieces];
    let bytes = first.bytes;
    let last = from;
    for (let seq = from + 1; seq <= this.wal.lastSeq; seq++) {
      const p = this.mem.get(seq);
      if (!p || bytes + p.bytes > this.opts.maxInsertBytes) break;
      records.push(p.pieces);
      bytes += p.bytes;
      last = seq;
    }
    return { firstSeq: from, lastSeq: last, records };
  }

  /** Inserts one range until it is committed; false when close stopped it first. */
  private async deliver(r: Range, epoch: number, reason: string): Promise<boolean> {
    const tables = this.split(r);
    const token = `ingest/${this.wal.id}/${epoch}/${r.firstSeq}-${r.lastSeq}`;
    const end = this.m?.flushSeconds.startTimer();
    // series and streams first, so a reader never meets samples of a series it cannot name
    const first = tables.filter((t) => t.shape.table === 'metrics_series' || t.shape.table === 'log_streams');
    const rest = tables.filter((t) => !first.includes(t));
    for (const group of [first, rest]) {
      const ok = await Promise.all(group.map((t) => this.insertUntilDone(t.shape, t.parts, t.rows, this.tokenFor(token, t.index))));
      if (ok.includes(false)) return false;
    }
    end?.();
    this.m?.flushes.inc({ reason });
    await this.checkpoint.ack(r.firstSeq, r.lastSeq);
    this.flushed = Math.max(this.flushed, r.lastSeq);
    for (let seq = r.firstSeq; seq <= r.lastSeq; seq++) this.mem.delete(seq);
    this.slabs.release(r.lastSeq);
    await this.wal.release(r.lastSeq);
    this.settleWaiters();
    return true;
  }

  private settleWaiters(): void {
    // everything written is flushed once the log holds no records
    const upTo = this.wal.stats().records === 0 ? Math.max(this.flushed, this.wal.lastSeq) : this.flushed;
    if (this.waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.seq <= upTo) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
    if (keep.length > 0) this.barrierWanted = true;
  }

  /**
   * The deduplication token of one shape's insert: the range's own for the
   * first shape of a table (what every range had before a table had two
   * shapes), suffixed by the index for a later one, so two inserts of one
   * range into the same table are not taken for one.
   */
  private tokenFor(token: string, index: number): string {
    const table = (this.opts.shapes[index] as TableShape).table;
    return this.opts.shapes.findIndex((s) => s.table === table) === index ? token : `${token}/${index}`;
  }

  /** Each table's rows of a range, as pieces in record order (the insert writes them without joining them). */
  private split(r: Range): { shape: TableShape; index: number; parts: Uint8Array[]; rows: number }[] {
    const parts: { bufs: Uint8Array[]; rows: number }[] = this.opts.shapes.map(() => ({ bufs: [], rows: 0 }));
    for (const pieces of r.records) {
      // from memory: [head, rows of part 0, rows of part 1, ...]; read back from the file: one buffer, head then rows
      const h = pieces[0] as Uint8Array;
      const head = Buffer.from(h.buffer, h.byteOffset, h.byteLength);
      const n = head[0] as number;
      let data = 1 + 9 * n;
      if (data > head.length) throw new Error(`ingest log record is malformed (${n} parts in ${head.length} bytes)`);
      for (let i = 0; i < n; i++) {
        const off = 1 + 9 * i;
        const idx = head[off] as number;
        const rows = head.readUInt32LE(off + 1);
        const len = head.readUInt32LE(off + 5);
        const part = parts[idx];
        let bytes: Uint8Array;
        if (pieces.length === 1) {
          if (data + len > head.length) throw new Error(`ingest log record is malformed (part ${i}: ${len} bytes at ${data} of ${head.length})`);
          bytes = head.subarray(data, data + len);
          data += len;
        } else bytes = pieces[i + 1] as Uint8Array;
        if (!part || bytes.length !== len) throw new Error(`ingest log record is malformed (table index ${idx}, ${len} bytes)`);
        part.bufs.push(bytes);
        part.rows += rows;
      }
    }
    const out: { shape: TableShape; index: number; parts: Uint8Array[]; rows: number }[] = [];
    parts.forEach((p, i) => {
      if (p.rows > 0) out.push({ shape: this.opts.shapes[i] as TableShape, index: i, parts: p.bufs, rows: p.rows });
    });
    return out;
  }

  private async insertUntilDone(shape: TableShape, data: readonly Uint8Array[], rows: number, token: string): Promise<boolean> {
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 10_000;
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) return false;
      try {
        await this.opts.store.insert({ table: shape.table, columns: shape.columns, structure: shape.structure, format: shape.format, data, rows }, { settings: { insert_deduplication_token: token } });
        this.m?.inserts.inc({ table: shape.table, outcome: 'ok' });
        this.m?.rows.inc({ table: shape.table }, rows);
        return true;
      } catch (e) {
        this.m?.inserts.inc({ table: shape.table, outcome: 'error' });
        const delay = Math.min(max, min * 2 ** Math.min(attempt, 20));
        this.opts.log.warn({ err: (e as Error).message, table: shape.table, rows, attempt, retryInMs: delay }, 'ingest log: insert into ClickHouse failed; retrying (the rows stay in the log)');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wakeSleeper = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeSleeper = undefined;
      }
    }
  }
}

/** A record's payload as appended: its head, then each part's rows. */
interface Logged {
  readonly pieces: readonly Uint8Array[];
  readonly bytes: number;
}

/** A run of records to insert, in sequence order: each as its payload's pieces (see split). */
interface Range {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly records: readonly (readonly Uint8Array[])[];
}

function payloadsOf(r: WalRead): Range {
  return { firstSeq: r.firstSeq, lastSeq: r.lastSeq, records: r.chunks.map((c) => [fleetFramePayload(c)]) };
}

/**
 * The tables central's log carries; records name them by index here, so
 * append only. Index 3, samples as RowBinary, is what logs written before
 * samples became Native blocks (index 7) hold.
 */
export const INGEST_LOG_SHAPES: readonly TableShape[] = [SHAPES.series, SHAPES.streams, SHAPES.metadata, SAMPLES_ROWBINARY, SHAPES.exemplars, SHAPES.logs, SHAPES.spans, SHAPES.samples];

/** Whether central keeps an ingest log (ingest.log: auto = only with embedded chDB, whose data dir is local anyway). */
export function ingestLogEnabled(config: Config): boolean {
  return config.ingest.log === 'on' || (config.ingest.log === 'auto' && !config.storage.clickhouseUrl);
}

/** Opens central's ingest log under the data dir as configured. */
export function openIngestLogFromConfig(config: Config, store: Store, log: Logger, registry: MetricsRegistry): Promise<IngestLog> {
  const i = config.ingest;
  return openIngestLog({
    // one log per database: its records name tables, not the database they belong to
    dir: path.join(config.storage.dataDir, 'ingest-log', config.storage.database),
    store,
    shapes: INGEST_LOG_SHAPES,
    maxPendingBytes: config.limits.maxPendingBytes,
    // a full budget must start a flush, not wait for the clock
    flushBytes: Math.max(1, Math.min(i.logFlushBytes, Math.floor(config.limits.maxPendingBytes / 4))),
    flushMs: i.logFlushMs,
    maxInsertBytes: i.logInsertBytes,
    // one request is one record
    maxRecordBytes: Math.max(config.limits.maxRequestBytes * 4, 64 * 1024 * 1024),
    log,
    registry,
  });
}
