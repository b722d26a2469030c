// Vector aggregations, binary operators and label_replace over step-aligned
// series, table-driven. Expected values follow the operator semantics Loki
// shares with Prometheus (https://grafana.com/docs/loki/latest/query/metric_queries/,
// .../query_reference/#binary-operators).
import { describe, expect, it } from 'vitest';
import { aggregate, labelReplace, newSeries, vectorScalar, vectorVector, type Matrix } from '../query/logql/matrix.ts';
import type { Grouping, VectorMatching, VectorOp } from '../query/logql/ast.ts';

/** A one-step matrix from {labels: value} (null = no value at the step). */
function m(rows: [Record<string, string>, number | null][]): Matrix {
  return {
    steps: 1,
    series: rows.map(([labels, v]) => {
      const s = newSeries(Object.entries(labels), 1);
      if (v !== null) {
        s.values[0] = v;
        s.present[0] = 1;
      }
      return s;
    }),
  };
}

function out(x: Matrix): Record<string, number> {
  const r: Record<string, number> = {};
  for (const s of x.series) if (s.present[0]) r[JSON.stringify(Object.fromEntries(s.labels))] = s.values[0] as number;
  return r;
}

const K = (o: Record<string, string>): string => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))));

const data = m([
  [{ app: 'a', pod: '1' }, 1],
  [{ app: 'a', pod: '2' }, 3],
  [{ app: 'b', pod: '1' }, 10],
  [{ app: 'b', pod: '2' }, null],
]);

describe('aggregations', () => {
  const by = (...labels: string[]): Grouping => ({ without: false, labels });
  const cases: [VectorOp, number | undefined, Grouping | undefined, Record<string, number>][] = [
    ['sum', undefined, undefined, { '{}': 14 }],
    ['sum', undefined, by('app'), { [K({ app: 'a' })]: 4, [K({ app: 'b' })]: 10 }],
    ['sum', undefined, { without: true, labels: ['pod'] }, { [K({ app: 'a' })]: 4, [K({ app: 'b' })]: 10 }],
    ['avg', undefined, by('app'), { [K({ app: 'a' })]: 2, [K({ app: 'b' })]: 10 }],
    ['min', undefined, undefined, { '{}': 1 }],
    ['max', undefined, by('pod'), { [K({ pod: '1' })]: 10, [K({ pod: '2' })]: 3 }],
    ['count', undefined, by('app'), { [K({ app: 'a' })]: 2, [K({ app: 'b' })]: 1 }],
    ['stdvar', undefined, by('app'), { [K({ app: 'a' })]: 1, [K({ app: 'b' })]: 0 }],
    ['stddev', undefined, undefined, { '{}': Math.sqrt(((1 - 14 / 3) ** 2 + (3 - 14 / 3) ** 2 + (10 - 14 / 3) ** 2) / 3) }],
    ['topk', 2, undefined, { [K({ app: 'b', pod: '1' })]: 10, [K({ app: 'a', pod: '2' })]: 3 }],
    ['topk', 1, by('app'), { [K({ app: 'b', pod: '1' })]: 10, [K({ app: 'a', pod: '2' })]: 3 }],
    ['bottomk', 1, undefined, { [K({ app: 'a', pod: '1' })]: 1 }],
  ];
  it.each(cases)('%s(%s) %j', (op, param, g, want) => {
    const got = out(aggregate(data, op, param, g));
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [k, v] of Object.entries(want)) expect(got[k]).toBeCloseTo(v, 12);
  });
});

