// LogQL over real storage: logs ingested through the ingest path (Loki push
// JSON and OTLP/JSON logs) into chDB, queried through the engine. Expected
// values are worked out by hand from Loki's documented semantics: log
// queries read [start, end) newest first, a metric step at t covers
// (t - range, t], structured metadata is part of a sample's labels, and
// every query gives the same answer with and without pushdown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStore } from './helpers/store.ts';
import { createRegistry, loadConfig } from '../core/index.ts';
import { createIngester, ingesterOptionsFromConfig, type Ingester } from '../ingest/index.ts';
import { decodeLokiPush, decodeOtlpLogs } from '../protocols/index.ts';
import type { Store } from '../storage/index.ts';
import { createEngine, parseLogql, type Engine, type QueryResult } from '../query/logql/index.ts';

const S = 1_000_000_000n;
const T0 = 1_704_067_200n * S; // 2024-01-01T00:00:00Z
const at = (sec: number): string => String(T0 + BigInt(Math.round(sec * 1000)) * 1_000_000n);

let store: Store;
let ingester: Ingester;
let engine: Engine;
let plain: Engine;

async function push(tenant: string, body: unknown): Promise<void> {
  const d = decodeLokiPush(Buffer.from(JSON.stringify(body)), 'application/json');
  if (!d.ok) throw new Error(d.message);
  await ingester.writeLogs(tenant, d.value);
}

beforeAll(async () => {
  store = await testStore();
  ingester = createIngester(ingesterOptionsFromConfig(loadConfig(), store, createRegistry('test')));
  await push('eng', {
    streams: [
      {
        stream: { app: 'api', env: 'prod', cluster: 'A' },
        values: [
          [at(1), '{"level":"info","status":200,"latency":"15ms","msg":"ok"}'],
          [at(2), '{"level":"error","status":500,"latency":"1.5s","msg":"boom"}'],
          [at(3), '{"level":"info","status":201,"latency":"30ms","msg":"created"}'],
          [at(4), 'panic: not json', { trace_id: 't1' }],
          [at(5), '{"level":"warn","status":404,"latency":"5ms","msg":"missing"}'],
        ],
      },
      {
        stream: { app: 'web', env: 'prod', cluster: 'B' },
        values: [
          [at(1.5), 'level=info status=200 duration=120ms path=/'],
          [at(2.5), 'level=error status=503 duration=2s path=/api'],
          [at(6), 'level=info status=200 duration=80ms path=/health'],
        ],
      },
      { stream: { app: 'api', env: 'dev', cluster: 'A' }, values: [[at(1), 'debug starting'], [at(7), 'debug stopped']] },
    ],
  });
  await push('other', { streams: [{ stream: { app: 'api', env: 'prod' }, values: [[at(3), '{"level":"error","msg":"other tenant"}']] }] });
  const otlp = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
        scopeLogs: [
          {
            scope: { name: 'shop' },
            logRecords: [
              { timeUnixNano: at(2), severityText: 'INFO', body: { stringValue: 'charge ok' }, attributes: [{ key: 'order_id', value: { stringValue: 'o1' } }], traceId: '0102030405060708090a0b0c0d0e0f10' },
              { timeUnixNano: at(3), severityText: 'ERROR', body: { stringValue: 'charge failed' }, attributes: [{ key: 'order_id', value: { stringValue: 'o2' } }] },
            ],
          },
        ],
      },
    ],
  };
  const d = decodeOtlpLogs(JSON.stringify(otlp), 'json');
  if (!d.ok) throw new Error(d.message);
  await ingester.writeLogs('eng', d.value);
  const limits = { maxStreams: 10_000, maxSeries: 10_000, timeoutMs: 30_000, maxBytesRead: 0 };
  engine = createEngine({ store, limits });
  plain = createEngine({ store, limits, pushdown: false });
});

afterAll(async () => {
  await ingester?.shutdown();
  await store?.close();
});

interface Opts {
  start?: number;
  end?: number;
  step?: number;
  limit?: number;
  direction?: 'forward' | 'backward';
  interval?: number;
  instant?: boolean;
  tenants?: string[];
  e?: Engine;
}

