// A SeriesSource that answers from the in-memory head (storage/head.ts)
// whatever the head holds completely, and passes everything else to the
// ClickHouse source:
//  - a select whose whole range is at or after the head's floor;
//  - a pushed-down single evaluation step (rate, sum by (...) (rate), the
//    instant selector, ...) whose window is: the same kernels and folds as
//    over ClickHouse rows (clickhouse-pushdown.ts runSingleStep);
//  - a subquery the head holds is declined, so the evaluator steps through
//    head samples (bench/query: 53-63 ms against 107-108 ms in ClickHouse);
//  - a range query's grid goes to ClickHouse's timeSeries*ToGrid functions
//    even over recent data: stepping the evaluator through the head was
//    no faster (1 h at 15 s: 112 vs 114 ms alone) and slower inside the
//    benchmark's long-running process (174 vs 135 ms, the evaluator's
//    allocations meeting a large heap).
// Matching follows the ClickHouse source exactly (clickhouse-sql.ts): a
// missing label is "", regexes are anchored RE2, and with several tenants
// each series carries __tenant_id__.
import { sortLabels, type Labels } from '../../core/index.ts';
import type { Head, HeadSeries } from '../../storage/index.ts';
import type { LabelMatcher } from './ast.ts';
import { planPushdown, planSubqueryPushdown, runSingleStep, singleStepStartMs, type WindowReader, type WindowSamples } from './clickhouse-pushdown.ts';
import { DEFAULT_ENGINE_OPTIONS } from './engine.ts';
import { labelsWithoutName, tooManySeries, type MatchedSeries, type SeriesLookup } from './clickhouse-series.ts';
import { isMultiTenant, METRIC_NAME, pinnedMetricName, splitTenantMatchers, TENANT_LABEL, type TenantScope } from './clickhouse-sql.ts';
import { tooManySamples } from './errors.ts';
import { matchesAll } from './memory-source.ts';
import type { SelectRequest, SeriesSet, SeriesSource } from './series-source.ts';

export interface HeadSourceOptions {
  readonly head: Head;
  /** where what the head does not hold is read */
  readonly inner: SeriesSource;
  /** the tenants this query may read (X-Scope-OrgID) */
  readonly tenants: readonly string[];
  readonly maxSeries: number;
  readonly maxSamples: number;
  /** the engine's step for subqueries written without one */
  readonly noStepSubqueryIntervalMs?: number;
  /** told where each select or single-step pushdown was answered */
  readonly onSelect?: (where: 'head' | 'storage') => void;
}

export interface HeadSourceStats {
  /** selects and single-step pushdowns answered from the head / passed on */
  fromHead: number;
  passedOn: number;
}

export interface HeadSource extends SeriesSource {
  readonly stats: HeadSourceStats;
}

/** What the query side keeps on a head series (HeadSeries.slot): its look-up entry, made once. */
interface Slot {
  single?: MatchedSeries;
  multi?: MatchedSeries;
}

interface Hit {
  readonly s: HeadSeries;
  readonly labels: Labels;
  readonly a: number;
  readonly b: number;
}

