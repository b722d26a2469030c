// Query benchmark (issue #4): the same 10,000 series x 24 h at 15 s loaded
// into fleetwatch (remote_write), Prometheus 2.42 (promtool tsdb
// create-blocks-from openmetrics, before it starts) and VictoriaMetrics
// (remote_write); then one query set runs against all three in the same
// run, targets taking turns, and p50/p95 latencies and their ratios go to
// bench/RESULTS.md. fleetwatch's answers are checked against Prometheus's
// first (same series, values within 1e-9 relative).
//
//   npm run bench:query -- [--keep DIR] [--runs 15] [--only fleetwatch,prometheus]
//
// --keep DIR keeps the three data dirs there and reuses them (loading takes
// minutes); the data's time range is recorded with them.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { encodeRemoteWriteV1, snappyCompress } from '../../protocols/index.ts';
import { startFleetwatch, type Running } from '../../test/helpers/proc.ts';
import { peerBinary, startPrometheus, startVictoriaMetrics, type PeerProcess } from '../../test/helpers/peers.ts';
import { compareAnswers, type ApiAnswer } from '../../test/conformance/compare.ts';
import { cpuSeconds, fmt, peakRssBytes, percentile, sendAll } from '../lib/measure.ts';
import { machineLine, writeSection } from '../lib/results.ts';
import { benchSeries, STEP_MS, STEPS, timestampMs, valueAt, writeOpenMetrics, type BenchSeries } from './data.ts';

const run = promisify(execFile);

