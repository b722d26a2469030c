// Ingest benchmark (issue #3): the same pre-encoded remote_write requests sent
// to fleetwatch, Prometheus 2.42 and VictoriaMetrics, one after another, each
// on a fresh data dir. Reports samples/s, peak RSS, bytes on disk per sample.
//
//   npm run bench:ingest -- [--series 100000] [--steps 20] [--senders 4]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeRemoteWriteV1, snappyCompress } from '../../protocols/index.ts';
import { startFleetwatch } from '../../test/helpers/proc.ts';
import { peerBinary, startPrometheus, startVictoriaMetrics } from '../../test/helpers/peers.ts';
import { cpuSeconds, duBytes, fmt, mainThreadSched, minorFaults, peakRssBytes, prng, sendAll, threadCpuSeconds } from '../lib/measure.ts';
import { machineLine, writeSection } from '../lib/results.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const SERIES = arg('series', 100_000);
const STEPS = arg('steps', 20);
const SENDERS = arg('senders', 4);
const ROUNDS = arg('rounds', 3);
const PER_REQUEST = 2_000;
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
// --profile DIR: write a V8 CPU profile of the fleetwatch process
const PROFILE = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
// --threads: also print each target's CPU by thread name, its main thread's
// run and run-queue wait time, its minor page faults, and this (sending) process's CPU
const THREADS = process.argv.includes('--threads');
// --node-args "...": extra Node/V8 flags for the fleetwatch process (experiments, e.g. "--trace-gc")
const NODE_ARGS = process.argv.includes('--node-args') ? (process.argv[process.argv.indexOf('--node-args') + 1] ?? '').split(' ').filter(Boolean) : [];
const STEP_MS = 15_000;

interface Target {
  readonly name: string;
  start(): Promise<{ url: string; pid: number; dataDir: string; stop(): Promise<unknown>; diskBytes(): Promise<number>; settle?(): Promise<void> }>;
}

/** 8 labels per series, realistic shapes; half counters, half noisy gauges. */
function buildSeriesLabels(): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const metrics = 100;
  for (let i = 0; i < SERIES; i++) {
    const m = i % metrics;
    const pod = Math.floor(i / metrics);
    out.push({
      __name__: m % 2 === 0 ? `app_requests_${m}_total` : `app_queue_depth_${m}`,
      job: `service-${pod % 50}`,
      instance: `10.${(pod >> 16) & 255}.${(pod >> 8) & 255}.${pod & 255}:9100`,
      cluster: `cluster-${pod % 8}`,
      namespace: `ns-${pod % 20}`,
      pod: `pod-${pod}`,
      container: `c-${pod % 3}`,
      code: String(200 + (i % 5)),
    });
  }
  return out;
}

