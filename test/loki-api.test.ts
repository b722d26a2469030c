// The Loki HTTP API with the request shapes Grafana's Loki data source
// (pkg/tsdb/loki: query_range with ns start/end and `step=<n>ms`, the
// `vector(1)+vector(1)` health check, resource calls) and logcli send
// (uppercase direction, RFC3339 times, match[] series, the tail websocket).
// Response shapes: https://grafana.com/docs/loki/latest/reference/loki-http-api/
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { FastifyInstance } from 'fastify';
import { testStore } from './helpers/store.ts';
import { createHttpApp, createRegistry, loadConfig } from '../core/index.ts';
import { createIngester, ingesterOptionsFromConfig, type Ingester } from '../ingest/index.ts';
import { decodeLokiPush } from '../protocols/index.ts';
import type { Store } from '../storage/index.ts';
import { registerLokiQueryApi } from '../query/index.ts';

const S = 1_000_000_000n;
const T0 = 1_704_067_200n * S;
const at = (sec: number): string => String(T0 + BigInt(sec) * S);
const START = String(T0);
const END = String(T0 + 600n * S);

let store: Store;
let ingester: Ingester;
let app: FastifyInstance;

async function push(tenant: string, body: unknown): Promise<void> {
  const d = decodeLokiPush(Buffer.from(JSON.stringify(body)), 'application/json');
  if (!d.ok) throw new Error(d.message);
  await ingester.writeLogs(tenant, d.value);
}

beforeAll(async () => {
  store = await testStore();
  const config = loadConfig({ flags: { 'http-listen': '127.0.0.1:0' } });
  ingester = createIngester(ingesterOptionsFromConfig(config, store, createRegistry('ingest')));
  await push('fake', {
    streams: [
      {
        stream: { app: 'api', env: 'prod' },
        values: [
          [at(10), '{"level":"info","msg":"ok"}'],
          [at(70), '{"level":"error","msg":"boom"}', { trace_id: 'abc' }],
          [at(130), '{"level":"info","msg":"again"}'],
        ],
      },
      { stream: { app: 'web', env: 'dev' }, values: [[at(20), 'level=warn msg=slow']] },
    ],
  });
  await push('team-b', { streams: [{ stream: { app: 'api', env: 'prod' }, values: [[at(30), '{"level":"error","msg":"b"}']] }] });
  const registry = createRegistry('api');
  app = createHttpApp({ logLevel: 'silent', maxRequestBytes: 1 << 20, registry, isReady: () => true });
  registerLokiQueryApi(app, { config, store, registry, tailPollMs: 50 });
  await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await ingester?.shutdown();
  await store?.close();
});

function qs(params: Record<string, string | string[]>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.append(k, x);
  return u.toString();
}