function q(query: string, o: Opts = {}): Promise<QueryResult> {
  const end = T0 + BigInt((o.end ?? 10) * 1000) * 1_000_000n;
  return (o.e ?? engine).query({
    expr: parseLogql(query),
    tenants: o.tenants ?? ['eng'],
    startNs: T0 + BigInt((o.start ?? 0) * 1000) * 1_000_000n,
    endNs: end,
    stepNs: BigInt((o.step ?? 1) * 1000) * 1_000_000n,
    intervalNs: BigInt((o.interval ?? 0) * 1000) * 1_000_000n,
    direction: o.direction ?? 'backward',
    limit: o.limit ?? 100,
    instant: o.instant ?? false,
  });
}

/** streams as {labels-object: [[seconds after T0, line], ...]} */
async function streams(query: string, o: Opts = {}): Promise<Record<string, [number, string][]>> {
  const r = await q(query, o);
  if (r.type !== 'streams') throw new Error(`expected streams, got ${r.type}`);
  const out: Record<string, [number, string][]> = {};
  for (const s of r.streams) out[JSON.stringify(Object.fromEntries(s.labels))] = s.entries.map((e) => [Number(e.tsNs - T0) / 1e9, e.line]);
  return out;
}

/** matrix as {labels: {seconds after T0: value}} */
async function matrix(query: string, o: Opts = {}): Promise<Record<string, Record<number, number>>> {
  const r = await q(query, o);
  if (r.type !== 'matrix') throw new Error(`expected matrix, got ${r.type}`);
  const out: Record<string, Record<number, number>> = {};
  for (const s of r.series) {
    const pts: Record<number, number> = {};
    r.timesMs.forEach((t, i) => {
      if (s.present[i]) pts[(t - Number(T0 / 1_000_000n)) / 1000] = s.values[i] as number;
    });
    out[JSON.stringify(Object.fromEntries(s.labels))] = pts;
  }
  return out;
}

async function vector(query: string, o: Opts = {}): Promise<Record<string, number>> {
  const r = await q(query, { instant: true, ...o });
  if (r.type !== 'vector') throw new Error(`expected vector, got ${r.type}`);
  return Object.fromEntries(r.samples.map((s) => [JSON.stringify(Object.fromEntries(s.labels)), s.value]));
}

const L = (o: Record<string, string>): string => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))));

describe('schema', () => {
  it('the logs table has no skip index on body (migration 4)', async () => {
    const rows = await store.queryRows<{ name: string }>({ sql: `SELECT name FROM system.data_skipping_indices WHERE database = {db:String} AND table = 'logs'`, params: { db: store.database } });
    expect(rows.map((r) => r.name)).toEqual(['idx_trace']);
  });
});

