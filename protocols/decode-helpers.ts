// Helpers shared by the decoders and encoders in this folder.
//
// RejectionCollector gathers the parts of a request that were rejected
// without poisoning the rest (a series with a bad label set, a log entry with a bad timestamp).
// Identical reasons merge into one Rejection with a summed count, and the
// number of distinct reasons is bounded so a request full of bad series
// cannot grow the answer without limit.
import { labelsFromRecord, sortLabels, type Labels } from '../core/index.ts';
import type { Rejection } from './types.ts';

const MAX_DISTINCT_REASONS = 50;
const MAX_REASON_CHARS = 300;

export class RejectionCollector {
  private readonly byReason = new Map<string, number>();
  private overflowCount = 0;

  add(reason: string, count: number): void {
    const r = reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason;
    const prev = this.byReason.get(r);
    if (prev !== undefined) this.byReason.set(r, prev + count);
    else if (this.byReason.size < MAX_DISTINCT_REASONS) this.byReason.set(r, count);
    else this.overflowCount += count;
  }

  get size(): number {
    return this.byReason.size + (this.overflowCount > 0 ? 1 : 0);
  }

  toArray(): Rejection[] {
    const out: Rejection[] = [];
    for (const [reason, count] of this.byReason) out.push({ reason, count });
    if (this.overflowCount > 0) out.push({ reason: `more rejections of other kinds (only the first ${MAX_DISTINCT_REASONS} are listed)`, count: this.overflowCount });
    return out;
  }
}

/** Renders a label set the way Prometheus prints one: {a="b", c="d"}. */
export function formatLabelSet(names: readonly string[], values: readonly string[]): string {
  let s = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ', ';
    s += `${names[i] as string}=${JSON.stringify(values[i] as string)}`;
  }
  return `${s}}`;
}

/** Labels as encoders accept them: a plain record or name/value arrays. */
export type LabelsInput = Readonly<Record<string, string>> | Labels;

function isLabels(l: LabelsInput): l is Labels {
  return Array.isArray((l as Labels).names) && Array.isArray((l as Labels).values);
}

/** Name-sorted labels, as remote_write and Loki ask senders to send them. */
export function toLabels(l: LabelsInput): Labels {
  return isLabels(l) ? sortLabels(l.names, l.values) : labelsFromRecord(l as Record<string, string>);
}
