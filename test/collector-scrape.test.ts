// Scraping, checked against Prometheus itself: the same scrape config (static
// and file_sd discovery, every relabel action, metric relabeling,
// honor_labels, OpenMetrics, a dead target) goes to a real Prometheus 2.42
// and to the collector; both scrape a real node-exporter and a small test
// exporter. Their target labels, dropped targets and the series they store
// must match. Then staleness: a series that disappears and a target that
// goes away get stale markers in central.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestCentral, type TestCentral } from './helpers/central.ts';
import { missingPeer, peerBinary, startPrometheus, type PeerProcess } from './helpers/peers.ts';
import { freePort } from './helpers/proc.ts';
import { startCollectorProcess, waitDrained, type CollectorProcess } from './helpers/collector.ts';
import { isStaleNaN } from '../protocols/index.ts';
import { RowBinaryReader } from '../storage/index.ts';

const havePeers = peerBinary('prometheus') !== undefined && peerBinary('prometheus-node-exporter') !== undefined;
if (!havePeers) {
  if (!peerBinary('prometheus')) console.warn(missingPeer('prometheus', 'prometheus'));
  if (!peerBinary('prometheus-node-exporter')) console.warn(missingPeer('prometheus-node-exporter', 'prometheus-node-exporter'));
}

let flap = true;
const fixedTs = Date.now() - 10_000;
const exporterText = () =>
  [
    '# HELP honor_me A series whose labels clash with target labels.',
    '# TYPE honor_me gauge',
    'honor_me{job="exporter-job",instance="other",extra="x"} 1',
    '# TYPE req_total counter',
    'req_total{code="200"} 10',
    'req_total{code="500"} 1',
    ...(flap ? ['flappy{state="on"} 1'] : []),
    '# TYPE lat histogram',
    'lat_bucket{le="0.1"} 1',
    'lat_bucket{le="+Inf"} 2',
    'lat_sum 0.3',
    'lat_count 2',
    `with_ts 5 ${fixedTs}`,
    '',
  ].join('\n');
const exporterOm = () =>
  [
    '# TYPE om_requests counter',
    '# HELP om_requests Requests.',
    `om_requests_total{path="/a"} 3 # {trace_id="abc123"} 1.0 ${(fixedTs / 1000).toFixed(3)}`,
    'om_requests_created{path="/a"} 1700000000.5',
    '# TYPE om_build info',
    'om_build_info{version="1.2.3"} 1',
    '# EOF',
    '',
  ].join('\n');

let exporter: http.Server;
let exporterPort: number;
let nodeExporter: ChildProcess | undefined;
let nodePort: number;
let prom: PeerProcess | undefined;
let central: TestCentral;
let collector: CollectorProcess | undefined;
let sdFile: string;

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface TargetView {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastScrape: string;
}
async function targetsOf(url: string): Promise<{ activeTargets: TargetView[]; droppedTargets: { discoveredLabels: Record<string, string> }[] }> {
  return ((await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: TargetView[]; droppedTargets: { discoveredLabels: Record<string, string> }[] } }).data;
}

const keyOf = (l: Record<string, string>) =>
  Object.keys(l)
    .filter((k) => k !== 'cluster')
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(',');

async function ourSeries(job: string): Promise<Set<string>> {
  const rows = await central.store.queryRows<{ labels: Record<string, string> }>({ sql: `SELECT DISTINCT labels FROM ${central.store.database}.metrics_series WHERE labels['job'] = {j:String}`, params: { j: job } });
  return new Set(rows.map((r) => keyOf(r.labels)));
}

async function promSeries(job: string): Promise<Set<string>> {
  const r = (await (await fetch(`${prom?.url}/api/v1/series?match[]=${encodeURIComponent(`{job="${job}"}`)}&start=${Math.floor(Date.now() / 1000) - 600}`)).json()) as { data: Record<string, string>[] };
  return new Set(r.data.map(keyOf));
}

/** The values stored for a series (by metric name and one label), in time order. */
async function valuesOf(metric: string, label: string, value: string): Promise<{ ts: number; v: number }[]> {
  const db = central.store.database;
  const bin = await central.store.queryBinary(
    {
      sql: `SELECT timestamp_ms, value FROM ${db}.metrics_samples WHERE metric_name = {m:String} AND fingerprint IN (SELECT fingerprint FROM ${db}.metrics_series WHERE metric_name = {m:String} AND labels[{l:String}] = {v:String}) ORDER BY timestamp_ms`,
      params: { m: metric, l: label, v: value },
    },
    'RowBinary',
  );
  const out: { ts: number; v: number }[] = [];
  const rd = new RowBinaryReader(bin);
  while (!rd.done) out.push({ ts: rd.int64(), v: rd.float64() });
  return out;
}

