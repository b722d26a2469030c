// Comparing two Prometheus API answers: same status (for errors, the same
// errorType), same result type, same series (as label sets), same
// timestamps, values equal within 1e-9 relative (NaN equals NaN). Order
// matters only where PromQL defines it (sort, sort_desc, sort_by_label*).

export interface ApiAnswer {
  readonly status: string;
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: { resultType: string; result: unknown };
}

type Sample = [number, string];
interface SeriesJson {
  metric: Record<string, string>;
  value?: Sample;
  values?: Sample[];
}

export const REL_TOLERANCE = 1e-9;

export function valuesClose(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  return Math.abs(x - y) <= REL_TOLERANCE * Math.max(Math.abs(x), Math.abs(y));
}

function key(metric: Record<string, string>): string {
  return JSON.stringify(Object.keys(metric).sort().map((k) => [k, metric[k]]));
}

/** null when equal, else a short description of the first difference. */
export function compareAnswers(want: ApiAnswer, got: ApiAnswer, ordered: boolean): string | null {
  if (want.status !== got.status) return `status ${got.status} (${got.error ?? ''}), want ${want.status} (${want.error ?? ''})`;
  if (want.status === 'error') return want.errorType === got.errorType ? null : `errorType ${got.errorType} (${got.error}), want ${want.errorType} (${want.error})`;
  const w = want.data;
  const g = got.data;
  if (!w || !g) return 'missing data';
  if (w.resultType !== g.resultType) return `resultType ${g.resultType}, want ${w.resultType}`;
  if (w.resultType === 'scalar' || w.resultType === 'string') {
    const [wt, wv] = w.result as Sample;
    const [gt, gv] = g.result as Sample;
    if (wt !== gt) return `time ${gt}, want ${wt}`;
    if (w.resultType === 'string' ? wv !== gv : !valuesClose(wv, gv)) return `value ${gv}, want ${wv}`;
    return null;
  }
  const ws = w.result as SeriesJson[];
  const gs = g.result as SeriesJson[];
  if (ws.length !== gs.length) {
    const wk = new Set(ws.map((s) => key(s.metric)));
    const gk = new Set(gs.map((s) => key(s.metric)));
    const missing = [...wk].filter((k) => !gk.has(k)).slice(0, 2);
    const extra = [...gk].filter((k) => !wk.has(k)).slice(0, 2);
    return `${gs.length} series, want ${ws.length}; missing ${missing.join(' ')} extra ${extra.join(' ')}`;
  }
  const byKey = new Map(gs.map((s) => [key(s.metric), s]));
  if (byKey.size !== gs.length) return 'duplicate series in answer';
  for (let i = 0; i < ws.length; i++) {
    const a = ws[i] as SeriesJson;
    const k = key(a.metric);
    const b = ordered ? (gs[i] as SeriesJson) : byKey.get(k);
    if (!b || key(b.metric) !== k) return ordered ? `order differs at ${i}: ${key(b?.metric ?? {})}, want ${k}` : `missing series ${k}`;
    const wp = a.values ?? (a.value ? [a.value] : []);
    const gp = b.values ?? (b.value ? [b.value] : []);
    if (wp.length !== gp.length) return `${k}: ${gp.length} points, want ${wp.length} (first times ${gp[0]?.[0]} vs ${wp[0]?.[0]})`;
    for (let j = 0; j < wp.length; j++) {
      const [wt, wv] = wp[j] as Sample;
      const [gt, gv] = gp[j] as Sample;
      if (wt !== gt) return `${k}: point ${j} at ${gt}, want ${wt}`;
      if (!valuesClose(wv, gv)) return `${k} @${wt}: ${gv}, want ${wv}`;
    }
  }
  return null;
}
