// The shipper: drains the WAL to central in compressed fleet batches
// (protocols/fleet-batch.ts) with idempotent ids, so a fault costs time,
// never data.
//
// - A batch is a run of WAL records, at most collector.shipBatchBytes, read
//   once durable. Under light load the shipper lingers up to
//   collector.shipLingerMs for a fuller batch.
// - Its id is "<wal id>-<epoch>-<first seq>-<last seq>", the epoch being the
//   start time of the shipper run that formed it. The range and epoch are
//   sealed in the ship checkpoint (storage/wal-checkpoint.ts) before the first send, so
//   after a crash the same records go out again under the same id; central
//   remembers the ids it has stored (and inserts with the id as ClickHouse's
//   deduplication token), so a resend is acknowledged without a second copy.
//   The epoch keeps a new batch from ever taking an old batch's id, even when
//   an OS crash made the WAL hand out sequence numbers again.
// - Up to collector.shipConcurrency batches are in flight; each retries with
//   exponential backoff and jitter until central takes it, honouring
//   Retry-After. Only an answer that says the batch can never be accepted
//   (400/413/415/422), given MAX_REFUSALS times, gives up on it, counted and
//   logged.
// - When a batch is acknowledged the checkpoint records it and the WAL may
//   delete segments that are wholly shipped.
import { counter, gauge, histogram, type MetricsRegistry } from '../core/index.ts';
import { FLEET_BATCH_CONTENT_TYPE, FLEET_BATCH_MAGIC, snappyCompress } from '../protocols/index.ts';
import { backoffMs, isRetryableStatus, type CentralClient } from './central-client.ts';
import type { Logger } from '../core/index.ts';
import type { ShipLog, Wal, WalRead } from '../storage/index.ts';

export interface ShipperOptions {
  readonly wal: Wal;
  readonly shipLog: ShipLog;
  readonly client: CentralClient;
  readonly maxBatchBytes: number;
  readonly concurrency: number;
  readonly lingerMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly log: Logger;
  readonly registry?: MetricsRegistry;
  readonly now?: () => number;
  /** identifies this run in batch ids (default: the start time) */
  readonly epoch?: number;
}

export interface Shipper {
  start(): void;
  /**
   * Stops taking new batches; a send under way gets up to graceMs to finish,
   * a batch waiting to retry stops at once (both stay sealed and are re-sent
   * after a restart).
   */
  shutdown(graceMs: number): Promise<void>;
  /** the last failure, '' once a send succeeded again */
  readonly lastError: string;
  readonly inflight: number;
}

export const BATCH_PATH = '/api/v1/fleet/batches';

/**
 * How many times an answer that says "never" (400/413/415/422) is believed
 * before the batch is given up. Not once: a stream cut mid-upload reaches
 * central as a body shorter than its Content-Length, which also answers 400,
 * and the batch itself is fine. Several refusals in a row mean it is not.
 */
const MAX_REFUSALS = 5;

interface BatchRange {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly epoch: number;
}