describe.skipIf(!havePeers)('scraping, compared with Prometheus 2.42', () => {
  beforeAll(async () => {
    exporter = http.createServer((req, res) => {
      if (req.url === '/om' && (req.headers.accept ?? '').includes('application/openmetrics-text')) {
        res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(exporterOm());
      } else if (req.url === '/text' || req.url === '/om' || req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(exporterText());
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
    exporterPort = (exporter.address() as { port: number }).port;
    nodePort = await freePort();
    nodeExporter = spawn(peerBinary('prometheus-node-exporter') as string, [`--web.listen-address=127.0.0.1:${nodePort}`], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${nodePort}/metrics`)).ok, 15_000, 'node-exporter');

    const dir = mkdtempSync(path.join(tmpdir(), 'fw-scrape-'));
    sdFile = path.join(dir, 'targets.json');
    writeFileSync(sdFile, JSON.stringify([{ targets: [`127.0.0.1:${exporterPort}`], labels: { group: 'a' } }]));
    const closed = await freePort();
    const yaml = `
global:
  scrape_interval: 1s
  scrape_timeout: 800ms
scrape_configs:
  - job_name: node
    static_configs: [{ targets: ['127.0.0.1:${nodePort}'], labels: { team: infra } }]
    relabel_configs:
      - { source_labels: [__address__], regex: '(.*):(\\d+)', target_label: port, replacement: '$2' }
      - { source_labels: [__address__], target_label: shard, modulus: 4, action: hashmod }
      - { source_labels: [team], regex: infra, action: keep }
      - { source_labels: [team], target_label: team_upper, action: uppercase }
    metric_relabel_configs:
      - { source_labels: [__name__], regex: 'node_scrape_collector_.*|go_.*', action: drop }
      - { regex: fstype, action: labeldrop }
      - { source_labels: [__name__, mode], regex: 'node_cpu_seconds_total;(.+)', target_label: cpu_mode, replacement: 'mode_$1' }
  - job_name: files
    metrics_path: /text
    file_sd_configs: [{ files: ['${path.join(dir, '*.json')}'], refresh_interval: 1s }]
    relabel_configs:
      - { regex: '__meta_(filepath)', action: labelmap, replacement: 'sd_$1' }
  - job_name: honor
    honor_labels: true
    metrics_path: /text
    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]
  - job_name: om
    metrics_path: /om
    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]
  - job_name: down
    static_configs: [{ targets: ['127.0.0.1:${closed}'] }]
  - job_name: dropped
    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]
    relabel_configs: [{ source_labels: [__address__], regex: '.*', action: drop }]
`;
    const cfgFile = path.join(dir, 'prometheus.yml');
    writeFileSync(cfgFile, yaml);
    central = await startTestCentral();
    prom = await startPrometheus(yaml);
    collector = await startCollectorProcess({ central: central.httpUrl, token: '', env: { FLEETWATCH_COLLECTOR_SCRAPE_CONFIG_FILE: cfgFile } });
    // a few scrapes each
    const scraped = async (url: string) => {
      const t = await targetsOf(url);
      return t.activeTargets.length === 5 && t.activeTargets.every((x) => x.lastScrape !== '0001-01-01T00:00:00Z' && Date.now() - Date.parse(x.lastScrape) < 5000);
    };
    await waitFor(() => scraped(collector?.url as string), 20_000, 'collector scrapes');
    await waitFor(() => scraped(prom?.url as string), 20_000, 'Prometheus scrapes');
    await new Promise((r) => setTimeout(r, 2500));
    await waitDrained(collector.url, 20_000);
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
    await prom?.stop();
    nodeExporter?.kill('SIGTERM');
    await new Promise<void>((r) => exporter?.close(() => r()));
    await central?.shutdown();
  });

  it('builds the same targets (labels after relabeling, discovered labels, URLs, health)', async () => {
    const ours = await targetsOf(collector?.url as string);
    const theirs = await targetsOf(prom?.url as string);
    const view = (t: TargetView) => ({ pool: t.scrapePool, url: t.scrapeUrl, labels: t.labels, discovered: t.discoveredLabels, health: t.health });
    const sort = (a: ReturnType<typeof view>, b: ReturnType<typeof view>) => (a.pool + a.url < b.pool + b.url ? -1 : 1);
    expect(ours.activeTargets.map(view).sort(sort)).toEqual(theirs.activeTargets.map(view).sort(sort));
    expect(ours.droppedTargets).toEqual(theirs.droppedTargets);
    // spot checks of what the relabel rules produced
    const node = ours.activeTargets.find((t) => t.scrapePool === 'node');
    expect(node?.labels).toMatchObject({ port: String(nodePort), team_upper: 'INFRA', job: 'node', instance: `127.0.0.1:${nodePort}` });
    expect(ours.activeTargets.find((t) => t.scrapePool === 'files')?.labels['sd_filepath']).toBe(sdFile);
    expect(ours.activeTargets.find((t) => t.scrapePool === 'down')?.health).toBe('down');
  });

  it.each(['node', 'files', 'honor', 'om', 'down'])('stores the same series as Prometheus for job %s', async (job) => {
    const ours = await ourSeries(job);
    const theirs = await promSeries(job);
    expect(ours.size).toBeGreaterThan(job === 'node' ? 100 : job === 'down' ? 4 : 5);
    expect([...ours].filter((k) => !theirs.has(k)), 'only in fleetwatch').toEqual([]);
    expect([...theirs].filter((k) => !ours.has(k)), 'only in Prometheus').toEqual([]);
  });

  it('renames clashing labels exported_* unless honor_labels, keeps explicit timestamps, stores exemplars and metadata', async () => {
    expect(await ourSeries('files')).toContain(keyOf({ __name__: 'honor_me', job: 'files', instance: `127.0.0.1:${exporterPort}`, exported_job: 'exporter-job', exported_instance: 'other', extra: 'x', group: 'a', sd_filepath: sdFile }));
    expect(await ourSeries('exporter-job')).toContain(keyOf({ __name__: 'honor_me', job: 'exporter-job', instance: 'other', extra: 'x' }));
    const withTs = await valuesOf('with_ts', 'job', 'honor');
    expect(withTs.map((x) => x.ts)).toContain(fixedTs);
    const ex = await central.store.queryRows<{ labels: Record<string, string>; value: number }>({ sql: `SELECT labels, value FROM ${central.store.database}.metrics_exemplars WHERE metric_name = 'om_requests_total' LIMIT 1`, params: {} });
    expect(ex[0]).toEqual({ labels: { trace_id: 'abc123' }, value: 1 });
    const md = await central.store.queryRows<{ type: string; help: string }>({ sql: `SELECT type, help FROM ${central.store.database}.metrics_metadata WHERE metric_name = 'honor_me' LIMIT 1`, params: {} });
    expect(md[0]).toEqual({ type: 'gauge', help: 'A series whose labels clash with target labels.' });
    // up is 0 for the dead target, 1 for the others
    expect((await valuesOf('up', 'job', 'down')).at(-1)?.v).toBe(0);
    expect((await valuesOf('up', 'job', 'node')).at(-1)?.v).toBe(1);
  });

  it('parses node-exporter\'s and Prometheus\'s own /metrics, text and OpenMetrics, every sample line', async () => {
    const { parseExposition, formatOf, SCRAPE_ACCEPT } = await import('../collector/scrape/exposition.ts');
    for (const url of [`http://127.0.0.1:${nodePort}/metrics`, `${prom?.url}/metrics`]) {
      for (const accept of [SCRAPE_ACCEPT, 'text/plain;version=0.0.4']) {
        const res = await fetch(url, { headers: { accept } });
        const text = await res.text();
        const format = formatOf(res.headers.get('content-type'));
        const parsed = parseExposition(text, format);
        if (!parsed.ok) throw new Error(`${url} (${format}): ${parsed.error}`);
        const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
        expect(parsed.value.samples.length, `${url} ${format}`).toBe(lines.length);
        expect(lines.length).toBeGreaterThan(100);
        expect(parsed.value.families.size).toBeGreaterThan(20);
      }
    }
    // (both answer the text format even when OpenMetrics is preferred; the OpenMetrics path is the test exporter's /om)
  });

  it('marks a vanished series and a removed target stale', async () => {
    flap = false;
    await new Promise((r) => setTimeout(r, 2500));
    await waitDrained(collector?.url as string, 10_000);
    const flappy = await valuesOf('flappy', 'job', 'files');
    expect(flappy.length).toBeGreaterThan(2);
    expect(isStaleNaN(flappy.at(-1)?.v as number)).toBe(true);
    expect(flappy.slice(0, -1).every((x) => x.v === 1)).toBe(true);

    unlinkSync(sdFile); // the files job loses its only target
    await waitFor(async () => (await targetsOf(collector?.url as string)).activeTargets.every((t) => t.scrapePool !== 'files'), 15_000, 'the target to go');
    await new Promise((r) => setTimeout(r, 500));
    await waitDrained(collector?.url as string, 10_000);
    const up = await valuesOf('up', 'job', 'files');
    expect(isStaleNaN(up.at(-1)?.v as number)).toBe(true);
    const req = await valuesOf('req_total', 'job', 'files');
    expect(isStaleNaN(req.at(-1)?.v as number)).toBe(true);
  });
});