describe('log queries', () => {
  it('selects streams; entries newest first; streams sorted by labels; metadata splits streams', async () => {
    expect(await streams('{app="api"}')).toEqual({
      [L({ app: 'api', cluster: 'A', env: 'dev' })]: [
        [7, 'debug stopped'],
        [1, 'debug starting'],
      ],
      [L({ app: 'api', cluster: 'A', env: 'prod' })]: [
        [5, '{"level":"warn","status":404,"latency":"5ms","msg":"missing"}'],
        [3, '{"level":"info","status":201,"latency":"30ms","msg":"created"}'],
        [2, '{"level":"error","status":500,"latency":"1.5s","msg":"boom"}'],
        [1, '{"level":"info","status":200,"latency":"15ms","msg":"ok"}'],
      ],
      [L({ app: 'api', cluster: 'A', env: 'prod', trace_id: 't1' })]: [[4, 'panic: not json']],
    });
  });

  it('limit applies across streams in time order, both directions', async () => {
    const back = await streams('{env="prod"}', { limit: 2 });
    expect(Object.values(back).flat().map((e) => e[0]).sort()).toEqual([5, 6]);
    const fwd = await streams('{env="prod"}', { limit: 2, direction: 'forward' });
    expect(Object.values(fwd).flat().map((e) => e[0]).sort()).toEqual([1, 1.5]);
  });

  it('start is inclusive, end exclusive', async () => {
    const s = await streams('{app="web"}', { start: 1.5, end: 6 });
    expect(Object.values(s).flat().map((e) => e[0])).toEqual([2.5, 1.5]);
  });

  it.each([
    ['{app="api", env="prod"} |= "error"', [2]],
    ['{app="api", env="prod"} != "info"', [5, 4, 2]],
    ['{app="api", env="prod"} |~ "status\\":5\\\\d\\\\d"', [2]],
    ['{app="api", env="prod"} |= "boom" or "created"', [3, 2]],
    ['{app="api", env="prod"} |~ "(?i)PANIC"', [4]],
    ['{app="api", env="prod"} |> "<_>\\"level\\":\\"<_>\\",<_>"', [5, 3, 2, 1]],
    ['{app="api", env="prod"} | json | level="error"', [2]],
    ['{app="api", env="prod"} | json | status >= 400', [5, 2]],
    ['{app="api", env="prod"} | json | latency > 20ms', [3, 2]],
    ['{app="api", env="prod"} | json | __error__ != ""', [4]],
    ['{app="api", env="prod"} | trace_id="t1"', [4]],
    ['{app="web"} | logfmt | duration > 1s', [2.5]],
  ])('%s', async (query, times) => {
    const s = await streams(query);
    expect(Object.values(s).flat().map((e) => e[0]).sort((a, b) => b - a)).toEqual(times);
  });

  it('parsed labels and formatted lines', async () => {
    expect(await streams('{app="web"} | logfmt | duration > 1s | line_format "{{.path}} {{.status}}"')).toEqual({
      [L({ app: 'web', cluster: 'B', env: 'prod', duration: '2s', level: 'error', path: '/api', status: '503' })]: [[2.5, '/api 503']],
    });
  });

  it('interval returns an entry, then the next at least interval later', async () => {
    const s = await streams('{app="api", env="prod"}', { direction: 'forward', interval: 2 });
    expect(Object.values(s).flat().map((e) => e[0]).sort()).toEqual([1, 3, 5]);
  });

  it('OTLP logs: resource attributes as stream labels, attributes and trace ids as structured metadata', async () => {
    const r = await q('{service_name="checkout"} | order_id="o2"');
    if (r.type !== 'streams') throw new Error('streams');
    expect(r.streams).toHaveLength(1);
    const s = r.streams[0]!;
    expect(Object.fromEntries(s.streamLabels)).toEqual({ service_name: 'checkout' });
    expect(s.entries.map((e) => e.line)).toEqual(['charge failed']);
    expect(Object.fromEntries(s.entries[0]!.structuredMetadata)).toMatchObject({ order_id: 'o2', severity_text: 'ERROR', scope_name: 'shop' });
    const t = await q('{service_name="checkout"} | trace_id="0102030405060708090a0b0c0d0e0f10"');
    expect(t.type === 'streams' && t.streams.flatMap((x) => x.entries.map((e) => e.line))).toEqual(['charge ok']);
  });

  it('multi-tenant queries add __tenant_id__', async () => {
    const s = await streams('{app="api", env="prod"} |= "error"', { tenants: ['eng', 'other'] });
    expect(Object.keys(s).map((k) => JSON.parse(k).__tenant_id__).sort()).toEqual(['eng', 'other']);
    const only = await streams('{app="api", env="prod", __tenant_id__="other"}', { tenants: ['eng', 'other'] });
    expect(Object.values(only).flat().map((e) => e[1])).toEqual(['{"level":"error","msg":"other tenant"}']);
  });
});

