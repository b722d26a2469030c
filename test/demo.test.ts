import { describe, it, expect } from 'vitest';
import { startTestCentral } from './helpers/central.ts';
import { startDemo, faultsAt } from '../cli/demo.ts';

describe('demo role', () => {
  it('injects faults on a schedule', () => {
    expect(faultsAt(2, 25).silent).toBe(true);
    expect(faultsAt(2, 85).silent).toBe(true); // the schedule repeats every 60 rounds
    expect(faultsAt(2, 31).silent).toBe(false);
    expect(faultsAt(0, 25).silent).toBe(false);
    expect(faultsAt(1, 45)).toMatchObject({ silent: false, errorRate: 0.3, slowFactor: 8 });
    expect(faultsAt(1, 10)).toMatchObject({ errorRate: 0.01, slowFactor: 1 });
  });

  it('simulated clusters send metrics, logs and traces to central', async () => {
    const central = await startTestCentral();
    const demo = startDemo(central, { clusters: 2, intervalMs: 200, linesPerRound: 20 });
    const db = central.store.database;
    const count = async (sql: string) => Number((await central.store.queryRows<{ n: string }>({ sql, params: {} }))[0]?.n ?? 0);
    let clusters = 0;
    for (let i = 0; i < 100 && clusters < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      clusters = await count(`SELECT uniqExact(labels['cluster']) AS n FROM ${db}.metrics_series WHERE metric_name = 'http_requests_total'`);
    }
    await demo.stop(); 
    expect(clusters).toBe(2);
    expect(await count(`SELECT count() AS n FROM ${db}.logs`)).toBeGreaterThan(0);
    expect(await count(`SELECT count() AS n FROM ${db}.spans WHERE service_name = 'shop'`)).toBeGreaterThan(0);
    await central.shutdown();
  }, 60_000);
});
