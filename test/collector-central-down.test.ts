// Fault test 1 (issue 5): central is down for 60 s while load continues.
// The collector keeps acknowledging its clients (the WAL holds the data);
// once central is back, every sample arrives exactly once, checked in
// central's ClickHouse. Central runs in this process and is shut down for
// real (HTTP closed, ingest flushed) and restarted on the same port and
// database; the collector is a real process.
import { describe, it, expect } from 'vitest';
import { startTestCentral } from './helpers/central.ts';
import { testStore } from './helpers/store.ts';
import { freePort } from './helpers/proc.ts';
import { TOKEN, exactlyOnceProblems, scrapeMetric, startCollectorProcess, startLoad, storedCounts, waitDrained } from './helpers/collector.ts';

const DOWN_MS = 60_000;

describe('central down for 60 s under load', () => {
  it('delivers every sample exactly once after recovery', async () => {
    // keeps this process's chDB session open while central is down
    const keeper = await testStore({ migrate: false });
    const port = await freePort();
    const database = `down_${process.pid}_${Date.now().toString(36)}`;
    const overrides = { auth: { clusterTokens: [`east=${TOKEN}`] }, server: { httpListen: `127.0.0.1:${port}` }, storage: { database } };
    let central = await startTestCentral(overrides);
    const col = await startCollectorProcess({ central: central.httpUrl });
    try {
      const load = startLoad(col.url, { metric: 'fault_down', lanes: 2, samplesPerRequest: 200, pauseMs: 40 });
      await new Promise((r) => setTimeout(r, 3_000));
      await central.shutdown();
      const ackedAtDown = load.ackedCount;
      await new Promise((r) => setTimeout(r, DOWN_MS));
      // the collector kept taking data, and knows it is behind
      expect(load.ackedCount - ackedAtDown).toBeGreaterThan(50_000);
      expect(await scrapeMetric(col.url, 'fleetwatch_collector_shipping_lag_seconds')).toBeGreaterThan(30);
      expect(await scrapeMetric(col.url, 'fleetwatch_collector_wal_records')).toBeGreaterThan(100);

      central = await startTestCentral(overrides);
      await new Promise((r) => setTimeout(r, 2_000));
      const res = await load.stop();
      expect(res.unacked).toEqual([]);
      await waitDrained(col.url, 60_000);
      const counts = await storedCounts(central.store, database, 'fault_down');
      expect(exactlyOnceProblems(counts, res.acked, load.nextId)).toEqual([]);
      expect(counts.size).toBe(res.acked.length);
      // the registry shows the collector caught up
      let entry: { queueRecords: number } | undefined;
      for (let i = 0; i < 40; i++) {
        const r = (await (await fetch(`${central.httpUrl}/api/v1/fleet/clusters`)).json()) as { data: { cluster: string; queueRecords: number }[] };
        entry = r.data.find((c) => c.cluster === 'east');
        if (entry?.queueRecords === 0) break;
        await new Promise((res2) => setTimeout(res2, 250));
      }
      expect(entry?.queueRecords).toBe(0);
    } finally {
      await col.stop();
      await central.shutdown();
      await keeper.close();
    }
  }, 150_000);
});