describe('metric queries', () => {
  it('count_over_time: windows (t-range, t]; metadata is part of the series', async () => {
    expect(await matrix('count_over_time({app="api", env="prod"}[2s])', { end: 6, step: 2 })).toEqual({
      [L({ app: 'api', cluster: 'A', env: 'prod' })]: { 2: 2, 4: 1, 6: 1 },
      [L({ app: 'api', cluster: 'A', env: 'prod', trace_id: 't1' })]: { 4: 1 },
    });
  });

  it('overlapping windows (range > step)', async () => {
    expect(await matrix('count_over_time({app="web"}[3s])', { end: 6, step: 1 })).toEqual({
      [L({ app: 'web', cluster: 'B', env: 'prod' })]: { 2: 1, 3: 2, 4: 2, 5: 1, 6: 1 },
    });
  });

  it('offset shifts the window back, the result stays at the step time', async () => {
    expect(await matrix('count_over_time({app="web"}[2s] offset 4s)', { start: 6, end: 10, step: 2 })).toEqual({
      [L({ app: 'web', cluster: 'B', env: 'prod' })]: { 6: 1, 8: 1, 10: 1 },
    });
  });

  it('sum by a stream label', async () => {
    expect(await matrix('sum by (app) (count_over_time({env="prod"}[2s]))', { end: 6, step: 2 })).toEqual({
      [L({ app: 'api' })]: { 2: 2, 4: 2, 6: 1 },
      [L({ app: 'web' })]: { 2: 1, 4: 1, 6: 1 },
    });
  });

  it('sum by an extracted label', async () => {
    expect(await vector('sum by (level) (count_over_time({app="api", env="prod"} | json | __error__="" [10s]))')).toEqual({
      [L({ level: 'error' })]: 1,
      [L({ level: 'info' })]: 2,
      [L({ level: 'warn' })]: 1,
    });
  });

  it('a parser error in a metric query is a pipeline error', async () => {
    await expect(q('count_over_time({app="api", env="prod"} | json [10s])', { instant: true })).rejects.toThrow(/pipeline error: 'JSONParserErr' for series/);
  });

  it('rate, bytes_over_time, bytes_rate', async () => {
    expect(await vector('sum(rate({app="web"}[10s]))')).toEqual({ '{}': 0.3 });
    expect(await vector('bytes_over_time({app="api", env="dev"}[10s])')).toEqual({ [L({ app: 'api', cluster: 'A', env: 'dev' })]: 27 });
    expect(await vector('bytes_rate({app="api", env="dev"}[10s])')).toEqual({ [L({ app: 'api', cluster: 'A', env: 'dev' })]: 2.7 });
  });

  it.each([
    ['sum by (app) (sum_over_time({app="web"} | logfmt | unwrap duration(duration) [10s]))', 2.2],
    ['avg_over_time({app="web"} | logfmt | unwrap duration(duration) [10s]) by (app)', 2.2 / 3],
    ['max_over_time({app="web"} | logfmt | unwrap duration(duration) [10s]) by (app)', 2],
    ['min_over_time({app="web"} | logfmt | unwrap duration(duration) [10s]) by (app)', 0.08],
    ['quantile_over_time(0.5, {app="web"} | logfmt | unwrap duration(duration) [10s]) by (app)', 0.12],
    ['first_over_time({app="web"} | logfmt | unwrap duration(duration) [10s]) by (app)', 0.12],
    ['last_over_time({app="web"} | logfmt | unwrap duration(duration) [10s]) by (app)', 0.08],
    ['stdvar_over_time({app="web"} | logfmt | unwrap status [10s]) by (app)', (2 * (200 - 301) ** 2 + (503 - 301) ** 2) / 3],
    ['sum by (app) (rate({app="web"} | logfmt | unwrap status [10s]))', 90.3],
  ])('unwrap: %s', async (query, want) => {
    const v = await vector(query);
    expect(Object.keys(v)).toEqual([L({ app: 'web' })]);
    expect(v[L({ app: 'web' })]).toBeCloseTo(want, 9);
  });

  it('unwrap without grouping drops the unwrapped label, keeps the others', async () => {
    const v = await vector('sum_over_time({app="web"} | logfmt | keep app, duration | unwrap duration(duration) [10s])');
    expect(v).toEqual({ [L({ app: 'web' })]: expect.closeTo(2.2, 9) });
  });

  it('rate_counter: counter resets and extrapolation to the window edges (Prometheus rate)', async () => {
    await push('counter', { streams: [{ stream: { app: 'ctr' }, values: [[at(1), 'total=10'], [at(2), 'total=20'], [at(3), 'total=30'], [at(4), 'total=5'], [at(5), 'total=15']] }] });
    // increase 15-10 plus 30 lost at the reset = 35 over 4 s of samples (1 s apart);
    // extended 1 s back to the window start (< 1.1 avg gap, and the zero point is further)
    // and 0.5 s forward (the end is 5 s away): 35 * 5.5 / 4 over a 10 s range
    const v = await vector('rate_counter({app="ctr"} | logfmt | unwrap total [10s])', { tenants: ['counter'] });
    expect(v).toEqual({ [L({ app: 'ctr' })]: expect.closeTo((35 * 5.5) / 4 / 10, 12) });
  });

  it('a conversion error is SampleExtractionErr unless filtered after unwrap', async () => {
    await expect(q('sum_over_time({app="web"} | logfmt | unwrap path [10s])', { instant: true })).rejects.toThrow(/SampleExtractionErr/);
    expect(await vector('sum by (app) (sum_over_time({app="web"} | logfmt | unwrap path | __error__="" [10s]))')).toEqual({});
  });

  it('topk, sort_desc, binary operators, vector()', async () => {
    expect(await vector('topk(1, sum by (app) (count_over_time({env="prod"}[10s])))')).toEqual({ [L({ app: 'api' })]: 5 });
    expect(Object.keys(await vector('sort_desc(sum by (app) (count_over_time({env="prod"}[10s])))'))).toEqual([L({ app: 'api' }), L({ app: 'web' })]);
    expect(Object.keys(await vector('sort(sum by (app) (count_over_time({env="prod"}[10s])))'))).toEqual([L({ app: 'web' }), L({ app: 'api' })]);
    expect(await vector('sum by (app) (count_over_time({env="prod"}[10s])) / on() group_left sum(count_over_time({env="prod"}[10s]))')).toEqual({
      [L({ app: 'api' })]: 5 / 8,
      [L({ app: 'web' })]: 3 / 8,
    });
    expect(await vector('sum by (app) (count_over_time({env="prod"}[10s])) > 4')).toEqual({ [L({ app: 'api' })]: 5 });
    expect(await vector('sum by (app) (count_over_time({env="prod"}[10s])) > bool 4')).toEqual({ [L({ app: 'api' })]: 1, [L({ app: 'web' })]: 0 });
    expect(await vector('vector(1)+vector(1)')).toEqual({ '{}': 2 });
    expect(await vector('sum(count_over_time({app="nothing"}[10s])) or vector(0)')).toEqual({ '{}': 0 });
    const scalar = await q('1 + 1', { instant: true });
    expect(scalar.type === 'scalar' && scalar.value).toBe(2);
  });

  it('label_replace and absent_over_time', async () => {
    expect(await vector('label_replace(sum by (app) (count_over_time({env="prod"}[10s])), "short", "$1", "app", "(.).*")')).toEqual({
      [L({ app: 'api', short: 'a' })]: 5,
      [L({ app: 'web', short: 'w' })]: 3,
    });
    expect(await vector('absent_over_time({app="nothing", env=~"p.*"}[10s])')).toEqual({ [L({ app: 'nothing' })]: 1 });
    expect(await vector('absent_over_time({app="web"}[10s])')).toEqual({});
  });

  it('grouping by structured metadata is computed in storage', async () => {
    expect(await vector('sum by (order_id) (count_over_time({service_name="checkout"} |= "charge" [10s]))')).toEqual({
      [L({ order_id: 'o1' })]: 1,
      [L({ order_id: 'o2' })]: 1,
    });
  });

  it('multi-tenant metric queries group by __tenant_id__', async () => {
    expect(await vector('sum by (__tenant_id__) (count_over_time({app="api", env="prod"}[10s]))', { tenants: ['eng', 'other'] })).toEqual({
      [L({ __tenant_id__: 'eng' })]: 5,
      [L({ __tenant_id__: 'other' })]: 1,
    });
  });
});

