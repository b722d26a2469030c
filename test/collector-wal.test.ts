// The collector's WAL and ship checkpoint on their own: appends, read-back,
// replay, torn and corrupt tails, the size cap under both policies.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, statSync, truncateSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openWal, openShipLog, type Wal, type WalOptions } from '../storage/index.ts';
import { FLEET_RECORD_METRICS, readFleetFrame } from '../protocols/index.ts';
import { isFleetwatchError } from '../core/index.ts';
import type { Logger } from '../core/index.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'fw-wal-'));

function recorder(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return {
    warnings,
    errors,
    info: () => undefined,
    warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`),
    error: (o, m) => errors.push(`${m} ${JSON.stringify(o)}`),
  };
}

function opts(dir: string, over: Partial<WalOptions> = {}): WalOptions {
  return { dir, maxBytes: 64 * 1024 * 1024, segmentBytes: 64 * 1024, fsync: 'always', fsyncIntervalMs: 50, fullPolicy: 'backpressure', log: recorder(), ...over };
}

const payload = (i: number, size = 1000) => {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(i, 0);
  return b;
};

/** the payload ids (first u32) of every record readable from `from` on */
async function readIds(wal: Wal, from = 1): Promise<number[]> {
  const ids: number[] = [];
  for (let next = from; ; ) {
    const r = await wal.read(next, 1 << 20);
    if (!r) break;
    for (const chunk of r.chunks) {
      const f = readFleetFrame(chunk, 0);
      if (!f.ok) throw new Error(f.message);
      ids.push(chunk.readUInt32LE(f.frame.payloadStart));
    }
    next = r.lastSeq + 1;
  }
  return ids;
}

describe('WAL', () => {
  it('appends, reads back in order across segments, and replays after a restart', async () => {
    const dir = tmp();
    const wal = await openWal(opts(dir));
    const seqs: number[] = [];
    // groups of concurrent appends (one group commit each)
    for (let g = 0; g < 30; g++) seqs.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => wal.append(FLEET_RECORD_METRICS, 'fake', payload(g * 10 + i))))));
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(wal.durableSeq).toBe(300);
    expect(wal.stats().segments).toBeGreaterThan(3); // 300 KB over 64 KiB segments
    expect(await readIds(wal)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await wal.close();
    await expect(wal.append(FLEET_RECORD_METRICS, 'fake', payload(0))).rejects.toThrow(/shutting down/);

    const again = await openWal(opts(dir));
    expect(await readIds(again)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // numbering continues after the replayed records
    expect(await again.append(FLEET_RECORD_METRICS, 'fake', payload(300))).toBe(301);
    await again.close();
  });

  it('reads back while appends are being written (regression: a read must not trust sizes that grow under it)', async () => {
    const dir = tmp();
    const log = recorder();
    const wal = await openWal(opts(dir, { fsync: 'never', segmentBytes: 256 * 1024, log }));
    let stop = false;
    // appends keep arriving (not waiting for each other) while the reader reads
    const writer = (async () => {
      const all: Promise<number>[] = [];
      for (let g = 0; g < 200; g++) {
        for (let i = 0; i < 5; i++) all.push(wal.append(FLEET_RECORD_METRICS, 'fake', payload(g * 5 + i, 200 + ((g * 7 + i) % 13) * 100)));
        await new Promise((res) => setImmediate(res));
      }
      await Promise.all(all);
      stop = true;
    })();
    const seen: number[] = [];
    let next = 1;
    while (!stop || next <= wal.lastSeq) {
      const r = await wal.read(next, 1 << 20);
      if (!r) {
        await new Promise((res) => setImmediate(res));
        continue;
      }
      for (const chunk of r.chunks) {
        const f = readFleetFrame(chunk, 0);
        if (!f.ok) throw new Error(f.message);
        seen.push(chunk.readUInt32LE(f.frame.payloadStart));
      }
      next = r.lastSeq + 1;
    }
    await writer;
    expect(log.errors).toEqual([]);
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    await wal.close();
  });

  it('cuts a torn tail with a warning and replays the records before it', async () => {
    const dir = tmp();
    const wal = await openWal(opts(dir, { segmentBytes: 1 << 30 }));
    for (let i = 0; i < 20; i++) await wal.append(FLEET_RECORD_METRICS, 'fake', payload(i));
    await wal.close();
    const seg = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort()[0] as string;
    const file = path.join(dir, seg);
    truncateSync(file, statSync(file).size - 300); // the last record loses its end, as in a crash mid-write
    const log = recorder();
    const again = await openWal(opts(dir, { log, segmentBytes: 1 << 30 }));
    expect(log.warnings.join('\n')).toMatch(/torn or corrupt tail skipped.*"recordsKept":19/);
    expect(await readIds(again)).toEqual(Array.from({ length: 19 }, (_, i) => i));
    // the torn record's number is handed out again: it was never acknowledged
    expect(await again.append(FLEET_RECORD_METRICS, 'fake', payload(99))).toBe(20);
    expect(await readIds(again)).toEqual([...Array.from({ length: 19 }, (_, i) => i), 99]);
    await again.close();
  });

  it('skips a corrupt record (checksum) and everything after it in that segment, with a warning; other segments replay', async () => {
    const dir = tmp();
    const wal = await openWal(opts(dir, { segmentBytes: 10 * 1024 }));
    for (let i = 0; i < 40; i++) await wal.append(FLEET_RECORD_METRICS, 'fake', payload(i));
    await wal.close();
    const segs = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
    expect(segs.length).toBeGreaterThan(2);
    // flip one payload byte in the middle of the second segment
    const file = path.join(dir, segs[1] as string);
    const buf = readFileSync(file);
    const firstSeqOfSeg = Number(segs[1]?.slice(0, 20));
    buf[8 + 1040 * 3 + 500] = (buf[8 + 1040 * 3 + 500] as number) ^ 0xff; // 8-byte header, ~1040-byte frames: inside the 4th record
    writeFileSync(file, buf);
    const log = recorder();
    const again = await openWal(opts(dir, { log, segmentBytes: 10 * 1024 }));
    expect(log.warnings.join('\n')).toMatch(/checksum mismatch/);
    const ids = await readIds(again);
    const lostFrom = firstSeqOfSeg - 1 + 3; // payload id = seq - 1
    const lastOfSeg = Number(segs[2]?.slice(0, 20)) - 2;
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i < lostFrom || i > lastOfSeg));
    expect(ids.length).toBeGreaterThan(30);
    await again.close();
  });

  it('answers FW_ERR_WAL_FULL at the cap (backpressure) and keeps everything it accepted', async () => {
    const dir = tmp();
    const wal = await openWal(opts(dir, { maxBytes: 200 * 1024, segmentBytes: 32 * 1024 }));
    const accepted: number[] = [];
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      try {
        await wal.append(FLEET_RECORD_METRICS, 'fake', payload(i));
        accepted.push(i);
      } catch (e) {
        expect(isFleetwatchError(e) && e.code === 'FW_ERR_WAL_FULL' && e.status === 429).toBe(true);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(wal.stats().bytes).toBeLessThanOrEqual(200 * 1024);
    expect(await readIds(wal)).toEqual(accepted);
    // once shipped and released, there is room again
    await wal.release(wal.lastSeq);
    expect(wal.stats().records).toBe(0);
    await expect(wal.append(FLEET_RECORD_METRICS, 'fake', payload(1000))).resolves.toBeGreaterThan(0);
    await wal.close();
  });

  it('drop-oldest deletes the oldest segments, reports the dropped range and keeps accepting', async () => {
    const dir = tmp();
    const wal = await openWal(opts(dir, { maxBytes: 200 * 1024, segmentBytes: 32 * 1024, fullPolicy: 'drop-oldest' }));
    const dropped: [number, number][] = [];
    wal.onDrop((a, b) => dropped.push([a, b]));
    for (let i = 0; i < 400; i++) await wal.append(FLEET_RECORD_METRICS, 'fake', payload(i));
    expect(dropped.length).toBeGreaterThan(0);
    expect(wal.stats().bytes).toBeLessThanOrEqual(200 * 1024);
    const ids = await readIds(wal);
    const droppedCount = dropped.reduce((a, [x, y]) => a + y - x + 1, 0);
    // a read that starts inside the dropped range covers it and goes on to what survives
    const inGap = await wal.read(1, 1 << 20);
    expect(inGap?.firstSeq).toBe(1);
    expect(inGap?.records).toBeGreaterThan(0);
    expect(ids.length + droppedCount).toBe(400);
    expect(ids.at(-1)).toBe(399); // the newest survive
    expect(ids[0]).toBe((dropped.at(-1) as [number, number])[1]); // seq = id + 1
    await wal.close();
  });

  it('refuses a record larger than maxRecordBytes (413) and keeps going', async () => {
    const wal = await openWal(opts(tmp(), { maxRecordBytes: 4096 }));
    await expect(wal.append(FLEET_RECORD_METRICS, 'fake', payload(1, 5000))).rejects.toMatchObject({ code: 'FW_ERR_INGEST_TOO_LARGE', status: 413 });
    expect(await wal.append(FLEET_RECORD_METRICS, 'fake', payload(2, 3000))).toBe(1);
    await wal.close();
  });

  it('keeps numbering when every segment is released (batch ids are never reused)', async () => {
    const dir = tmp();
    const wal = await openWal(opts(dir, { fsync: 'batch' }));
    for (let i = 0; i < 10; i++) await wal.append(FLEET_RECORD_METRICS, 'fake', payload(i));
    await wal.waitForRecords(9);
    expect(wal.lastSeq).toBe(10);
    // fsync=batch: the periodic fsync catches up
    for (let i = 0; i < 100 && wal.durableSeq < 10; i++) await new Promise((r) => setTimeout(r, 20));
    expect(wal.durableSeq).toBe(10);
    await wal.release(10);
    await wal.close();
    const again = await openWal(opts(dir));
    expect(await again.append(FLEET_RECORD_METRICS, 'fake', payload(10))).toBe(11);
    await again.close();
  });
});

describe('ship checkpoint', () => {
  it('remembers sealed and acknowledged ranges across a restart, ignoring a torn entry', async () => {
    const dir = tmp();
    const a = await openShipLog({ dir, fsync: 'always', log: recorder() });
    await a.seal(1, 10, 7);
    await a.seal(11, 20, 7);
    await a.seal(21, 30, 7);
    await a.ack(11, 20); // out of order
    expect(a.ackedThrough).toBe(0);
    await a.ack(1, 10);
    expect(a.ackedThrough).toBe(20);
    await a.seal(31, 40, 8);
    await a.close();
    appendFileSync(path.join(dir, 'shipped.log'), Buffer.from('torn entry'));
    const log = recorder();
    const b = await openShipLog({ dir, fsync: 'always', log });
    expect(log.warnings.join()).toMatch(/torn or corrupt tail/);
    expect(b.ackedThrough).toBe(20);
    expect(b.sealedThrough).toBe(40);
    expect(b.pending()).toEqual([
      { firstSeq: 21, lastSeq: 30, epoch: 7 },
      { firstSeq: 31, lastSeq: 40, epoch: 8 },
    ]);
    await b.close();
  });
});
