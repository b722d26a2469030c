// query: the query engines (promql/, logql/, traces/) and the HTTP APIs that serve them.
export { registerLokiQueryApi, LOKI_BUILD_INFO } from './loki-api.ts';
export type { LokiQueryApiDeps } from './loki-api.ts';
export { registerPrometheusApi, PROMETHEUS_BUILD_INFO } from './prometheus-api.ts';
export type { PrometheusApiDeps } from './prometheus-api.ts';
