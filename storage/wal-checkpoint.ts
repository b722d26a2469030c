// A WAL's delivery checkpoint: which WAL ranges were sealed into batches and
// which of those were acknowledged downstream, so a restart resumes where
// delivery stopped and re-sends exactly the batches it sent before. The
// collector's shipper keeps one (downstream = central); central's ingest log
// keeps one (downstream = ClickHouse, the batch id its insert deduplication
// token). The comments below speak of the shipper.
//
// Why seal: a batch's id is its WAL range (wal id, first and last sequence
// number) and central deduplicates by id. If a restart regrouped records
// differently, a batch central already holds would come back under a new id
// and be written twice. So a batch's range is recorded here (and fsynced)
// before its first send, and after a restart every sealed, unacknowledged
// range is re-sent as the same batch.
//
// Format: an append-only file of 32-byte entries
//   u32 kind (1 sealed, 2 acknowledged, 3 base) | u32 crc32 of the rest |
//   f64 first sequence | f64 last sequence | f64 epoch of the shipper that sealed it
// "base" means every sequence number up to `last` is acknowledged. A torn
// last entry (crash mid-write) fails its CRC and is ignored. At start the
// file is rewritten compactly (base + what is still open).
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { FsyncPolicy } from './wal.ts';
import type { Logger } from '../core/index.ts';

export interface SealedBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** start time of the shipper run that sealed it (part of the batch id) */
  readonly epoch: number;
}

export interface ShipLog {
  /** every sequence number up to here is acknowledged by central */
  readonly ackedThrough: number;
  /** the highest sequence number any batch was sealed over */
  readonly sealedThrough: number;
  /** sealed batches central has not acknowledged yet, oldest first */
  pending(): SealedBatch[];
  /** Records a batch before its first send; resolves once durable per the fsync policy. */
  seal(firstSeq: number, lastSeq: number, epoch: number): Promise<void>;
  /** Records central's acknowledgement (written lazily: a lost ack only costs a deduplicated resend). */
  ack(firstSeq: number, lastSeq: number): Promise<void>;
  close(): Promise<void>;
}

const ENTRY = 32;
const SEALED = 1;
const ACKED = 2;
const BASE = 3;
const COMPACT_AFTER_ENTRIES = 50_000;

function entry(kind: number, first: number, last: number, epoch = 0): Buffer {
  const b = Buffer.allocUnsafe(ENTRY);
  b.writeUInt32LE(kind, 0);
  b.writeDoubleLE(first, 8);
  b.writeDoubleLE(last, 16);
  b.writeDoubleLE(epoch, 24);
  b.writeUInt32LE(crc32(b.subarray(8), crc32(b.subarray(0, 4))), 4);
  return b;
}

