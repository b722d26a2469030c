// Receivers end to end against a running central, checked in ClickHouse:
// Loki push (JSON, gzip JSON, snappy protobuf with structured metadata),
// Prometheus remote_write 2.0 (and its X-Prometheus-Remote-Write-*-Written
// headers, 415s), and tenancy (X-Scope-OrgID on every endpoint, the default
// tenant, require-tenant, invalid ids).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { gzipSync } from 'node:zlib';
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  ProtobufWriter,
  WIRE_LEN,
  REMOTE_WRITE_V1_CONTENT_TYPE,
  REMOTE_WRITE_V2_CONTENT_TYPE,
  encodeLokiPushProto,
  encodeRemoteWriteV1,
  encodeRemoteWriteV2,
  snappyCompress,
  type RemoteWriteSampleInput,
  type RemoteWriteV2SeriesInput,
} from '../protocols/index.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';
import { countRows, decodeRpcStatus, grpcExport, keyOf, otlpBody, post, sdkLogs, sdkSpans, storedLogs, storedSamples } from './helpers/ingest.ts';

const RW1 = { 'content-type': REMOTE_WRITE_V1_CONTENT_TYPE, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const RW2 = { 'content-type': REMOTE_WRITE_V2_CONTENT_TYPE, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '2.0.0' };
const NOW = Date.now();
const nsAt = (ms: number) => (BigInt(ms) * 1_000_000n).toString();

let central: TestCentral;
beforeAll(async () => {
  central = await startTestCentral();
});
afterAll(async () => {
  await central?.shutdown();
});

describe('Loki push', () => {
  it('JSON (plain and gzip) and snappy protobuf, with structured metadata, land in logs/log_streams', async () => {
    const tenant = 'loki';
    const url = `${central.httpUrl}/loki/api/v1/push`;
    const json = {
      streams: [
        { stream: { app: 'web', env: 'prod' }, values: [[nsAt(NOW - 3000), 'GET /index 200'], [nsAt(NOW - 2999) + '', 'GET /login 500', { trace_id: 'abc123', user: 'bob' }]] },
        { stream: { app: 'db', level: 'error' }, values: [[nsAt(NOW - 2998), 'deadlock detected']] },
      ],
    };
    const plain = await post(url, JSON.stringify(json), { 'content-type': 'application/json', 'x-scope-orgid': tenant });
    expect(plain.status, plain.text).toBe(204);

    const gz = { streams: [{ stream: { app: 'web', env: 'prod' }, values: [[nsAt(NOW - 2000), 'gzip line ü', { detected_level: 'warn' }]] }] };
    const gzipped = await post(url, gzipSync(JSON.stringify(gz)), { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-scope-orgid': tenant });
    expect(gzipped.status, gzipped.text).toBe(204);

    // promtail / Grafana Agent: snappy protobuf without a Content-Encoding header
    const proto = encodeLokiPushProto([
      { labels: { app: 'web', env: 'prod' }, entries: [{ timestampNs: BigInt(NOW - 1000) * 1_000_000n + 123n, line: 'proto line', metadata: { pod: 'web-0', trace_id: 'def456' } }] },
      { labels: { app: 'cache' }, entries: [{ timestampNs: BigInt(NOW - 999) * 1_000_000n, line: 'evicted 3 keys' }] },
    ]);
    const pb = await post(url, await snappyCompress(proto), { 'content-type': 'application/x-protobuf', 'x-scope-orgid': tenant });
    expect(pb.status, pb.text).toBe(204);

    const got = (await storedLogs(central.store, tenant)).map((l) => ({ stream: l.stream, ts: l.ts, severity: l.severity, body: l.body, metadata: l.metadata }));
    expect(got).toEqual([
      { stream: { app: 'web', env: 'prod' }, ts: nsAt(NOW - 3000), severity: '', body: 'GET /index 200', metadata: {} },
      { stream: { app: 'web', env: 'prod' }, ts: nsAt(NOW - 2999), severity: '', body: 'GET /login 500', metadata: { trace_id: 'abc123', user: 'bob' } },
      { stream: { app: 'db', level: 'error' }, ts: nsAt(NOW - 2998), severity: 'error', body: 'deadlock detected', metadata: {} },
      { stream: { app: 'web', env: 'prod' }, ts: nsAt(NOW - 2000), severity: 'warn', body: 'gzip line ü', metadata: { detected_level: 'warn' } },
      { stream: { app: 'web', env: 'prod' }, ts: (BigInt(NOW - 1000) * 1_000_000n + 123n).toString(), severity: '', body: 'proto line', metadata: { pod: 'web-0', trace_id: 'def456' } },
      { stream: { app: 'cache' }, ts: nsAt(NOW - 999), severity: '', body: 'evicted 3 keys', metadata: {} },
    ]);
    // each stream's labels stored once (per day), not per line
    const streams = await central.store.queryRows<{ n: string }>({ sql: `SELECT count() AS n FROM ${central.store.database}.log_streams FINAL WHERE tenant = {t:String}`, params: { t: tenant } });
    expect(Number(streams[0]?.n)).toBe(3);
  });
});

describe('remote_write 2.0', () => {
  const series: (RemoteWriteV2SeriesInput & { labels: Record<string, string>; samples: RemoteWriteSampleInput[] })[] = [
    {
      labels: { __name__: 'http_requests_total', job: 'api', code: '200' },
      samples: [
        { timestampMs: NOW - 30_000, value: 10 },
        { timestampMs: NOW - 15_000, value: 12 },
      ],
      exemplars: [{ labels: { trace_id: 'abc' }, value: 1, timestampMs: NOW - 15_000 }],
      metadata: { type: 'counter', help: 'Requests served.', unit: '' },
    },
    { labels: { __name__: 'temperature_celsius', job: 'sensor', room: 'a' }, samples: [{ timestampMs: NOW - 30_000, value: -3.25 }], metadata: { type: 'gauge', help: 'Room temperature.', unit: 'celsius' } },
    { labels: { __name__: 'up', job: 'api' }, samples: [{ timestampMs: NOW - 30_000, value: 1 }, { timestampMs: NOW - 15_000, value: 0 }] },
  ];

  it('stores samples, metadata and exemplars, and answers the *-Written headers', async () => {
    const tenant = 'rw2';
    const r = await post(`${central.httpUrl}/api/v1/write`, await snappyCompress(encodeRemoteWriteV2(series)), { ...RW2, 'x-scope-orgid': tenant });
    expect(r.status, r.text).toBe(204);
    expect(r.headers.get('x-prometheus-remote-write-samples-written')).toBe('5');
    expect(r.headers.get('x-prometheus-remote-write-histograms-written')).toBe('0');
    expect(r.headers.get('x-prometheus-remote-write-exemplars-written')).toBe('1');

    const got = new Map([...(await storedSamples(central.store, tenant))].map(([k, s]) => [k, s.samples]));
    expect(got).toEqual(new Map(series.map((s) => [keyOf(s.labels), s.samples.map((x) => [x.timestampMs, x.value])])));
    const md = await central.store.queryRows({
      sql: `SELECT metric_name, type, help, unit FROM ${central.store.database}.metrics_metadata FINAL WHERE tenant = {t:String} ORDER BY metric_name`,
      params: { t: tenant },
    });
    expect(md).toEqual([
      { metric_name: 'http_requests_total', type: 'counter', help: 'Requests served.', unit: '' },
      { metric_name: 'temperature_celsius', type: 'gauge', help: 'Room temperature.', unit: 'celsius' },
    ]);
    const ex = await central.store.queryRows({
      sql: `SELECT metric_name, toString(timestamp_ms) AS ts, value, labels FROM ${central.store.database}.metrics_exemplars WHERE tenant = {t:String}`,
      params: { t: tenant },
    });
    expect(ex).toEqual([{ metric_name: 'http_requests_total', ts: String(NOW - 15_000), value: 1, labels: { trace_id: 'abc' } }]);
  });

  it('/api/v1/push is the same receiver', async () => {
    const r = await post(`${central.httpUrl}/api/v1/push`, await snappyCompress(encodeRemoteWriteV2(series.slice(2))), { ...RW2, 'x-scope-orgid': 'rw2-push' });
    expect(r.status, r.text).toBe(204);
    expect(r.headers.get('x-prometheus-remote-write-samples-written')).toBe('2');
    expect(await countRows(central.store, 'metrics_samples', 'rw2-push')).toBe(2);
  });

  it('a body without Content-Encoding is read as snappy, as Prometheus itself does', async () => {
    const { 'content-encoding': _, ...noEncoding } = RW1;
    const r = await post(`${central.httpUrl}/api/v1/write`, await snappyCompress(encodeRemoteWriteV1(series.slice(2))), { ...noEncoding, 'x-scope-orgid': 'rw-noenc' });
    expect(r.status, r.text).toBe(204);
    expect(await countRows(central.store, 'metrics_samples', 'rw-noenc')).toBe(2);
  });

  it('a native histogram is refused with a clear 400 (never dropped silently); the float samples beside it are stored', async () => {
    // io.prometheus.write.v2.Request by hand: encodeRemoteWriteV2 writes no histograms
    const w = new ProtobufWriter(256);
    for (const sym of ['', '__name__', 'float_metric', 'latency_native']) w.fieldString(4, sym);
    w.tag(5, WIRE_LEN).fork().fieldPackedUint32(1, [1, 2]);
    w.tag(2, WIRE_LEN).fork().fieldDouble(1, 5).fieldInt64(2, NOW).ldelim();
    w.ldelim();
    w.tag(5, WIRE_LEN).fork().fieldPackedUint32(1, [1, 3]);
    // Histogram{count_int=1, sum=3, timestamp=15}
    w.tag(3, WIRE_LEN).fork().fieldUint32(1, 3).fieldDouble(3, 1.5).fieldInt64(15, NOW).ldelim();
    w.ldelim();
    const r = await post(`${central.httpUrl}/api/v1/write`, await snappyCompress(w.finish()), { ...RW2, 'x-scope-orgid': 'rw2-hist' });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/native histograms are not supported/);
    expect(r.headers.get('x-prometheus-remote-write-samples-written')).toBe('1');
    expect(r.headers.get('x-prometheus-remote-write-histograms-written')).toBe('0');
    const got = [...(await storedSamples(central.store, 'rw2-hist')).values()];
    expect(got).toEqual([{ labels: { __name__: 'float_metric' }, samples: [[NOW, 5]] }]);
  });

  it.each([
    ['an unknown proto message', { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request' }, /unsupported remote write message/],
    ['a JSON content type', { 'content-type': 'application/json' }, /expected application\/x-protobuf/],
    ['a text content type', { 'content-type': 'text/plain' }, /expected application\/x-protobuf/],
    ['gzip encoding', { 'content-encoding': 'gzip' }, /snappy/],
    ['zstd encoding', { 'content-encoding': 'zstd' }, /snappy/],
  ])('415 in plain text for %s, nothing stored', async (_what, override, message) => {
    const tenant = `rw415-${Math.random().toString(36).slice(2, 8)}`;
    const r = await post(`${central.httpUrl}/api/v1/write`, await snappyCompress(encodeRemoteWriteV2(series)), { ...RW2, ...override, 'x-scope-orgid': tenant });
    expect(r.status).toBe(415);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.text).toMatch(message);
    expect(await countRows(central.store, 'metrics_samples', tenant)).toBe(0);
  });
});

// ---------------------------------------------------------------- tenancy

interface Sender {
  readonly name: string;
  /** sends one small valid write with the given X-Scope-OrgID (undefined = no header) */
  send(c: TestCentral, tenant: string | undefined): Promise<{ ok: boolean; status: number | string; message: string; format: string; rpcCode?: number }>;
  readonly table: string;
  readonly rows: number;
}

const withTenant = (tenant: string | undefined): Record<string, string> => (tenant === undefined ? {} : { 'x-scope-orgid': tenant });

function senders(): Sender[] {
  const textAnswer = (r: Awaited<ReturnType<typeof post>>) => ({ ok: r.status === 204, status: r.status, message: r.text, format: r.headers.get('content-type') ?? '' });
  return [
    {
      name: 'remote_write',
      table: 'metrics_samples',
      rows: 1,
      send: async (c, t) => textAnswer(await post(`${c.httpUrl}/api/v1/write`, await snappyCompress(encodeRemoteWriteV1([{ labels: { __name__: 'tenancy_probe' }, samples: [{ timestampMs: NOW, value: 1 }] }])), { ...RW1, ...withTenant(t) })),
    },
    {
      name: 'Loki push',
      table: 'logs',
      rows: 1,
      send: async (c, t) =>
        textAnswer(await post(`${c.httpUrl}/loki/api/v1/push`, JSON.stringify({ streams: [{ stream: { app: 'probe' }, values: [[nsAt(NOW), 'hello']] }] }), { 'content-type': 'application/json', ...withTenant(t) })),
    },
    {
      name: 'OTLP/HTTP',
      table: 'spans',
      rows: 2,
      send: async (c, t) => {
        const r = await post(`${c.httpUrl}/v1/traces`, otlpBody('traces', await sdkSpans(2, { service: 'probe', prefix: 'p' }), 'protobuf'), { 'content-type': 'application/x-protobuf', ...withTenant(t) });
        const st = r.status === 200 ? { code: 0, message: '' } : decodeRpcStatus(r.body);
        return { ok: r.status === 200, status: r.status, message: st.message, format: r.headers.get('content-type') ?? '', rpcCode: st.code };
      },
    },
    {
      name: 'OTLP/gRPC',
      table: 'logs',
      rows: 3,
      send: async (c, t) => {
        const { err } = await grpcExport(c.grpcAddress as string, 'logs', otlpBody('logs', await sdkLogs(3, { service: 'probe', prefix: 'g' }), 'protobuf'), t);
        return { ok: err === null, status: err === null ? 'OK' : (GrpcStatus[err.code] ?? String(err.code)), message: err?.details ?? '', format: 'grpc' };
      },
    },
  ];
}

describe('tenancy (X-Scope-OrgID)', () => {
  it('routes each write to the tenant it names, and to the default tenant without a header', async () => {
    for (const s of senders()) {
      const tenant = `t-${s.name.replace(/[^a-z]/gi, '').toLowerCase()}`;
      const before = await countRows(central.store, s.table, 'fake');
      expect(await s.send(central, tenant), s.name).toMatchObject({ ok: true });
      expect(await countRows(central.store, s.table, tenant), s.name).toBe(s.rows);
      expect(await s.send(central, undefined), s.name).toMatchObject({ ok: true });
      expect(await countRows(central.store, s.table, 'fake'), `${s.name} default tenant`).toBe(before + s.rows);
      expect(await countRows(central.store, s.table, tenant), s.name).toBe(s.rows);
    }
  });

  it.each(['a/b', 'x'.repeat(151), '..', 'team-a|team-b', 'bad tenant'])('an invalid tenant id %j is refused (400 / INVALID_ARGUMENT) and nothing stored', async (bad) => {
    for (const s of senders()) {
      const r = await s.send(central, bad);
      expect(r, s.name).toMatchObject({ ok: false, status: s.name === 'OTLP/gRPC' ? 'INVALID_ARGUMENT' : 400 });
      if (s.name === 'OTLP/HTTP') expect(r.rpcCode).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(r.message, s.name).toMatch(/tenant/);
      expect(await countRows(central.store, s.table, bad), s.name).toBe(0);
    }
  });

  describe('with tenancy.requireTenant', () => {
    let strict: TestCentral;
    beforeAll(async () => {
      strict = await startTestCentral({ tenancy: { requireTenant: true } });
    });
    afterAll(async () => {
      await strict?.shutdown();
    });

    it('a write without X-Scope-OrgID gets 401 (UNAUTHENTICATED on gRPC) in the protocol format; with one it is stored', async () => {
      for (const s of senders()) {
        const r = await s.send(strict, undefined);
        expect(r, s.name).toMatchObject({ ok: false, status: s.name === 'OTLP/gRPC' ? 'UNAUTHENTICATED' : 401 });
        expect(r.message, s.name).toMatch(/X-Scope-OrgID/);
        // OTLP/HTTP: a google.rpc.Status whose code matches the HTTP status
        if (s.name === 'OTLP/HTTP') expect([r.format, r.rpcCode]).toEqual(['application/x-protobuf', GrpcStatus.UNAUTHENTICATED]);
        else if (s.name !== 'OTLP/gRPC') expect(r.format).toMatch(/^text\/plain/);
        expect(await countRows(strict.store, s.table, 'fake'), s.name).toBe(0);
        expect(await s.send(strict, 'team-z'), s.name).toMatchObject({ ok: true });
        expect(await countRows(strict.store, s.table, 'team-z'), s.name).toBeGreaterThanOrEqual(s.rows);
      }
    });
  });
});
