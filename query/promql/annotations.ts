// Prometheus annotations (util/annotations): warnings and infos attached to
// a query result, deduplicated by text, each ending with the position of the
// expression that caused it, e.g.
// `PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "foo" (1:6)`.
import type { PosRange } from './ast.ts';
import { formatFloatG, formatFloatGPrec, formatRfc3339Seconds, goQuote } from './go-strconv.ts';
import { positionString } from './parse.ts';

const WARNING = 'PromQL warning';
const INFO = 'PromQL info';

interface MonotonicityInfo {
  pos: PosRange;
  metricName: string;
  minTs: number;
  maxTs: number;
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
  count: number;
}

export class Annotations {
  private readonly warnings = new Map<string, true>();
  private readonly infos = new Map<string, true>();
  // histogram_quantile's monotonicity info merges across steps (Prometheus Merge()).
  private readonly monotonicity = new Map<string, MonotonicityInfo>();

  constructor(private readonly query: string) {}

  private at(pos: PosRange): string {
    return `(${positionString(this.query, pos.start)})`;
  }

  warn(text: string, pos: PosRange): void {
    this.warnings.set(`${WARNING}: ${text} ${this.at(pos)}`, true);
  }

  info(text: string, pos: PosRange): void {
    this.infos.set(`${INFO}: ${text} ${this.at(pos)}`, true);
  }

  invalidQuantile(q: number, pos: PosRange): void {
    this.warn(`quantile value should be between 0 and 1, got ${formatFloatG(q)}`, pos);
  }

  invalidRatio(r: number, to: number, pos: PosRange): void {
    this.warn(`ratio value should be between -1 and 1, got ${formatFloatG(r)}, capping to ${formatFloatG(to)}`, pos);
  }

  badBucketLabel(metricName: string, label: string, pos: PosRange): void {
    const base = `bucket label "le" is missing or has a malformed value of ${goQuote(label)}`;
    this.warn(metricName ? `${base} for metric name ${goQuote(metricName)}` : base, pos);
  }

  possibleNonCounter(metricName: string, pos: PosRange): void {
    this.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${goQuote(metricName)}`, pos);
  }

  sortInRangeQuery(pos: PosRange): void {
    this.warn('sort is ineffective for range queries since results are always ordered by labels', pos);
  }

  forcedMonotonicity(metricName: string, pos: PosRange, tsMs: number, minBucket: number, maxBucket: number, maxDiff: number): void {
    const key = `${metricName}\u0000${pos.start}`;
    const prev = this.monotonicity.get(key);
    if (!prev) {
      this.monotonicity.set(key, { pos, metricName, minTs: tsMs, maxTs: tsMs, minBucket, maxBucket, maxDiff, count: 0 });
      return;
    }
    prev.minTs = Math.min(prev.minTs, tsMs);
    prev.maxTs = Math.max(prev.maxTs, tsMs);
    prev.minBucket = Math.min(prev.minBucket, minBucket);
    prev.maxBucket = Math.max(prev.maxBucket, maxBucket);
    prev.maxDiff = Math.max(prev.maxDiff, maxDiff);
    prev.count++;
  }

  result(): { warnings: string[]; infos: string[] } {
    const infos = [...this.infos.keys()];
    for (const m of this.monotonicity.values()) {
      let base = 'input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)';
      if (m.metricName) base += ` for metric name ${goQuote(m.metricName)}`;
      const diff = formatFloatGPrec(m.maxDiff, 2);
      infos.push(
        `${INFO}: ${base}, from buckets ${formatFloatG(m.minBucket)} to ${formatFloatG(m.maxBucket)}, with a max diff of ${diff}, over ${m.count + 1} samples from ${formatRfc3339Seconds(m.minTs)} to ${formatRfc3339Seconds(m.maxTs)} ${this.at(m.pos)}`,
      );
    }
    return { warnings: [...this.warnings.keys()], infos };
  }
}