export function createHeadSource(opts: HeadSourceOptions): HeadSource {
  const { head, inner } = opts;
  const scope: TenantScope = { tenants: opts.tenants };
  const multi = isMultiTenant(scope);
  const stats: HeadSourceStats = { fromHead: 0, passedOn: 0 };
  const covers = (startMs: number): boolean => startMs >= head.coveredFromMs();

  /** The series a selector matches with samples in [startMs, endMs], and where those samples lie. */
  const match = (matchers0: readonly LabelMatcher[], startMs: number, endMs: number): Hit[] => {
    const split = splitTenantMatchers(scope, matchers0);
    const name = pinnedMetricName(split.matchers);
    // the pinned name is what head.series() looks series up by
    const matchers = name === null ? split.matchers : split.matchers.filter((m) => !(m.name === METRIC_NAME && m.type === '='));
    const hits: Hit[] = [];
    let samples = 0;
    // an equality on another label narrows the candidates through the head's label index
    const eq = name === null ? undefined : matchers.find((m) => m.type === '=' && m.value !== '' && m.name !== TENANT_LABEL);
    for (const tenant of split.tenants) {
      const candidates = eq && name !== null ? head.seriesWithLabel(tenant, name, eq.name, eq.value) : head.series(tenant, name);
      for (const s of candidates) {
        const labels = multi ? (s.tenantLabels ??= sortLabels([...s.labels.names, TENANT_LABEL], [...s.labels.values, s.tenant])) : s.labels;
        if (matchers.length > 0 && !matchesAll(labels, matchers)) continue;
        const a = head.indexOf(s, startMs);
        const b = head.indexOf(s, endMs, true);
        if (a >= b) continue;
        if (hits.length >= opts.maxSeries) throw tooManySeries(opts.maxSeries);
        samples += b - a;
        if (samples > opts.maxSamples) throw tooManySamples();
        hits.push({ s, labels, a, b });
      }
    }
    return hits;
  };

  /** One copy of the hits' samples: later appends and evictions never touch what a query holds. */
  const copyAll = (hits: readonly Hit[]): { t: Float64Array; v: Float64Array; at: Int32Array } => {
    let total = 0;
    for (const h of hits) total += h.b - h.a;
    const t = new Float64Array(total);
    const v = new Float64Array(total);
    const w = new Uint32Array(v.buffer);
    const at = new Int32Array(hits.length + 1);
    let k = 0;
    for (let i = 0; i < hits.length; i++) {
      const h = hits[i] as Hit;
      at[i] = k;
      head.copy(h.s, h.a, h.b, t, w, k);
      k += h.b - h.a;
    }
    at[hits.length] = k;
    return { t, v, at };
  };

  const fromHead = (req: SelectRequest): SeriesSet[] => {
    const hits = match(req.matchers, req.startMs, req.endMs);
    const { t, v, at } = copyAll(hits);
    return hits.map((h, i) => ({ labels: h.labels, timestampsMs: t.subarray(at[i] as number, at[i + 1] as number), values: v.subarray(at[i] as number, at[i + 1] as number) }));
  };

  /** The pushdown's view of the head: look-up entries made once per head series, samples copied per query. */
  const lookedUp = new WeakMap<SeriesLookup, readonly Hit[]>();
  const reader: WindowReader = {
    lookup(matchers, startMs, endMs) {
      const hits = match(matchers, startMs, endMs);
      const series: MatchedSeries[] = [];
      const tenants = new Set<string>();
      const metrics = new Set<string>();
      for (let i = 0; i < hits.length; i++) {
        const h = hits[i] as Hit;
        const slot = ((h.s.slot as Slot | undefined) ??= {});
        const key = multi ? 'multi' : 'single';
        let m = slot[key];
        if (!m) {
          m = { index: 0, tenant: h.s.tenant, hi: h.s.fpHi, lo: h.s.fpLo, metric: h.s.metricName, labels: h.labels, groups: new Map() };
          labelsWithoutName(m);
          slot[key] = m;
        }
        // the cached entry's derived labels and groups, at this look-up's position
        series.push({ ...m, index: i });
        tenants.add(h.s.tenant);
        metrics.add(h.s.metricName);
      }
      const lookup: SeriesLookup = { series, tenants: [...tenants], metrics: [...metrics], wholeMetric: false, find: () => undefined };
      lookedUp.set(lookup, hits);
      return lookup;
    },
    window(series, _startMs, _endMs, dropStale): WindowSamples {
      const hits = lookedUp.get(series) ?? [];
      const { t, v, at } = copyAll(hits);
      const from = new Int32Array(hits.length);
      const to = new Int32Array(hits.length);
      if (!dropStale) {
        from.set(at.subarray(0, hits.length));
        to.set(at.subarray(1));
        return { from, to, t, v };
      }
      // range functions never see staleness markers: squeeze them out
      const w = new Uint32Array(v.buffer);
      let k = 0;
      for (let i = 0; i < hits.length; i++) {
        from[i] = k;
        for (let j = at[i] as number; j < (at[i + 1] as number); j++) {
          if (w[2 * j + 1] === 0x7ff00000 && w[2 * j] === 2) continue;
          t[k] = t[j] as number;
          w[2 * k] = w[2 * j] as number;
          w[2 * k + 1] = w[2 * j + 1] as number;
          k++;
        }
        to[i] = k;
      }
      return { from, to, t, v };
    },
  };

  const counted = (where: 'head' | 'storage'): void => {
    if (where === 'head') stats.fromHead++;
    else stats.passedOn++;
    opts.onSelect?.(where);
  };

  const src: HeadSource = {
    stats,
    select: async (req, signal) => {
      if (req.startMs > req.endMs) return [];
      if (covers(req.startMs)) {
        counted('head');
        return fromHead(req);
      }
      counted('storage');
      return inner.select(req, signal);
    },
  };
  if (!inner.pushdown) return src;
  const innerPushdown = inner.pushdown.bind(inner);
  return {
    ...src,
    pushdown: async (req, signal) => {
      const plan = planPushdown(req);
      const start = plan ? singleStepStartMs(plan) : null;
      if (plan && start !== null && covers(start)) {
        counted('head');
        return runSingleStep(plan, reader);
      }
      // a subquery over samples the head holds: the evaluator steps through them
      const sub = plan ? null : planSubqueryPushdown(req, opts.noStepSubqueryIntervalMs ?? DEFAULT_ENGINE_OPTIONS.noStepSubqueryIntervalMs);
      if (sub && covers(sub.inner.evalStartMs - sub.inner.windowMs + 1)) return null;
      const res = await innerPushdown(req, signal);
      if (res) counted('storage');
      return res;
    },
  };
}
