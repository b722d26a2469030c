// Test helpers for the PromQL engine: load series written in the compact
// notation Prometheus's test files use ("metric{a=\"b\"} 0+10x5 _ stale 3"),
// run instant/range queries on the in-memory source, and compare results as
// label-string → value maps.
import { expect } from 'vitest';
import {
  createEngine,
  createMemorySource,
  labelsToString,
  parseDurationMs,
  parseExpr,
  STALE,
  type EngineOptions,
  type MemorySource,
  type QueryResult,
  type QueryOptions,
} from '../../query/promql/index.ts';

type Val = number | typeof STALE | null;

/** Expands "0+10x3" (0 10 20 30), "1x2" (1 1 1), "_x2", "stale", "Inf", "1 2 _ 4". */
export function expandValues(spec: string): Val[] {
  const out: Val[] = [];
  for (const tok of spec.trim().split(/\s+/).filter(Boolean)) {
    if (tok === '_') {
      out.push(null);
      continue;
    }
    if (tok === 'stale') {
      out.push(STALE);
      continue;
    }
    const blank = /^_x(\d+)$/.exec(tok);
    if (blank) {
      for (let i = 0; i < Number(blank[1]); i++) out.push(null);
      continue;
    }
    const N = String.raw`(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?|Inf|NaN)`;
    const m = new RegExp(`^([-+]?${N})(?:([-+]${N}))?x(\\d+)$`, 'i').exec(tok);
    if (m) {
      let v = num(m[1] as string);
      const inc = m[2] ? num(m[2]) : 0;
      for (let i = 0; i <= Number(m[3]); i++) {
        out.push(v);
        v += inc;
      }
      continue;
    }
    out.push(num(tok));
  }
  return out;
}

function num(s: string): number {
  const t = s.replace(/^\+/, '');
  if (/^-?inf$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  const v = Number(t);
  if (Number.isNaN(v)) throw new Error(`bad value ${s}`);
  return v;
}

function ms(d: string | number): number {
  return typeof d === 'number' ? d * 1000 : parseDurationMs(d);
}

/** Loads `metric{labels} values` lines, one sample per interval starting at 0 (or at `startMs`). */
export function load(interval: string, lines: string, into: MemorySource = createMemorySource(), startMs = 0): MemorySource {
  const step = parseDurationMs(interval);
  for (const raw of lines.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sp = line.search(/\s(?=[^}]*$)/);
    const sel = line.slice(0, sp);
    const vs = expandValues(line.slice(sp + 1));
    const e = parseExpr(sel);
    if (e.type !== 'VectorSelector') throw new Error(`bad series ${sel}`);
    const labels: Record<string, string> = {};
    for (const m of e.matchers) labels[m.name] = m.value;
    const t: number[] = [];
    const v: Array<number | typeof STALE> = [];
    vs.forEach((x, i) => {
      if (x === null) return;
      t.push(startMs + i * step);
      v.push(x);
    });
    into.add({ labels, timestampsMs: t, values: v });
  }
  return into;
}

export interface Harness {
  readonly src: MemorySource;
  instant(query: string, at: string | number, options?: QueryOptions): Promise<QueryResult>;
  range(query: string, start: string | number, end: string | number, step: string | number, options?: QueryOptions): Promise<QueryResult>;
}

export function harness(src: MemorySource, engineOptions: EngineOptions = {}): Harness {
  const engine = createEngine(engineOptions);
  return {
    src,
    instant: (q, at, o) => engine.instantQuery(src, q, ms(at), undefined, o),
    range: (q, start, end, step, o) => engine.rangeQuery(src, q, ms(start), ms(end), ms(step), undefined, o),
  };
}

/** An instant result as "labels → value", or a scalar's value under "scalar". */
export function asMap(r: QueryResult): Map<string, number> {
  const m = new Map<string, number>();
  const v = r.value;
  if (v.resultType === 'vector') for (const s of v.samples) m.set(labelsToString(s.labels), s.value);
  else if (v.resultType === 'scalar') m.set('scalar', v.value);
  else throw new Error(`expected a vector or scalar, got ${v.resultType}`);
  return m;
}

function close(a: number, b: number, rel: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
}

/** Asserts an instant result equals `expected` (label string → value), in any order. */
export function expectVector(r: QueryResult, expected: ReadonlyArray<readonly [string, number]>, rel = 1e-9): void {
  const got = asMap(r);
  const want = new Map(expected.map(([k, v]) => [normalizeLabels(k), v]));
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, v] of want) {
    const g = got.get(k) as number;
    if (!close(g, v, rel)) expect(g, `value of ${k}`).toBe(v);
  }
}

/** Asserts the order of an instant vector result. */
export function expectOrder(r: QueryResult, expected: readonly string[]): void {
  if (r.value.resultType !== 'vector') throw new Error('not a vector');
  expect(r.value.samples.map((s) => labelsToString(s.labels))).toEqual(expected.map(normalizeLabels));
}

/** Normalises `foo{b="2",a="1"}` style to labelsToString's `{__name__="foo", a="1", b="2"}`. */
export function normalizeLabels(s: string): string {
  if (s === 'scalar' || s.trim() === '{}') return s.trim();
  const e = parseExpr(s);
  if (e.type !== 'VectorSelector') throw new Error(`bad labels ${s}`);
  const rec: Record<string, string> = {};
  for (const m of e.matchers) if (m.value !== '') rec[m.name] = m.value;
  const names = Object.keys(rec).sort();
  return labelsToString({ names, values: names.map((n) => rec[n] as string) });
}

