// Collector benchmark (issue 5): the same pre-encoded remote_write requests
// sent (a) straight to central and (b) to a collector that ships to its own
// fresh central, in the same run. For (b) the clock stops when central has
// committed everything (the collector's WAL is drained), not when the
// collector acknowledged the clients. Reports end-to-end samples/s for both
// paths, and the collector's CPU-seconds and peak RSS per million samples.
//
//   npm run bench:collector -- [--series 50000] [--steps 20] [--senders 4] [--fsync batch]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeRemoteWriteV1, snappyCompress } from '../../protocols/index.ts';
import { startFleetwatch, type Running } from '../../test/helpers/proc.ts';
import { cpuSeconds, fmt, peakRssBytes, prng, sendAll } from '../lib/measure.ts';
import { machineLine, writeSection } from '../lib/results.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
function sarg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? String(process.argv[i + 1]) : def;
}

const SERIES = arg('series', 50_000);
const STEPS = arg('steps', 20);
const SENDERS = arg('senders', 4);
const FSYNC = sarg('fsync', 'batch');
const PER_REQUEST = 2_000;
// --profile DIR: write a V8 CPU profile of the collector process
const PROFILE = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
const STEP_MS = 15_000;
const HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

/** 8 labels per series (as bench/ingest), no `cluster` label: the collector adds its own. */
async function buildRequests(): Promise<{ lanes: Uint8Array[][]; samples: number; bytes: number }> {
  const rnd = prng(42);
  const value = new Float64Array(SERIES);
  const t0 = Math.floor(Date.now() / STEP_MS) * STEP_MS - STEPS * STEP_MS;
  const labels: Record<string, string>[] = [];
  for (let i = 0; i < SERIES; i++) {
    const m = i % 100;
    const pod = Math.floor(i / 100);
    labels.push({
      __name__: m % 2 === 0 ? `app_requests_${m}_total` : `app_queue_depth_${m}`,
      job: `service-${pod % 50}`,
      instance: `10.${(pod >> 16) & 255}.${(pod >> 8) & 255}.${pod & 255}:9100`,
      region: `region-${pod % 8}`,
      namespace: `ns-${pod % 20}`,
      pod: `pod-${pod}`,
      container: `c-${pod % 3}`,
      code: String(200 + (i % 5)),
    });
  }
  const lanes: Uint8Array[][] = Array.from({ length: SENDERS }, () => []);
  let samples = 0;
  let bytes = 0;
  const blocks = Math.ceil(SERIES / PER_REQUEST);
  for (let step = 0; step < STEPS; step++) {
    const ts = t0 + step * STEP_MS + Math.floor(rnd() * 1000);
    for (let b = 0; b < blocks; b++) {
      const series = [];
      for (let i = b * PER_REQUEST; i < Math.min(SERIES, (b + 1) * PER_REQUEST); i++) {
        value[i] = i % 2 === 0 ? (value[i] as number) + Math.floor(rnd() * 100) : Math.round((50 + rnd() * 50) * 1000) / 1000;
        series.push({ labels: labels[i] as Record<string, string>, samples: [{ timestampMs: ts, value: value[i] as number }] });
        samples++;
      }
      const body = await snappyCompress(encodeRemoteWriteV1(series));
      bytes += body.length;
      (lanes[b % SENDERS] as Uint8Array[]).push(body);
    }
  }
  return { lanes, samples, bytes };
}

/** Sum of a metric's samples whose label set contains `labels` (e.g. 'stage="compressed"'). */
async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) if ((m[1] ?? '').includes(labels)) sum += Number(m[2]);
  return sum;
}

async function storedSamples(centralUrl: string): Promise<number> {
  const r = (await (await fetch(`${centralUrl}/api/v1/status/storage`)).json()) as { data: { table: string; rows: number }[] };
  return r.data.find((t) => t.table === 'metrics_samples')?.rows ?? 0;
}

async function startCentral(): Promise<Running> {
  return startFleetwatch(['all', '--data-dir', mkdtempSync(path.join(tmpdir(), 'fw-bench-central-')), '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn']);
}

interface Row {
  readonly path: string;
  readonly rate: number;
  readonly ackRate: number;
  readonly seconds: number;
  readonly centralCpu: number;
  readonly collectorCpu?: number;
  readonly collectorRss?: number;
  readonly wireBytes?: number;
  readonly stored: number;
  readonly note: string;
}

async function direct(lanes: Uint8Array[][], samples: number): Promise<Row> {
  const central = await startCentral();
  try {
    const pid = central.child.pid as number;
    const cpu0 = cpuSeconds(pid);
    const r = await sendAll(`${central.url}/api/v1/write`, lanes, HEADERS);
    const cpu = cpuSeconds(pid) - cpu0;
    const stored = await storedSamples(central.url);
    const rate = (samples / r.elapsedMs) * 1000;
    return { path: 'client → central (direct)', rate, ackRate: rate, seconds: r.elapsedMs / 1000, centralCpu: cpu, stored, note: r.failures ? `${r.failures} failed: ${r.firstError}` : r.retries ? `${r.retries} retries` : '' };
  } finally {
    await central.stop();
  }
}