describe('label filters pre-filtered in storage keep exact answers on awkward JSON', () => {
  beforeAll(async () => {
    const v = (sec: number, line: string, md?: Record<string, string>): unknown[] => (md ? [at(sec), line, md] : [at(sec), line]);
    await push('tricky', {
      streams: [
        {
          stream: { app: 'j' },
          values: [
            v(1, '{"status": 500, "level": "error"}'),
            v(2, '{"status": "503", "level": "err\\u006fr"}'),
            v(3, '{"status": "abc", "level": ["error"]}'),
            v(4, '{"status": 200, "status": 503, "level": "info"}'),
            v(5, 'not json status=500 level=error'),
            v(6, '{"st\\u0061tus": 501, "level": 7}'),
            v(7, '{"status": 1e3}'),
            v(8, '{"status": null, "level": null}'),
            v(9, '{"status": {"code": 500}}'),
            v(10, '{"status": 100, "level": "warn"}', { status: '600', level: 'error' }),
            v(11, '  {"status": 499.5}'),
          ],
        },
        { stream: { app: 'j', status: '700', level: 'error' }, values: [v(12, '{"status": 1, "level": "debug"}')] },
      ],
    });
  });
  it.each([
    // 500, "503" (parsed), "abc" (kept with LabelFilterErr), first duplicate 200 dropped, not-json dropped (no label),
    // escaped key 501, 1e3, null and object dropped, metadata 600 wins, 499.5 dropped, stream label 700 wins
    ['{app="j"} | json | status >= 500', [1, 2, 3, 6, 7, 10, 12]],
    // "err\u006fr" decodes to error; an array or number is not "error"; metadata and stream labels win
    ['{app="j"} | json | level="error"', [1, 2, 10, 12]],
    ['{app="j"} | json | level=~"e.*" and status < 600', [1, 2]],
    ['{app="j"} | json | level!="error"', [3, 4, 5, 6, 7, 8, 9, 11]],
  ])('%s', async (query, want) => {
    for (const e of [engine, plain]) {
      const r = await q(query, { tenants: ['tricky'], end: 20, e });
      if (r.type !== 'streams') throw new Error('streams');
      expect(r.streams.flatMap((x) => x.entries.map((en) => Number(en.tsNs - T0) / 1e9)).sort((a, b) => a - b)).toEqual(want);
    }
  });
});