export async function openShipLog(opts: { dir: string; fsync: FsyncPolicy; log: Logger; file?: string }): Promise<ShipLog> {
  const file = path.join(opts.dir, opts.file ?? 'shipped.log');
  let buf: Buffer = Buffer.alloc(0);
  try {
    buf = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  let base = 0;
  const sealed = new Map<number, { last: number; epoch: number }>();
  const acked = new Map<number, number>();
  let off = 0;
  for (; off + ENTRY <= buf.length; off += ENTRY) {
    const e = buf.subarray(off, off + ENTRY);
    if (e.readUInt32LE(4) !== crc32(e.subarray(8), crc32(e.subarray(0, 4)))) break;
    const kind = e.readUInt32LE(0);
    const first = e.readDoubleLE(8);
    const last = e.readDoubleLE(16);
    if (kind === BASE) base = Math.max(base, last);
    else if (kind === SEALED) sealed.set(first, { last, epoch: e.readDoubleLE(24) });
    else if (kind === ACKED) acked.set(first, last);
    else break;
  }
  if (off < buf.length) opts.log.warn({ file, offset: off, skippedBytes: buf.length - off }, 'ship checkpoint: torn or corrupt tail ignored (batches past it are re-sent, central deduplicates them)');
  const state = new State(base, sealed, acked);
  // rewrite compactly, then append from there
  const tmp = `${file}.tmp`;
  const fh0 = await open(tmp, 'w');
  await fh0.write(state.snapshot());
  if (opts.fsync !== 'never') await fh0.datasync();
  await fh0.close();
  await rename(tmp, file);
  if (opts.fsync !== 'never') {
    const d = await open(opts.dir, 'r');
    await d.sync();
    await d.close();
  }
  const fh = await open(file, 'a');
  return new FileShipLog(fh, file, opts.fsync, state);
}

class State {
  sealedThrough: number;
  constructor(
    public ackedThrough: number,
    /** first -> last and epoch of sealed, unacknowledged batches */
    readonly sealed: Map<number, { last: number; epoch: number }>,
    /** acknowledged ranges above ackedThrough (acks arrive out of order) */
    readonly acked: Map<number, number>,
  ) {
    this.sealedThrough = ackedThrough;
    for (const [, s] of sealed) this.sealedThrough = Math.max(this.sealedThrough, s.last);
    for (const [, l] of acked) this.sealedThrough = Math.max(this.sealedThrough, l);
    this.advance();
  }

  advance(): void {
    for (const [f, l] of this.acked) if (l <= this.ackedThrough) this.acked.delete(f);
    let moved = true;
    while (moved) {
      moved = false;
      for (const [f, l] of this.acked) {
        if (f <= this.ackedThrough + 1) {
          this.ackedThrough = Math.max(this.ackedThrough, l);
          this.acked.delete(f);
          moved = true;
        }
      }
    }
    for (const [f, s] of this.sealed) if (s.last <= this.ackedThrough || this.acked.get(f) === s.last) this.sealed.delete(f);
  }

  snapshot(): Buffer {
    const parts = [entry(BASE, 0, this.ackedThrough)];
    for (const [f, l] of this.acked) parts.push(entry(ACKED, f, l));
    for (const [f, s] of this.sealed) parts.push(entry(SEALED, f, s.last, s.epoch));
    return Buffer.concat(parts);
  }
}

class FileShipLog implements ShipLog {
  private chain: Promise<void> = Promise.resolve();
  private entries = 0;
  private closed = false;

  constructor(private fh: FileHandle, private readonly file: string, private readonly fsync: FsyncPolicy, private readonly state: State) {
    this.entries = 1 + state.sealed.size + state.acked.size;
  }

  get ackedThrough(): number {
    return this.state.ackedThrough;
  }

  get sealedThrough(): number {
    return this.state.sealedThrough;
  }

  pending(): SealedBatch[] {
    return [...this.state.sealed].sort((a, b) => a[0] - b[0]).map(([firstSeq, s]) => ({ firstSeq, lastSeq: s.last, epoch: s.epoch }));
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  seal(firstSeq: number, lastSeq: number, epoch: number): Promise<void> {
    this.state.sealed.set(firstSeq, { last: lastSeq, epoch });
    this.state.sealedThrough = Math.max(this.state.sealedThrough, lastSeq);
    return this.serial(async () => {
      await this.fh.write(entry(SEALED, firstSeq, lastSeq, epoch));
      this.entries++;
      if (this.fsync !== 'never') await this.fh.datasync();
    });
  }

  ack(firstSeq: number, lastSeq: number): Promise<void> {
    this.state.sealed.delete(firstSeq);
    this.state.acked.set(firstSeq, lastSeq);
    this.state.advance();
    if (this.closed) return Promise.resolve();
    return this.serial(async () => {
      await this.fh.write(entry(ACKED, firstSeq, lastSeq));
      this.entries++;
      if (this.entries > COMPACT_AFTER_ENTRIES) await this.compact();
    });
  }

  private async compact(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const t = await open(tmp, 'w');
    await t.write(this.state.snapshot());
    if (this.fsync !== 'never') await t.datasync();
    await t.close();
    await this.fh.close();
    await rename(tmp, this.file);
    this.fh = await open(this.file, 'a');
    this.entries = 1 + this.state.sealed.size + this.state.acked.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.serial(async () => {
      if (this.fsync !== 'never') await this.fh.datasync().catch(() => undefined);
      await this.fh.close();
    });
  }
}
