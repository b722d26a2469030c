// A real central process: logs sent as a client would (Loki push JSON over
// HTTP and OTLP/HTTP JSON logs), then read back through the Loki query API,
// as Grafana and logcli would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFleetwatch, freePort, type Running } from '../helpers/proc.ts';

let fw: Running;
const now = BigInt(Date.now()) * 1_000_000n;
const ns = (secondsAgo: number): string => String(now - BigInt(secondsAgo) * 1_000_000_000n);

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-e2e-loki-'));
  fw = await startFleetwatch(['central', '--data-dir', dir, '--grpc-listen', `127.0.0.1:${await freePort()}`, '--log-level', 'warn']);
});

afterAll(async () => {
  await fw?.stop();
});

describe('central serves the Loki query API', () => {
  it('Loki push and OTLP logs in, LogQL out', async () => {
    const push = await fetch(`${fw.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Scope-OrgID': 'e2e' },
      body: JSON.stringify({
        streams: [
          { stream: { app: 'web', env: 'prod' }, values: [[ns(30), 'level=info status=200 path=/'], [ns(20), 'level=error status=500 path=/api']] },
          { stream: { app: 'web', env: 'dev' }, values: [[ns(10), 'level=info status=200 path=/health']] },
        ],
      }),
    });
    expect(push.status).toBe(204);
    const otlp = await fetch(`${fw.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Scope-OrgID': 'e2e' },
      body: JSON.stringify({
        resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] }, scopeLogs: [{ logRecords: [{ timeUnixNano: ns(15), severityText: 'ERROR', body: { stringValue: 'payment failed' } }] }] }],
      }),
    });
    expect(otlp.status).toBe(200);

    const q = async (p: string, params: Record<string, string>): Promise<any> => {
      const r = await fetch(`${fw.url}${p}?${new URLSearchParams(params)}`, { headers: { 'X-Scope-OrgID': 'e2e' } });
      expect(r.status).toBe(200);
      return r.json();
    };
    const start = ns(3600);
    const end = ns(-60);
    const logs = await q('/loki/api/v1/query_range', { query: '{app="web"} | logfmt | status >= 500', start, end, limit: '100', direction: 'backward' });
    expect(logs.data.result.map((s: any) => s.values.map((v: string[]) => v[1]))).toEqual([['level=error status=500 path=/api']]);
    const counts = await q('/loki/api/v1/query', { query: 'sum by (env) (count_over_time({app="web"}[1h]))', time: end });
    expect(Object.fromEntries(counts.data.result.map((s: any) => [s.metric.env, s.value[1]]))).toEqual({ prod: '2', dev: '1' });
    const svc = await q('/loki/api/v1/query_range', { query: '{service_name="checkout"} |= "failed"', start, end });
    expect(svc.data.result[0].values[0][1]).toBe('payment failed');
    expect(svc.data.result[0].stream.severity_text).toBe('ERROR');
    expect((await q('/loki/api/v1/labels', { start, end })).data).toEqual(expect.arrayContaining(['app', 'env', 'service_name']));
    expect((await q('/loki/api/v1/query', { query: 'vector(1)+vector(1)' })).data.result[0].value[1]).toBe('2');
  });
});
