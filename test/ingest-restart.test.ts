// Restart keeps data (issue #2): a real `fleetwatch all` process on a fresh
// --data-dir takes remote_write, Loki push and OTLP writes from concurrent
// clients; SIGTERM arrives while they are still writing; the process must
// finish what it acknowledged and exit 0. Restarted on the same data dir, it
// still has every acknowledged sample, line and span (read back through the
// restarted process: /api/v1/status/storage row counts and the Loki query
// API), exactly once, and keeps accepting writes. The same with SIGKILL: what
// was acknowledged is in the ingest log (fsynced before the answer) and the
// restarted process replays it into ClickHouse before any read sees storage.
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
  /** sent but never answered (the process died meanwhile): may or may not be stored */
  unanswered: { samples: number; lines: string[]; spans: number };
}

/** Writers on every protocol that run until stopped, counting what was acknowledged and what got no answer. */
function startWriters(url: string, acked: Acked, round: string): { stop(): Promise<void> } {
  let stop = false;
  /** send(i) posts and returns whether it was acknowledged; what it carries goes to `acked` or, without an answer, to `unanswered` */
  const loop = async (send: (i: number) => Promise<boolean | 'refused'>, carry: (i: number, to: Acked['unanswered']) => void) => {
    for (let i = 0; !stop; i++) {
      let ok: boolean | 'refused';
      try {
        ok = await send(i);
      } catch {
        // connection reset while the server stops: not acknowledged, maybe stored
        carry(i, acked.unanswered);
        continue;
      }
      if (ok === true) carry(i, acked);
    }
  };
  const seriesOf = (w: number, i: number) => Array.from({ length: 50 }, (_, k) => ({ labels: { __name__: 'restart_probe', round, w: String(w), k: String(k) }, samples: [{ timestampMs: NOW - 600_000 + i * 1000, value: i }] }));
  const linesOf = (i: number) => Array.from({ length: 10 }, (_, k) => `${round} line ${i}-${k}`);
  const writers = [
    ...[0, 1].map((w) =>
      loop(
        async (i) => (await post(`${url}/api/v1/write`, await snappyCompress(encodeRemoteWriteV1(seriesOf(w, i))), RW1)).status === 204,
        (i, to) => void (to.samples += seriesOf(w, i).length),
      ),
    ),
    loop(
      async (i) => {
        const values = linesOf(i).map((l, k) => [(BigInt(NOW - 600_000 + i * 1000) * 1_000_000n + BigInt(k)).toString(), l]);
        return (await post(`${url}/loki/api/v1/push`, JSON.stringify({ streams: [{ stream: { app: 'restart', round }, values }] }), { 'content-type': 'application/json' })).status === 204;
      },
      (i, to) => void to.lines.push(...linesOf(i)),
    ),
    loop(
      async (i) => (await post(`${url}/v1/traces`, otlpBody('traces', await sdkSpans(10, { service: 'restart', prefix: `${round}-${i}` }), 'protobuf'), { 'content-type': 'application/x-protobuf' })).status === 200,
      (_i, to) => void (to.spans += 10),
    ),
  ];
  return {
    stop: async () => {
      stop = true;
      await Promise.all(writers);
    },
  };
}

/** Sum of restart_probe samples over the last hour through PromQL (the head, after a restart loaded from ClickHouse). */
async function promqlSamples(url: string): Promise<number> {
  const q = new URLSearchParams({ query: 'sum(count_over_time(restart_probe[1h]))', time: String(Date.now() / 1000) });
  const r = await fetch(`${url}/api/v1/query?${q}`);
  expect(r.status, await r.clone().text()).toBe(200);
  const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
  return Number(body.data.result[0]?.value[1] ?? 0);
}

describe('restart keeps data', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)('%s during writes; the restarted process has every acknowledged write, exactly once', async (signal) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fw-restart-'));
    const port = await freePort();
    const args = ['all', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn'];
    const acked: Acked = { samples: 0, lines: [], spans: 0, unanswered: { samples: 0, lines: [], spans: 0 } };

    // for SIGKILL nothing leaves the ingest log on its own before the kill: the restart must replay it all
    let fw: Running = await startFleetwatch(args, { port, env: signal === 'SIGKILL' ? { FLEETWATCH_INGEST_LOG_FLUSH_MS: '1h' } : {} });
    let exit: number | null;
    try {
      const writers = startWriters(fw.url, acked, 'r1');
      // let some writes be acknowledged, then stop the server under load
      while (acked.samples < 2000 || acked.lines.length < 100 || acked.spans < 50) await new Promise((r) => setTimeout(r, 50));
      if (signal === 'SIGKILL') {
        const m = await (await fetch(`${fw.url}/metrics`)).text();
        expect(Number(/^fleetwatch_ingest_log_records(?:\{[^}]*\})? (\S+)$/m.exec(m)?.[1])).toBeGreaterThan(0);
      }
      exit = await fw.stop(signal);
      await writers.stop();
    } finally {
      if (fw.child.exitCode === null) await fw.stop('SIGKILL');
    }
    if (signal === 'SIGTERM') {
      expect(exit, fw.output()).toBe(0);
      expect(fw.output()).not.toMatch(/"level":(50|60)/); // no error or fatal log lines
    }

    fw = await startFleetwatch(args, { port });
    try {
      const rows = await tableRows(fw.url);
      // every acknowledged sample, line and span is there, once. A request
      // cut off by SIGTERM was not acknowledged and left nothing behind; one
      // cut off by SIGKILL may have been logged just before the kill (its
      // answer never left): it is stored whole or not at all.
      // (after SIGTERM, "unanswered" are connections refused once it stopped listening)
      const u = signal === 'SIGTERM' ? { samples: 0, lines: [] as string[], spans: 0 } : acked.unanswered;
      const within = (got: number | undefined, want: number, maybe: number) => {
        expect(got).toBeGreaterThanOrEqual(want);
        expect(got).toBeLessThanOrEqual(want + maybe);
      };
      within(rows['metrics_samples'], acked.samples, u.samples);
      within(rows['spans'], acked.spans, u.spans);
      within(rows['logs'], acked.lines.length, u.lines.length);
      const lines = await lokiLines(fw.url);
      expect(lines.filter((l) => !u.lines.includes(l))).toEqual(acked.lines);
      expect(new Set(lines).size).toBe(lines.length);
      within(await promqlSamples(fw.url), acked.samples, u.samples);
      // from here on, count what is stored
      acked.samples = rows['metrics_samples'] as number;

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
