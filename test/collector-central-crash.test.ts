// Central killed with -9 (not shut down) while collector batches are being
// written: rows may be committed without their batch id recorded. The
// collector re-sends those batches, and ClickHouse's insert deduplication
// (the batch id as insert_deduplication_token) must keep them single. Central
// and the collector are real processes; afterwards this process opens
// central's data directory (its only chDB) and counts every sample.
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFleetwatch, freePort } from './helpers/proc.ts';
import { exactlyOnceProblems, startCollectorProcess, startLoad, storedCounts, waitDrained } from './helpers/collector.ts';
import { openEmbedded } from '../storage/index.ts';

describe('central killed with -9 under load', () => {
  it('keeps every acknowledged sample exactly once', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fw-crash-'));
    const port = await freePort();
    const centralArgs = ['all', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--log-level', 'error'];
    let central = await startFleetwatch(centralArgs, { port });
    const col = await startCollectorProcess({ central: central.url, token: '', env: { FLEETWATCH_COLLECTOR_SHIP_BATCH_BYTES: '256KiB', FLEETWATCH_COLLECTOR_SHIP_CONCURRENCY: '3' } });
    try {
      const load = startLoad(col.url, { metric: 'fault_crash', lanes: 3, samplesPerRequest: 400, pauseMs: 5 });
      for (let kill = 0; kill < 3; kill++) {
        // let batches flow, then kill central in the middle of them
        await new Promise((r) => setTimeout(r, 1500));
        central.child.kill('SIGKILL');
        await new Promise((r) => central.child.once('exit', r));
        central = await startFleetwatch(centralArgs, { port });
      }
      await new Promise((r) => setTimeout(r, 1000));
      const res = await load.stop();
      expect(res.unacked).toEqual([]);
      await waitDrained(col.url, 60_000);
      await central.stop();
      const store = await openEmbedded({ dataDir, database: 'fleetwatch' });
      try {
        const counts = await storedCounts(store, 'fleetwatch', 'fault_crash');
        expect(exactlyOnceProblems(counts, res.acked, load.nextId)).toEqual([]);
        expect(counts.size).toBe(res.acked.length);
      } finally {
        await store.close();
      }
    } finally {
      await col.stop();
      await central.stop();
    }
  }, 150_000);
});
