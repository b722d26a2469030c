// Clients configured for Loki's or Mimir's OTLP paths (/otlp/v1/...) work too.
import { describe, it, expect } from 'vitest';
import { startTestCentral } from './helpers/central.ts';

describe('OTLP/HTTP under /otlp/v1', () => {
  it('accepts logs, metrics and traces on the /otlp prefix', async () => {
    const central = await startTestCentral();
    try {
      const now = BigInt(Date.now()) * 1_000_000n;
      const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'paths' } }] };
      const post = (path: string, body: unknown) => fetch(`${central.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': 'otlp-paths' }, body: JSON.stringify(body) });
      const logs = await post('/otlp/v1/logs', { resourceLogs: [{ resource, scopeLogs: [{ logRecords: [{ timeUnixNano: now.toString(), body: { stringValue: 'hello from /otlp' }, severityText: 'INFO' }] }] }] });
      const metrics = await post('/otlp/v1/metrics', { resourceMetrics: [{ resource, scopeMetrics: [{ metrics: [{ name: 'paths_up', gauge: { dataPoints: [{ timeUnixNano: now.toString(), asDouble: 1 }] } }] }] }] });
      const traces = await post('/otlp/v1/traces', { resourceSpans: [{ resource, scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'op', kind: 1, startTimeUnixNano: now.toString(), endTimeUnixNano: (now + 1000n).toString() }] }] }] });
      expect([logs.status, metrics.status, traces.status]).toEqual([200, 200, 200]);
      const db = central.store.database;
      const one = async (sql: string) => (await central.store.queryRows<Record<string, string>>({ sql, params: { t: 'otlp-paths' } }))[0];
      expect(await one(`SELECT body FROM ${db}.logs WHERE tenant = {t:String}`)).toEqual({ body: 'hello from /otlp' });
      expect(await one(`SELECT value FROM ${db}.metrics_samples WHERE tenant = {t:String} AND metric_name = 'paths_up'`)).toEqual({ value: 1 });
      expect(await one(`SELECT name FROM ${db}.spans WHERE tenant = {t:String}`)).toEqual({ name: 'op' });
    } finally {
      await central.shutdown();
    }
  });
});