function argOf(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const RUNS = Number(argOf('runs') ?? 25);
/** rounds run first and not counted, for every target alike (JIT, page cache) */
const WARMUP = 3;
const KEEP = argOf('keep');
const ONLY = argOf('only')?.split(',');
const HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const SERIES_PER_REQUEST = 500;
const STEPS_PER_REQUEST = 8;
const SENDERS = 4;
const MINUTE = 60_000;

interface Meta {
  startMs: number;
  endMs: number;
  loaded: Record<string, boolean>;
}

const baseDir = KEEP ? path.resolve(KEEP) : mkdtempSync(path.join(tmpdir(), 'fw-bench-query-'));
mkdirSync(baseDir, { recursive: true });
const metaFile = path.join(baseDir, 'meta.json');
const meta: Meta = existsSync(metaFile)
  ? (JSON.parse(readFileSync(metaFile, 'utf8')) as Meta)
  : (() => {
      const endMs = Math.floor(Date.now() / MINUTE) * MINUTE;
      return { startMs: endMs - STEPS * STEP_MS, endMs, loaded: {} };
    })();
const saveMeta = (): void => writeFileSync(metaFile, JSON.stringify(meta, null, 2));
saveMeta();
const series = benchSeries();
const want = (name: string): boolean => !ONLY || ONLY.some((o) => name.startsWith(o));

/** remote_write bodies for steps [k0, k1): blocks of series, each block on one sender lane, in time order. */
async function bodiesFor(k0: number, k1: number): Promise<Uint8Array[][]> {
  const lanes: Uint8Array[][] = Array.from({ length: SENDERS }, () => []);
  const blocks = Math.ceil(series.length / SERIES_PER_REQUEST);
  for (let b = 0; b < blocks; b++) {
    const block = series.slice(b * SERIES_PER_REQUEST, (b + 1) * SERIES_PER_REQUEST);
    for (let k = k0; k < k1; k += STEPS_PER_REQUEST) {
      const input = block.map((s) => {
        const samples = [];
        for (let kk = k; kk < Math.min(k1, k + STEPS_PER_REQUEST); kk++) samples.push({ timestampMs: timestampMs(meta.startMs, s, kk), value: valueAt(s, kk) });
        return { labels: s.labels, samples };
      });
      (lanes[b % SENDERS] as Uint8Array[]).push(await snappyCompress(encodeRemoteWriteV1(input)));
    }
  }
  return lanes;
}

async function loadRemoteWrite(targets: { name: string; url: string }[]): Promise<void> {
  const hour = 240;
  const t0 = performance.now();
  const totals = new Map(targets.map((t) => [t.name, 0]));
  for (let k0 = 0; k0 < STEPS; k0 += hour) {
    const lanes = await bodiesFor(k0, Math.min(STEPS, k0 + hour));
    for (const t of targets) {
      const r = await sendAll(`${t.url}/api/v1/write`, lanes, HEADERS);
      if (r.failures) throw new Error(`${t.name}: ${r.failures} remote_write requests failed: ${r.firstError}`);
      totals.set(t.name, (totals.get(t.name) as number) + r.elapsedMs);
    }
    process.stdout.write(`\r  loaded ${(k0 + hour) / 240} h of 24 (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  process.stdout.write('\n');
  const samples = series.length * STEPS;
  for (const [name, ms] of totals) console.log(`  ${name}: ${fmt.int((samples / ms) * 1000)} samples/s while loading`);
}

/** Waits until a process has been (nearly) idle for a few seconds: merges and compactions done. */
async function settle(name: string, pid: number, maxMs = 600_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const c0 = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 5000));
    const busy = (cpuSeconds(pid) - c0) / 5;
    if (busy < 0.05 || Date.now() - t0 > maxMs) {
      console.log(`  ${name} settled after ${((Date.now() - t0) / 1000).toFixed(0)} s (cpu ${(busy * 100).toFixed(0)}%)`);
      return;
    }
  }
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<unknown>;
}

async function startTargets(): Promise<Target[]> {
  const targets: Target[] = [];
  const toLoad: { name: string; url: string }[] = [];
  if (want('fleetwatch')) {
    const dir = path.join(baseDir, 'fleetwatch');
    mkdirSync(dir, { recursive: true });
    const fw: Running = await startFleetwatch(['all', '--data-dir', dir, '--grpc-listen', '127.0.0.1:0', '--log-level', 'warn'], { readyTimeoutMs: 120_000 });
    targets.push({ name: 'fleetwatch', url: fw.url, pid: fw.child.pid as number, stop: () => fw.stop() });
    if (!meta.loaded['fleetwatch']) toLoad.push({ name: 'fleetwatch', url: fw.url });
  }
  if (want('victoria') && peerBinary('victoria-metrics')) {
    const dir = path.join(baseDir, 'victoriametrics');
    // -search.disableCache: every query computed, as the issue's reference measurement
    const vm: PeerProcess = await startVictoriaMetrics([`-storageDataPath=${dir}`, '-search.disableCache', '-search.latencyOffset=0s']);
    targets.push({ name: 'victoriametrics', url: vm.url, pid: vm.child.pid as number, stop: () => vm.stop() });
    if (!meta.loaded['victoriametrics']) toLoad.push({ name: 'victoriametrics', url: vm.url });
  } else if (want('victoria')) console.log('skip victoriametrics: apt-get install victoria-metrics');
  if (toLoad.length) {
    console.log(`loading ${fmt.int(series.length)} series x ${STEPS} steps into ${toLoad.map((t) => t.name).join(', ')} via remote_write ...`);
    await loadRemoteWrite(toLoad);
    for (const t of toLoad) meta.loaded[t.name] = true;
    saveMeta();
  }
  if (want('prometheus') && peerBinary('prometheus')) {
    const dir = path.join(baseDir, 'prometheus');
    if (!meta.loaded['prometheus']) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(path.join(dir, 'data'), { recursive: true });
      const file = path.join(baseDir, 'backfill.om');
      console.log('writing OpenMetrics for promtool ...');
      let t = performance.now();
      await writeOpenMetrics(file, meta.startMs, series);
      console.log(`  ${((performance.now() - t) / 1000).toFixed(0)} s; promtool tsdb create-blocks-from openmetrics ...`);
      t = performance.now();
      await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, path.join(dir, 'data')], { maxBuffer: 64 << 20 });
      console.log(`  ${((performance.now() - t) / 1000).toFixed(0)} s`);
      rmSync(file, { force: true });
      meta.loaded['prometheus'] = true;
      saveMeta();
    }
    const p = await startPrometheus('global:\n  scrape_interval: 15s\n  evaluation_interval: 1m\n', ['--storage.tsdb.retention.time=90d'], { dir });
    targets.push({ name: 'prometheus 2.42', url: p.url, pid: p.child.pid as number, stop: () => p.stop() });
  } else if (want('prometheus')) console.log('skip prometheus: apt-get install prometheus');
  for (const t of targets) await settle(t.name, t.pid);
  return targets;
}

interface BenchQuery {
  readonly name: string;
  readonly path: '/api/v1/query' | '/api/v1/query_range';
  readonly params: Record<string, string>;
}

function queries(): BenchQuery[] {
  // Off any sample or step grid: a sample exactly on a window's edge is where
  // Prometheus 2.42 (closed windows) and 3.x (left-open) differ.
  const end = (meta.endMs - 29_679) / 1000;
  const instant = (name: string, query: string): BenchQuery => ({ name, path: '/api/v1/query', params: { query, time: String(end) } });
  const range = (name: string, query: string, spanS: number, stepS: number): BenchQuery => ({ name, path: '/api/v1/query_range', params: { query, start: String(end - spanS), end: String(end), step: String(stepS) } });
  return [
    instant('selector', 'process_resident_memory_bytes{job="svc-03"}'),
    instant('rate over all series', 'rate(http_requests_total[5m])'),
    instant('sum by (job) (rate)', 'sum by (job) (rate(http_requests_total[5m]))'),
    instant('histogram_quantile over rates', 'histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))'),
    instant('topk', 'topk(5, rate(http_requests_total[5m]))'),
    instant('subquery', 'max_over_time(sum by (job) (rate(http_requests_total[5m]))[1h:1m])'),
    range('24 h range @ 60 s', 'sum by (job) (rate(http_requests_total[5m]))', 24 * 3600 - 300, 60),
    range('1 h range @ 15 s', 'sum by (job) (rate(http_requests_total[5m]))', 3600, 15),
  ];
}

async function timed(url: string, q: BenchQuery): Promise<{ ms: number; body: ApiAnswer }> {
  const t0 = performance.now();
  const r = await fetch(`${url}${q.path}`, { method: 'POST', body: new URLSearchParams(q.params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const text = await r.text();
  const ms = performance.now() - t0;
  return { ms, body: JSON.parse(text) as ApiAnswer };
}

/** A matrix answer without its points before `fromS` (seconds). */
function fromTime(a: ApiAnswer, fromS: number): ApiAnswer {
  if (a.status !== 'success' || !a.data || a.data.resultType !== 'matrix') return a;
  const result = (a.data.result as { metric: Record<string, string>; values: [number, string][] }[]).map((s) => ({ ...s, values: s.values.filter((p) => p[0] >= fromS) }));
  return { ...a, data: { resultType: 'matrix', result } };
}

function seriesCount(a: ApiAnswer): number {
  return a.status === 'success' && a.data && Array.isArray(a.data.result) && a.data.resultType !== 'scalar' ? (a.data.result as unknown[]).length : 0;
}

async function main(): Promise<void> {
  console.log(`data: ${fmt.int(series.length)} series x ${STEPS} steps (${fmt.int(series.length * STEPS)} samples), ${new Date(meta.startMs).toISOString()} .. ${new Date(meta.endMs).toISOString()}, dirs in ${baseDir}`);
  const targets = await startTargets();
  try {
    const qs = queries();
    const fw = targets.find((t) => t.name === 'fleetwatch');
    const prom = targets.find((t) => t.name.startsWith('prometheus'));
    const checks = new Map<string, string>();
    // Correctness first: fleetwatch's answer against Prometheus's.
    for (const q of qs) {
      const answers = new Map<string, ApiAnswer>();
      for (const t of targets) answers.set(t.name, (await timed(t.url, q)).body);
      const counts = targets.map((t) => `${t.name} ${seriesCount(answers.get(t.name) as ApiAnswer)}`).join(', ');
      let check = '';
      if (fw && prom) {
        const want = answers.get(prom.name) as ApiAnswer;
        const got = answers.get(fw.name) as ApiAnswer;
        const d = compareAnswers(want, got, false);
        check = d === null ? 'same as Prometheus' : `DIFFERS: ${d.slice(0, 200)}`;
        // Windows that start with the data: Prometheus 3.x (fleetwatch) and 2.42 extrapolate
        // a counter's first increase differently (a listed conformance difference).
        const settled = (meta.startMs + 10 * MINUTE) / 1000;
        if (d !== null && compareAnswers(fromTime(want, settled), fromTime(got, settled), false) === null) {
          check = 'same as Prometheus after the data\'s first 10 min (before: 2.42 vs 3.x extrapolation of a counter\'s first increase, a listed conformance difference)';
        }
      }
      checks.set(q.name, check);
      console.log(`${q.name}: series ${counts}${check ? `; fleetwatch ${check}` : ''}`);
    }
    const times = new Map<string, Map<string, number[]>>();
    for (const q of qs) {
      const byTarget = new Map(targets.map((t) => [t.name, [] as number[]]));
      times.set(q.name, byTarget);
      for (let i = 0; i < RUNS + WARMUP; i++) {
        // targets take turns; the first rounds warm up and are not counted
        const order = i % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          const { ms, body } = await timed(t.url, q);
          if (body.status !== 'success') throw new Error(`${t.name} ${q.name}: ${body.errorType}: ${body.error}`);
          if (i >= WARMUP) (byTarget.get(t.name) as number[]).push(ms);
        }
      }
      const line = targets.map((t) => `${t.name} p50 ${percentile(byTarget.get(t.name) as number[], 50).toFixed(1)} ms`).join(', ');
      console.log(`${q.name}: ${line}`);
    }
    let headNote = 'fleetwatch not run';
    if (fw) {
      const m = await (await fetch(`${fw.url}/metrics`)).text();
      const num = (re: RegExp): number => Number(re.exec(m)?.[1] ?? 0);
      headNote = `here ${fmt.int(num(/^fleetwatch_head_samples\S* (\S+)$/m))} samples of ${fmt.int(num(/^fleetwatch_head_series\S* (\S+)$/m))} series; over the whole run ${fmt.int(num(/^fleetwatch_promql_selects_total\{[^}]*source="head"[^}]*\} (\S+)$/m))} reads answered from the head and ${fmt.int(num(/^fleetwatch_promql_selects_total\{[^}]*source="storage"[^}]*\} (\S+)$/m))} from ClickHouse`;
    }
    const rss = targets.map((t) => `${t.name} ${fmt.mib(peakRssBytes(t.pid))} MiB`).join(', ');
    const names = targets.map((t) => t.name);
    const p = (q: string, t: string, pct: number): number => percentile(times.get(q)?.get(t) ?? [], pct);
    const has = (n: string): string | undefined => names.find((x) => x.startsWith(n));
    const fwName = has('fleetwatch');
    const promName = has('prometheus');
    const vmName = has('victoria');
    const lines = [
      '## Query: PromQL (issue #4)',
      '',
      `${machineLine()}. ${fmt.int(series.length)} series × 24 h at 15 s = ${fmt.int(series.length * STEPS)} samples (4,000 counters, 500 classic histograms × 10 buckets, 1,000 gauges; off-grid scrape offsets and jitter), the same data in each: fleetwatch (\`fleetwatch all\`, embedded chDB) and VictoriaMetrics through remote_write, Prometheus 2.42 backfilled with \`promtool tsdb create-blocks-from openmetrics\` before it starts; each process idle before measuring (merges/compactions done), VictoriaMetrics with \`-search.disableCache\`. Each query ${RUNS} times per target after ${WARMUP} warm-up rounds, targets taking turns, over HTTP on loopback (POST form, full JSON body read). Instant queries 30 s before the end of the data (off the sample grid). Peak RSS: ${rss}.`,
      '',
      `| query | ${names.map((n) => `${n} p50 / p95 ms`).join(' | ')} | ${fwName && promName ? 'fleetwatch / Prometheus p50 | ' : ''}${fwName && vmName ? 'fleetwatch / VictoriaMetrics p50 | ' : ''}fleetwatch answer |`,
      `| --- | ${names.map(() => '---:').join(' | ')} | ${fwName && promName ? '---: | ' : ''}${fwName && vmName ? '---: | ' : ''}--- |`,
      ...qs.map((q) => {
        const cells = names.map((n) => `${p(q.name, n, 50).toFixed(1)} / ${p(q.name, n, 95).toFixed(1)}`);
        const r1 = fwName && promName ? `**${fmt.ratio(p(q.name, fwName, 50), p(q.name, promName, 50))}** | ` : '';
        const r2 = fwName && vmName ? `${fmt.ratio(p(q.name, fwName, 50), p(q.name, vmName, 50))} | ` : '';
        return `| ${q.name} | ${cells.join(' | ')} | ${r1}${r2}${checks.get(q.name) ?? ''} |`;
      }),
      '',
      'Must: fleetwatch p50 <= Prometheus on every query (ratio <= 1). Goal: <= VictoriaMetrics. Queries:',
      '',
      ...qs.map((q) => `- ${q.name}: \`${q.params['query']}\`${q.path === '/api/v1/query_range' ? ` (range ${((Number(q.params['end']) - Number(q.params['start'])) / 3600).toFixed(2)} h, step ${q.params['step']} s)` : ''}`),
      '',
      `How fleetwatch answers these (docs/promql.md): the last \`query.headWindowMs\` (2 h) of samples are held in memory (the head, fed by ingest after each commit; ${headNote}), so a selector or a single evaluation step whose window lies in it never reads ClickHouse — the instant queries run the pushdown's kernels (rate, aggregations) over the head; grids (range queries, subqueries) run \`timeSeries*ToGrid\` in ClickHouse and group there. Older windows read ClickHouse: series looked up in \`metrics_series\` (reused for \`query.seriesCacheTtlMs\`, 5 s), samples from \`metrics_samples\`, sorted by (tenant, metric, hour, fingerprint, time). Every ClickHouse read through chDB costs ~3 ms however small.`,
    ];
    if (!ONLY) writeSection('query', lines.join('\n'));
    else console.log(lines.join('\n'));
  } finally {
    for (const t of targets) await t.stop();
    if (!KEEP) rmSync(baseDir, { recursive: true, force: true });
  }
}

await main();
