// Collects output series by label set. Prometheus assembles each node's
// per-step results into series by label hash (rangeEval); two results with
// the same labels at the same step are an error ("vector cannot contain
// metrics with the same labelset"), at different steps they are one series.
import type { Labels } from '../../core/index.ts';
import { execError } from './errors.ts';
import { LabelSetIndex } from './label-set.ts';
import { newStepSeries, type StepSeries } from './value.ts';

export function duplicateLabelsetError(): Error {
  return execError('vector cannot contain metrics with the same labelset');
}

export class SeriesMerger {
  private readonly index = new LabelSetIndex();
  private readonly series: StepSeries[] = [];
  private readonly owned: boolean[] = [];

  constructor(private readonly n: number) {}

  /** The output series for these labels, created empty if new. */
  get(labels: Labels): StepSeries {
    const id = this.index.idOf(labels);
    if (id === this.series.length) {
      this.series.push(newStepSeries(labels, this.n));
      this.owned.push(true);
    }
    return this.series[id] as StepSeries;
  }

  /** Sets a value; a second value for the same labels and step is an error. */
  static set(s: StepSeries, i: number, v: number): void {
    if (s.present[i]) throw duplicateLabelsetError();
    s.present[i] = 1;
    s.values[i] = v;
  }

  /** Adds a whole series, adopting its arrays when its labels are new. */
  add(src: StepSeries): void {
    const id = this.index.idOf(src.labels);
    if (id === this.series.length) {
      this.series.push(src);
      this.owned.push(false);
      return;
    }
    let dst = this.series[id] as StepSeries;
    if (!this.owned[id]) {
      dst = { labels: dst.labels, values: dst.values.slice(), present: dst.present.slice() };
      this.series[id] = dst;
      this.owned[id] = true;
    }
    const p = src.present;
    for (let i = 0; i < p.length; i++) if (p[i]) SeriesMerger.set(dst, i, src.values[i] as number);
  }

  /** The collected series that have at least one value, in first-seen order. */
  result(): StepSeries[] {
    return this.series.filter((s) => s.present.includes(1));
  }
}

/** Fails if two series that have values share a label set (Prometheus ContainsSameLabelset). */
export function assertUniqueLabelsets(series: readonly StepSeries[]): void {
  const index = new LabelSetIndex();
  for (const s of series) {
    const before = index.size;
    index.idOf(s.labels);
    if (index.size === before) throw duplicateLabelsetError();
  }
}