describe('binary operators', () => {
  const left = m([
    [{ app: 'a', code: '200' }, 8],
    [{ app: 'a', code: '500' }, 2],
    [{ app: 'b', code: '200' }, 5],
  ]);
  const right = m([
    [{ app: 'a' }, 10],
    [{ app: 'b' }, 5],
    [{ app: 'c' }, 1],
  ]);
  const on = (labels: string[], card: VectorMatching['card'] = 'one-to-one', include: string[] = []): VectorMatching => ({ on: true, labels, card, include });
  it('vector op scalar, scalar op vector', () => {
    expect(out(vectorScalar(right, 2, '*', false, false))).toEqual({ [K({ app: 'a' })]: 20, [K({ app: 'b' })]: 10, [K({ app: 'c' })]: 2 });
    expect(out(vectorScalar(right, 20, '/', true, false))).toEqual({ [K({ app: 'a' })]: 2, [K({ app: 'b' })]: 4, [K({ app: 'c' })]: 20 });
    expect(out(vectorScalar(right, 5, '>=', false, false))).toEqual({ [K({ app: 'a' })]: 10, [K({ app: 'b' })]: 5 });
    expect(out(vectorScalar(right, 5, '>', false, true))).toEqual({ [K({ app: 'a' })]: 1, [K({ app: 'b' })]: 0, [K({ app: 'c' })]: 0 });
    expect(out(vectorScalar(right, 3, '%', false, false))).toEqual({ [K({ app: 'a' })]: 1, [K({ app: 'b' })]: 2, [K({ app: 'c' })]: 1 });
    expect(out(vectorScalar(right, 2, '^', false, false))[K({ app: 'a' })]).toBe(100);
  });
  it('one-to-one needs equal label sets; on() narrows the match and the result labels', () => {
    expect(out(vectorVector(right, right, '+', false, undefined))).toEqual({ [K({ app: 'a' })]: 20, [K({ app: 'b' })]: 10, [K({ app: 'c' })]: 2 });
    expect(out(vectorVector(left, right, '/', false, undefined))).toEqual({});
  });
  it('many-to-one with group_left keeps the many side labels', () => {
    expect(out(vectorVector(left, right, '/', false, on(['app'], 'many-to-one')))).toEqual({
      [K({ app: 'a', code: '200' })]: 0.8,
      [K({ app: 'a', code: '500' })]: 0.2,
      [K({ app: 'b', code: '200' })]: 1,
    });
  });
  it('one-to-many with group_right', () => {
    expect(out(vectorVector(right, left, '*', false, on(['app'], 'one-to-many')))).toEqual({
      [K({ app: 'a', code: '200' })]: 80,
      [K({ app: 'a', code: '500' })]: 20,
      [K({ app: 'b', code: '200' })]: 25,
    });
  });
  it('many-to-many without group_ is an error', () => {
    expect(() => vectorVector(left, right, '/', false, on(['app']))).toThrow(/many-to-many matching not allowed/);
  });
  it('comparisons filter, or give 0/1 with bool', () => {
    const other = m([
      [{ app: 'a' }, 9],
      [{ app: 'b' }, 6],
    ]);
    expect(out(vectorVector(right, other, '>', false, undefined))).toEqual({ [K({ app: 'a' })]: 10 });
    expect(out(vectorVector(right, other, '>', true, undefined))).toEqual({ [K({ app: 'a' })]: 1, [K({ app: 'b' })]: 0 });
  });
  it('and, or, unless match whole label sets (or on())', () => {
    const some = m([
      [{ app: 'a' }, 0],
      [{ app: 'z' }, 7],
    ]);
    expect(out(vectorVector(right, some, 'and', false, undefined))).toEqual({ [K({ app: 'a' })]: 10 });
    expect(out(vectorVector(right, some, 'unless', false, undefined))).toEqual({ [K({ app: 'b' })]: 5, [K({ app: 'c' })]: 1 });
    expect(out(vectorVector(right, some, 'or', false, undefined))).toEqual({ [K({ app: 'a' })]: 10, [K({ app: 'b' })]: 5, [K({ app: 'c' })]: 1, [K({ app: 'z' })]: 7 });
    expect(out(vectorVector(left, some, 'and', false, on(['app'])))).toEqual({ [K({ app: 'a', code: '200' })]: 8, [K({ app: 'a', code: '500' })]: 2 });
  });
});

describe('label_replace', () => {
  it('docs example: $1 from the source label', () => {
    const x = m([[{ job: 'api-server', service: 'a:c' }, 1]]);
    expect(out(labelReplace(x, 'foo', '$1', 'service', '(.*):.*'))).toEqual({ [K({ job: 'api-server', service: 'a:c', foo: 'a' })]: 1 });
  });
  it('no match leaves the series alone; an empty result removes the label', () => {
    const x = m([[{ a: 'x', b: 'y' }, 1]]);
    expect(out(labelReplace(x, 'c', '$1', 'a', 'zzz(.*)'))).toEqual({ [K({ a: 'x', b: 'y' })]: 1 });
    expect(out(labelReplace(x, 'b', '', 'a', '.*'))).toEqual({ [K({ a: 'x' })]: 1 });
  });
});
