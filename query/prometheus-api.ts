// The Prometheus-compatible HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/)
// with Thanos Querier's extensions (https://thanos.io/tip/components/query.md/#http-api):
// what Grafana's Prometheus data source, promtool, the ruler and anything
// else that speaks to Prometheus or Thanos call. Envelope, error types and
// their HTTP statuses (bad_data 400, execution 422, canceled 499, timeout
// 503, internal 500), parameter parsing and error texts follow Prometheus
// 3.x's web/api/v1/api.go.
//
// Every request reads only the tenants of its X-Scope-OrgID ("A|B" reads
// several; series then carry __tenant_id__). A query's timeout (the
// `timeout` parameter, capped by query.timeoutMs) and a client that goes
// away both abort the ClickHouse work, not just the wait for it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { counter, histogram, isFleetwatchError, sortLabels, tenantsOf, type Config, type Labels, type MetricsRegistry } from '../core/index.ts';
import { ident, RowBinaryReader as RowReader, SqlBuilder, type Head, type Store } from '../storage/index.ts';
import {
  compareLabels,
  createClickHouseSource,
  createDedupSource,
  createHeadSource,
  createSeriesCache,
  isMultiTenant,
  matcherConditions,
  seriesFromWhere,
  splitTenantMatchers,
  createEngine,
  isPromqlError,
  parseQuery,
  PromqlError,
  TENANT_LABEL,
  typeOf,
  walkExpr,
  type Engine,
  type LabelMatcher,
  type QueryResult,
  type SeriesSource,
} from './promql/index.ts';
import { formatTimestamp, formatValue, labelsJson, queryDataJson, successJson } from './prometheus-encode.ts';
import { boolParam, durationParam, invalidParam, limitParam, parseDurationParamMs, MAX_TIME_MS, MIN_TIME_MS, requestParams, requiredTimeParam, timeParam, unescapeLabelName, type Params } from './prometheus-params.ts';

export interface PrometheusApiDeps {
  readonly config: Config;
  readonly store: Store;
  readonly registry: MetricsRegistry;
  /** Push sub-expressions down into ClickHouse (default true; tests turn it off to compare). */
  readonly pushdown?: boolean;
  /** the in-memory head of recent samples (storage/head.ts); ranges it covers are answered from it */
  readonly head?: Head | undefined;
}

/** What /api/v1/status/buildinfo answers: the Prometheus API level whose semantics fleetwatch follows. */
export const PROMETHEUS_BUILD_INFO = Object.freeze({
  version: '3.5.0',
  revision: 'fleetwatch',
  branch: 'main',
  buildUser: 'fleetwatch',
  buildDate: '',
  goVersion: '',
});

const STATUS_BY_TYPE: Record<string, number> = { bad_data: 400, execution: 422, canceled: 499, timeout: 503, internal: 500, not_found: 404 };

/** Prometheus's error envelope for anything thrown. */
export function errorBody(e: unknown): { status: number; body: string } {
  let errorType: string;
  let message: string;
  if (isPromqlError(e)) {
    errorType = e.errorType;
    message = e.message;
  } else if (isFleetwatchError(e)) {
    errorType = e.status === 400 || e.status === 401 ? 'bad_data' : e.status === 499 ? 'canceled' : e.status === 503 ? 'timeout' : e.status === 422 ? 'execution' : 'internal';
    if (e.code === 'FW_ERR_STORAGE_UNAVAILABLE') errorType = 'unavailable';
    message = e.message;
  } else {
    errorType = 'internal';
    message = (e as Error)?.message ?? String(e);
  }
  const status = errorType === 'unavailable' ? 503 : (STATUS_BY_TYPE[errorType] ?? 500);
  if (isFleetwatchError(e) && (e.code === 'FW_ERR_TENANT_MISSING' || e.code === 'FW_ERR_AUTH_UNAUTHORIZED')) return { status: 401, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: message }) };
  return { status, body: JSON.stringify({ status: 'error', errorType, error: message }) };
}

