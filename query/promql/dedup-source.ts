// Thanos Querier deduplication (dedup=true): series that differ only in the
// replica labels (e.g. two Prometheus replicas scraping the same targets)
// become one series without those labels, their samples merged the way
// Thanos's dedup iterator does (pkg/dedup/iter.go): take the earliest next
// sample of any replica, and penalise the replicas not taken by twice the
// gap just observed (5 s before anything is known), so switching replicas
// never raises the sampling frequency and a replica's gap is filled by the
// other. https://thanos.io/tip/components/query.md/#deduplication
import type { Labels } from '../../core/index.ts';
import { LabelSetIndex, compareLabels, removeLabels } from './label-set.ts';
import type { SelectRequest, SeriesSet, SeriesSource } from './series-source.ts';

const INITIAL_PENALTY_MS = 5000;

/** Merges one group of replica series into one sample stream. */
export function dedupMerge(labels: Labels, replicas: readonly SeriesSet[]): SeriesSet {
  if (replicas.length === 1) {
    const r = replicas[0] as SeriesSet;
    return { labels, timestampsMs: r.timestampsMs, values: r.values };
  }
  const k = replicas.length;
  const pos = new Int32Array(k);
  const pen = new Float64Array(k);
  const bits = replicas.map((r) => new BigUint64Array(r.values.buffer, r.values.byteOffset, r.values.length));
  let total = 0;
  for (const r of replicas) total += r.timestampsMs.length;
  const outT = new Float64Array(total);
  const outV = new BigUint64Array(total);
  let n = 0;
  let lastT = -Infinity;
  for (;;) {
    let best = -1;
    let bestT = Infinity;
    for (let i = 0; i < k; i++) {
      const t = (replicas[i] as SeriesSet).timestampsMs;
      // Seek past the last emitted time plus this replica's penalty.
      const from = lastT === -Infinity ? -Infinity : lastT + 1 + (pen[i] as number);
      let p = pos[i] as number;
      while (p < t.length && (t[p] as number) < from) p++;
      pos[i] = p;
      if (p < t.length && (t[p] as number) < bestT) {
        bestT = t[p] as number;
        best = i;
      }
    }
    if (best < 0) break;
    for (let i = 0; i < k; i++) pen[i] = i === best ? 0 : lastT === -Infinity ? INITIAL_PENALTY_MS : 2 * (bestT - lastT);
    outT[n] = bestT;
    outV[n] = (bits[best] as BigUint64Array)[pos[best] as number] as bigint;
    n++;
    pos[best] = (pos[best] as number) + 1;
    lastT = bestT;
  }
  return { labels, timestampsMs: outT.slice(0, n), values: new Float64Array(outV.buffer.slice(0, n * 8)) };
}

/** Groups series by their labels without the replica labels and merges each group. */
export function dedupSeries(sets: readonly SeriesSet[], replicaLabels: readonly string[]): SeriesSet[] {
  if (replicaLabels.length === 0) return [...sets];
  const drop = new Set(replicaLabels);
  const index = new LabelSetIndex();
  const groups: SeriesSet[][] = [];
  for (const s of sets) {
    const id = index.idOf(removeLabels(s.labels, drop));
    if (id === groups.length) groups.push([]);
    (groups[id] as SeriesSet[]).push(s);
  }
  return groups.map((g, id) => dedupMerge(index.sets[id] as Labels, g.sort((a, b) => compareLabels(a.labels, b.labels))));
}

/**
 * A source that deduplicates what another selects. It offers no pushdown:
 * the inner source's SQL would aggregate the replicas before they merge.
 */
export function createDedupSource(inner: SeriesSource, replicaLabels: readonly string[]): SeriesSource {
  return {
    async select(req: SelectRequest, signal?: AbortSignal): Promise<SeriesSet[]> {
      // A matcher on a replica label still selects by it; the label is dropped afterwards.
      return dedupSeries(await inner.select(req, signal), replicaLabels);
    },
  };
}
