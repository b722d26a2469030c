// fleetwatch traces its own requests through the OpenTelemetry SDK when an
// OTLP endpoint is configured; here one fleetwatch receives another's traces.
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestCentral } from '../helpers/central.ts';
import { startFleetwatch } from '../helpers/proc.ts';

describe('self tracing', () => {
  it('exports a server span per request to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const receiver = await startTestCentral();
    const traced = await startFleetwatch(['all', '--data-dir', mkdtempSync(path.join(tmpdir(), 'fw-trace-')), '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn'], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_SERVICE_NAME: 'fleetwatch-under-test', OTEL_BSP_SCHEDULE_DELAY: '100' },
    });
    try {
      expect((await fetch(`${traced.url}/-/healthy`)).status).toBe(200);
      expect((await fetch(`${traced.url}/no/such/path`)).status).toBe(404);
      const db = receiver.store.database;
      let rows: { name: string; service_name: string; status: string }[] = [];
      for (let i = 0; i < 100 && rows.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        rows = await receiver.store.queryRows({
          sql: `SELECT name, service_name, attributes['http.response.status_code'] AS status FROM ${db}.spans WHERE service_name = 'fleetwatch-under-test' AND name IN ('GET /-/healthy', 'GET unmatched') ORDER BY name`,
          params: {},
        });
      }
      expect(rows).toEqual([
        { name: 'GET /-/healthy', service_name: 'fleetwatch-under-test', status: '200' },
        { name: 'GET unmatched', service_name: 'fleetwatch-under-test', status: '404' },
      ]);
    } finally {
      expect(await traced.stop()).toBe(0);
      await receiver.shutdown();
    }
  }, 60_000);
});
