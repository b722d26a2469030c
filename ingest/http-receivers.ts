// HTTP receivers: Prometheus remote_write (1.0 and 2.0), OTLP/HTTP (protobuf
// and JSON) and Loki push. Each decodes its body once, hands the typed batch
// to the ingester, and answers in its protocol's own success and error shapes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../core/index.ts';
import { FleetwatchError } from '../core/index.ts';
import { writeTenantOf } from '../core/index.ts';
import { toFleetwatchError } from '../core/index.ts';
import {
  decodeLokiPush,
  decodeOtlpLogs,
  decodeOtlpMetrics,
  decodeOtlpTraces,
  createRemoteWriteSeriesCache,
  decodeRemoteWrite,
  decompress,
  encodeOtlpExportResponse,
  encodeRpcStatus,
  grpcCodeForHttpStatus,
  parseContentEncoding,
  remoteWriteVersion,
  type DecodeResult,
  type Rejection,
} from '../protocols/index.ts';
import type { Ingester } from './ingester.ts';

export interface ReceiverDeps {
  readonly config: Config;
  readonly ingester: Ingester;
  /** resolves the tenant a write belongs to (collector auth may override the header) */
  readonly tenantOf?: (req: FastifyRequest) => string;
}

function bodyOf(req: FastifyRequest): Uint8Array {
  const b = req.body;
  if (b instanceof Uint8Array) return b;
  if (b === undefined || b === null) return new Uint8Array(0);
  throw new FleetwatchError('FW_ERR_INGEST_BAD_REQUEST', 'unexpected body type');
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function encodingOf(req: FastifyRequest): 'snappy' | 'gzip' | 'identity' | undefined {
  const e = headerString(req.headers['content-encoding'])?.trim().toLowerCase();
  if (!e || e === 'identity') return 'identity';
  if (e === 'snappy' || e === 'gzip') return e;
  return undefined;
}

function unwrap<T>(r: DecodeResult<T>): T {
  if (r.ok) return r.value;
  const code = r.status === 415 ? 'FW_ERR_INGEST_UNSUPPORTED_MEDIA' : r.status === 413 ? 'FW_ERR_INGEST_TOO_LARGE' : 'FW_ERR_INGEST_BAD_REQUEST';
  throw new FleetwatchError(code, r.message);
}

function summarize(rejected: readonly Rejection[]): string {
  const total = rejected.reduce((a, r) => a + r.count, 0);
  const reasons = rejected.slice(0, 5).map((r) => `${r.reason} (${r.count})`).join('; ');
  return `${total} rejected: ${reasons}${rejected.length > 5 ? '; ...' : ''}`;
}

/** The OTLP/HTTP body format a request names (Content-Type). */
function otlpFormatOf(req: FastifyRequest): { ct: string | undefined; format: 'json' | 'protobuf' } {
  const ct = headerString(req.headers['content-type'])?.split(';')[0]?.trim().toLowerCase();
  return { ct, format: ct === 'application/json' ? 'json' : 'protobuf' };
}

/** A google.rpc.Status in the request's format, as OTLP/HTTP answers failures. */
function sendOtlpError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const fe = toFleetwatchError(err);
  // Ingest over capacity is the whole server being busy, not this client being
  // throttled: OTLP/HTTP says 503 (+ Retry-After) for that
  // (https://opentelemetry.io/docs/specs/otlp/#otlphttp-throttling); 429 stays for remote_write and Loki.
  const status = fe.code === 'FW_ERR_INGEST_OVERLOADED' ? 503 : fe.status;
  if (status >= 500 && status !== 503) req.log.error({ err }, 'OTLP write failed');
  if (status === 429 || status === 503) reply.header('Retry-After', '1');
  const { format } = otlpFormatOf(req);
  return reply
    .code(status)
    .type(format === 'json' ? 'application/json' : 'application/x-protobuf')
    .send(Buffer.from(encodeRpcStatus(grpcCodeForHttpStatus(status).code, fe.message, format)));
}

/** Plain-text errors, as Prometheus remote_write and Loki push clients expect. */
function sendTextError(reply: FastifyReply, err: unknown): FastifyReply {
  const fe = toFleetwatchError(err);
  if (fe.status >= 500 || fe.status === 429) reply.header('Retry-After', '1');
  if (fe.status >= 500) reply.log.error({ err }, 'write failed');
  return reply.code(fe.status).type('text/plain; charset=utf-8').send(`${fe.message}\n`);
}

