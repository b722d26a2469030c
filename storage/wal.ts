// A write-ahead log: what clients sent, durable before they are acknowledged,
// kept until it is delivered downstream. The collector's WAL is kept until
// central has it (the shipper); central's ingest log (ingest/ingest-log.ts)
// until ClickHouse has it. The comments below speak of the collector; central
// uses the same machinery with fsync=always.
//
// Layout: a directory of segment files named by the sequence number of their
// first record (20 digits, so names sort in order), each an 8-byte magic
// header followed by fleet frames (protocols/fleet-batch.ts: length, CRC-32,
// type, sequence number, append time, tenant, payload). A `wal.id` file holds
// a random id minted when the directory is created; with the sequence numbers
// it makes the shipper's batch ids unique across collectors and across a wiped
// data directory.
//
// Appends go through one writer: requests that arrive while a write (and
// fsync) is under way are written together next (group commit), so the fsync
// cost is shared. Fsync policy (collector.walFsync):
//   always  the append resolves after fdatasync: survives power loss;
//   batch   the append resolves after write(2) (survives the collector being
//           killed: the data is in the OS page cache) and fdatasync runs every
//           collector.walFsyncIntervalMs and at each segment switch, so power
//           loss costs at most that interval;
//   never   write(2) only; the OS flushes when it likes.
// The shipper reads records as soon as they are written. An OS crash can
// then lose (with `batch`/`never`) a tail central already has, and the
// sequence numbers are handed out again after the restart; batch ids carry
// the shipper's start epoch (shipper.ts), so a new batch over reused numbers
// never looks like the old one to central.
//
// Size cap (collector.walMaxBytes): when an append would exceed it, the
// default policy refuses it (FW_ERR_WAL_FULL, 429 / RESOURCE_EXHAUSTED) so the
// client retries later and nothing acknowledged is lost; `drop-oldest` deletes
// the oldest segments instead and counts the records it threw away.
//
// Replay at start reads every segment, checks each frame's CRC and sequence
// number, and stops a segment at the first torn or corrupt frame: the rest of
// that segment is cut off with a warning (a crash mid-write leaves exactly such
// a tail), and the other segments replay normally.
import { mkdir, open, readdir, readFile, rename, truncate, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { FleetwatchError, counter, gauge, histogram, type Logger, type MetricsRegistry } from '../core/index.ts';
import { encodeFleetFrameHeader, readFleetFrame, type FleetRecordType } from '../protocols/index.ts';
import { writeAllAt } from './file-io.ts';

export type FsyncPolicy = 'always' | 'batch' | 'never';
export type WalFullPolicy = 'backpressure' | 'drop-oldest';

export interface WalOptions {
  readonly dir: string;
  readonly maxBytes: number;
  /** a segment is closed and a new one started past this size (capped at maxBytes / 4) */
  readonly segmentBytes: number;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly fullPolicy: WalFullPolicy;
  /** largest record (a batch of one must still fit central's request limit); default maxBytes / 2 */
  readonly maxRecordBytes?: number;
  readonly log: Logger;
  readonly registry?: MetricsRegistry;
  /** records up to this sequence number are shipped already (from the shipper's checkpoint) */
  readonly releasedSeq?: number;
  /** never hand out a sequence number below this (the checkpoint's highest + 1) */
  readonly minNextSeq?: number;
  readonly now?: () => number;
  /** metric name prefix (default fleetwatch_collector_wal) */
  readonly metricPrefix?: string;
  /** who owns the log and where its records go, for error texts (default: the collector, central) */
  readonly owner?: string;
  readonly downstream?: string;
}

/** Frames read back for shipping: raw bytes, CRCs checked. */
export interface WalRead {
  readonly chunks: Buffer[];
  readonly bytes: number;
  /** sequence range covered (records missing from it were dropped or corrupt) */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly records: number;
  readonly oldestAppendedMs: number;
}

export interface WalStats {
  /** bytes of all segment files */
  readonly bytes: number;
  /** bytes of the records not yet released (shipped) */
  readonly unreleasedBytes: number;
  readonly segments: number;
  /** records not yet released (shipped) */
  readonly records: number;
  /** append time of the oldest record not yet released, or undefined */
  readonly oldestUnreleasedMs: number | undefined;
}

export interface Wal {
  /** random id of this WAL directory */
  readonly id: string;
  /** the highest sequence number written */
  readonly lastSeq: number;
  /** the highest sequence number known fsynced (lastSeq with fsync=always) */
  readonly durableSeq: number;
  /** Appends one record; resolves with its sequence number once durable per the policy. */
  append(type: FleetRecordType, tenant: string, payload: Uint8Array | readonly Uint8Array[]): Promise<number>;
  /** Resolves once lastSeq > afterSeq, the signal aborts, or the WAL closes. */
  waitForRecords(afterSeq: number, signal?: AbortSignal): Promise<void>;
  /**
   * Reads written records from the first one >= fromSeq, up to maxBytes (at
   * least one record); undefined when nothing past fromSeq is written yet. A
   * range whose records were all dropped comes back with records = 0.
   */
  read(fromSeq: number, maxBytes: number): Promise<WalRead | undefined>;
  /** Reads exactly the records in [firstSeq, lastSeq] that still exist (re-sending a sealed batch). */
  readRange(firstSeq: number, lastSeq: number): Promise<WalRead>;
  /** Every record <= seq is shipped: whole segments below it may go. */
  release(seq: number): Promise<void>;
  /** Called with [fromSeq, toSeq] when drop-oldest throws unshipped records away. */
  onDrop(listener: (fromSeq: number, toSeq: number) => void): void;
  stats(): WalStats;
  /** Fsyncs and closes; later appends are refused. Idempotent. */
  close(): Promise<void>;
}

const MAGIC = Buffer.from('FWWAL\u0000\u0000\u0001', 'latin1');
const NAME_RE = /^(\d{20})\.wal$/;

interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  bytes: number;
  /** file offset of record firstSeq + i */
  readonly offsets: number[];
  readonly appendedMs: number[];
}