async function viaCollector(lanes: Uint8Array[][], samples: number): Promise<Row> {
  const central = await startCentral();
  const collector = await startFleetwatch(['collector', '--cluster', 'bench', '--central', central.url, '--data-dir', mkdtempSync(path.join(tmpdir(), 'fw-bench-col-')), '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn'], {
    // FW_BENCH_COLLECTOR_ENV='{"FLEETWATCH_COLLECTOR_SHIP_BATCH_BYTES":"16MiB"}' tries other settings
    env: { FLEETWATCH_COLLECTOR_WAL_FSYNC: FSYNC, ...(JSON.parse(process.env['FW_BENCH_COLLECTOR_ENV'] ?? '{}') as Record<string, string>) },
    ...(PROFILE ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] } : {}),
  });
  try {
    const cpid = collector.child.pid as number;
    const spid = central.child.pid as number;
    const c0 = cpuSeconds(cpid);
    const s0 = cpuSeconds(spid);
    const t0 = performance.now();
    const r = await sendAll(`${collector.url}/api/v1/write`, lanes, HEADERS);
    // end to end: until central has everything
    for (;;) {
      if ((await metric(collector.url, 'fleetwatch_collector_wal_records')) === 0) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const elapsedMs = performance.now() - t0;
    const collectorCpu = cpuSeconds(cpid) - c0;
    const centralCpu = cpuSeconds(spid) - s0;
    const collectorRss = peakRssBytes(cpid);
    const wireBytes = await metric(collector.url, 'fleetwatch_collector_shipped_bytes_total', 'stage="compressed"');
    const stored = await storedSamples(central.url);
    return {
      path: 'client → collector → central',
      rate: (samples / elapsedMs) * 1000,
      ackRate: (samples / r.elapsedMs) * 1000,
      seconds: elapsedMs / 1000,
      centralCpu,
      collectorCpu,
      collectorRss,
      wireBytes,
      stored,
      note: r.failures ? `${r.failures} failed: ${r.firstError}` : r.retries ? `${r.retries} retries (429 while the WAL was full)` : '',
    };
  } finally {
    await collector.stop();
    await central.stop();
  }
}

async function main(): Promise<void> {
  console.log(`building ${SERIES} series x ${STEPS} steps ...`);
  const { lanes, samples, bytes } = await buildRequests();
  console.log(`${samples} samples in ${lanes.reduce((a, l) => a + l.length, 0)} requests (${fmt.mib(bytes)} MiB snappy)`);
  const d = process.argv.includes('--collector-only') ? { path: 'client → central (direct)', rate: NaN, ackRate: NaN, seconds: NaN, centralCpu: NaN, stored: 0, note: 'skipped' } : await direct(lanes, samples);
  console.log(`direct: ${fmt.int(d.rate)} samples/s in ${d.seconds.toFixed(1)} s, central ${d.centralCpu.toFixed(1)} CPU-s, ${fmt.int(d.stored)} stored ${d.note}`);
  const c = await viaCollector(lanes, samples);
  const perM = samples / 1e6;
  console.log(
    `collector: ${fmt.int(c.rate)} samples/s end to end (clients acknowledged at ${fmt.int(c.ackRate)}/s) in ${c.seconds.toFixed(1)} s; collector ${(c.collectorCpu as number).toFixed(1)} CPU-s (${((c.collectorCpu as number) / perM).toFixed(2)} per 1M), peak RSS ${fmt.mib(c.collectorRss as number)} MiB; central ${c.centralCpu.toFixed(1)} CPU-s; ${fmt.int(c.stored)} stored ${c.note}`,
  );
  const ratio = c.rate / d.rate;
  console.log(`collector path / direct: ${ratio.toFixed(2)} (goal >= 0.80)`);
  const lines = [
    '## Collector: client → collector → central vs. client → central (issue 5)',
    '',
    `${machineLine()}. ${fmt.int(SERIES)} series × ${STEPS} steps = ${fmt.int(samples)} samples, 8 labels per series, ${PER_REQUEST} samples per request, ${SENDERS} concurrent senders, pre-encoded snappy remote_write 1.0 bodies (${fmt.mib(bytes)} MiB). Each path gets a fresh central (\`fleetwatch all\`, embedded ClickHouse); the collector (WAL fsync policy \`${FSYNC}\`, default shipping settings) runs on the same 2-core machine as its central, so both share the CPUs. The collector path's time runs until central has committed every sample (the collector's WAL is drained), not just until the clients were acknowledged.`,
    '',
    '| path | samples/s end to end | clients acknowledged, samples/s | seconds | central CPU-s | collector CPU-s | samples stored | notes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    `| ${d.path} | ${fmt.int(d.rate)} | ${fmt.int(d.ackRate)} | ${d.seconds.toFixed(1)} | ${d.centralCpu.toFixed(1)} | | ${fmt.int(d.stored)} | ${d.note} |`,
    `| ${c.path} | ${fmt.int(c.rate)} | ${fmt.int(c.ackRate)} | ${c.seconds.toFixed(1)} | ${c.centralCpu.toFixed(1)} | ${(c.collectorCpu as number).toFixed(1)} | ${fmt.int(c.stored)} | ${c.note} |`,
    '',
    `- collector path / direct, end to end: **${ratio.toFixed(2)}** (goal >= 0.80)`,
    `- collector CPU per million samples forwarded: **${((c.collectorCpu as number) / perM).toFixed(2)} CPU-s**; peak RSS **${fmt.mib(c.collectorRss as number)} MiB**`,
    `- collector → central on the wire: ${fmt.mib(c.wireBytes as number)} MiB (${(((c.wireBytes as number) / samples) || 0).toFixed(2)} bytes/sample) against ${fmt.mib(bytes)} MiB of remote_write from the clients`,
    "- what the two paths wait for: the direct path's clients are answered once central's ingest log has their rows (fdatasynced), while central inserts each collector batch straight into ClickHouse (ingest/fleet-batches.ts, so its batch id can dedupe a resend) and the collector path's time runs until that is done for every batch. Since central got its ingest log, the direct path is measured against the log and the collector path against ClickHouse.",
  ];
  writeSection('collector', lines.join('\n'));
}

await main();