export function createShipper(opts: ShipperOptions): Shipper {
  const { wal, shipLog, log } = opts;
  const now = opts.now ?? Date.now;
  const epoch = opts.epoch ?? now();
  const stop = new AbortController();
  const hardStop = new AbortController();
  let running: Promise<void> | undefined;
  let lastError = '';
  let inflight = 0;
  const inflightDone = new Set<Promise<void>>();
  let slotWaiters: (() => void)[] = [];

  const r = opts.registry;
  const m = r
    ? {
        batches: counter(r, 'fleetwatch_collector_shipped_batches_total', 'batches central acknowledged (duplicate = central already had it)', ['outcome']),
        records: counter(r, 'fleetwatch_collector_shipped_records_total', 'WAL records central acknowledged'),
        bytes: counter(r, 'fleetwatch_collector_shipped_bytes_total', 'bytes shipped by stage (raw frames, compressed on the wire)', ['stage']),
        failures: counter(r, 'fleetwatch_collector_ship_failures_total', 'failed batch sends by reason', ['reason']),
        retries: counter(r, 'fleetwatch_collector_ship_retries_total', 'batch sends retried'),
        dropped: counter(r, 'fleetwatch_collector_ship_dropped_records_total', 'WAL records given up on because central can never accept their batch'),
        rejected: counter(r, 'fleetwatch_collector_ship_rejected_total', 'samples, log records and spans central refused (limits); not retried'),
        duration: histogram(r, 'fleetwatch_collector_ship_duration_seconds', 'from first send to acknowledgement of a batch', [], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]),
      }
    : undefined;
  if (r) {
    gauge(r, 'fleetwatch_collector_ship_inflight_batches', 'batches being sent', [], () => inflight);
    gauge(r, 'fleetwatch_collector_shipping_lag_seconds', 'age of the oldest record not yet acknowledged by central (0 when caught up)', [], () => {
      const o = wal.stats().oldestUnreleasedMs;
      return o === undefined ? 0 : Math.max(0, (now() - o) / 1000);
    });
    gauge(r, 'fleetwatch_collector_shipped_through_seq', 'every WAL record up to this sequence number is acknowledged', [], () => shipLog.ackedThrough);
  }

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });

  const waitForSlot = async (): Promise<void> => {
    while (inflight >= opts.concurrency && !stop.signal.aborted) {
      await new Promise<void>((resolve) => slotWaiters.push(resolve));
    }
  };

  const acknowledge = async (b: BatchRange): Promise<void> => {
    await shipLog.ack(b.firstSeq, b.lastSeq);
    await wal.release(shipLog.ackedThrough);
  };

  const send = async (b: BatchRange, read: WalRead | undefined, resend: boolean): Promise<void> => {
    const data = read ?? (await wal.readRange(b.firstSeq, b.lastSeq));
    if (data.records === 0) {
      // everything in the range was dropped (drop-oldest) or failed its checksum
      await acknowledge(b);
      return;
    }
    const raw = Buffer.concat([FLEET_BATCH_MAGIC, ...data.chunks]);
    const body = await snappyCompress(raw);
    const id = `${wal.id}-${b.epoch}-${b.firstSeq}-${b.lastSeq}`;
    const t0 = now();
    let refusals = 0;
    for (let attempt = 0; ; attempt++) {
      if (hardStop.signal.aborted) return; // sealed: re-sent after a restart
      const answer = await opts.client.post(BATCH_PATH, body, { 'content-type': FLEET_BATCH_CONTENT_TYPE, 'content-encoding': 'snappy', 'x-fleetwatch-batch-id': id, 'x-fleetwatch-resend': resend || attempt > 0 ? '1' : '0' }, hardStop.signal);
      if (answer.status === 200) {
        let duplicate = false;
        try {
          const j = JSON.parse(answer.text) as { data?: { duplicate?: boolean; rejected?: number } };
          duplicate = j.data?.duplicate === true;
          if (j.data?.rejected) m?.rejected.inc(j.data.rejected);
        } catch {
          // an empty or non-JSON 200 is still an acknowledgement
        }
        m?.batches.inc({ outcome: duplicate ? 'duplicate' : 'stored' });
        m?.records.inc(data.records);
        m?.bytes.inc({ stage: 'raw' }, raw.length);
        m?.bytes.inc({ stage: 'compressed' }, body.length);
        m?.duration.observe((now() - t0) / 1000);
        lastError = '';
        break;
      }
      if (hardStop.signal.aborted) return;
      const reason = answer.status === 0 ? 'network' : String(answer.status);
      m?.failures.inc({ reason });
      lastError = answer.status === 0 ? answer.text : `central answered ${answer.status}: ${answer.text.trim().slice(0, 300)}`;
      if (answer.status !== 0 && !isRetryableStatus(answer.status) && ++refusals >= MAX_REFUSALS) {
        log.error({ batch: id, status: answer.status, records: data.records, answer: answer.text.slice(0, 500) }, 'central refused this batch repeatedly; giving up on it');
        m?.dropped.inc(data.records);
        break;
      }
      if (attempt === 0 || attempt % 10 === 0) log.warn({ batch: id, attempt: attempt + 1, error: lastError }, 'shipping a batch failed; retrying with backoff');
      // shutting down: a batch waiting to retry stays sealed and goes out after the restart
      if (stop.signal.aborted) return;
      m?.retries.inc();
      const delay = Math.max(backoffMs(attempt, opts.minBackoffMs, opts.maxBackoffMs), Math.min(answer.retryAfterMs ?? 0, opts.maxBackoffMs));
      await sleep(delay, stop.signal);
      if (stop.signal.aborted) return;
    }
    await acknowledge(b);
  };

  const launch = (b: BatchRange, read: WalRead | undefined, resend: boolean): void => {
    inflight++;
    const p: Promise<void> = send(b, read, resend)
      .catch((e: unknown) => {
        // a local failure (reading the WAL): leave it sealed, it goes out after a restart
        lastError = (e as Error).message;
        log.error({ err: (e as Error).message, firstSeq: b.firstSeq, lastSeq: b.lastSeq }, 'shipping a batch failed locally');
      })
      .finally(() => {
        inflight--;
        inflightDone.delete(p);
        const w = slotWaiters;
        slotWaiters = [];
        for (const f of w) f();
      });
    inflightDone.add(p);
  };

  const run = async (): Promise<void> => {
    // batches sealed before a restart go out first, under their old ids
    for (const b of shipLog.pending()) {
      await waitForSlot();
      if (stop.signal.aborted) return;
      launch(b, undefined, true);
    }
    let next = Math.max(shipLog.sealedThrough, shipLog.ackedThrough) + 1;
    while (!stop.signal.aborted) {
      await waitForSlot();
      if (stop.signal.aborted) break;
      if (wal.lastSeq < next) {
        await wal.waitForRecords(next - 1, stop.signal);
        continue;
      }
      let read = await wal.read(next, opts.maxBatchBytes);
      if (!read) continue;
      const ageMs = now() - read.oldestAppendedMs;
      if (read.bytes < opts.maxBatchBytes / 2 && ageMs < opts.lingerMs) {
        // wait for a fuller batch, but never longer than the linger time
        await sleep(opts.lingerMs - ageMs, stop.signal);
        if (stop.signal.aborted) break;
        read = (await wal.read(next, opts.maxBatchBytes)) ?? read;
      }
      const b = { firstSeq: next, lastSeq: read.lastSeq, epoch };
      await shipLog.seal(b.firstSeq, b.lastSeq, b.epoch);
      next = b.lastSeq + 1;
      launch(b, read, false);
    }
  };

  return {
    start() {
      running ??= run().catch((e: unknown) => {
        lastError = (e as Error).message;
        log.error({ err: (e as Error).message }, 'the shipper stopped');
      });
    },
    async shutdown(graceMs) {
      stop.abort();
      for (const f of slotWaiters.splice(0)) f();
      await running;
      const all = Promise.all([...inflightDone]);
      const t = setTimeout(() => hardStop.abort(), graceMs);
      await all;
      clearTimeout(t);
      hardStop.abort();
    },
    get lastError() {
      return lastError;
    },
    get inflight() {
      return inflight;
    },
  };
}