const lastSeqOf = (s: Segment) => s.firstSeq + s.offsets.length - 1;
const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(20, '0')}.wal`;

interface PendingAppend {
  readonly type: FleetRecordType;
  readonly tenant: string;
  /** the payload, whole or in pieces written back to back (no copy to join them) */
  readonly payload: readonly Uint8Array[];
  readonly payloadBytes: number;
  readonly size: number;
  readonly resolve: (seq: number) => void;
  readonly reject: (e: unknown) => void;
}

/** A frame's size on disk before it is encoded (header + tenant + payload). */
function frameSize(tenant: string, payloadBytes: number): number {
  return 28 + Buffer.byteLength(tenant) + payloadBytes;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function walId(dir: string, fsync: boolean): Promise<string> {
  const file = path.join(dir, 'wal.id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{16,64}$/.test(id)) return id;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const id = randomBytes(8).toString('hex');
  await writeFile(`${file}.tmp`, `${id}\n`);
  await rename(`${file}.tmp`, file);
  if (fsync) await fsyncDir(dir);
  return id;
}

/** Opens (creating or replaying) the WAL in opts.dir. */
export async function openWal(opts: WalOptions): Promise<Wal> {
  try {
    await mkdir(opts.dir, { recursive: true });
  } catch (e) {
    throw new FleetwatchError('FW_ERR_STORAGE_DATA_DIR', `cannot create the WAL directory ${opts.dir}: ${(e as Error).message}; choose another with --data-dir`);
  }
  const id = await walId(opts.dir, opts.fsync !== 'never');
  const wal = new FileWal(opts, id);
  await wal.replay();
  return wal;
}

class FileWal implements Wal {
  private segments: Segment[] = [];
  private active!: Segment;
  private activeFh!: FileHandle;
  private nextSeq = 1;
  private written = 0;
  private durable = 0;
  private released = 0;
  private totalBytes = 0;
  private pendingBytes = 0;
  private pending: PendingAppend[] = [];
  private chain: Promise<void> = Promise.resolve();
  private draining = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private fsyncTimer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  private dropListeners: ((a: number, b: number) => void)[] = [];
  private readonly segmentBytes: number;
  private readonly now: () => number;
  private readonly m;

  constructor(private readonly opts: WalOptions, readonly id: string) {
    this.segmentBytes = Math.max(4096, Math.min(opts.segmentBytes, Math.floor(opts.maxBytes / 4)));
    this.now = opts.now ?? Date.now;
    const r = opts.registry;
    const pre = opts.metricPrefix ?? 'fleetwatch_collector_wal';
    this.m = r
      ? {
          appends: counter(r, `${pre}_appends_total`, 'WAL appends by outcome (ok, full, too_large, error)', ['outcome']),
          appendedBytes: counter(r, `${pre}_appended_bytes_total`, 'bytes appended to the WAL'),
          dropped: counter(r, `${pre}_dropped_records_total`, 'unshipped records deleted by the drop-oldest policy (a batch already in flight is still delivered)'),
          corrupt: counter(r, `${pre}_corrupt_bytes_total`, 'bytes skipped as torn or corrupt (replay and read-back)'),
          fsync: histogram(r, `${pre}_fsync_duration_seconds`, 'WAL fdatasync latency', [], [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]),
        }
      : undefined;
    if (r) {
      gauge(r, `${pre}_bytes`, 'bytes in WAL segment files', [], () => this.totalBytes);
      gauge(r, `${pre}_segments`, 'WAL segment files', [], () => this.segments.length);
      gauge(r, `${pre}_records`, 'WAL records not yet shipped', [], () => this.stats().records);
      gauge(r, `${pre}_unshipped_bytes`, 'bytes of WAL records not yet shipped', [], () => this.stats().unreleasedBytes);
      gauge(r, `${pre}_max_bytes`, 'WAL size cap', [], () => this.opts.maxBytes);
    }
  }

  get lastSeq(): number {
    return this.written;
  }

  get durableSeq(): number {
    return this.durable;
  }

  // --- replay ----------------------------------------------------------------

  async replay(): Promise<void> {
    const names = (await readdir(this.opts.dir)).filter((n) => NAME_RE.test(n)).sort();
    let maxNamed = 0;
    for (const name of names) {
      const firstSeq = Number(NAME_RE.exec(name)?.[1]);
      maxNamed = Math.max(maxNamed, firstSeq);
      const file = path.join(this.opts.dir, name);
      const seg: Segment = { firstSeq, path: file, bytes: 0, offsets: [], appendedMs: [] };
      const buf = await readFile(file);
      if (buf.length < MAGIC.length || Buffer.compare(buf.subarray(0, MAGIC.length), MAGIC) !== 0) {
        this.opts.log.warn({ segment: name, bytes: buf.length }, 'WAL: segment without a valid header skipped (torn at creation or not a WAL file)');
        this.m?.corrupt.inc(buf.length);
        await unlink(file);
        continue;
      }
      let off = MAGIC.length;
      let expected = firstSeq;
      while (off < buf.length) {
        const r = readFleetFrame(buf, off);
        let problem: string | undefined;
        if (!r.ok) problem = `${r.reason}: ${r.message}`;
        else if (r.frame.seq !== expected) problem = `sequence ${r.frame.seq} where ${expected} was expected`;
        if (problem !== undefined || !r.ok) {
          this.opts.log.warn(
            { segment: name, offset: off, skippedBytes: buf.length - off, recordsKept: seg.offsets.length, problem },
            'WAL: torn or corrupt tail skipped; the records before it replay',
          );
          this.m?.corrupt.inc(buf.length - off);
          // cut the tail so later reads and appends never meet it again
          await truncate(file, off);
          break;
        }
        seg.offsets.push(off);
        seg.appendedMs.push(r.frame.appendedMs);
        expected++;
        off = r.frame.end;
      }
      seg.bytes = Math.min(off, buf.length);
      this.segments.push(seg);
    }
    let lastWritten = 0;
    for (const s of this.segments) if (s.offsets.length > 0) lastWritten = Math.max(lastWritten, lastSeqOf(s));
    // An empty newest segment still tells, by its name, where numbering was.
    this.nextSeq = Math.max(lastWritten + 1, maxNamed, this.opts.minNextSeq ?? 1, 1);
    this.written = this.durable = this.nextSeq - 1;
    this.released = Math.max(this.opts.releasedSeq ?? 0, (this.segments[0]?.firstSeq ?? this.nextSeq) - 1);
    // empty segments carry nothing; the new active segment takes over numbering
    for (const s of [...this.segments]) {
      if (s.offsets.length === 0) {
        await unlink(s.path);
        this.segments.splice(this.segments.indexOf(s), 1);
      }
    }
    for (const s of this.segments) this.totalBytes += s.bytes;
    await this.createActive();
    await this.deleteReleased();
    if (this.segments.length > 1) {
      this.opts.log.info({ segments: this.segments.length - 1, records: this.stats().records, bytes: this.totalBytes, fromSeq: this.released + 1 }, 'WAL: replayed unshipped records');
    }
  }

  private async createActive(): Promise<void> {
    const seg: Segment = { firstSeq: this.nextSeq, path: path.join(this.opts.dir, segmentName(this.nextSeq)), bytes: MAGIC.length, offsets: [], appendedMs: [] };
    const fh = await open(seg.path, 'w+');
    await fh.write(MAGIC, 0, MAGIC.length, 0);
    if (this.opts.fsync !== 'never') {
      await fh.datasync();
      await fsyncDir(this.opts.dir);
    }
    this.active = seg;
    this.activeFh = fh;
    this.segments.push(seg);
    this.totalBytes += seg.bytes;
  }

  // --- appends ---------------------------------------------------------------

  append(type: FleetRecordType, tenant: string, whole: Uint8Array | readonly Uint8Array[]): Promise<number> {
    const payload = whole instanceof Uint8Array ? [whole] : whole;
    let payloadBytes = 0;
    for (const p of payload) payloadBytes += p.length;
    if (this.closed) return Promise.reject(new FleetwatchError('FW_ERR_WAL_IO', `${this.opts.owner ?? 'the collector'} is shutting down`));
    const size = frameSize(tenant, payloadBytes);
    if (size - payloadBytes > 1024) return Promise.reject(new FleetwatchError('FW_ERR_TENANT_INVALID', 'tenant id too long'));
    const maxRecord = Math.min(this.opts.maxBytes / 2, this.opts.maxRecordBytes ?? Infinity);
    if (size > maxRecord) {
      this.m?.appends.inc({ outcome: 'too_large' });
      return Promise.reject(new FleetwatchError('FW_ERR_INGEST_TOO_LARGE', `one request makes a record of ${size} bytes, more than ${maxRecord} (half the WAL cap, or what ${this.opts.downstream ?? 'central'} takes in one request); send smaller requests`));
    }
    if (this.totalBytes + this.pendingBytes + size > this.opts.maxBytes) {
      if (this.opts.fullPolicy === 'drop-oldest') this.dropOldest(size);
      if (this.totalBytes + this.pendingBytes + size > this.opts.maxBytes) {
        this.m?.appends.inc({ outcome: 'full' });
        return Promise.reject(new FleetwatchError('FW_ERR_WAL_FULL', `${this.totalBytes + this.pendingBytes} of ${this.opts.maxBytes} bytes used while ${this.opts.downstream ?? 'central'} is behind`));
      }
    }
    this.pendingBytes += size;
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ type, tenant, payload, payloadBytes, size, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        void this.serial(() => this.drain());
      }
    });
  }

  /** Runs file operations one at a time, in order. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        if (this.active.bytes >= this.segmentBytes && this.active.offsets.length > 0) await this.rotate();
        const take = this.pending;
        this.pending = [];
        const seg = this.active;
        const startBytes = seg.bytes;
        const startCount = seg.offsets.length;
        const firstSeq = this.nextSeq;
        const bufs: Uint8Array[] = [];
        let pos = startBytes;
        const nowMs = this.now();
        for (const p of take) {
          const header = encodeFleetFrameHeader(p.type, this.nextSeq++, nowMs, p.tenant, p.payload);
          seg.offsets.push(pos);
          seg.appendedMs.push(nowMs);
          bufs.push(header, ...p.payload);
          pos += header.length + p.payloadBytes;
        }
        const reserved = take.reduce((a, p) => a + p.size, 0);
        try {
          await writeAllAt(this.activeFh, bufs, startBytes);
          if (this.opts.fsync === 'always') await this.timedSync(this.activeFh);
        } catch (e) {
          // roll back: the records were never acknowledged; cut what may have reached the file
          seg.offsets.length = startCount;
          seg.appendedMs.length = startCount;
          this.nextSeq = firstSeq;
          this.pendingBytes -= reserved;
          await this.activeFh.truncate(startBytes).catch(() => undefined);
          const err = new FleetwatchError('FW_ERR_WAL_IO', `${seg.path}: ${(e as Error).message}`, { cause: e });
          this.opts.log.error({ err: (e as Error).message, segment: seg.path }, 'WAL: write failed');
          this.m?.appends.inc({ outcome: 'error' }, take.length);
          for (const p of take) p.reject(err);
          continue;
        }
        seg.bytes = pos;
        this.totalBytes += pos - startBytes;
        this.pendingBytes -= reserved;
        this.written = this.nextSeq - 1;
        if (this.opts.fsync !== 'batch') this.setDurable(this.written);
        else this.scheduleFsync();
        this.wakeReaders();
        this.m?.appends.inc({ outcome: 'ok' }, take.length);
        this.m?.appendedBytes.inc(pos - startBytes);
        for (let i = 0; i < take.length; i++) (take[i] as PendingAppend).resolve(firstSeq + i);
      }
    } finally {
      this.draining = false;
    }
  }

  private async timedSync(fh: FileHandle): Promise<void> {
    const t0 = performance.now();
    await fh.datasync();
    this.m?.fsync.observe((performance.now() - t0) / 1000);
  }

  private scheduleFsync(): void {
    if (this.fsyncTimer || this.closed) return;
    this.fsyncTimer = setTimeout(() => {
      this.fsyncTimer = undefined;
      void this.serial(async () => {
        const upTo = this.written;
        if (upTo <= this.durable) return;
        try {
          await this.timedSync(this.activeFh);
          this.setDurable(upTo);
        } catch (e) {
          this.opts.log.error({ err: (e as Error).message }, 'WAL: fsync failed; retrying');
          this.scheduleFsync();
        }
      });
    }, this.opts.fsyncIntervalMs);
  }

  private setDurable(seq: number): void {
    if (seq > this.durable) this.durable = seq;
  }

  private wakeReaders(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async rotate(): Promise<void> {
    if (this.opts.fsync !== 'never') await this.timedSync(this.activeFh);
    await this.activeFh.close();
    this.setDurable(this.written);
    await this.createActive();
  }

  /** drop-oldest: deletes whole segments, oldest first, until `need` more bytes fit. */
  private dropOldest(need: number): void {
    while (this.totalBytes + this.pendingBytes + need > this.opts.maxBytes && this.segments.length > 1) {
      const seg = this.segments[0] as Segment;
      if (seg === this.active) break;
      this.segments.shift();
      this.totalBytes -= seg.bytes;
      const last = lastSeqOf(seg);
      const from = Math.max(seg.firstSeq, this.released + 1);
      if (last >= from) {
        this.m?.dropped.inc(last - from + 1);
        this.opts.log.warn({ segment: path.basename(seg.path), fromSeq: from, toSeq: last }, 'WAL full: dropped the oldest unshipped records (collector.walFullPolicy=drop-oldest)');
        for (const l of this.dropListeners) l(from, last);
      }
      this.released = Math.max(this.released, last);
      void this.serial(() => unlink(seg.path).catch(() => undefined));
    }
  }

  onDrop(listener: (fromSeq: number, toSeq: number) => void): void {
    this.dropListeners.push(listener);
  }

  waitForRecords(afterSeq: number, signal?: AbortSignal): Promise<void> {
    if (this.written > afterSeq || this.closed || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  // --- reading back ----------------------------------------------------------

  read(fromSeq: number, maxBytes: number): Promise<WalRead | undefined> {
    return this.readSpan(fromSeq, this.written, maxBytes, false);
  }

  async readRange(firstSeq: number, lastSeq: number): Promise<WalRead> {
    const r = await this.readSpan(firstSeq, Math.min(lastSeq, this.written), Infinity, true);
    return { ...(r as WalRead), firstSeq, lastSeq };
  }

  private async readSpan(fromSeq: number, toSeq: number, maxBytes: number, exact: boolean): Promise<WalRead | undefined> {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let records = 0;
    let last = fromSeq - 1;
    let oldest = Infinity;
    if (fromSeq > toSeq) return exact ? { chunks, bytes, firstSeq: fromSeq, lastSeq: toSeq, records, oldestAppendedMs: this.now() } : undefined;
    for (const seg of [...this.segments]) {
      const n = seg.offsets.length;
      if (n === 0 || lastSeqOf(seg) < fromSeq) continue;
      if (seg.firstSeq > toSeq) break;
      const i0 = Math.max(0, fromSeq - seg.firstSeq);
      const iMax = Math.min(n - 1, toSeq - seg.firstSeq);
      // record ends, fixed now: the writer may append (and grow seg.bytes) while we read
      const segBytes = seg.bytes;
      const endOf = (i: number) => (i + 1 < n ? (seg.offsets[i + 1] as number) : segBytes);
      const start = seg.offsets[i0] as number;
      // stay within maxBytes, but always take at least one record
      let i1 = iMax;
      while (i1 > i0 && bytes + endOf(i1) - start > maxBytes) i1--;
      if (records > 0 && bytes + endOf(i0) - start > maxBytes) break;
      const ends: number[] = [];
      for (let i = i0; i <= i1; i++) ends.push(endOf(i) - start);
      const buf = await this.readFileRange(seg, start, start + (ends.at(-1) as number));
      if (buf) {
        // every frame is checked again: a disk can rot after the write
        let off = 0;
        for (let i = i0; i <= i1; i++) {
          const recEnd = ends[i - i0] as number;
          const fr = readFleetFrame(buf, off, recEnd);
          if (!fr.ok || fr.frame.seq !== seg.firstSeq + i || fr.frame.end !== recEnd) {
            this.opts.log.error({ segment: path.basename(seg.path), seq: seg.firstSeq + i, problem: fr.ok ? 'sequence or length mismatch' : fr.message }, 'WAL: a record failed its check on read-back and is skipped');
            this.m?.corrupt.inc(recEnd - off);
          } else {
            chunks.push(buf.subarray(off, recEnd));
            bytes += recEnd - off;
            records++;
            oldest = Math.min(oldest, seg.appendedMs[i] as number);
          }
          off = recEnd;
        }
      }
      last = seg.firstSeq + i1;
      if (i1 < iMax) break; // maxBytes reached
    }
    // nothing left of [fromSeq, toSeq] (dropped by drop-oldest): report the range, empty, so the
    // shipper moves past it instead of asking again
    if (last < fromSeq) last = toSeq;
    return { chunks, bytes, firstSeq: fromSeq, lastSeq: last, records, oldestAppendedMs: oldest === Infinity ? this.now() : oldest };
  }

  /** Reads through a handle of its own (the writer may switch segments meanwhile); undefined once the segment is gone. */
  private async readFileRange(seg: Segment, start: number, end: number): Promise<Buffer | undefined> {
    const buf = Buffer.allocUnsafe(end - start);
    let fh: FileHandle;
    try {
      fh = await open(seg.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      await readFully(fh, buf, start);
    } finally {
      await fh.close();
    }
    return buf;
  }

  // --- release and stats -----------------------------------------------------

  release(seq: number): Promise<void> {
    if (seq <= this.released) return Promise.resolve();
    this.released = seq;
    return this.serial(() => this.deleteReleased());
  }

  private async deleteReleased(): Promise<void> {
    while (this.segments.length > 1) {
      const seg = this.segments[0] as Segment;
      if (seg === this.active || lastSeqOf(seg) > this.released) break;
      this.segments.shift();
      this.totalBytes -= seg.bytes;
      await unlink(seg.path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
  }

  stats(): WalStats {
    let records = 0;
    let unreleasedBytes = 0;
    let oldest: number | undefined;
    for (const seg of this.segments) {
      const n = seg.offsets.length;
      if (n === 0) continue;
      const from = Math.max(0, this.released + 1 - seg.firstSeq);
      if (from >= n) continue;
      records += n - from;
      unreleasedBytes += seg.bytes - (seg.offsets[from] as number);
      oldest ??= seg.appendedMs[from];
    }
    return { bytes: this.totalBytes, unreleasedBytes, segments: this.segments.length, records, oldestUnreleasedMs: oldest };
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.closed = true;
      if (this.fsyncTimer) clearTimeout(this.fsyncTimer);
      this.fsyncTimer = undefined;
      await this.serial(async () => {
        if (this.opts.fsync !== 'never') await this.activeFh.datasync().catch(() => undefined);
        this.setDurable(this.written);
        await this.activeFh.close();
      });
      this.wakeReaders();
    })());
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of WAL segment at ${position + done}`);
    done += bytesRead;
  }
}