async function buildRequests(): Promise<{ lanes: Uint8Array[][]; samples: number; bytes: number }> {
  const labels = buildSeriesLabels();
  const rnd = prng(42);
  const value = new Float64Array(SERIES);
  const t0 = Math.floor(Date.now() / STEP_MS) * STEP_MS - STEPS * STEP_MS;
  const blocks = Math.ceil(SERIES / PER_REQUEST);
  const lanes: Uint8Array[][] = Array.from({ length: SENDERS }, () => []);
  let samples = 0;
  let bytes = 0;
  for (let step = 0; step < STEPS; step++) {
    const ts = t0 + step * STEP_MS + Math.floor(rnd() * 1000); // scrape jitter
    for (let b = 0; b < blocks; b++) {
      const series = [];
      for (let i = b * PER_REQUEST; i < Math.min(SERIES, (b + 1) * PER_REQUEST); i++) {
        const isCounter = i % 2 === 0;
        value[i] = isCounter ? (value[i] as number) + Math.floor(rnd() * 100) : Math.round((50 + rnd() * 50) * 1000) / 1000;
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

const HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

const targets: Target[] = [
  {
    name: 'fleetwatch',
    async start() {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'fw-bench-'));
      const fw = await startFleetwatch(['all', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn'], { nodeArgs: [...NODE_ARGS, ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : [])] });
      return {
        url: `${fw.url}/api/v1/write`,
        pid: fw.child.pid as number,
        dataDir,
        // reads wait for the ingest log to reach ClickHouse: this answers once every acknowledged sample is there
        settle: async () => void (await fetch(`${fw.url}/api/v1/status/storage`)).arrayBuffer(),
        stop: async () => {
          const m = await (await fetch(`${fw.url}/metrics`)).text();
          const pick = (re: RegExp) => [...m.matchAll(re)].map((x) => Number(x[1])).reduce((a, b) => a + b, 0);
          // group-committed inserts, or (with the ingest log) the log's inserts
          const inserts = pick(/^fleetwatch_ingest_(?:log_)?inserts_total\{table="metrics_samples",outcome="ok"[^}]*\} (\S+)$/gm);
          const insertSecs = pick(/^fleetwatch_storage_operation_duration_seconds_sum\{[^}]*op="insert"[^}]*\} (\S+)$/gm);
          const fsyncs = pick(/^fleetwatch_ingest_log_fsync_duration_seconds_count(?:\{[^}]*\})? (\S+)$/gm);
          const fsyncSecs = pick(/^fleetwatch_ingest_log_fsync_duration_seconds_sum(?:\{[^}]*\})? (\S+)$/gm);
          console.log(`  fleetwatch: ${inserts} sample inserts (avg ${Math.round(samplesTotal / Math.max(1, inserts))} rows), ${insertSecs.toFixed(2)} s in storage inserts; ${fsyncs} log fsyncs (avg ${((1000 * fsyncSecs) / Math.max(1, fsyncs)).toFixed(2)} ms)`);
          return fw.stop();
        },
        // active parts only: ClickHouse keeps merged-away parts for a while before deleting them
        diskBytes: async () => {
          const r = (await (await fetch(`${fw.url}/api/v1/status/storage`)).json()) as { data: { table: string; bytesOnDisk: number }[] };
          return r.data.filter((t) => t.table === 'metrics_samples' || t.table === 'metrics_series').reduce((a, t) => a + t.bytesOnDisk, 0);
        },
      };
    },
  },
  {
    name: 'prometheus 2.42',
    async start() {
      const p = await startPrometheus('global: {}\n');
      return { url: `${p.url}/api/v1/write`, pid: p.child.pid as number, dataDir: p.dir, stop: () => p.stop(), diskBytes: async () => duBytes(path.join(p.dir, 'data')) };
    },
  },
  {
    name: 'victoriametrics',
    async start() {
      const vm = await startVictoriaMetrics();
      return {
        url: `${vm.url}/api/v1/write`,
        pid: vm.child.pid as number,
        dataDir: vm.dir,
        stop: () => vm.stop(),
        diskBytes: async () => {
          await fetch(`${vm.url}/internal/force_flush`).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 2000));
          return duBytes(path.join(vm.dir, 'data'));
        },
      };
    },
  },
];

let samplesTotal = 0;