interface RequestContext {
  readonly params: Params;
  readonly tenants: string[];
  /** aborts on the timeout or when the client goes away (storage calls of the metadata endpoints) */
  readonly signal: AbortSignal;
  /** aborts only when the client goes away (the engine runs the timeout itself and reports it as one) */
  readonly clientSignal: AbortSignal;
  /** Date.now() ms by which the work must end */
  readonly deadlineMs: number;
  readonly timeoutMs: number;
}

export function registerPrometheusApi(app: FastifyInstance, deps: PrometheusApiDeps): { engine: Engine } {
  const { config, store, registry } = deps;
  const q = config.query;
  const engine = createEngine({ lookbackDeltaMs: q.lookbackDeltaMs, maxSamples: q.maxSamples, timeoutMs: q.timeoutMs });
  const seriesCache = createSeriesCache({ ttlMs: q.seriesCacheTtlMs });
  const tenancy = { defaultTenant: config.tenancy.defaultTenant, requireTenant: config.tenancy.requireTenant };
  const db = ident(store.database);
  const requests = counter(registry, 'fleetwatch_promql_requests_total', 'Prometheus API requests by endpoint and outcome', ['endpoint', 'outcome']);
  const seconds = histogram(registry, 'fleetwatch_promql_request_duration_seconds', 'Prometheus API latency by endpoint', ['endpoint'], [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);

  const selects = counter(registry, 'fleetwatch_promql_selects_total', 'PromQL selector reads by where they were answered (head: the in-memory head of recent samples; storage: ClickHouse)', ['source']);

  const json = (reply: FastifyReply, text: string): FastifyReply => reply.type('application/json').send(text);

  /** Runs a handler with the error envelope, the timeout/cancel signal and metrics. */
  const handle =
    (endpoint: string, fn: (ctx: RequestContext, req: FastifyRequest) => Promise<string>) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const started = performance.now();
      const client = new AbortController();
      const timeout = new AbortController();
      // The response's close before it finished means the client went away
      // (the request's own close only says its body was read).
      const onClose = (): void => {
        if (!reply.raw.writableFinished) client.abort(new DOMException('client closed the connection', 'AbortError'));
      };
      reply.raw.once('close', onClose);
      let timer: NodeJS.Timeout | undefined;
      try {
        const params = requestParams(req);
        const tenants = tenantsOf(req.headers['x-scope-orgid'], tenancy);
        const asked = durationParam(params, 'timeout');
        const timeoutMs = asked !== null && asked > 0 ? Math.min(asked, q.timeoutMs) : q.timeoutMs;
        timer = setTimeout(() => timeout.abort(new DOMException('query timed out', 'TimeoutError')), timeoutMs);
        // made only for the endpoints that pass it to storage (AbortSignal.any costs tens of µs)
        let signal: AbortSignal | undefined;
        const body = await fn(
          {
            params,
            tenants,
            get signal() {
              return (signal ??= AbortSignal.any([client.signal, timeout.signal]));
            },
            clientSignal: client.signal,
            deadlineMs: Date.now() + timeoutMs,
            timeoutMs,
          },
          req,
        );
        requests.inc({ endpoint, outcome: 'ok' });
        return json(reply, body);
      } catch (e0) {
        let e = e0;
        // storage calls stopped by our own timer or by the client: Prometheus's timeout / canceled
        if (!isPromqlError(e) && timeout.signal.aborted) e = new PromqlError('timeout', `query timed out in ${endpoint}`);
        else if (!isPromqlError(e) && client.signal.aborted) e = new PromqlError('canceled', `query was canceled in ${endpoint}`);
        const { status, body } = errorBody(e);
        requests.inc({ endpoint, outcome: status < 500 ? 'user_error' : 'error' });
        if (status === 500) req.log.error({ err: e }, 'prometheus api request failed');
        return reply.code(status).type('application/json').send(body);
      } finally {
        clearTimeout(timer);
        reply.raw.off('close', onClose);
        seconds.observe({ endpoint }, (performance.now() - started) / 1000);
      }
    };

  const route = (path: string, endpoint: string, fn: (ctx: RequestContext, req: FastifyRequest) => Promise<string>, post = true): void => {
    const h = handle(endpoint, fn);
    app.get(path, h);
    if (post) app.post(path, h);
  };

  /** Thanos dedup: replicaLabels[] or the configured ones, when dedup is on (the default, as in Thanos). */
  const replicaLabelsOf = (p: Params): string[] => {
    const dedup = boolParam(p, 'dedup', true);
    if (!dedup) return [];
    const asked = p.getAll('replicaLabels[]').filter((l) => l !== '');
    return asked.length ? asked : [...q.replicaLabels];
  };

  /** Thanos parameters that are accepted for compatibility. */
  const checkThanosParams = (p: Params): void => {
    boolParam(p, 'partial_response', false);
    const res = p.get('max_source_resolution');
    if (res !== null && res !== '' && res !== 'auto' && res !== 'raw') {
      try {
        durationParam(p, 'max_source_resolution');
      } catch {
        throw new PromqlError('bad_data', `invalid parameter "max_source_resolution": cannot parse ${JSON.stringify(res)} to a valid duration`);
      }
    }
  };

  const sourceFor = (ctx: RequestContext): SeriesSource => {
    const replicas = replicaLabelsOf(ctx.params);
    const src = createClickHouseSource({
      store,
      tenants: ctx.tenants,
      maxSeries: q.maxSeries,
      maxSamples: q.maxSamples,
      deadlineMs: ctx.deadlineMs,
      seriesCache,
      noStepSubqueryIntervalMs: engine.options.noStepSubqueryIntervalMs,
      pushdown: deps.pushdown !== false && replicas.length === 0,
    });
    const withHead = deps.head ? createHeadSource({ head: deps.head, inner: src, tenants: ctx.tenants, maxSeries: q.maxSeries, maxSamples: q.maxSamples, noStepSubqueryIntervalMs: engine.options.noStepSubqueryIntervalMs, onSelect: (where) => selects.inc({ source: where }) }) : src;
    return replicas.length ? createDedupSource(withHead, replicas) : withHead;
  };

  /** Parses the query the way Prometheus's NewInstantQuery/NewRangeQuery report problems. */
  const checkQuery = (text: string, range: boolean): void => {
    const parsed = parseQuery(text);
    if (!parsed.ok) throw invalidParam('query', parsed.error.message);
    if (range) {
      const t = typeOf(parsed.expr);
      if (t !== 'vector' && t !== 'scalar') throw invalidParam('query', `invalid expression type "${t === 'matrix' ? 'range vector' : t}" for range query, must be Scalar or instant Vector`);
    }
  };

  const queryOptions = (ctx: RequestContext): { lookbackDeltaMs?: number; timeoutMs: number } => {
    const lookback = durationParam(ctx.params, 'lookback_delta');
    return { timeoutMs: ctx.timeoutMs, ...(lookback !== null && lookback > 0 ? { lookbackDeltaMs: lookback } : {}) };
  };

  const statsJson = (ctx: RequestContext, r: QueryResult, t0: number, t1: number): string | null => {
    const want = ctx.params.get('stats');
    if (!want) return null;
    const total = (t1 - t0) / 1000;
    return JSON.stringify({
      timings: { evalTotalTime: total, resultSortTime: 0, queryPreparationTime: 0, innerEvalTime: total, execQueueTime: 0, execTotalTime: total },
      samples: { totalQueryableSamples: r.stats.samplesLoaded, peakSamples: r.stats.peakSamples },
    });
  };

  const instantQuery = async (ctx: RequestContext): Promise<string> => {
    const p = ctx.params;
    const timeMs = timeParam(p, 'time', Date.now());
    checkThanosParams(p);
    const text = p.get('query') ?? '';
    checkQuery(text, false);
    const t0 = performance.now();
    const r = await engine.instantQuery(sourceFor(ctx), text, timeMs, ctx.clientSignal, queryOptions(ctx));
    return successJson(queryDataJson(r, statsJson(ctx, r, t0, performance.now())), r.warnings, r.infos);
  };
  route('/api/v1/query', 'query', instantQuery);

  const rangeQuery = async (ctx: RequestContext): Promise<string> => {
    const p = ctx.params;
    const startMs = requiredTimeParam(p, 'start');
    const endMs = requiredTimeParam(p, 'end');
    if (endMs < startMs) throw invalidParam('end', 'end timestamp must not be before start time');
    let stepMs: number;
    try {
      stepMs = parseDurationParamMs(p.get('step') ?? '');
    } catch (e) {
      throw invalidParam('step', (e as Error).message);
    }
    if (!(stepMs > 0)) throw invalidParam('step', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    if ((endMs - startMs) / stepMs > 11_000) throw new PromqlError('bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    checkThanosParams(p);
    const text = p.get('query') ?? '';
    checkQuery(text, true);
    const t0 = performance.now();
    const r = await engine.rangeQuery(sourceFor(ctx), text, startMs, endMs, stepMs, ctx.clientSignal, queryOptions(ctx));
    return successJson(queryDataJson(r, statsJson(ctx, r, t0, performance.now())), r.warnings, r.infos);
  };
  route('/api/v1/query_range', 'query_range', rangeQuery);

  route('/api/v1/format_query', 'format_query', async (ctx) => {
    const text = ctx.params.get('query') ?? '';
    const parsed = parseQuery(text);
    if (!parsed.ok) throw invalidParam('query', parsed.error.message);
    return successJson(JSON.stringify(engine.formatQuery(text)));
  });

  /** The matcher sets of match[] parameters (each a series selector). */
  const matchSets = (p: Params): LabelMatcher[][] => {
    const out: LabelMatcher[][] = [];
    for (const m of p.getAll('match[]')) {
      const parsed = parseQuery(m);
      if (!parsed.ok) throw new PromqlError('bad_data', parsed.error.message);
      const e = parsed.expr.type === 'ParenExpr' ? parsed.expr.expr : parsed.expr;
      if (e.type !== 'VectorSelector') throw new PromqlError('bad_data', `1:1: parse error: unexpected expression, expected a series selector`);
      out.push([...e.matchers]);
    }
    return out;
  };

  /** `FROM metrics_series WHERE` one branch per matcher set (OR), each with its own tenants. */
  const seriesWhere = (qb: SqlBuilder, tenants: readonly string[], sets: readonly LabelMatcher[][], startMs: number, endMs: number): string | null => {
    const scope = { tenants };
    const branches: string[] = [];
    for (const set of sets.length ? sets : [[]]) {
      const split = splitTenantMatchers(scope, set);
      if (split.tenants.length === 0) continue;
      const conds = [`tenant IN ${qb.param('Array(String)', split.tenants)}`, ...matcherConditions(qb, split.matchers, { name: 'metric_name', labels: 'labels' })];
      branches.push(`(${conds.join(' AND ')})`);
    }
    if (branches.length === 0) return null;
    const days = seriesFromWhere(qb, { db, tenants, matchers: [], startMs, endMs });
    return `${days} AND (${branches.join(' OR ')})`;
  };

  const timeRange = (p: Params): [number, number] => [timeParam(p, 'start', MIN_TIME_MS), timeParam(p, 'end', MAX_TIME_MS)];

  const truncatedWarning = 'results truncated due to limit';

  route('/api/v1/series', 'series', async (ctx) => {
    const p = ctx.params;
    if (p.getAll('match[]').length === 0) throw new PromqlError('bad_data', 'no match[] parameter provided');
    const [startMs, endMs] = timeRange(p);
    const sets = matchSets(p);
    const limit = limitParam(p);
    const qb = new SqlBuilder();
    const where = seriesWhere(qb, ctx.tenants, sets, startMs, endMs);
    if (!where) return successJson('[]');
    qb.add(`SELECT tenant, any(labels) ${where} GROUP BY tenant, metric_name, fingerprint`);
    qb.add(`LIMIT ${qb.param('UInt64', Math.min(q.maxSeries, limit > 0 ? limit : q.maxSeries) + 1)}`);
    const rows = await store.queryBinary(qb.build(), 'RowBinary', { signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const r = RowReader.of(rows);
    const multi = isMultiTenant({ tenants: ctx.tenants });
    const series: Labels[] = [];
    while (!r.done) {
      const tenant = r.string();
      const names: string[] = [];
      const values: string[] = [];
      r.stringMapInto(names, values);
      if (multi) {
        names.push(TENANT_LABEL);
        values.push(tenant);
      }
      series.push(sortLabels(names, values));
    }
    series.sort(compareLabels);
    const warnings: string[] = [];
    if (limit > 0 && series.length > limit) {
      series.length = limit;
      warnings.push(truncatedWarning);
    } else if (series.length > q.maxSeries) throw new PromqlError('execution', `the series request matches more than ${q.maxSeries} series; narrow match[]`);
    return successJson(`[${series.map(labelsJson).join(',')}]`, warnings);
  });

  const labelNames = async (ctx: RequestContext): Promise<string> => {
    const p = ctx.params;
    const [startMs, endMs] = timeRange(p);
    const limit = limitParam(p);
    const qb = new SqlBuilder();
    const where = seriesWhere(qb, ctx.tenants, matchSets(p), startMs, endMs);
    if (!where) return successJson('[]');
    qb.add(`SELECT DISTINCT arrayJoin(mapKeys(labels)) AS name ${where} ORDER BY name`);
    const rows = await store.queryBinary(qb.build(), 'RowBinary', { signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const r = RowReader.of(rows);
    const names: string[] = [];
    while (!r.done) names.push(r.string());
    if (isMultiTenant({ tenants: ctx.tenants }) && names.length > 0) {
      names.push(TENANT_LABEL);
      names.sort();
    }
    return limited(names, limit);
  };
  route('/api/v1/labels', 'labels', labelNames);

  const limited = (values: string[], limit: number): string => {
    if (limit > 0 && values.length > limit) return successJson(JSON.stringify(values.slice(0, limit)), [truncatedWarning]);
    return successJson(JSON.stringify(values));
  };

  app.get('/api/v1/label/:name/values', handle('label_values', async (ctx, req) => {
    const p = ctx.params;
    const raw = (req.params as { name: string }).name;
    const name = unescapeLabelName(raw);
    if (name === '' || !isValidUtf8Name(name)) throw new PromqlError('bad_data', `invalid label name: ${JSON.stringify(name)}`);
    const [startMs, endMs] = timeRange(p);
    const limit = limitParam(p);
    const sets = matchSets(p);
    const qb = new SqlBuilder();
    const multi = isMultiTenant({ tenants: ctx.tenants });
    if (name === TENANT_LABEL && multi) {
      const where = seriesWhere(qb, ctx.tenants, sets, startMs, endMs);
      if (!where) return successJson('[]');
      qb.add(`SELECT DISTINCT toString(tenant) AS v ${where} ORDER BY v`);
    } else {
      const where = seriesWhere(qb, ctx.tenants, sets, startMs, endMs);
      if (!where) return successJson('[]');
      const col = name === '__name__' ? 'toString(metric_name)' : `labels[${qb.param('String', name)}]`;
      qb.add(`SELECT DISTINCT ${col} AS v ${where} AND v != '' ORDER BY v`);
    }
    const rows = await store.queryBinary(qb.build(), 'RowBinary', { signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const r = RowReader.of(rows);
    const values: string[] = [];
    while (!r.done) values.push(r.string());
    return limited(values, limit);
  }));

  route('/api/v1/metadata', 'metadata', async (ctx) => {
    const p = ctx.params;
    const limit = limitParam(p);
    const perMetric = limitParam(p, 'limit_per_metric');
    const metric = p.get('metric') ?? '';
    const qb = new SqlBuilder();
    qb.add(`SELECT metric_name, type, help, unit FROM ${db}.metrics_metadata FINAL WHERE tenant IN ${qb.param('Array(String)', ctx.tenants)}`);
    if (metric !== '') qb.add(`AND metric_name = ${qb.param('String', metric)}`);
    qb.add('ORDER BY metric_name, type, help, unit');
    const rows = await store.queryBinary(qb.build(), 'RowBinary', { signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const r = RowReader.of(rows);
    const byMetric = new Map<string, { type: string; help: string; unit: string }[]>();
    while (!r.done) {
      const m = r.string();
      const entry = { type: r.string(), help: r.string(), unit: r.string() };
      let list = byMetric.get(m);
      if (!list) {
        if (limit > 0 && byMetric.size >= limit) continue;
        list = [];
        byMetric.set(m, list);
      }
      if (perMetric > 0 && list.length >= perMetric) continue;
      if (!list.some((x) => x.type === entry.type && x.help === entry.help && x.unit === entry.unit)) list.push(entry);
    }
    return successJson(JSON.stringify(Object.fromEntries(byMetric)));
  });

  route('/api/v1/query_exemplars', 'query_exemplars', async (ctx) => {
    const p = ctx.params;
    const startMs = timeParam(p, 'start', MIN_TIME_MS);
    const endMs = timeParam(p, 'end', MAX_TIME_MS);
    if (endMs < startMs) throw invalidParam('end', 'end timestamp must not be before start time');
    const text = p.get('query') ?? '';
    const parsed = parseQuery(text);
    if (!parsed.ok) throw invalidParam('query', parsed.error.message);
    const sets: LabelMatcher[][] = [];
    walkExpr(parsed.expr, (n) => {
      if (n.type === 'VectorSelector') sets.push([...n.matchers]);
    });
    if (sets.length === 0) return successJson('[]');
    const qb = new SqlBuilder();
    const where = seriesWhere(qb, ctx.tenants, sets, startMs, endMs);
    if (!where) return successJson('[]');
    qb.add(`WITH matched AS (SELECT tenant, metric_name, fingerprint, any(labels) AS lset ${where} GROUP BY tenant, metric_name, fingerprint)`);
    qb.add('SELECT m.tenant, m.lset, groupArray((e.timestamp_ms, e.value, e.labels)) FROM (');
    qb.add(`SELECT tenant, fingerprint, timestamp_ms, value, labels FROM ${db}.metrics_exemplars WHERE tenant IN ${qb.param('Array(String)', ctx.tenants)}`);
    qb.add(`AND timestamp_ms >= ${qb.param('Int64', String(Math.max(Number.MIN_SAFE_INTEGER, startMs)))} AND timestamp_ms <= ${qb.param('Int64', String(Math.min(Number.MAX_SAFE_INTEGER, endMs)))}`);
    qb.add('AND (tenant, metric_name, fingerprint) IN (SELECT tenant, metric_name, fingerprint FROM matched) ORDER BY timestamp_ms) AS e');
    qb.add('INNER JOIN matched AS m ON m.tenant = e.tenant AND m.fingerprint = e.fingerprint GROUP BY m.tenant, m.lset');
    const rows = await store.queryBinary(qb.build(), 'RowBinary', { signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const r = RowReader.of(rows);
    const multi = isMultiTenant({ tenants: ctx.tenants });
    const out: { labels: Labels; text: string }[] = [];
    while (!r.done) {
      const tenant = r.string();
      const names: string[] = [];
      const values: string[] = [];
      r.stringMapInto(names, values);
      if (multi) {
        names.push(TENANT_LABEL);
        values.push(tenant);
      }
      const labels = sortLabels(names, values);
      const n = r.varUInt();
      const ex: string[] = [];
      for (let i = 0; i < n; i++) {
        const [hi, lo] = r.uint64Parts();
        const ts = (hi | 0) * 4294967296 + lo;
        const v = r.float64();
        const en: string[] = [];
        const evs: string[] = [];
        r.stringMapInto(en, evs);
        ex.push(`{"labels":${labelsJson(sortLabels(en, evs))},"value":"${formatValue(v)}","timestamp":${formatTimestamp(ts)}}`);
      }
      out.push({ labels, text: `{"seriesLabels":${labelsJson(labels)},"exemplars":[${ex.join(',')}]}` });
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return successJson(`[${out.map((o) => o.text).join(',')}]`);
  });

  route('/api/v1/status/buildinfo', 'buildinfo', async () => successJson(JSON.stringify(PROMETHEUS_BUILD_INFO)), false);
  // No ruler yet: Grafana and amtool-like clients get empty lists, as from a Prometheus without rules.
  route('/api/v1/rules', 'rules', async () => successJson('{"groups":[]}'), false);
  route('/api/v1/alerts', 'alerts', async () => successJson('{"alerts":[]}'), false);

  return { engine };
}

/** Prometheus 3.x accepts any non-empty UTF-8 label name. */
function isValidUtf8Name(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = name.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
