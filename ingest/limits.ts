// Per-tenant write limits. A series that breaks a limit is rejected on its
// own (with a reason the client sees); the rest of the request is kept.
import type { Config } from '../core/index.ts';
import type { LogsBatch, MetricsBatch, Rejection } from '../protocols/index.ts';
import { seriesSlot } from './series-slot.ts';

export interface WriteLimits {
  readonly maxLabelsPerSeries: number;
  readonly maxLabelNameLength: number;
  readonly maxLabelValueLength: number;
  readonly maxSeriesPerRequest: number;
  readonly maxSampleAgeMs: number;
  readonly maxSampleFutureMs: number;
}

export function limitsFromConfig(c: Config): WriteLimits {
  return {
    maxLabelsPerSeries: c.limits.maxLabelsPerSeries,
    maxLabelNameLength: c.limits.maxLabelNameLength,
    maxLabelValueLength: c.limits.maxLabelValueLength,
    maxSeriesPerRequest: c.limits.maxSeriesPerRequest,
    maxSampleAgeMs: c.limits.maxSampleAgeMs,
    maxSampleFutureMs: c.limits.maxSampleFutureMs,
  };
}

export interface LimitVerdict {
  /** per series (metrics) or per record (logs): 1 keep, 0 drop */
  readonly keep: Uint8Array | undefined;
  /** per sample, for the age window; undefined when every sample is kept */
  readonly sampleKeep: Uint8Array | undefined;
  readonly rejected: Rejection[];
  /** the whole request breaks a limit (e.g. too many series) */
  readonly requestError?: string;
}

function labelProblem(names: readonly string[], values: readonly string[], l: WriteLimits): string | undefined {
  if (l.maxLabelsPerSeries > 0 && names.length > l.maxLabelsPerSeries) return `series has ${names.length} labels, more than the limit of ${l.maxLabelsPerSeries}`;
  for (let i = 0; i < names.length; i++) {
    const n = names[i] as string;
    const v = values[i] as string;
    if (l.maxLabelNameLength > 0 && n.length > l.maxLabelNameLength) return `label name "${n.slice(0, 64)}..." is longer than ${l.maxLabelNameLength}`;
    if (l.maxLabelValueLength > 0 && v.length > l.maxLabelValueLength) return `value of label "${n}" is longer than ${l.maxLabelValueLength}`;
  }
  return undefined;
}

export interface LimitChecker {
  checkMetrics(batch: MetricsBatch, nowMs: number): LimitVerdict;
  checkLogs(batch: LogsBatch, nowMs: number): LimitVerdict;
}

/**
 * Checks batches against fixed limits. A label set's verdict is remembered
 * per series object (decoders reuse the object for a label set they have
 * seen), so a series is checked once, not on every request: for metrics in
 * the series' ingest slot (series-slot.ts), which the encoder reads next
 * anyway; for log streams in a WeakMap.
 */
export function createLimitChecker(l: WriteLimits): LimitChecker {
  const verdicts = new WeakMap<object, string | null>();
  const streamProblemOf = (s: LabelledSeries): string | undefined => {
    let v = verdicts.get(s);
    if (v === undefined) {
      v = labelProblem(s.labels.names, s.labels.values, l) ?? null;
      verdicts.set(s, v);
    }
    return v ?? undefined;
  };
  const seriesProblemOf = (s: LabelledSeries & { cache: unknown }): string | undefined => {
    const slot = seriesSlot(s);
    if (slot.limits !== l) {
      slot.labelProblem = labelProblem(s.labels.names, s.labels.values, l);
      slot.limits = l;
    }
    return slot.labelProblem;
  };
  return {
    checkMetrics: (batch, nowMs) => checkMetrics(batch, l, nowMs, seriesProblemOf),
    checkLogs: (batch, nowMs) => checkLogs(batch, l, nowMs, streamProblemOf),
  };
}

interface LabelledSeries {
  readonly labels: { readonly names: readonly string[]; readonly values: readonly string[] };
}

type ProblemOf = (s: LabelledSeries & { cache: unknown }) => string | undefined;

