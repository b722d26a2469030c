// The HTTP shell shared by central and the collector: fastify with raw-body
// parsing (each protocol decodes its own body, once), admin endpoints, our own
// request metrics and the default error shape.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { MetricsRegistry } from './metrics.ts';
import { counter, histogram } from './metrics.ts';
import { FleetwatchError, isFleetwatchError } from './errors.ts';

export interface HttpAppOptions {
  readonly logLevel: string;
  readonly maxRequestBytes: number;
  readonly registry: MetricsRegistry;
  /** true once storage answers and migrations are done */
  readonly isReady: () => boolean;
  /** optional hook for our own tracing */
  readonly logger?: FastifyServerOptions['logger'];
}

export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? { level: opts.logLevel },
    bodyLimit: opts.maxRequestBytes,
    // per-request log lines would dominate at ingest rates; /metrics counts requests
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Prometheus label values can be long; matchers go in query strings
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
  });

  // Every body arrives as a Buffer; routes decode (protobuf, snappy, JSON,
  // forms) exactly once themselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const requests = counter(opts.registry, 'fleetwatch_http_requests_total', 'HTTP requests by route and status code', ['route', 'method', 'code']);
  const duration = histogram(opts.registry, 'fleetwatch_http_request_duration_seconds', 'HTTP request latency', ['route', 'method'], [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: req.method, code: String(reply.statusCode) });
    duration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });

  app.get('/-/healthy', async (_req, reply) => reply.type('text/plain').send('fleetwatch is Healthy.\n'));
  app.get('/-/ready', async (_req, reply) => {
    if (opts.isReady()) return reply.type('text/plain').send('fleetwatch is Ready.\n');
    return reply.code(503).type('text/plain').send('Service Unavailable: storage is starting\n');
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(body);
  });

  app.setErrorHandler((err, req, reply) => {
    const fe = toFleetwatchError(err);
    if (fe.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.debug({ err: fe.message }, 'request rejected');
    if (fe.status === 429 || fe.status === 503) reply.header('Retry-After', '1');
    return reply.code(fe.status).send({ status: 'error', errorType: fe.code, error: fe.message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ status: 'error', errorType: 'FW_ERR_NOT_FOUND', error: `no route ${req.method} ${req.url.split('?')[0]}` }));
  return app;
}

/** Turns anything thrown into a user-facing error (fastify's own 4xx kept). */
export function toFleetwatchError(err: unknown): FleetwatchError {
  if (isFleetwatchError(err)) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new FleetwatchError('FW_ERR_INGEST_TOO_LARGE', e.message);
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new FleetwatchError(e.statusCode === 415 ? 'FW_ERR_INGEST_UNSUPPORTED_MEDIA' : e.statusCode === 413 ? 'FW_ERR_INGEST_TOO_LARGE' : 'FW_ERR_INGEST_BAD_REQUEST', e.message);
  }
  return new FleetwatchError('FW_ERR_INTERNAL', e?.message ?? String(err), { cause: err });
}