async function get(path: string, params: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<{ status: number; body: string; json: () => any; type: string }> {
  const r = await app.inject({ method: 'GET', url: `${path}?${qs(params)}`, headers });
  return { status: r.statusCode, body: r.body, json: () => JSON.parse(r.body), type: String(r.headers['content-type']) };
}

describe('Grafana data source', () => {
  it('health check: vector(1)+vector(1) at time=4000000000 returns 2', async () => {
    const r = await get('/loki/api/v1/query', { query: 'vector(1)+vector(1)', direction: '', time: '4000000000' });
    expect(r.status).toBe(200);
    const j = r.json();
    expect(j.status).toBe('success');
    expect(j.data.resultType).toBe('vector');
    expect(j.data.result).toHaveLength(1);
    expect(j.data.result[0].metric).toEqual({});
    expect(j.data.result[0].value[1]).toBe('2');
    expect(typeof j.data.result[0].value[0]).toBe('number');
    expect(j.data.stats.summary).toMatchObject({ totalLinesProcessed: 0 });
  });

  it('logs query with categorize-labels: stream labels only, 3-tuples with structured metadata and parsed labels', async () => {
    const r = await get('/loki/api/v1/query_range', { query: '{app="api"} | json', direction: 'backward', limit: '1000', start: START, end: END, step: '2000ms' }, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels', 'X-Query-Tags': 'Source=grafana' });
    expect(r.status).toBe(200);
    expect(r.type).toContain('application/json');
    const j = r.json();
    expect(j.data.resultType).toBe('streams');
    expect(j.data.encodingFlags).toEqual(['categorize-labels']);
    expect(j.data.result).toEqual([
      {
        stream: { app: 'api', env: 'prod' },
        values: [
          [at(130), '{"level":"info","msg":"again"}', { parsed: { level: 'info', msg: 'again' } }],
          [at(70), '{"level":"error","msg":"boom"}', { structuredMetadata: { trace_id: 'abc' }, parsed: { level: 'error', msg: 'boom' } }],
          [at(10), '{"level":"info","msg":"ok"}', { parsed: { level: 'info', msg: 'ok' } }],
        ],
      },
    ]);
    expect(j.data.stats.summary.totalLinesProcessed).toBe(3);
    expect(j.data.stats.summary.totalEntriesReturned).toBe(3);
  });

  it('logs query without the flag: every label is part of the stream', async () => {
    const j = (await get('/loki/api/v1/query_range', { query: '{app="api"} |= "boom"', direction: 'backward', limit: '1000', start: START, end: END, step: '2000ms' })).json();
    expect(j.data.encodingFlags).toBeUndefined();
    expect(j.data.result).toEqual([{ stream: { app: 'api', env: 'prod', trace_id: 'abc' }, values: [[at(70), '{"level":"error","msg":"boom"}']] }]);
  });

  it('metric range query: matrix with [seconds, "value"] pairs', async () => {
    const r = await get('/loki/api/v1/query_range', { query: 'sum by (level) (count_over_time({app="api"} | json [1m]))', direction: 'backward', start: START, end: String(T0 + 180n * S), step: '60000ms' });
    const j = r.json();
    expect(j.data.resultType).toBe('matrix');
    const t = (s: number): number => Number(T0 / S) + s;
    expect(j.data.result).toEqual([
      { metric: { level: 'error' }, values: [[t(120), '1']] },
      { metric: { level: 'info' }, values: [[t(60), '1'], [t(180), '1']] },
    ]);
  });

  it('logs volume (supporting query): index/volume_range aggregated by a target label', async () => {
    const j = (await get('/loki/api/v1/index/volume_range', { query: '{app=~"api|web"}', start: START, end: String(T0 + 120n * S), step: '60', targetLabels: 'app', aggregateBy: 'series' })).json();
    expect(j.data.resultType).toBe('matrix');
    const byApp = Object.fromEntries(j.data.result.map((s: any) => [s.metric.app, s.values]));
    const t = (s: number): number => Number(T0 / S) + s;
    expect(byApp.api).toEqual([
      [t(60), String('{"level":"info","msg":"ok"}'.length)],
      [t(120), String('{"level":"error","msg":"boom"}'.length)],
    ]);
    expect(byApp.web).toEqual([[t(60), String('level=warn msg=slow'.length)]]);
  });

  it('labels, label values and series for the query editor', async () => {
    expect((await get('/loki/api/v1/labels', { start: START, end: END })).json()).toEqual({ status: 'success', data: ['app', 'env'] });
    expect((await get('/loki/api/v1/label/app/values', { start: START, end: END })).json()).toEqual({ status: 'success', data: ['api', 'web'] });
    expect((await get('/loki/api/v1/label/env/values', { start: START, end: END, query: '{app="web"}' })).json()).toEqual({ status: 'success', data: ['dev'] });
    expect((await get('/loki/api/v1/series', { 'match[]': '{env=~".+"}', start: START, end: END })).json()).toEqual({
      status: 'success',
      data: [
        { app: 'api', env: 'prod' },
        { app: 'web', env: 'dev' },
      ],
    });
  });

  it('detected labels and fields (Explore / Logs Drilldown)', async () => {
    expect((await get('/loki/api/v1/detected_labels', { query: '{env=~".+"}', start: START, end: END })).json()).toEqual({
      detectedLabels: [
        { label: 'app', cardinality: 2 },
        { label: 'env', cardinality: 2 },
      ],
    });
    const f = (await get('/loki/api/v1/detected_fields', { query: '{app="api"}', start: START, end: END })).json();
    expect(f.limit).toBe(1000);
    const fields = Object.fromEntries(f.fields.map((x: any) => [x.label, x]));
    expect(fields.level).toEqual({ label: 'level', type: 'string', cardinality: 2, parsers: ['json'] });
    expect(fields.trace_id).toEqual({ label: 'trace_id', type: 'string', cardinality: 1, parsers: null });
    const v = (await get('/loki/api/v1/detected_field/level/values', { query: '{app="api"}', start: START, end: END })).json();
    expect([...v.values].sort()).toEqual(['error', 'info']);
  });
});

describe('logcli', () => {
  it('query with uppercase direction, RFC3339 times and a limit', async () => {
    const j = (await get('/loki/api/v1/query_range', { direction: 'FORWARD', end: '2024-01-01T00:10:00Z', limit: '2', query: '{env=~".+"}', start: '2024-01-01T00:00:00Z' })).json();
    const lines = j.data.result.flatMap((s: any) => s.values.map((v: string[]) => v[0]));
    expect(lines.sort()).toEqual([at(10), at(20)]);
  });

  it('times as seconds (10 digits), float seconds and nanoseconds mean the same', async () => {
    const a = (await get('/loki/api/v1/query_range', { query: '{app="web"}', start: String(T0 / S), end: String(T0 / S + 600n) })).json().data.result;
    const b = (await get('/loki/api/v1/query_range', { query: '{app="web"}', start: `${T0 / S}.0`, end: `${T0 / S + 600n}.000` })).json().data.result;
    const c = (await get('/loki/api/v1/query_range', { query: '{app="web"}', start: START, end: END })).json().data.result;
    expect(a).toEqual(c);
    expect(b).toEqual(c);
    expect(c).toHaveLength(1);
  });

  it('series with match[] and match, stats, instant query', async () => {
    const s = (await get('/loki/api/v1/series', { end: END, 'match[]': ['{app="api"}', '{app="web"}'], start: START })).json();
    expect(s.data).toHaveLength(2);
    const m = (await get('/loki/api/v1/series', { end: END, match: '{app="web"}', start: START })).json();
    expect(m.data).toEqual([{ app: 'web', env: 'dev' }]);
    expect((await get('/loki/api/v1/index/stats', { query: '{app="api"}', start: START, end: END })).json()).toEqual({
      streams: 1,
      chunks: 1,
      entries: 3,
      bytes: '{"level":"info","msg":"ok"}{"level":"error","msg":"boom"}{"level":"info","msg":"again"}'.length,
    });
    const i = (await get('/loki/api/v1/query', { direction: 'BACKWARD', limit: '30', query: 'count_over_time({app="api"}[10m])', time: END })).json();
    expect(i.data.result.map((x: any) => [x.metric, x.value[1]])).toEqual([
      [{ app: 'api', env: 'prod' }, '2'],
      [{ app: 'api', env: 'prod', trace_id: 'abc' }, '1'],
    ]);
  });

  it('tail: history first, then new lines as they are written', async () => {
    const addr = app.server.address() as { port: number };
    const url = `ws://127.0.0.1:${addr.port}/loki/api/v1/tail?${qs({ query: '{app="web"}', limit: '30', delay_for: '0', start: START })}`;
    const ws = new WebSocket(url);
    const messages: any[] = [];
    const got = (n: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} messages, got ${JSON.stringify(messages)}`)), 20_000);
        const check = (): void => {
          if (messages.length >= n) {
            clearTimeout(timer);
            resolve();
          }
        };
        ws.on('message', (m) => {
          messages.push(JSON.parse(String(m)));
          check();
        });
        check();
      });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await got(1);
    expect(messages[0].streams).toEqual([{ stream: { app: 'web', env: 'dev' }, values: [[at(20), 'level=warn msg=slow']] }]);
    const now = BigInt(Date.now()) * 1_000_000n;
    await push('fake', { streams: [{ stream: { app: 'web', env: 'dev' }, values: [[String(now), 'a new line']] }] });
    await got(2);
    expect(messages[1].streams[0].values).toEqual([[String(now), 'a new line']]);
    ws.close();
  });
});

describe('requests and errors', () => {
  it('POST with a form body', async () => {
    const r = await app.inject({ method: 'POST', url: '/loki/api/v1/query_range', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: qs({ query: '{app="web"}', start: START, end: END }) });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body).data.result).toHaveLength(1);
    const f = await app.inject({ method: 'POST', url: '/loki/api/v1/format_query', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: qs({ query: '{foo=   "bar"}' }) });
    expect(JSON.parse(f.body)).toEqual({ status: 'success', data: '{foo="bar"}' });
  });

  it('X-Scope-OrgID with several tenants adds __tenant_id__', async () => {
    const j = (await get('/loki/api/v1/query_range', { query: '{app="api"} |= "error"', start: START, end: END }, { 'X-Scope-OrgID': 'fake|team-b' })).json();
    expect(j.data.result.map((s: any) => s.stream.__tenant_id__).sort()).toEqual(['fake', 'team-b']);
    const v = (await get('/loki/api/v1/label/__tenant_id__/values', { start: START, end: END }, { 'X-Scope-OrgID': 'fake|team-b' })).json();
    expect(v.data).toEqual(['fake', 'team-b']);
    const single = (await get('/loki/api/v1/query_range', { query: '{app="api"}', start: START, end: END }, { 'X-Scope-OrgID': 'team-b' })).json();
    expect(single.data.result).toEqual([{ stream: { app: 'api', env: 'prod' }, values: [[at(30), '{"level":"error","msg":"b"}']] }]);
  });

  it.each([
    ['/loki/api/v1/query_range', { query: '{app="api"', start: START, end: END }, /^parse error at line 1, col \d+: syntax error/],
    ['/loki/api/v1/query', { query: '{app="api"}' }, /^log queries are not supported as an instant query type/],
    ['/loki/api/v1/query_range', { query: '{app="api"}', start: START, end: END, limit: '10000' }, /^max entries limit per query exceeded, limit > max_entries_limit_per_query \(10000 > 5000\)$/],
    ['/loki/api/v1/query_range', { query: 'rate({app="api"}[1m])', start: START, end: END, step: '0' }, /^zero or negative query resolution step widths are not accepted/],
    ['/loki/api/v1/query_range', { query: 'rate({app="api"}[1m])', start: START, end: END, step: '1ms' }, /^exceeded maximum resolution of 11,000 points/],
    ['/loki/api/v1/query_range', { query: '{app="api"}', start: END, end: START }, /^end timestamp must not be before or equal to start time$/],
    ['/loki/api/v1/query_range', { query: '{app="api"}', start: START, end: END, direction: 'sideways' }, /^invalid direction 'sideways'$/],
    ['/loki/api/v1/query_range', { query: 'count_over_time({app="api"} | logfmt --strict [10m])', start: START, end: END, step: '600' }, /^pipeline error: 'LogfmtParserErr' for series/],
  ])('%s %j -> 400 with Loki text', async (path, params, msg) => {
    const r = await get(path, params as Record<string, string>);
    expect(r.status).toBe(400);
    expect(r.type).toContain('text/plain');
    expect(r.body).toMatch(msg);
  });

  it('limits: max series, max bytes read, timeout', async () => {
    const limited = async (query: Record<string, unknown>): Promise<FastifyInstance> => {
      const registry = createRegistry('limited');
      const a = createHttpApp({ logLevel: 'silent', maxRequestBytes: 1 << 20, registry, isReady: () => true });
      registerLokiQueryApi(a, { config: loadConfig({ fileObject: { query } }), store, registry });
      return a;
    };
    const call = async (a: FastifyInstance, params: Record<string, string>): Promise<{ status: number; body: string }> => {
      const r = await a.inject({ method: 'GET', url: `/loki/api/v1/query_range?${qs(params)}` });
      return { status: r.statusCode, body: r.body };
    };
    const few = await limited({ maxSeries: 1 });
    const series = await call(few, { query: 'count_over_time({env=~".+"}[10m])', start: START, end: END, step: '600' });
    expect(series.status).toBe(400);
    expect(series.body).toMatch(/^maximum number of (series|streams) \(1\) reached for a single query/);
    const small = await limited({ maxBytesRead: 1 });
    const bytes = await call(small, { query: '{app="api"} |= "boom"', start: START, end: END });
    expect(bytes.status).toBe(400);
    expect(bytes.body).toMatch(/^the query would read too many bytes/);
    const quick = await limited({ timeoutMs: 1 });
    const slow = await call(quick, { query: 'sum by (app) (count_over_time({env=~".+"} |~ "(a|b)+c" [10m]))', start: START, end: END, step: '600' });
    expect(slow.status).toBe(504);
    expect(slow.body).toMatch(/^request timed out/);
    await Promise.all([few.close(), small.close(), quick.close()]);
  });

  it('buildinfo', async () => {
    const j = (await get('/loki/api/v1/status/buildinfo', {})).json();
    expect(Object.keys(j).sort()).toEqual(['branch', 'buildDate', 'buildUser', 'goVersion', 'revision', 'version']);
  });
});
