// Values inside the evaluator and the typed results the engine returns.
//
// Evaluation is step-wise over a grid of timestamps, column per series: an
// instant vector over the whole grid is a list of series, each a
// Float64Array of values and a Uint8Array marking the steps where the series
// has a value (NaN is a valid value, so presence is separate). No per-sample
// objects; an instant query is the one-step case of the same code.
import type { Labels } from '../../core/index.ts';

/** Evaluation timestamps: startMs + i * stepMs for i in [0, n). */
export interface Grid {
  readonly startMs: number;
  readonly endMs: number;
  /** 0 for a single-step (instant) evaluation */
  readonly stepMs: number;
  readonly n: number;
}

export function makeGrid(startMs: number, endMs: number, stepMs: number): Grid {
  if (startMs > endMs) return { startMs, endMs, stepMs, n: 0 };
  if (stepMs <= 0 || startMs === endMs) return { startMs, endMs: startMs, stepMs: 0, n: 1 };
  return { startMs, endMs, stepMs, n: Math.floor((endMs - startMs) / stepMs) + 1 };
}

export function gridTime(g: Grid, i: number): number {
  return g.startMs + i * g.stepMs;
}

export interface StepSeries {
  labels: Labels;
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

export interface VectorValue {
  readonly kind: 'vector';
  readonly series: StepSeries[];
}

export interface ScalarValue {
  readonly kind: 'scalar';
  /** one value per grid step; a scalar is always present */
  readonly values: Float64Array;
}

export interface StringValue {
  readonly kind: 'string';
  readonly value: string;
}

/** Raw samples of a range vector (a top-level range selector or subquery). */
export interface RawSeries {
  readonly labels: Labels;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
}

export interface MatrixValue {
  readonly kind: 'matrix';
  readonly series: RawSeries[];
}

export type Value = VectorValue | ScalarValue | StringValue | MatrixValue;

export function newStepSeries(labels: Labels, n: number): StepSeries {
  return { labels, values: new Float64Array(n), present: new Uint8Array(n) };
}

export function countPresent(s: StepSeries): number {
  let c = 0;
  const p = s.present;
  for (let i = 0; i < p.length; i++) c += p[i] as number;
  return c;
}

// ---- results returned by the engine ----

export interface InstantSample {
  readonly labels: Labels;
  readonly timestampMs: number;
  readonly value: number;
}

export interface RangeSeries {
  readonly labels: Labels;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
}

export type QueryValue =
  | { readonly resultType: 'vector'; readonly samples: readonly InstantSample[] }
  | { readonly resultType: 'matrix'; readonly series: readonly RangeSeries[] }
  | { readonly resultType: 'scalar'; readonly timestampMs: number; readonly value: number }
  | { readonly resultType: 'string'; readonly timestampMs: number; readonly value: string };

export interface QueryStats {
  /** Raw samples returned by the source. */
  readonly samplesLoaded: number;
  /** Peak number of samples held by the evaluator (what maxSamples limits). */
  readonly peakSamples: number;
  /** Series returned by the source. */
  readonly seriesFetched: number;
}

export interface QueryResult {
  readonly value: QueryValue;
  /** Prometheus "PromQL warning: ..." annotations, with positions. */
  readonly warnings: readonly string[];
  /** Prometheus "PromQL info: ..." annotations, with positions. */
  readonly infos: readonly string[];
  readonly stats: QueryStats;
}
