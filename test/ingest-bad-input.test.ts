// Bad input to every ingest endpoint (remote_write, OTLP/HTTP protobuf and
// JSON, Loki push JSON and protobuf, OTLP/gRPC): garbage, truncated,
// oversized (compressed and once decompressed), wrongly encoded bodies and
// wrong content types get a 4xx in the protocol's own error shape (plain text
// for remote_write and Loki, google.rpc.Status for OTLP/HTTP, a gRPC status
// code), never a 5xx, while a well-behaved client writing at the same time
// keeps being served and every write it was acknowledged is stored.
// Per-series limits reject only the offending series.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { connect } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { REMOTE_WRITE_V1_CONTENT_TYPE, REMOTE_WRITE_V2_CONTENT_TYPE, encodeLokiPushProto, encodeRemoteWriteV1, encodeRemoteWriteV2, snappyCompress, type OtlpSignal } from '../protocols/index.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';
import { countRows, decodeRpcStatus, garbage, grpcExport, keyOf, otlpBody, post, sdkLogs, sdkSpans, storedLogs, storedSamples, type HttpAnswer } from './helpers/ingest.ts';

const MAX_REQUEST_BYTES = 256 * 1024;
const NOW = Date.now();
const HOUR_MS = 3_600_000;
const RW1 = { 'content-type': REMOTE_WRITE_V1_CONTENT_TYPE, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const RW2 = { 'content-type': REMOTE_WRITE_V2_CONTENT_TYPE, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '2.0.0' };
const BAD = { 'x-scope-orgid': 'bad-client' };

let central: TestCentral;

// ---------------------------------------------------------------- a good client

interface GoodClient {
  stop(): Promise<void>;
  readonly acked: { samples: [number, number][]; lokiLines: string[]; spanNames: string[]; grpcLogBodies: string[] };
  readonly failures: string[];
}

/** Writes valid data to every protocol in a loop, as another tenant, until stopped. */
async function startGoodClient(c: TestCentral): Promise<GoodClient> {
  const spans = await sdkSpans(400, { service: 'good', prefix: 'good-span' });
  const logs = await sdkLogs(400, { service: 'good', prefix: 'good-grpc' });
  const acked: GoodClient['acked'] = { samples: [], lokiLines: [], spanNames: [], grpcLogBodies: [] };
  const failures: string[] = [];
  const headers = { 'x-scope-orgid': 'good' };
  let stopping = false;
  const loop = (async () => {
    for (let i = 0; !stopping && i < 400; i++) {
      const ts = NOW - HOUR_MS / 2 + i * 1000;
      const rw = (async () => {
        const r = await post(`${c.httpUrl}/api/v1/write`, await snappyCompress(encodeRemoteWriteV1([{ labels: { __name__: 'good_probe', job: 'good' }, samples: [{ timestampMs: ts, value: i }] }])), { ...RW1, ...headers });
        if (r.status === 204) acked.samples.push([ts, i]);
        else failures.push(`remote_write ${r.status} ${r.text}`);
      })();
      const loki = (async () => {
        const line = `good-line-${i}`;
        const body = JSON.stringify({ streams: [{ stream: { app: 'good' }, values: [[(BigInt(ts) * 1_000_000n).toString(), line]] }] });
        const r = await post(`${c.httpUrl}/loki/api/v1/push`, body, { 'content-type': 'application/json', ...headers });
        if (r.status === 204) acked.lokiLines.push(line);
        else failures.push(`loki ${r.status} ${r.text}`);
      })();
      const otlp = (async () => {
        const span = spans[i] as (typeof spans)[number];
        const r = await post(`${c.httpUrl}/v1/traces`, otlpBody('traces', [span], 'protobuf'), { 'content-type': 'application/x-protobuf', ...headers });
        if (r.status === 200) acked.spanNames.push(span.name);
        else failures.push(`otlp ${r.status} ${decodeRpcStatus(r.body).message}`);
      })();
      const grpc = (async () => {
        const rec = logs[i] as (typeof logs)[number];
        const { err } = await grpcExport(c.grpcAddress as string, 'logs', otlpBody('logs', [rec], 'protobuf'), 'good');
        if (err === null) acked.grpcLogBodies.push(String(rec.body));
        else failures.push(`grpc ${err.code} ${err.details}`);
      })();
      await Promise.all([rw, loki, otlp, grpc]);
    }
  })();
  return {
    acked,
    failures,
    stop: async () => {
      stopping = true;
      await loop;
    },
  };
}

let good: GoodClient;

beforeAll(async () => {
  central = await startTestCentral({
    limits: {
      maxRequestBytes: MAX_REQUEST_BYTES,
      maxLabelsPerSeries: 8,
      maxLabelNameLength: 64,
      maxLabelValueLength: 128,
      maxSeriesPerRequest: 500,
      maxSampleAgeMs: HOUR_MS,
      maxSampleFutureMs: 10 * 60_000,
    },
  });
  good = await startGoodClient(central);
});

afterAll(async () => {
  await good?.stop();
  await central?.shutdown();
});

// ---------------------------------------------------------------- answers

type Shape = 'text' | 'rpc-status-protobuf' | 'rpc-status-json';

/** Checks an error answer's status and shape; returns its message. */
function errorMessage(r: HttpAnswer, shape: Shape): string {
  const ct = r.headers.get('content-type') ?? '';
  if (shape === 'text') {
    expect(ct).toMatch(/^text\/plain/);
    return r.text;
  }
  if (shape === 'rpc-status-json') {
    expect(ct).toMatch(/^application\/json/);
    const st = JSON.parse(r.text) as { code: number; message: string };
    expect(st.code).toBeGreaterThan(0);
    return st.message;
  }
  expect(ct).toMatch(/^application\/x-protobuf/);
  const st = decodeRpcStatus(r.body);
  expect(st.code).toBeGreaterThan(0);
  return st.message;
}

// ---------------------------------------------------------------- bodies

const big = (n: number) => Buffer.alloc(n, 'a');

interface Endpoint {
  readonly name: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly shape: Shape;
  /** a valid, uncompressed body and how the endpoint expects it compressed */
  readonly raw: () => Promise<Uint8Array>;
  readonly encode: (raw: Uint8Array) => Promise<Uint8Array>;
}

const identity = async (b: Uint8Array) => b;
const snappy = (b: Uint8Array) => snappyCompress(b);
const gzip = async (b: Uint8Array) => gzipSync(b);

const rwSeries = Array.from({ length: 50 }, (_, i) => ({ labels: { __name__: 'bad_input_probe', i: String(i) }, samples: [{ timestampMs: NOW, value: i }] }));

const ENDPOINTS: Endpoint[] = [
  { name: 'remote_write 1.0', path: '/api/v1/write', headers: RW1, shape: 'text', raw: async () => encodeRemoteWriteV1(rwSeries), encode: snappy },
  { name: 'remote_write 2.0 (/api/v1/push)', path: '/api/v1/push', headers: RW2, shape: 'text', raw: async () => encodeRemoteWriteV2(rwSeries), encode: snappy },
  { name: 'OTLP/HTTP traces protobuf', path: '/v1/traces', headers: { 'content-type': 'application/x-protobuf' }, shape: 'rpc-status-protobuf', raw: async () => otlpBody('traces', await sdkSpans(20, { service: 'bad', prefix: 's' }), 'protobuf'), encode: identity },
  { name: 'OTLP/HTTP logs protobuf gzip', path: '/v1/logs', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, shape: 'rpc-status-protobuf', raw: async () => otlpBody('logs', await sdkLogs(20, { service: 'bad', prefix: 'l' }), 'protobuf'), encode: gzip },
  { name: 'OTLP/HTTP traces JSON', path: '/v1/traces', headers: { 'content-type': 'application/json' }, shape: 'rpc-status-json', raw: async () => otlpBody('traces', await sdkSpans(20, { service: 'bad', prefix: 's' }), 'json'), encode: identity },
  {
    name: 'OTLP/HTTP metrics JSON gzip',
    path: '/v1/metrics',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    shape: 'rpc-status-json',
    raw: async () => Buffer.from(JSON.stringify({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bad' } }] }, scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: String(NOW * 1e6), asDouble: 1 }] } }] }] }] })),
    encode: gzip,
  },
  {
    name: 'Loki push JSON',
    path: '/loki/api/v1/push',
    headers: { 'content-type': 'application/json' },
    shape: 'text',
    raw: async () => Buffer.from(JSON.stringify({ streams: [{ stream: { app: 'bad' }, values: Array.from({ length: 20 }, (_, i) => [(BigInt(NOW) * 1_000_000n + BigInt(i)).toString(), `line ${i}`]) }] })),
    encode: identity,
  },
  {
    name: 'Loki push protobuf',
    path: '/loki/api/v1/push',
    headers: { 'content-type': 'application/x-protobuf' },
    shape: 'text',
    raw: async () => encodeLokiPushProto([{ labels: { app: 'bad' }, entries: Array.from({ length: 20 }, (_, i) => ({ timestampNs: BigInt(NOW) * 1_000_000n + BigInt(i), line: `line ${i}` })) }]),
    encode: snappy,
  },
];

const send = (e: Endpoint, body: Uint8Array, headers: Record<string, string> = {}) => post(`${central.httpUrl}${e.path}`, body, { ...e.headers, ...BAD, ...headers });

describe('bad input to every HTTP endpoint gets a 4xx in the protocol format', () => {
  for (const e of ENDPOINTS) {
    describe(e.name, () => {
      it('the valid body is accepted (sanity)', async () => {
        const r = await send(e, await e.encode(await e.raw()), { 'x-scope-orgid': 'bad-sanity' });
        expect(r.status, r.text).toBeLessThan(300);
      });

      it('garbage → 400', async () => {
        for (const body of [garbage(300, 1), Buffer.from('\u0000\u0001 not a valid body {'), await e.encode(garbage(500, 2))]) {
          const r = await send(e, body);
          expect(r.status, `${e.name}: ${r.text}`).toBe(400);
          expect(errorMessage(r, e.shape)).not.toBe('');
        }
      });

      it('truncated (compressed stream cut, and valid compression of a cut message) → 400', async () => {
        const raw = await e.raw();
        const whole = await e.encode(raw);
        const cutCompressed = whole.subarray(0, Math.floor(whole.length / 2));
        const cutMessage = await e.encode(raw.subarray(0, Math.floor(raw.length / 2) + 1));
        for (const body of whole === raw ? [cutMessage] : [cutCompressed, cutMessage]) {
          const r = await send(e, body);
          expect(r.status, `${e.name}: ${r.text}`).toBe(400);
          errorMessage(r, e.shape);
        }
      });

      it('a body over limits.maxRequestBytes → 413', async () => {
        const r = await send(e, big(MAX_REQUEST_BYTES + 1024));
        expect(r.status, r.text).toBe(413);
        expect(errorMessage(r, e.shape)).toMatch(/larger than|limit/);
      });

      it('a small body that decompresses beyond limits.maxRequestBytes → 413', async () => {
        if (e.encode === identity) {
          // not compressed by default: claim gzip instead
          const r = await send(e, gzipSync(big(MAX_REQUEST_BYTES * 8)), { 'content-encoding': 'gzip' });
          expect(r.status, r.text).toBe(413);
          expect(errorMessage(r, e.shape)).toMatch(/limit/);
          return;
        }
        const bomb = await e.encode(big(MAX_REQUEST_BYTES * 8));
        expect(bomb.length).toBeLessThan(MAX_REQUEST_BYTES);
        const r = await send(e, bomb);
        expect(r.status, r.text).toBe(413);
        expect(errorMessage(r, e.shape)).toMatch(/limit/);
      });

      it('wrongly encoded: gzip claimed but not gzip, snappy claimed but not snappy → 4xx', async () => {
        const raw = await e.raw();
        const r1 = await send(e, raw, { 'content-encoding': 'gzip' });
        // remote_write takes only snappy: claiming gzip is 415; elsewhere the body fails to gunzip: 400
        expect(r1.status, r1.text).toBe(e.path.startsWith('/api/v1/') ? 415 : 400);
        errorMessage(r1, e.shape);
        const r2 = await send(e, raw, { 'content-encoding': 'snappy' });
        // OTLP/HTTP knows only gzip: 415; the snappy protocols fail to decompress: 400
        expect(r2.status, r2.text).toBe(e.path.startsWith('/v1/') ? 415 : 400);
        errorMessage(r2, e.shape);
        const r3 = await send(e, await e.encode(raw), { 'content-encoding': 'br' });
        expect(r3.status, r3.text).toBe(415);
        errorMessage(r3, e.shape);
      });

      it('a wrong content type → 415', async () => {
        const r = await send(e, await e.encode(await e.raw()), { 'content-type': 'text/plain' });
        expect(r.status, r.text).toBe(415);
        // text/plain is no OTLP format: the Status comes back as protobuf
        errorMessage(r, e.shape === 'text' ? 'text' : 'rpc-status-protobuf');
      });
    });
  }

  it('none of it was stored for the bad client', async () => {
    for (const table of ['metrics_samples', 'logs', 'spans']) expect(await countRows(central.store, table, 'bad-client'), table).toBe(0);
  });
});

describe('bad input over OTLP/gRPC gets gRPC status codes', () => {
  const grpc = (signal: OtlpSignal, body: Uint8Array) => grpcExport(central.grpcAddress as string, signal, body, 'bad-client');

  it('garbage and truncated messages → INVALID_ARGUMENT', async () => {
    const valid = otlpBody('traces', await sdkSpans(20, { service: 'bad', prefix: 'g' }), 'protobuf');
    for (const [signal, body] of [
      ['traces', garbage(400, 3)],
      ['metrics', Buffer.from([0x0a, 0xff, 0xff])],
      ['logs', garbage(50, 4)],
      ['traces', valid.subarray(0, Math.floor(valid.length / 2))],
    ] as const) {
      const { err } = await grpc(signal, body);
      expect(err?.code, `${signal}: ${err?.details}`).toBe(GrpcStatus.INVALID_ARGUMENT);
    }
  });

  it('a message over limits.maxRequestBytes → RESOURCE_EXHAUSTED', async () => {
    const { err } = await grpc('logs', big(MAX_REQUEST_BYTES + 1024));
    expect(err?.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  });

  /** One gRPC call over raw HTTP/2 with a gzip-compressed message frame; returns grpc-status. */
  const gzipFrameCall = async (path: string, message: Uint8Array, tenant: string): Promise<{ status: number; message: string }> => {
    const session = connect(`http://${central.grpcAddress}`);
    try {
      const compressed = gzipSync(message);
      const frame = Buffer.alloc(5 + compressed.length);
      frame[0] = 1; // compressed flag
      frame.writeUInt32BE(compressed.length, 1);
      compressed.copy(frame, 5);
      const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', 'grpc-encoding': 'gzip', 'x-scope-orgid': tenant });
      req.end(frame);
      return await new Promise((resolve, reject) => {
        let headers: Record<string, unknown> = {};
        req.on('response', (h) => (headers = h));
        req.on('trailers', (t) => resolve({ status: Number(t['grpc-status']), message: decodeURIComponent(String(t['grpc-message'] ?? '')) }));
        req.on('data', () => undefined);
        req.on('end', () => resolve({ status: Number(headers['grpc-status']), message: decodeURIComponent(String(headers['grpc-message'] ?? '')) }));
        req.on('error', reject);
      });
    } finally {
      session.close();
    }
  };

  it('a gzip-compressed message that inflates beyond limits.maxRequestBytes → RESOURCE_EXHAUSTED', async () => {
    // small on the wire; 8x the limit once inflated (were it inflated, it would not decode: INVALID_ARGUMENT)
    const r = await gzipFrameCall('/opentelemetry.proto.collector.logs.v1.LogsService/Export', big(MAX_REQUEST_BYTES * 8), 'bad-client');
    expect(r.status, r.message).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  });

  it('a gzip-compressed valid message within the limit is accepted (sanity for the case above)', async () => {
    const r = await gzipFrameCall('/opentelemetry.proto.collector.trace.v1.TraceService/Export', otlpBody('traces', await sdkSpans(5, { service: 'bad', prefix: 'z' }), 'protobuf'), 'bad-sanity');
    expect(r.status, r.message).toBe(GrpcStatus.OK);
  });

  it('none of it was stored', async () => {
    expect(await countRows(central.store, 'spans', 'bad-client')).toBe(0);
    expect(await countRows(central.store, 'logs', 'bad-client')).toBe(0);
    expect(await countRows(central.store, 'spans', 'bad-sanity')).toBeGreaterThan(0);
  });
});

describe('per-series limits reject only the offending series', () => {
  const okSeries = (tag: string) => [
    { labels: { __name__: 'limits_ok', which: `${tag}-a` }, samples: [{ timestampMs: NOW - 60_000, value: 1 }, { timestampMs: NOW, value: 2 }] },
    { labels: { __name__: 'limits_ok', which: `${tag}-b` }, samples: [{ timestampMs: NOW, value: 3 }] },
  ];
  const badSeries = [
    { labels: Object.fromEntries([['__name__', 'too_many_labels'], ...Array.from({ length: 9 }, (_, i) => [`l${i}`, 'v'])]), samples: [{ timestampMs: NOW, value: 1 }] },
    { labels: { __name__: 'long_name', ['n'.repeat(65)]: 'v' }, samples: [{ timestampMs: NOW, value: 1 }] },
    { labels: { __name__: 'long_value', v: 'x'.repeat(129) }, samples: [{ timestampMs: NOW, value: 1 }] },
  ];

  for (const [version, encode, headers] of [
    ['1.0', encodeRemoteWriteV1, RW1],
    ['2.0', encodeRemoteWriteV2, RW2],
  ] as const) {
    it(`remote_write ${version}: 400 naming each problem, the rest stored`, async () => {
      const tenant = `limits-rw${version.replace('.', '')}`;
      const tooOld = { labels: { __name__: 'limits_ok', which: 'old' }, samples: [{ timestampMs: NOW - 2 * HOUR_MS, value: 9 }] };
      const body = await snappyCompress(encode([...okSeries(version), ...badSeries, tooOld]));
      const r = await post(`${central.httpUrl}/api/v1/write`, body, { ...headers, 'x-scope-orgid': tenant });
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(r.text).toMatch(/4 rejected/);
      expect(r.text).toMatch(/series has 10 labels, more than the limit of 8/);
      expect(r.text).toMatch(/label name "n+\.\.\." is longer than 64/);
      expect(r.text).toMatch(/value of label "v" is longer than 128/);
      expect(r.text).toMatch(/1 samples are older than the 3600000 ms age limit/);
      expect(r.headers.get('x-prometheus-remote-write-samples-written')).toBe('3');
      const got = new Map([...(await storedSamples(central.store, tenant))].map(([k, s]) => [k, s.samples]));
      expect(got).toEqual(new Map(okSeries(version).map((s) => [keyOf(s.labels), s.samples.map((x) => [x.timestampMs, x.value])])));
    });
  }

  it('remote_write: a request over maxSeriesPerRequest is refused whole (400)', async () => {
    const many = Array.from({ length: 501 }, (_, i) => ({ labels: { __name__: 'many', i: String(i) }, samples: [{ timestampMs: NOW, value: i }] }));
    const r = await post(`${central.httpUrl}/api/v1/write`, await snappyCompress(encodeRemoteWriteV1(many)), { ...RW1, 'x-scope-orgid': 'limits-many' });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/501 series, more than the limit of 500/);
    expect(await countRows(central.store, 'metrics_samples', 'limits-many')).toBe(0);
  });

  it('Loki push: 400 naming the problems, the other entries stored', async () => {
    const tenant = 'limits-loki';
    const ns = (ms: number, i = 0) => (BigInt(ms) * 1_000_000n + BigInt(i)).toString();
    const body = {
      streams: [
        { stream: { app: 'ok' }, values: [[ns(NOW, 1), 'kept 1'], [ns(NOW - 2 * HOUR_MS), 'too old'], [ns(NOW, 2), 'kept 2']] },
        { stream: { app: 'x'.repeat(129) }, values: [[ns(NOW, 3), 'long label value']] },
        { stream: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`l${i}`, 'v'])), values: [[ns(NOW, 4), 'too many labels']] },
      ],
    };
    const r = await post(`${central.httpUrl}/loki/api/v1/push`, JSON.stringify(body), { 'content-type': 'application/json', 'x-scope-orgid': tenant });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.text).toMatch(/3 rejected/);
    expect(r.text).toMatch(/older than the 3600000 ms age limit/);
    expect(r.text).toMatch(/value of label "app" is longer than 128/);
    expect(r.text).toMatch(/9 labels, more than the limit of 8/);
    expect((await storedLogs(central.store, tenant)).map((l) => l.body)).toEqual(['kept 1', 'kept 2']);
  });

  it('OTLP logs: 200 with partial_success counting the rejected records, the rest stored', async () => {
    const tenant = 'limits-otlp';
    const fresh = await sdkLogs(3, { service: 'limits', prefix: 'fresh' });
    const old = await sdkLogs(2, { service: 'limits', prefix: 'old', startMs: NOW - 2 * HOUR_MS });
    const body = otlpBody('logs', [...fresh, ...old], 'protobuf');
    const r = await post(`${central.httpUrl}/v1/logs`, body, { 'content-type': 'application/x-protobuf', 'x-scope-orgid': tenant });
    expect(r.status).toBe(200);
    const resp = ProtobufLogsSerializer.deserializeResponse(r.body) as { partialSuccess?: { rejectedLogRecords?: number | { low: number }; errorMessage?: string } };
    const rejected = resp.partialSuccess?.rejectedLogRecords;
    expect(typeof rejected === 'object' ? rejected.low : Number(rejected)).toBe(2);
    expect(resp.partialSuccess?.errorMessage).toMatch(/older than the 3600000 ms age limit/);
    expect((await storedLogs(central.store, tenant)).map((l) => l.body)).toEqual(['fresh-0', 'fresh-1', 'fresh-2']);
  });
});

describe('the well-behaved client', () => {
  it('was served throughout, and everything it was acknowledged is stored exactly once', async () => {
    await good.stop();
    expect(good.failures).toEqual([]);
    expect(good.acked.samples.length).toBeGreaterThan(0);
    const samples = await storedSamples(central.store, 'good');
    expect([...samples.values()].map((s) => s.samples)).toEqual([good.acked.samples.sort((a, b) => a[0] - b[0])]);
    expect((await storedLogs(central.store, 'good')).filter((l) => l.stream.app === 'good').map((l) => l.body)).toEqual(good.acked.lokiLines);
    const spanNames = await central.store.queryRows<{ name: string }>({ sql: `SELECT name FROM ${central.store.database}.spans WHERE tenant = 'good' ORDER BY start_time`, params: {} });
    expect(spanNames.map((r) => r.name)).toEqual(good.acked.spanNames);
    const grpcBodies = (await storedLogs(central.store, 'good')).filter((l) => l.stream.service_name === 'good').map((l) => l.body);
    expect(grpcBodies).toEqual(good.acked.grpcLogBodies);
  });
});
