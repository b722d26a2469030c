// One scrape loop against a local exporter, with a sink that records what
// would go to the WAL: timestamps, report series, staleness, label clashes,
// duplicate series after relabeling, failures and timeouts.
import { describe, it, expect, afterAll } from 'vitest';
import http from 'node:http';
import { ScrapeLoop } from '../collector/scrape/scrape-loop.ts';
import { parseScrapeConfigs } from '../collector/scrape/config.ts';
import { targetsFromGroup } from '../collector/scrape/target.ts';
import { silentLogger } from '../core/index.ts';
import { isStaleNaN, type MetricsBatch } from '../protocols/index.ts';
import { labelsToRecord } from '../core/index.ts';
import type { Ingester } from '../ingest/index.ts';

let body = '';
let status = 200;
let delayMs = 0;
const server = http.createServer((_req, res) => {
  setTimeout(() => res.writeHead(status, { 'content-type': 'text/plain; version=0.0.4' }).end(body), delayMs);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
afterAll(() => new Promise<void>((r) => server.close(() => r())));

interface Row {
  readonly labels: Record<string, string>;
  readonly ts: number;
  readonly v: number;
}

function loopFor(extra: string): { loop: ScrapeLoop; writes: Row[][] } {
  const [cfg] = parseScrapeConfigs(`
scrape_configs:
  - job_name: j
    scrape_interval: 1m
    scrape_timeout: 300ms
    static_configs: [{ targets: ['127.0.0.1:${port}'], labels: { env: prod } }]
${extra}`);
  if (!cfg) throw new Error('no config');
  const target = targetsFromGroup(cfg, cfg.staticConfigs[0] as (typeof cfg.staticConfigs)[number]).active[0];
  if (!target) throw new Error('no target');
  const writes: Row[][] = [];
  const sink = {
    async writeMetrics(_tenant: string, b: MetricsBatch) {
      const rows: Row[] = [];
      for (let i = 0; i < b.sampleCount; i++) rows.push({ labels: labelsToRecord((b.series[b.sampleSeries[i] as number] as MetricsBatch['series'][number]).labels), ts: b.timestampsMs[i] as number, v: b.values[i] as number });
      writes.push(rows);
      return { written: b.sampleCount, exemplars: 0, rejected: [] };
    },
  } as unknown as Ingester;
  return { loop: new ScrapeLoop(target, cfg, { sink, tenant: 'fake', log: silentLogger, userAgent: 'test' }), writes };
}

const byName = (rows: Row[], name: string) => rows.filter((r) => r.labels['__name__'] === name);

describe('scrape loop', () => {
  it('stamps the scrape time, adds target labels, renames clashes, reports, and marks vanished series stale', async () => {
    status = 200;
    delayMs = 0;
    body = 'a{job="theirs",exported_job="x"} 1\nb 2\nc 3 1000\n';
    const { loop, writes } = loopFor('');
    const t0 = Date.now();
    await loop.scrapeOnce();
    const first = writes[0] as Row[];
    const a = byName(first, 'a')[0];
    expect(a?.labels).toEqual({ __name__: 'a', job: 'j', instance: `127.0.0.1:${port}`, env: 'prod', exported_job: 'x', exported_exported_job: 'theirs' });
    expect(a?.ts).toBeGreaterThanOrEqual(t0);
    expect(byName(first, 'c')[0]?.ts).toBe(1000); // honor_timestamps
    expect(byName(first, 'up')[0]?.v).toBe(1);
    expect(byName(first, 'scrape_samples_scraped')[0]?.v).toBe(3);
    expect(byName(first, 'scrape_series_added')[0]?.v).toBe(3);
    expect(byName(first, 'scrape_duration_seconds')[0]?.labels).toEqual({ __name__: 'scrape_duration_seconds', job: 'j', instance: `127.0.0.1:${port}`, env: 'prod' });

    body = 'a{job="theirs",exported_job="x"} 5\n';
    await loop.scrapeOnce();
    const second = writes[1] as Row[];
    expect(byName(second, 'a')[0]?.v).toBe(5);
    expect(isStaleNaN(byName(second, 'b')[0]?.v as number)).toBe(true);
    expect(byName(second, 'c')).toEqual([]); // explicit timestamps get no staleness marker
    expect(byName(second, 'scrape_series_added')[0]?.v).toBe(0);

    // a failed scrape: up 0, everything from the last scrape stale
    status = 500;
    await loop.scrapeOnce();
    const third = writes[2] as Row[];
    expect(byName(third, 'up')[0]?.v).toBe(0);
    expect(isStaleNaN(byName(third, 'a')[0]?.v as number)).toBe(true);
    expect(loop.state).toMatchObject({ health: 'down', lastError: expect.stringMatching(/HTTP status 500/) });

    // the target goes away: its report series go stale too
    status = 200;
    body = 'a 1\n';
    await loop.scrapeOnce();
    await loop.stop();
    const last = writes.at(-1) as Row[];
    expect(last.map((r) => r.labels['__name__']).sort()).toEqual(['a', 'scrape_duration_seconds', 'scrape_samples_post_metric_relabeling', 'scrape_samples_scraped', 'scrape_series_added', 'up']);
    expect(last.every((r) => isStaleNaN(r.v))).toBe(true);
  });

  it('honor_labels keeps the exposed labels', async () => {
    status = 200;
    body = 'a{job="theirs",env="dev"} 1\n';
    const { loop, writes } = loopFor('    honor_labels: true\n');
    await loop.scrapeOnce();
    expect(byName(writes[0] as Row[], 'a')[0]?.labels).toEqual({ __name__: 'a', job: 'theirs', env: 'dev', instance: `127.0.0.1:${port}` });
    await loop.stop();
  });

  it('writes one sample when two lines relabel to the same series (the first wins)', async () => {
    status = 200;
    body = 'a{x="1",drop_me="p"} 1\na{x="1",drop_me="q"} 2\n';
    const { loop, writes } = loopFor('    metric_relabel_configs: [{ regex: drop_me, action: labeldrop }]\n');
    await loop.scrapeOnce();
    expect(byName(writes[0] as Row[], 'a').map((r) => r.v)).toEqual([1]);
    expect(byName(writes[0] as Row[], 'scrape_samples_post_metric_relabeling')[0]?.v).toBe(1);
    await loop.stop();
  });

  it('a target slower than the timeout is down, a bad exposition too', async () => {
    status = 200;
    delayMs = 600;
    body = 'a 1\n';
    const slow = loopFor('');
    await slow.loop.scrapeOnce();
    expect(slow.loop.state).toMatchObject({ health: 'down', lastError: expect.stringMatching(/deadline|timeout/i) });
    await slow.loop.stop();
    delayMs = 0;
    body = 'a{ 1\n';
    const bad = loopFor('');
    await bad.loop.scrapeOnce();
    expect(bad.loop.state).toMatchObject({ health: 'down', lastError: expect.stringMatching(/line 1/) });
    expect(byName(bad.writes[0] as Row[], 'up')[0]?.v).toBe(0);
    await bad.loop.stop();
  });

  it('fails the scrape past sample_limit', async () => {
    status = 200;
    body = 'a 1\nb 2\nc 3\n';
    const { loop, writes } = loopFor('    sample_limit: 2\n');
    await loop.scrapeOnce();
    expect(loop.state.lastError).toMatch(/sample limit exceeded/);
    expect(byName(writes[0] as Row[], 'a')).toEqual([]);
    expect(byName(writes[0] as Row[], 'up')[0]?.v).toBe(0);
    await loop.stop();
  });
});