/** A range result as "labels → [[tSeconds, value], ...]". */
export function asMatrix(r: QueryResult): Map<string, Array<[number, number]>> {
  const v = r.value;
  if (v.resultType !== 'matrix') throw new Error(`expected a matrix, got ${v.resultType}`);
  const m = new Map<string, Array<[number, number]>>();
  for (const s of v.series) m.set(labelsToString(s.labels), Array.from(s.timestampsMs, (t, i) => [t / 1000, s.values[i] as number]));
  return m;
}

/** Asserts a matrix result; points as [seconds, value]. */
export function expectMatrix(r: QueryResult, expected: ReadonlyArray<readonly [string, ReadonlyArray<readonly [number, number]>]>, rel = 1e-9): void {
  const got = asMatrix(r);
  const want = new Map(expected.map(([k, v]) => [normalizeLabels(k), v]));
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, pts] of want) {
    const g = got.get(k) as Array<[number, number]>;
    expect(g.map((p) => p[0]), `timestamps of ${k}`).toEqual(pts.map((p) => p[0]));
    pts.forEach(([, v], i) => {
      const gv = (g[i] as [number, number])[1];
      if (!close(gv, v, rel)) expect(gv, `value of ${k} at ${pts[i]?.[0]}`).toBe(v);
    });
  }
}

/** Points of a series at regular steps: vals[i] at start + i*step; null = absent. */
export function pts(startSec: number, stepSec: number, vals: ReadonlyArray<number | null>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  vals.forEach((v, i) => {
    if (v !== null) out.push([startSec + i * stepSec, v]);
  });
  return out;
}

// ---- table-driven cases ----

export type Expected = ReadonlyArray<readonly [string, number]>;

export type Case =
  | { kind: 'instant'; q: string; at: string | number; want: Expected | number; ordered?: boolean; warn?: RegExp | string; info?: RegExp | string; noAnnotations?: boolean }
  | { kind: 'range'; q: string; start: string | number; end: string | number; step: string | number; want: ReadonlyArray<readonly [string, string]> }
  | { kind: 'fail'; q: string; at: string | number; error: RegExp | string; errorType?: string };

/** Instant query at `at`; `want` is the vector (label string → value) or a scalar's value. */
export const inst = (q: string, at: string | number, want: Expected | number, extra: Partial<Extract<Case, { kind: 'instant' }>> = {}): Case => ({ kind: 'instant', q, at, want, ...extra });
/** Range query; `want` maps label strings to Prometheus-style value lists ("1 2 _ 4", "0+1x3"), one per step. */
export const rng = (q: string, start: string | number, end: string | number, step: string | number, want: ReadonlyArray<readonly [string, string]>): Case => ({ kind: 'range', q, start, end, step, want });
/** A query that must fail with this message. */
export const fails = (q: string, at: string | number, error: RegExp | string, errorType?: string): Case => ({ kind: 'fail', q, at, error, ...(errorType ? { errorType } : {}) });

export function caseName(c: Case): string {
  if (c.kind === 'range') return `${c.q} [${c.start}..${c.end} step ${c.step}]`;
  return `${c.q} @ ${c.at}`;
}

function sec(d: string | number): number {
  return ms(d) / 1000;
}

export async function runCase(h: Harness, c: Case): Promise<void> {
  if (c.kind === 'fail') {
    let err: unknown = null;
    try {
      await h.instant(c.q, c.at);
    } catch (e) {
      err = e;
    }
    expect(err, `expected ${c.q} to fail`).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    if (typeof c.error === 'string') expect(msg).toBe(c.error);
    else expect(msg).toMatch(c.error);
    if (c.errorType) expect((err as { errorType?: string }).errorType).toBe(c.errorType);
    return;
  }
  if (c.kind === 'range') {
    const r = await h.range(c.q, c.start, c.end, c.step);
    const start = sec(c.start);
    const step = sec(c.step);
    expectMatrix(
      r,
      c.want.map(([l, vals]) => [
        l,
        pts(
          start,
          step,
          expandValues(vals).map((v) => (v === 'stale' ? null : v)),
        ),
      ]),
      1e-6,
    );
    return;
  }
  const r = await h.instant(c.q, c.at);
  if (typeof c.want === 'number') {
    expect(r.value.resultType).toBe('scalar');
    const got = (r.value as { value: number }).value;
    if (!close(got, c.want, 1e-6)) expect(got).toBe(c.want);
  } else {
    expectVector(r, c.want, 1e-6);
    if (c.ordered) expectOrder(r, c.want.map(([l]) => l));
  }
  if (c.warn) expect(r.warnings.join('\n')).toMatch(c.warn);
  if (c.info) expect(r.infos.join('\n')).toMatch(c.info);
  if (c.noAnnotations) expect([...r.warnings, ...r.infos]).toEqual([]);
}

export interface Block {
  readonly name: string;
  readonly interval?: string;
  readonly load?: string;
  readonly cases: readonly Case[];
  readonly engine?: EngineOptions;
}
