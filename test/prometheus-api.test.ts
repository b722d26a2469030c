// The Prometheus/Thanos HTTP API of a real central (data in through
// remote_write): envelopes, result encoding, parameters (float/RFC3339
// times, compound durations, form POSTs), Prometheus's error types and
// texts, metadata endpoints, exemplars, tenants, Thanos dedup, stats, and
// promtool as a client.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRemoteWriteV1, snappyCompress } from '../protocols/index.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';
import { missingPeer, peerBinary } from './helpers/peers.ts';
import { formatTimestamp, formatValue } from '../query/prometheus-encode.ts';
import { parseTimeMs, unescapeLabelName } from '../query/prometheus-params.ts';

let central: TestCentral;
// recent: older samples would fall outside the metrics retention (TTL)
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const STEP = 15_000;

async function remoteWrite(tenant: string, series: Parameters<typeof encodeRemoteWriteV1>[0], metadata: Parameters<typeof encodeRemoteWriteV1>[1] = []): Promise<void> {
  const body = await snappyCompress(encodeRemoteWriteV1(series, metadata));
  const r = await fetch(`${central.httpUrl}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', 'x-scope-orgid': tenant },
  });
  expect(r.status, await r.text()).toBe(204);
}

type Json = { status: string; data?: unknown; errorType?: string; error?: string; warnings?: string[]; infos?: string[] };

async function get(path: string, tenant = 'acme', init: RequestInit = {}): Promise<{ status: number; body: Json; text: string }> {
  const r = await fetch(`${central.httpUrl}${path}`, { ...init, headers: { 'x-scope-orgid': tenant, ...(init.headers ?? {}) } });
  const text = await r.text();
  return { status: r.status, body: JSON.parse(text) as Json, text };
}

async function post(path: string, form: Record<string, string | string[]>, tenant = 'acme'): Promise<{ status: number; body: Json; text: string }> {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return get(path, tenant, { method: 'POST', body: p.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

beforeAll(async () => {
  central = await startTestCentral();
  const counter = (labels: Record<string, string>, perStep: number) => ({
    labels: { __name__: 'http_requests_total', ...labels },
    samples: Array.from({ length: 41 }, (_, i) => ({ timestampMs: T0 + i * STEP, value: i * perStep })),
  });
  await remoteWrite(
    'acme',
    [
      { ...counter({ job: 'api', instance: 'a:1', 'http.method': 'GET' }, 3), exemplars: [{ labels: { trace_id: 'abc123' }, value: 0.25, timestampMs: T0 + 30_000 }] },
      counter({ job: 'api', instance: 'a:2', 'http.method': 'POST' }, 5),
      counter({ job: 'db', instance: 'd:1' }, 1),
      { labels: { __name__: 'small', job: 'x' }, samples: [{ timestampMs: T0, value: 1.5e-7 }] },
      { labels: { __name__: 'replicated', job: 'r', replica: 'A' }, samples: [0, 2, 4, 6].map((i) => ({ timestampMs: T0 + i * STEP, value: i })) },
      { labels: { __name__: 'replicated', job: 'r', replica: 'B' }, samples: [1, 3, 5, 7].map((i) => ({ timestampMs: T0 + i * STEP + 100, value: i })) },
    ],
    [{ metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests served.', unit: '' }],
  );
  await remoteWrite('other', [counter({ job: 'secret', instance: 's:1' }, 7)]);
  // promtool sends no X-Scope-OrgID: it reads the default tenant
  await remoteWrite('fake', [counter({ job: 'api', instance: 'a:1' }, 3), counter({ job: 'api', instance: 'a:2' }, 5), counter({ job: 'db', instance: 'd:1' }, 1)]);
});

afterAll(async () => {
  await central?.shutdown();
});

describe('encoding', () => {
  it('prints timestamps and values as Prometheus does', () => {
    expect(formatTimestamp(1_435_781_451_781)).toBe('1435781451.781');
    expect(formatTimestamp(1_500)).toBe('1.500');
    expect(formatTimestamp(1_050)).toBe('1.050');
    expect(formatTimestamp(1_005)).toBe('1.005');
    expect(formatTimestamp(4_000)).toBe('4');
    expect(formatTimestamp(-1_500)).toBe('-1.500');
    expect(formatValue(2)).toBe('2');
    expect(formatValue(0.1)).toBe('0.1');
    expect(formatValue(1.5e-7)).toBe('1.5e-07');
    expect(formatValue(1e21)).toBe('1e+21');
    expect(formatValue(123456789012345680000)).toBe('123456789012345680000');
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
  });

  it('parses times and U__ escaped names', () => {
    expect(parseTimeMs('1435781451.781')).toBe(1_435_781_451_781);
    expect(parseTimeMs('4')).toBe(4000);
    expect(parseTimeMs('2015-07-01T20:10:51.781Z')).toBe(1_435_781_451_781);
    expect(parseTimeMs('2015-07-01T22:10:51+02:00')).toBe(1_435_781_451_000);
    expect(() => parseTimeMs('yesterday')).toThrow('cannot parse "yesterday" to a valid timestamp');
    expect(unescapeLabelName('U__http_2e_method')).toBe('http.method');
    expect(unescapeLabelName('U__a__b')).toBe('a_b');
    expect(unescapeLabelName('plain_name')).toBe('plain_name');
  });
});

describe('/api/v1/query and /api/v1/query_range', () => {
  it("answers Grafana's health check (1+1 at time=4)", async () => {
    const r = await get('/api/v1/query?query=1%2B1&time=4');
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}');
  });

  it('evaluates instant queries by GET and form POST alike', async () => {
    const t = (T0 + 600_000) / 1000;
    const q = 'sum by (job) (rate(http_requests_total[1m]))';
    const a = await get(`/api/v1/query?query=${encodeURIComponent(q)}&time=${t}`);
    const b = await post('/api/v1/query', { query: q, time: new Date(T0 + 600_000).toISOString() });
    expect(a.status).toBe(200);
    expect(a.body).toEqual(b.body);
    const result = (a.body.data as { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] });
    expect(result.resultType).toBe('vector');
    const byJob = Object.fromEntries(result.result.map((s) => [s.metric['job'], s.value]));
    expect(Object.keys(byJob).sort()).toEqual(['api', 'db']);
    expect(byJob['api']?.[0]).toBe(t);
    expect(Number(byJob['api']?.[1])).toBeCloseTo(8 / 15, 12);
    expect(Number(byJob['db']?.[1])).toBeCloseTo(1 / 15, 12);
  });

  it('evaluates range queries with compound durations', async () => {
    const r = await post('/api/v1/query_range', { query: 'sum(http_requests_total)', start: String(T0 / 1000), end: String((T0 + 90_000) / 1000), step: '0m30s' });
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ resultType: 'matrix', result: [{ metric: {}, values: [[T0 / 1000, '0'], [T0 / 1000 + 30, '18'], [T0 / 1000 + 60, '36'], [T0 / 1000 + 90, '54']] }] });
    const s = await get(`/api/v1/query_range?query=small&start=${T0 / 1000}&end=${T0 / 1000}&step=1m30s`);
    expect((s.body.data as { result: { values: unknown[] }[] }).result[0]?.values).toEqual([[T0 / 1000, '1.5e-07']]);
  });

  it('reports errors with Prometheus types, statuses and texts', async () => {
    const cases: [string, number, string, string | RegExp][] = [
      ['/api/v1/query?query=sum(', 400, 'bad_data', /^invalid parameter "query": 1:5: parse error: /],
      ['/api/v1/query?query=up&time=yesterday', 400, 'bad_data', 'invalid parameter "time": cannot parse "yesterday" to a valid timestamp'],
      ['/api/v1/query_range?query=up&end=10&step=1', 400, 'bad_data', 'invalid parameter "start": cannot parse "" to a valid timestamp'],
      ['/api/v1/query_range?query=up&start=10&end=5&step=1', 400, 'bad_data', 'invalid parameter "end": end timestamp must not be before start time'],
      ['/api/v1/query_range?query=up&start=0&end=5&step=0', 400, 'bad_data', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'],
      ['/api/v1/query_range?query=up&start=0&end=5&step=x', 400, 'bad_data', 'invalid parameter "step": cannot parse "x" to a valid duration'],
      ['/api/v1/query_range?query=up&start=0&end=100000&step=1', 400, 'bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'],
      ['/api/v1/query_range?query=up[5m]&start=0&end=10&step=1', 400, 'bad_data', 'invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector'],
      ['/api/v1/query?query=up&timeout=soon', 400, 'bad_data', 'invalid parameter "timeout": cannot parse "soon" to a valid duration'],
      [`/api/v1/query?query=${encodeURIComponent('label_replace(label_replace(http_requests_total{job="api"}, "instance", "x", "", ""), "http.method", "y", "", "")')}&time=${(T0 + 60_000) / 1000}`, 422, 'execution', 'vector cannot contain metrics with the same labelset'],
    ];
    for (const [path, status, type, msg] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      expect(r.body.status).toBe('error');
      expect(r.body.errorType, path).toBe(type);
      if (typeof msg === 'string') expect(r.body.error, path).toBe(msg);
      else expect(r.body.error, path).toMatch(msg);
    }
  });

  it('the timeout parameter stops the query with a timeout error', async () => {
    const r = await get(`/api/v1/query?query=${encodeURIComponent('count_over_time(vector(1)[30d:1s])')}&time=${T0 / 1000}&timeout=5ms`);
    expect(r.status).toBe(503);
    expect(r.body.errorType).toBe('timeout');
    expect(r.body.error).toMatch(/^query timed out in /);
  });

  it('returns warnings and infos, and stats when asked', async () => {
    const r = await get(`/api/v1/query?query=${encodeURIComponent('rate(replicated[5m])')}&time=${T0 / 1000 + 60}&stats=all`);
    expect(r.status).toBe(200);
    expect(r.body.infos?.[0]).toMatch(/^PromQL info: metric might not be a counter, name does not end in _total\/_sum\/_count\/_bucket: "replicated"/);
    const stats = (r.body.data as { stats?: { timings: Record<string, number>; samples: Record<string, number> } }).stats;
    expect(stats?.timings).toHaveProperty('evalTotalTime');
    expect(stats?.samples).toHaveProperty('totalQueryableSamples');
    const plain = await get(`/api/v1/query?query=small&time=${T0 / 1000 + 60}`);
    expect((plain.body.data as Record<string, unknown>)['stats']).toBeUndefined();
  });

  it('keeps tenants apart; A|B reads both with __tenant_id__', async () => {
    const q = `/api/v1/query?query=${encodeURIComponent('count by (job) (http_requests_total)')}&time=${(T0 + 60_000) / 1000}`;
    const acme = await get(q, 'acme');
    expect((acme.body.data as { result: { metric: Record<string, string> }[] }).result.map((s) => s.metric['job']).sort()).toEqual(['api', 'db']);
    const other = await get(q, 'other');
    expect((other.body.data as { result: { metric: Record<string, string> }[] }).result.map((s) => s.metric['job'])).toEqual(['secret']);
    const both = await get(`/api/v1/query?query=${encodeURIComponent('count by (__tenant_id__) (http_requests_total)')}&time=${(T0 + 60_000) / 1000}`, 'acme|other');
    expect((both.body.data as { result: { metric: Record<string, string>; value: [number, string] }[] }).result.map((s) => [s.metric['__tenant_id__'], s.value[1]]).sort()).toEqual([
      ['acme', '3'],
      ['other', '1'],
    ]);
    const bad = await get('/api/v1/query?query=1', 'not a tenant!');
    expect(bad.status).toBe(400);
  });

  it('deduplicates replicas with dedup and replicaLabels[] (Thanos)', async () => {
    const base = `/api/v1/query_range?query=replicated&start=${T0 / 1000}&end=${(T0 + 7 * STEP) / 1000}&step=15`;
    const merged = await get(`${base}&dedup=true&replicaLabels[]=replica&partial_response=true&max_source_resolution=0s`);
    const result = (merged.body.data as { result: { metric: Record<string, string>; values: [number, string][] }[] }).result;
    expect(result.map((s) => s.metric)).toEqual([{ __name__: 'replicated', job: 'r' }]);
        // Thanos's penalty: after switching to B (15.1 s) the querier stays on B.
    expect(result[0]?.values.map((v) => v[1])).toEqual(['0', '0', '1', '1', '3', '3', '5', '5']);
    const raw = await get(`${base}&dedup=false&replicaLabels[]=replica`);
    expect((raw.body.data as { result: unknown[] }).result.length).toBe(2);
    const bad = await get(`${base}&max_source_resolution=often`);
    expect(bad.status).toBe(400);
  });
});

describe('metadata endpoints', () => {
  it('/api/v1/series', async () => {
    const r = await post('/api/v1/series', { 'match[]': ['http_requests_total{job="api"}', 'small'], start: String(T0 / 1000), end: String(T0 / 1000 + 600) });
    expect(r.body.data).toEqual([
      { __name__: 'http_requests_total', 'http.method': 'GET', instance: 'a:1', job: 'api' },
      { __name__: 'http_requests_total', 'http.method': 'POST', instance: 'a:2', job: 'api' },
      { __name__: 'small', job: 'x' },
    ]);
    const limited = await get(`/api/v1/series?match[]=http_requests_total&limit=1`);
    expect((limited.body.data as unknown[]).length).toBe(1);
    expect(limited.body.warnings).toEqual(['results truncated due to limit']);
    const none = await get('/api/v1/series');
    expect(none.status).toBe(400);
    expect(none.body.error).toBe('no match[] parameter provided');
  });

  it('/api/v1/labels and /api/v1/label/<name>/values', async () => {
    const names = await get('/api/v1/labels');
    expect(names.body.data).toEqual(['__name__', 'http.method', 'instance', 'job', 'replica']);
    const matched = await get(`/api/v1/labels?match[]=${encodeURIComponent('{job="db"}')}`);
    expect(matched.body.data).toEqual(['__name__', 'instance', 'job']);
    const jobs = await get('/api/v1/label/job/values');
    expect(jobs.body.data).toEqual(['api', 'db', 'r', 'x']);
    const metricNames = await get(`/api/v1/label/__name__/values?start=${T0 / 1000}&end=${T0 / 1000 + 60}`);
    expect(metricNames.body.data).toEqual(['http_requests_total', 'replicated', 'small']);
    const escaped = await get('/api/v1/label/U__http_2e_method/values');
    expect(escaped.body.data).toEqual(['GET', 'POST']);
    const limited = await get('/api/v1/label/job/values?limit=2');
    expect(limited.body.data).toEqual(['api', 'db']);
    const both = await get('/api/v1/label/__tenant_id__/values', 'acme|other');
    expect(both.body.data).toEqual(['acme', 'other']);
    const otherJobs = await get('/api/v1/label/job/values', 'other');
    expect(otherJobs.body.data).toEqual(['secret']);
  });

  it('/api/v1/metadata', async () => {
    const r = await get('/api/v1/metadata');
    expect(r.body.data).toEqual({ http_requests_total: [{ type: 'counter', help: 'Requests served.', unit: '' }] });
    const one = await get('/api/v1/metadata?metric=nothing');
    expect(one.body.data).toEqual({});
  });

  it('/api/v1/query_exemplars, also for Grafana\'s probe with millisecond times', async () => {
    const r = await get(`/api/v1/query_exemplars?query=${encodeURIComponent('sum(rate(http_requests_total[5m]))')}&start=${T0 / 1000}&end=${T0 / 1000 + 600}`);
    expect(r.body).toEqual({
      status: 'success',
      data: [{ seriesLabels: { __name__: 'http_requests_total', 'http.method': 'GET', instance: 'a:1', job: 'api' }, exemplars: [{ labels: { trace_id: 'abc123' }, value: '0.25', timestamp: T0 / 1000 + 30 }] }],
    });
    const probe = await get(`/api/v1/query_exemplars?query=up&start=${T0}&end=${T0 + 3_600_000}`);
    expect(probe.status).toBe(200);
    expect(probe.body).toEqual({ status: 'success', data: [] });
  });

  it('buildinfo, format_query, rules and alerts', async () => {
    const b = await get('/api/v1/status/buildinfo');
    expect((b.body.data as { version: string }).version).toMatch(/^3\./);
    const f = await post('/api/v1/format_query', { query: 'sum(rate(x[5m]))by(job)' });
    expect(f.body.data).toBe('sum by (job) (rate(x[5m]))');
    expect((await get('/api/v1/rules')).body).toEqual({ status: 'success', data: { groups: [] } });
    expect((await get('/api/v1/alerts')).body).toEqual({ status: 'success', data: { alerts: [] } });
  });
});

describe('promtool as a client', () => {
  const promtool = peerBinary('promtool');
  // promtool runs as a child process; the central answering it lives in this process, so never spawnSync.
  const run = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(promtool as string, args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
  it.skipIf(!promtool)(`promtool query instant / range (${promtool ? 'installed' : missingPeer('promtool', 'prometheus')})`, async () => {
    const inst = await run(['query', 'instant', central.httpUrl, 'sum by (job) (http_requests_total)', `--time=${new Date(T0 + 60_000).toISOString()}`]);
    expect(inst.status, inst.stderr).toBe(0);
    expect(inst.stdout).toContain(`{job="api"} => 32 @[${T0 / 1000 + 60}]`);
    expect(inst.stdout).toContain(`{job="db"} => 4 @[${T0 / 1000 + 60}]`);
    const range = await run(['query', 'range', central.httpUrl, 'sum(http_requests_total)', `--start=${new Date(T0).toISOString()}`, `--end=${new Date(T0 + 30_000).toISOString()}`, '--step=15s']);
    expect(range.status, range.stderr).toBe(0);
    expect(range.stdout).toContain('{} =>');
    expect(range.stdout).toContain(`9 @[${T0 / 1000 + 15}]`);
    expect(range.stdout).toContain(`18 @[${T0 / 1000 + 30}]`);
    const bad = await run(['query', 'instant', central.httpUrl, 'sum(']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('bad_data');
  });
});