describe('paging through equal timestamps', () => {
  beforeAll(async () => {
    // 3000 lines in groups of 500 sharing a timestamp, across two streams
    const a: [string, string][] = [];
    const b: [string, string][] = [];
    for (let i = 0; i < 3000; i++) (i % 2 ? a : b).push([at(Math.floor(i / 500)), `n=${i}`]);
    await push('ties', { streams: [{ stream: { app: 't', s: 'a' }, values: a }, { stream: { app: 't', s: 'b' }, values: b }] });
  });
  const ns = async (o: Opts): Promise<number[]> => {
    const r = await q('{app="t"} | logfmt | n >= 0', { tenants: ['ties'], end: 20, ...o });
    if (r.type !== 'streams') throw new Error('streams');
    return r.streams.flatMap((s) => s.entries.map((e) => Number(/n=(\d+)/.exec(e.line)?.[1])));
  };
  it('backward: the newest lines, none twice, none lost', async () => {
    const got = await ns({ limit: 2500 });
    expect(got).toHaveLength(2500);
    expect([...new Set(got)].sort((x, y) => x - y)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 500));
  });
  it('forward: the oldest group whole, then part of the next', async () => {
    const got = await ns({ limit: 700, direction: 'forward' });
    expect(new Set(got).size).toBe(700);
    expect(got.filter((n) => n < 500)).toHaveLength(500);
    expect(got.every((n) => n < 1000)).toBe(true);
  });
});