async function main(): Promise<void> {
  console.log(`building ${SERIES} series x ${STEPS} steps ...`);
  const { lanes, samples, bytes } = await buildRequests();
  samplesTotal = samples;
  console.log(`${samples} samples in ${lanes.reduce((a, l) => a + l.length, 0)} requests (${fmt.mib(bytes)} MiB snappy)`);
  const rows: { name: string; rate: number; rss: number; disk: number; cpu: number; note: string }[] = [];
  // the machine is shared and noisy: run every target ROUNDS times,
  // interleaved, and report each one's median round
  const runs = new Map<string, { name: string; rate: number; rss: number; disk: number; cpu: number; note: string }[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      if (ONLY && !t.name.startsWith(ONLY)) continue;
      if (t.name.startsWith('prometheus') && !peerBinary('prometheus')) {
        if (round === 0) console.log('skip prometheus: apt-get install prometheus');
        continue;
      }
      if (t.name.startsWith('victoria') && !peerBinary('victoria-metrics')) {
        if (round === 0) console.log('skip victoriametrics: apt-get install victoria-metrics');
        continue;
      }
      const s = await t.start();
      try {
        const cpu0 = cpuSeconds(s.pid);
        const threads0 = THREADS ? threadCpuSeconds(s.pid) : undefined;
        const sched0 = mainThreadSched(s.pid);
        const faults0 = minorFaults(s.pid);
        const self0 = process.cpuUsage();
        const r = await sendAll(s.url, lanes, HEADERS);
        const t1 = performance.now();
        await s.settle?.();
        const settleMs = performance.now() - t1;
        const cpu = cpuSeconds(s.pid) - cpu0;
        if (threads0) {
          const by = [...threadCpuSeconds(s.pid)].map(([k, v]) => [k, v - (threads0.get(k) ?? 0)] as const).filter(([, v]) => v > 0.005);
          const self = process.cpuUsage(self0);
          const sched = mainThreadSched(s.pid);
          console.log(`  minor page faults: ${minorFaults(s.pid) - faults0}`);
          console.log(`  main thread: ran ${(sched.runS - sched0.runS).toFixed(2)} s, waited for a CPU ${(sched.waitS - sched0.waitS).toFixed(2)} s`);
          console.log(`  CPU-s by thread: ${by.sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; sender ${((self.user + self.system) / 1e6).toFixed(2)}`);
        }
        const rate = (samples / r.elapsedMs) * 1000;
        const stored = s.settle ? (samples / (r.elapsedMs + settleMs)) * 1000 : undefined;
        const rss = peakRssBytes(s.pid);
        const disk = await s.diskBytes();
        const note = r.failures ? `${r.failures} failed: ${r.firstError}` : r.retries ? `${r.retries} retries` : '';
        console.log(`round ${round + 1} ${t.name}: ${fmt.int(rate)} samples/s${stored ? ` (${fmt.int(stored)}/s until all in ClickHouse)` : ''}, ${cpu.toFixed(1)} CPU-s in ${(r.elapsedMs / 1000).toFixed(1)} s, peak RSS ${fmt.mib(rss)} MiB, ${(disk / samples).toFixed(2)} bytes/sample ${note}`);
        const list = runs.get(t.name) ?? [];
        list.push({ name: t.name, rate, rss, disk, cpu, note: [note, stored ? `${fmt.int(stored)} samples/s counting until the last acknowledged sample was in ClickHouse (+${(settleMs / 1000).toFixed(2)} s)` : ''].filter(Boolean).join('; ') });
        runs.set(t.name, list);
      } finally {
        await s.stop();
      }
    }
  }
  for (const list of runs.values()) {
    const sorted = [...list].sort((a, b) => a.rate - b.rate);
    rows.push(sorted[Math.floor((sorted.length - 1) / 2)] as (typeof rows)[number]);
  }
  const by = (n: string) => rows.find((r) => r.name.startsWith(n));
  const fw = by('fleetwatch');
  const prom = by('prometheus');
  const vm = by('victoria');
  const lines = [
    '## Ingest: Prometheus remote_write (issue #3)',
    '',
    `${machineLine()}. ${fmt.int(SERIES)} series × ${STEPS} steps = ${fmt.int(samples)} samples, 8 labels per series, ${PER_REQUEST} samples per request, ${SENDERS} concurrent senders, each series in time order; pre-encoded snappy remote_write 1.0 bodies; each target on a fresh data dir. samples/s counts until the last request was answered: each target answers once the samples are in its write-ahead log (fleetwatch: its ingest log, fdatasynced; Prometheus: its WAL, written without fsync) or, for VictoriaMetrics, in its in-memory buffers. fleetwatch's notes add the time until the last sample was in ClickHouse. CPU-s: the target process, from its first request until then. Disk: fleetwatch = active ClickHouse parts of the metrics tables; Prometheus = TSDB dir (WAL + head chunks, no block is cut within 2 h); VictoriaMetrics = data dir after force_flush.`,
    '',
    `Each target ran ${ROUNDS} times, interleaved; the table shows each one's median round (by samples/s).`,
    '',
    '| target | samples/s | CPU-s per million samples | peak RSS MiB | bytes/sample on disk | notes |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.name} | ${fmt.int(r.rate)} | ${((r.cpu / samples) * 1e6).toFixed(2)} | ${fmt.mib(r.rss)} | ${(r.disk / samples).toFixed(2)} | ${r.note} |`),
    '',
    fw && vm ? `- fleetwatch / VictoriaMetrics samples/s: **${fmt.ratio(fw.rate, vm.rate)}** (goal >= 1)` : '',
    fw && prom ? `- fleetwatch / Prometheus samples/s: **${fmt.ratio(fw.rate, prom.rate)}**` : '',
    vm && prom ? `- VictoriaMetrics / Prometheus samples/s: ${fmt.ratio(vm.rate, prom.rate)}` : '',
    fw && prom ? `- fleetwatch / Prometheus bytes per sample: **${fmt.ratio(fw.disk, prom.disk)}** (goal <= 1)` : '',
  ].filter((l, i, a) => l !== '' || a[i - 1] !== '');
  if (!ONLY) writeSection('ingest', lines.join('\n'));
}

await main();
