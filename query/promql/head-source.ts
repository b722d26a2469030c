// A SeriesSource that answers selects from the in-memory head (storage/head.ts)
// when the head holds every sample of the requested range, and passes
// everything else to the ClickHouse source. Matching follows the ClickHouse
// source exactly (clickhouse-sql.ts): a missing label is "", regexes are
// anchored RE2, and with several tenants each series carries __tenant_id__.
//
// A query whose selectors the head covers entirely is evaluated from the
// head alone (`servesLocally`): the engine then skips pushdown, which would
// read ClickHouse.
import { sortLabels, type Labels } from '../../core/index.ts';
import type { Head, HeadSeries } from '../../storage/index.ts';
import { tooManySeries } from './clickhouse-series.ts';
import { isMultiTenant, pinnedMetricName, splitTenantMatchers, TENANT_LABEL, type TenantScope } from './clickhouse-sql.ts';
import { tooManySamples } from './errors.ts';
import { matchesAll } from './memory-source.ts';
import type { SelectRequest, SeriesSet, SeriesSource } from './series-source.ts';

export interface HeadSourceOptions {
  readonly head: Head;
  /** where ranges the head does not cover are read */
  readonly inner: SeriesSource;
  /** the tenants this query may read (X-Scope-OrgID) */
  readonly tenants: readonly string[];
  readonly maxSeries: number;
  readonly maxSamples: number;
  /** told where each select was answered */
  readonly onSelect?: (where: 'head' | 'storage') => void;
}

export interface HeadSourceStats {
  /** selects answered from the head / passed on */
  fromHead: number;
  passedOn: number;
}

export interface HeadSource extends SeriesSource {
  readonly stats: HeadSourceStats;
}

export function createHeadSource(opts: HeadSourceOptions): HeadSource {
  const { head, inner } = opts;
  const scope: TenantScope = { tenants: opts.tenants };
  const multi = isMultiTenant(scope);
  const stats: HeadSourceStats = { fromHead: 0, passedOn: 0 };
  const covers = (req: SelectRequest): boolean => req.startMs >= head.coveredFromMs();

  const labelsOf = (s: HeadSeries): Labels => {
    if (!multi) return s.labels;
    return (s.tenantLabels ??= sortLabels([...s.labels.names, TENANT_LABEL], [...s.labels.values, s.tenant]));
  };

  const fromHead = (req: SelectRequest): SeriesSet[] => {
    const { tenants, matchers } = splitTenantMatchers(scope, req.matchers);
    const name = pinnedMetricName(matchers);
    const hits: { s: HeadSeries; labels: Labels; a: number; b: number }[] = [];
    let samples = 0;
    for (const tenant of tenants) {
      for (const s of head.series(tenant, name)) {
        const labels = labelsOf(s);
        if (!matchesAll(labels, matchers)) continue;
        const [a, b] = head.range(s, req.startMs, req.endMs);
        if (a === b) continue;
        if (hits.length >= opts.maxSeries) throw tooManySeries(opts.maxSeries);
        samples += b - a;
        if (samples > opts.maxSamples) throw tooManySamples();
        hits.push({ s, labels, a, b });
      }
    }
    // one copy for all series: later appends and evictions never touch what a query holds
    const t = new Float64Array(samples);
    const v = new Float64Array(samples);
    const out: SeriesSet[] = [];
    let at = 0;
    for (const h of hits) {
      const n = h.b - h.a;
      head.copy(h.s, h.a, h.b, t, v, at);
      out.push({ labels: h.labels, timestampsMs: t.subarray(at, at + n), values: v.subarray(at, at + n) });
      at += n;
    }
    return out;
  };

  const src: HeadSource = {
    stats,
    select: async (req, signal) => {
      if (req.startMs > req.endMs) return [];
      if (covers(req)) {
        stats.fromHead++;
        opts.onSelect?.('head');
        return fromHead(req);
      }
      stats.passedOn++;
      opts.onSelect?.('storage');
      return inner.select(req, signal);
    },
    servesLocally: (reqs) => reqs.every(covers),
  };
  if (inner.pushdown) {
    const pushdown = inner.pushdown.bind(inner);
    return { ...src, pushdown };
  }
  return src;
}