export function registerHttpReceivers(app: FastifyInstance, deps: ReceiverDeps): void {
  const { config, ingester } = deps;
  const maxBytes = config.limits.maxRequestBytes;
  const tenantOf = deps.tenantOf ?? ((req: FastifyRequest) => writeTenantOf(req.headers['x-scope-orgid'], config.tenancy));
  // senders re-send byte-identical label sets every scrape: decode and hash each once
  const seriesCache = createRemoteWriteSeriesCache({ maxEntries: 1_000_000 });

  // --- Prometheus remote_write 1.0 / 2.0 -----------------------------------
  // https://prometheus.io/docs/specs/prw/remote_write_spec/ and .../remote_write_spec_2_0/
  // errors raised before a handler runs (a body over the size limit) get each protocol's shape too
  const textErrors = { errorHandler: (err: unknown, _req: FastifyRequest, reply: FastifyReply) => sendTextError(reply, err) };
  const otlpErrors = { errorHandler: (err: unknown, req: FastifyRequest, reply: FastifyReply) => sendOtlpError(req, reply, err) };

  const remoteWrite = async (req: FastifyRequest, reply: FastifyReply) => {
    const produced = ingester.produce();
    try {
      const tenant = tenantOf(req);
      const version = unwrap(remoteWriteVersion(headerString(req.headers['content-type'])));
      // no Content-Encoding means snappy, as Prometheus's own receiver assumes for old 1.0 senders
      const enc = unwrap(parseContentEncoding(headerString(req.headers['content-encoding']), ['snappy'], 'snappy'));
      const raw = unwrap(await decompress(bodyOf(req), enc, maxBytes));
      const batch = unwrap(decodeRemoteWrite(raw, version, { seriesCache }));
      const out = await ingester.writeMetrics(tenant, batch, produced);
      reply.header('X-Prometheus-Remote-Write-Samples-Written', String(out.written));
      reply.header('X-Prometheus-Remote-Write-Histograms-Written', '0');
      reply.header('X-Prometheus-Remote-Write-Exemplars-Written', String(out.exemplars));
      const problems = [...out.rejected];
      if (batch.histogramCount > 0) problems.push({ reason: 'native histograms are not supported yet; send classic histograms (disable native histogram ingestion in the sender)', count: batch.histogramCount });
      if (problems.length > 0) {
        // the valid data is committed; a 400 tells the sender, without a retry, what was not
        return reply.code(400).type('text/plain; charset=utf-8').send(`${summarize(problems)}\n`);
      }
      return reply.code(204).send();
    } catch (e) {
      return sendTextError(reply, e);
    } finally {
      produced();
    }
  };
  app.post('/api/v1/write', textErrors, remoteWrite);
  app.post('/api/v1/push', textErrors, remoteWrite);

  // --- OTLP/HTTP -----------------------------------------------------------
  // https://opentelemetry.io/docs/specs/otlp/#otlphttp
  type Signal = 'metrics' | 'logs' | 'traces';
  const otlp = (signal: Signal) => async (req: FastifyRequest, reply: FastifyReply) => {
    const { ct, format } = otlpFormatOf(req);
    const produced = ingester.produce();
    try {
      if (ct !== 'application/x-protobuf' && ct !== 'application/json') {
        throw new FleetwatchError('FW_ERR_INGEST_UNSUPPORTED_MEDIA', `OTLP/HTTP takes application/x-protobuf or application/json, got ${ct ?? 'none'}`);
      }
      const enc = encodingOf(req);
      if (enc !== 'gzip' && enc !== 'identity') throw new FleetwatchError('FW_ERR_INGEST_UNSUPPORTED_MEDIA', 'OTLP/HTTP bodies must be gzip or uncompressed');
      const tenant = tenantOf(req);
      const raw = unwrap(await decompress(bodyOf(req), enc, maxBytes));
      let rejected: readonly Rejection[];
      if (signal === 'metrics') rejected = (await ingester.writeMetrics(tenant, unwrap(decodeOtlpMetrics(raw, format)), produced)).rejected;
      else if (signal === 'logs') rejected = (await ingester.writeLogs(tenant, unwrap(decodeOtlpLogs(raw, format)), produced)).rejected;
      else rejected = (await ingester.writeSpans(tenant, unwrap(decodeOtlpTraces(raw, format)), produced)).rejected;
      return reply
        .code(200)
        .type(format === 'json' ? 'application/json' : 'application/x-protobuf')
        .send(Buffer.from(encodeOtlpExportResponse(signal, [...rejected], format)));
    } catch (e) {
      return sendOtlpError(req, reply, e);
    } finally {
      produced();
    }
  };
  app.post('/v1/metrics', otlpErrors, otlp('metrics'));
  app.post('/v1/logs', otlpErrors, otlp('logs'));
  app.post('/v1/traces', otlpErrors, otlp('traces'));
  // the paths Mimir (/otlp/v1/metrics), Loki (/otlp/v1/logs) and Tempo-style
  // gateways use, so clients configured for those work unchanged
  app.post('/otlp/v1/metrics', otlpErrors, otlp('metrics'));
  app.post('/otlp/v1/logs', otlpErrors, otlp('logs'));
  app.post('/otlp/v1/traces', otlpErrors, otlp('traces'));

  // --- Loki push -----------------------------------------------------------
  // https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs
  app.post('/loki/api/v1/push', textErrors, async (req, reply) => {
    const produced = ingester.produce();
    try {
      const tenant = tenantOf(req);
      const ct = headerString(req.headers['content-type']);
      const isProto = (ct ?? '').toLowerCase().startsWith('application/x-protobuf');
      let enc = encodingOf(req);
      // Loki's protobuf push is snappy-compressed by definition
      if (isProto && enc === 'identity') enc = 'snappy';
      if (!enc) throw new FleetwatchError('FW_ERR_INGEST_UNSUPPORTED_MEDIA', `unsupported Content-Encoding ${headerString(req.headers['content-encoding'])}`);
      const raw = unwrap(await decompress(bodyOf(req), enc, maxBytes));
      const out = await ingester.writeLogs(tenant, unwrap(decodeLokiPush(raw, ct)), produced);
      if (out.rejected.length > 0) return reply.code(400).type('text/plain; charset=utf-8').send(`${summarize(out.rejected)}\n`);
      return reply.code(204).send();
    } catch (e) {
      return sendTextError(reply, e);
    } finally {
      produced();
    }
  });
}

