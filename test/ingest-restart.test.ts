// Restart keeps data (issue #2): a real `fleetwatch all` process on a fresh
// --data-dir takes remote_write, Loki push and OTLP writes from concurrent
// clients; SIGTERM arrives while they are still writing; the process must
// finish what it acknowledged and exit 0. Restarted on the same data dir, it
// still has every acknowledged sample, line and span (read back through the
// restarted process: /api/v1/status/storage row counts and the Loki query
// API), exactly once, and keeps accepting writes.
import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REMOTE_WRITE_V1_CONTENT_TYPE, encodeRemoteWriteV1, snappyCompress } from '../protocols/index.ts';
import { freePort, startFleetwatch, type Running } from './helpers/proc.ts';
import { otlpBody, post, sdkSpans } from './helpers/ingest.ts';

const RW1 = { 'content-type': REMOTE_WRITE_V1_CONTENT_TYPE, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const NOW = Date.now();

async function tableRows(url: string): Promise<Record<string, number>> {
  const r = (await (await fetch(`${url}/api/v1/status/storage`)).json()) as { data: { table: string; rows: number }[] };
  return Object.fromEntries(r.data.map((t) => [t.table, t.rows]));
}

/** Every line of {app="restart"} through the Loki query API, oldest first. */
async function lokiLines(url: string): Promise<string[]> {
  const q = new URLSearchParams({ query: '{app="restart"}', start: String(BigInt(NOW - 3_600_000) * 1_000_000n), end: String(BigInt(Date.now() + 60_000) * 1_000_000n), limit: '5000', direction: 'forward' });
  const r = await fetch(`${url}/loki/api/v1/query_range?${q}`);
  expect(r.status, await r.clone().text()).toBe(200);
  const body = (await r.json()) as { data: { result: { values: [string, string][] }[] } };
  return body.data.result.flatMap((s) => s.values).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1)).map((v) => v[1]);
}

interface Acked {
  samples: number;
  lines: string[];
  spans: number;
}

/** Writers on every protocol that run until stopped, counting what was acknowledged. */
function startWriters(url: string, acked: Acked, round: string): { stop(): Promise<void> } {
  let stop = false;
  const loop = async (send: (i: number) => Promise<void>) => {
    for (let i = 0; !stop; i++) {
      try {
        await send(i);
      } catch {
        // connection refused/reset while the server stops: not acknowledged
      }
    }
  };
  const writers = [
    ...[0, 1].map((w) =>
      loop(async (i) => {
        const series = Array.from({ length: 50 }, (_, k) => ({ labels: { __name__: 'restart_probe', round, w: String(w), k: String(k) }, samples: [{ timestampMs: NOW - 600_000 + i * 1000, value: i }] }));
        const r = await post(`${url}/api/v1/write`, await snappyCompress(encodeRemoteWriteV1(series)), RW1);
        if (r.status === 204) acked.samples += series.length;
      }),
    ),
    loop(async (i) => {
      const lines = Array.from({ length: 10 }, (_, k) => `${round} line ${i}-${k}`);
      const values = lines.map((l, k) => [(BigInt(NOW - 600_000 + i * 1000) * 1_000_000n + BigInt(k)).toString(), l]);
      const r = await post(`${url}/loki/api/v1/push`, JSON.stringify({ streams: [{ stream: { app: 'restart', round }, values }] }), { 'content-type': 'application/json' });
      if (r.status === 204) acked.lines.push(...lines);
    }),
    loop(async (i) => {
      const r = await post(`${url}/v1/traces`, otlpBody('traces', await sdkSpans(10, { service: 'restart', prefix: `${round}-${i}` }), 'protobuf'), { 'content-type': 'application/x-protobuf' });
      if (r.status === 200) acked.spans += 10;
    }),
  ];
  return {
    stop: async () => {
      stop = true;
      await Promise.all(writers);
    },
  };
}

describe('restart keeps data', () => {
  it('SIGTERM during writes exits 0 after flushing; the restarted process has every acknowledged write', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fw-restart-'));
    const port = await freePort();
    const args = ['all', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn'];
    const acked: Acked = { samples: 0, lines: [], spans: 0 };

    let fw: Running = await startFleetwatch(args, { port });
    let exit: number | null;
    try {
      const writers = startWriters(fw.url, acked, 'r1');
      // let some writes be acknowledged, then stop the server under load
      while (acked.samples < 2000 || acked.lines.length < 100 || acked.spans < 50) await new Promise((r) => setTimeout(r, 50));
      exit = await fw.stop('SIGTERM');
      await writers.stop();
    } finally {
      if (fw.child.exitCode === null) await fw.stop('SIGKILL');
    }
    expect(exit, fw.output()).toBe(0);
    expect(fw.output()).not.toMatch(/"level":(50|60)/); // no error or fatal log lines

    fw = await startFleetwatch(args, { port });
    try {
      const rows = await tableRows(fw.url);
      // every acknowledged sample, line and span is there; a request that was
      // cut off by the shutdown was not acknowledged and left nothing behind
      expect(rows['metrics_samples']).toBe(acked.samples);
      expect(rows['spans']).toBe(acked.spans);
      expect(rows['logs']).toBe(acked.lines.length);
      expect(await lokiLines(fw.url)).toEqual(acked.lines);

      // and it keeps taking writes on top of the old data
      const before = acked.samples;
      const writers = startWriters(fw.url, acked, 'r2');
      while (acked.samples < before + 500) await new Promise((r) => setTimeout(r, 50));
      await writers.stop();
      expect((await tableRows(fw.url))['metrics_samples']).toBe(acked.samples);
      exit = await fw.stop('SIGTERM');
      expect(exit, fw.output()).toBe(0);
    } finally {
      if (fw.child.exitCode === null) await fw.stop('SIGKILL');
    }
  }, 120_000);
});
