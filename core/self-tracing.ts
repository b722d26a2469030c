// fleetwatch's own request tracing through the OpenTelemetry Node SDK, on when
// an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
// telemetry.otlpEndpoint). Each HTTP request becomes a server span.
import type { FastifyInstance } from 'fastify';

export interface SelfTracing {
  instrument(app: FastifyInstance): void;
  shutdown(): Promise<void>;
}

export async function startSelfTracing(opts: { endpoint: string; serviceName: string; role: string }): Promise<SelfTracing | undefined> {
  if (!opts.endpoint) return undefined;
  const [{ NodeSDK }, { OTLPTraceExporter }, api] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/api'),
  ]);
  const url = opts.endpoint.replace(/\/$/, '') + '/v1/traces';
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    traceExporter: new OTLPTraceExporter({ url }),
    instrumentations: [],
  });
  sdk.start();
  const tracer = api.trace.getTracer('fleetwatch', '0.1.0');
  const spans = new WeakMap<object, import('@opentelemetry/api').Span>();
  return {
    instrument(app) {
      app.addHook('onRequest', async (req) => {
        const span = tracer.startSpan(`${req.method} ${req.routeOptions.url ?? 'unmatched'}`, {
          kind: api.SpanKind.SERVER,
          attributes: { 'http.request.method': req.method, 'url.path': req.url.split('?')[0] ?? '', 'fleetwatch.role': opts.role },
        });
        spans.set(req, span);
      });
      app.addHook('onResponse', async (req, reply) => {
        const span = spans.get(req);
        if (!span) return;
        span.setAttribute('http.response.status_code', reply.statusCode);
        if (reply.statusCode >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
        span.end();
      });
    },
    shutdown: () => sdk.shutdown(),
  };
}
