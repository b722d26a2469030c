import { describe, it, expect } from 'vitest';
import { mkdtempSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runFleetwatch, startFleetwatch, freePort } from '../helpers/proc.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'fw-cli-'));

describe('fleetwatch CLI', () => {
  it('prints help for every role', async () => {
    for (const role of ['all', 'central', 'collector', 'demo', 'schema']) {
      const r = await runFleetwatch([role, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`fleetwatch ${role}`);
      expect(r.stdout).toContain('--data-dir');
      expect(r.stdout).toContain('--clickhouse-url');
    }
    const top = await runFleetwatch(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Roles:[\s\S]*collector/);
  });

  it('rejects an unknown role and a bad flag value with a clear message', async () => {
    const r = await runFleetwatch(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown role "frobnicate"');
    const bad = await runFleetwatch(['all', '--http-listen', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('server.httpListen');
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('fails start-up on an unwritable data directory with a clear message', async () => {
    const dir = tmp();
    const blocked = path.join(dir, 'blocked');
    writeFileSync(blocked, 'a file, not a directory');
    const r = await runFleetwatch(['all', '--data-dir', blocked, '--http-listen', `127.0.0.1:${await freePort()}`, '--log-level', 'error']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a writable directory.*--data-dir.*FW_ERR_STORAGE_DATA_DIR/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    chmodSync(dir, 0o755);
  });

  it('fails start-up on an unreachable ClickHouse URL with a clear message', async () => {
    const port = await freePort(); // nothing listens here
    const r = await runFleetwatch(['central', '--clickhouse-url', `http://127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${await freePort()}`, '--log-level', 'error'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach ClickHouse at http:\/\/127\.0\.0\.1:\d+.*--clickhouse-url.*FW_ERR_STORAGE_UNAVAILABLE/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('starts, answers health, readiness and metrics, and exits 0 on SIGTERM', async () => {
    const fw = await startFleetwatch(['all', '--data-dir', tmp(), '--log-level', 'warn']);
    try {
      expect((await fetch(`${fw.url}/-/healthy`)).status).toBe(200);
      expect(await (await fetch(`${fw.url}/-/ready`)).text()).toContain('Ready');
      const metrics = await (await fetch(`${fw.url}/metrics`)).text();
      expect(metrics).toContain('process_cpu_seconds_total');
      expect(metrics).toContain('fleetwatch_http_requests_total');
    } finally {
      expect(await fw.stop('SIGTERM')).toBe(0);
    }
  });
});