const directProblem =
  (l: WriteLimits): ProblemOf =>
  (s) =>
    labelProblem(s.labels.names, s.labels.values, l);

export function checkMetrics(batch: MetricsBatch, l: WriteLimits, nowMs: number, problemOf: ProblemOf = directProblem(l)): LimitVerdict {
  if (l.maxSeriesPerRequest > 0 && batch.series.length > l.maxSeriesPerRequest) {
    return { keep: undefined, sampleKeep: undefined, rejected: [], requestError: `request has ${batch.series.length} series, more than the limit of ${l.maxSeriesPerRequest}` };
  }
  let keep: Uint8Array | undefined;
  const rejected: Rejection[] = [];
  const problems: (string | undefined)[] = [];
  for (let i = 0; i < batch.series.length; i++) {
    const s = batch.series[i];
    if (!s) continue;
    const problem = problemOf(s);
    if (problem) {
      keep ??= new Uint8Array(batch.series.length).fill(1);
      keep[i] = 0;
      problems[i] = problem;
    }
  }
  let sampleKeep: Uint8Array | undefined;
  if (l.maxSampleAgeMs > 0 || l.maxSampleFutureMs > 0) {
    const oldest = l.maxSampleAgeMs > 0 ? nowMs - l.maxSampleAgeMs : -Infinity;
    const newest = l.maxSampleFutureMs > 0 ? nowMs + l.maxSampleFutureMs : Infinity;
    let tooOld = 0;
    let tooNew = 0;
    for (let j = 0; j < batch.sampleCount; j++) {
      const ts = batch.timestampsMs[j] as number;
      if (ts < oldest || ts > newest) {
        sampleKeep ??= new Uint8Array(batch.sampleCount).fill(1);
        sampleKeep[j] = 0;
        if (ts < oldest) tooOld++;
        else tooNew++;
      }
    }
    if (tooOld) rejected.push({ reason: `${tooOld} samples are older than the ${l.maxSampleAgeMs} ms age limit`, count: tooOld });
    if (tooNew) rejected.push({ reason: `${tooNew} samples are more than ${l.maxSampleFutureMs} ms in the future`, count: tooNew });
  }
  if (keep) {
    // count the samples of rejected series, per reason
    const bySeries = new Map<string, number>();
    for (let j = 0; j < batch.sampleCount; j++) {
      const problem = problems[batch.sampleSeries[j] as number];
      if (problem) bySeries.set(problem, (bySeries.get(problem) ?? 0) + 1);
    }
    for (const [reason, count] of bySeries) rejected.push({ reason, count });
  }
  return { keep, sampleKeep, rejected };
}

export function checkLogs(batch: LogsBatch, l: WriteLimits, nowMs: number, problemOf: ProblemOf = directProblem(l)): LimitVerdict {
  let keep: Uint8Array | undefined;
  const counts = new Map<string, number>();
  const streamProblem = batch.streams.map((s) => problemOf(s));
  const oldestNs = l.maxSampleAgeMs > 0 ? BigInt(nowMs - l.maxSampleAgeMs) * 1_000_000n : undefined;
  const newestNs = l.maxSampleFutureMs > 0 ? BigInt(nowMs + l.maxSampleFutureMs) * 1_000_000n : undefined;
  for (let j = 0; j < batch.recordCount; j++) {
    let problem = streamProblem[batch.recordStream[j] as number];
    const ts = batch.timestampsNs[j] as bigint;
    if (!problem && oldestNs !== undefined && ts < oldestNs) problem = `entry older than the ${l.maxSampleAgeMs} ms age limit`;
    if (!problem && newestNs !== undefined && ts > newestNs) problem = `entry more than ${l.maxSampleFutureMs} ms in the future`;
    if (problem) {
      keep ??= new Uint8Array(batch.recordCount).fill(1);
      keep[j] = 0;
      counts.set(problem, (counts.get(problem) ?? 0) + 1);
    }
  }
  return { keep, sampleKeep: undefined, rejected: [...counts].map(([reason, count]) => ({ reason, count })) };
}