describe('counting over | json in storage', () => {
  beforeAll(async () => {
    await push('clean', {
      streams: [
        {
          stream: { app: 'c', level: 'stream-level' },
          values: [
            [at(1), '{"level":"info","region":"eu","code":200,"ok":true}'],
            [at(2), '{"level":"error","region":"us","code":500,"ok":false}'],
            [at(3), '{"level":"error","region":"eu","code":503}'],
            [at(4), '{"region":"eu","code":"204"}', { team: 'x' }],
          ],
        },
        { stream: { app: 'c', zone: 'z1' }, values: [[at(5), '{"level":"warn","region":"eu","code":404,"zone":"json-zone"}']] },
        { stream: { app: 'd' }, values: [[at(6), '{"level":"info","latency":1.50}']] },
        { stream: { app: 'e' }, values: [[at(1), '{"detected_level":"warn"}'], [at(2), '{"detected":{"level":"error"}}'], [at(3), '{"detected.level":"debug"}']] },
        { stream: { app: 'f' }, values: [[at(1), '{"detected_level":"warn"}'], [at(2), '{"detected_level":"info","x":1}']] },
      ],
    });
  });
  const cases: [string, Record<string, number>, boolean][] = [
    // Grafana's logs volume shape; `level` is a stream label for one stream (wins over the JSON key)
    ['sum by (level, detected_level) (count_over_time({app="c"} | json | region="eu" | drop __error__ [10s]))', { [L({ level: 'stream-level' })]: 3, [L({ level: 'warn' })]: 1 }, true],
    ['sum by (region) (count_over_time({app="c"} | json | code >= 400 [10s]))', { [L({ region: 'us' })]: 1, [L({ region: 'eu' })]: 2 }, true],
    ['sum by (zone, team) (count_over_time({app="c"} | json | __error__="" [10s]))', { '{}': 3, [L({ team: 'x' })]: 1, [L({ zone: 'z1' })]: 1 }, true],
    ['sum by (ok) (count_over_time({app="c"} |= "region" | json [10s]))', { [L({ ok: 'true' })]: 1, [L({ ok: 'false' })]: 1, '{}': 3 }, true],
    ['sum(rate({app="c"} | json | region=~"e.*" [10s]))', { '{}': 0.4 }, true],
    // a float whose text ClickHouse would normalise: evaluated in TypeScript, same answer
    ['sum by (latency) (count_over_time({app="d"} | json [10s]))', { [L({ latency: '1.50' })]: 1 }, false],
    // a name with `_` also comes from nested or sanitized keys: such rows go to TypeScript
    ['sum by (detected_level) (count_over_time({app="e"} | json [10s]))', { [L({ detected_level: 'warn' })]: 1, [L({ detected_level: 'error' })]: 1, [L({ detected_level: 'debug' })]: 1 }, false],
    ['sum by (detected_level) (count_over_time({app="f"} | json [10s]))', { [L({ detected_level: 'warn' })]: 1, [L({ detected_level: 'info' })]: 1 }, true],
    // no parser: dropping __error__ is a no-op and the count runs in storage
    ['sum by (level, detected_level) (count_over_time({app="c"} |= "eu" | drop __error__ [10s]))', { [L({ level: 'stream-level' })]: 3, '{}': 1 }, true],
  ];
  it.each(cases)('%s', async (query, want, inStorage) => {
    const a = await q(query, { tenants: ['clean'], instant: true });
    const b = await q(query, { tenants: ['clean'], instant: true, e: plain });
    for (const r of [a, b]) {
      if (r.type !== 'vector') throw new Error('vector');
      expect(Object.fromEntries(r.samples.map((x) => [JSON.stringify(Object.fromEntries(x.labels)), x.value]))).toEqual(want);
    }
    // counted in storage: no line came to TypeScript
    expect(a.stats.postFilterLines === 0).toBe(inStorage);
  });
});

describe('pushdown changes speed, not answers', () => {
  const cases: [string, Opts][] = [
    ['{env="prod"} |= "status" != "404"', {}],
    ['{app="api"} |~ "level\\":\\"(info|warn)" | json', { direction: 'forward' }],
    ['{env="prod"} |> "<_> status=<_>"', {}],
    ['{env=~".+"} |= "e"', { limit: 3 }],
    ['count_over_time({env="prod"} |= "status" [3s])', { step: 1 }],
    ['sum by (app, trace_id) (rate({env="prod"}[2s]))', { step: 2 }],
    ['sum by (cluster) (bytes_over_time({app=~"api|web"} != "debug" [5s]))', { step: 5 }],
    ['sum by (level) (count_over_time({app="web"} | logfmt [4s]))', { step: 2 }],
    ['sum(count_over_time({service_name="checkout"}[10s]))', { instant: true }],
    // label filters pre-filtered in storage (stream labels / metadata before a parser, top-level JSON keys after | json)
    ['{env="prod"} | app="api"', {}],
    ['{env=~".+"} | app=~"a.*" or cluster="B"', {}],
    ['{service_name="checkout"} | order_id="o1"', {}],
    ['{env="prod"} | trace_id="t1"', {}],
    ['{app="api"} | json | level="error" or status >= 404', {}],
    ['{app="api"} | json | status < 300, level!="warn"', {}],
    ['{app="api"} | json | msg=~"b.*"', {}],
    ['{app="api"} | json | app="api"', {}],
    ['{app="api"} | json | status > 5 | __error__=""', {}],
    ['sum by (severity_text) (count_over_time({service_name="checkout"}[10s]))', { instant: true }],
  ];
  it.each(cases)('%s', async (query, o) => {
    const a = await q(query, o);
    const b = await q(query, { ...o, e: plain });
    const norm = (r: QueryResult): unknown => JSON.parse(JSON.stringify({ ...r, stats: undefined }, (_k, v) => (typeof v === 'bigint' ? v.toString() : ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)));
    expect(norm(a)).toEqual(norm(b));
  });
});
