// Building blocks whose output must match Go/Prometheus byte for byte:
// number and duration formatting/parsing (strconv, prometheus/common/model),
// string quoting, XXH64 (limit_ratio's series choice), quantiles and bucket
// interpolation, staleness-marker detection.
import { describe, expect, it } from 'vitest';
import { formatDurationMs, formatFloatF, formatFloatG, formatFloatGPrec, goQuote, parseDurationMs, parseGoFloat, parseGoIntBase0 } from '../query/promql/go-strconv.ts';
import { xxhash64, prometheusLabelsHash } from '../query/promql/xxhash64.ts';
import { bucketQuantile, bucketFraction, quantileOf, kahanInc, goPow } from '../query/promql/quantile.ts';
import { staleMask } from '../query/promql/evaluator.ts';
import { labelsOf, labelsToString, compareLabels, LabelSetIndex } from '../query/promql/label-set.ts';

describe('Go float formatting', () => {
  const g: Array<[number, string]> = [
    [0, '0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [123456, '123456'],
    [1234567, '1.234567e+06'],
    [1e6, '1e+06'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1e21, '1e+21'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
    [1.1, '1.1'],
    [9.3e18, '9.3e+18'],
  ];
  it.each(g)('%g → %j (%%g)', (f, want) => expect(formatFloatG(f)).toBe(want));
  const f: Array<[number, string]> = [
    [1e21, '1000000000000000000000'],
    [1e-7, '0.0000001'],
    [0.1, '0.1'],
    [-2.5e-8, '-0.000000025'],
    [123.456, '123.456'],
    [Infinity, '+Inf'],
  ];
  it.each(f)('%g → %j (FormatFloat f -1)', (x, want) => expect(formatFloatF(x)).toBe(want));
  it('%.2g', () => {
    expect(formatFloatGPrec(10, 2)).toBe('10');
    expect(formatFloatGPrec(123, 2)).toBe('1.2e+02');
    expect(formatFloatGPrec(0.5, 2)).toBe('0.5');
    expect(formatFloatGPrec(0.000012345, 2)).toBe('1.2e-05');
  });
});

describe('Go number parsing', () => {
  it('ParseFloat', () => {
    expect(parseGoFloat('+Inf')).toBe(Infinity);
    expect(parseGoFloat('-inf')).toBe(-Infinity);
    expect(parseGoFloat('Infinity')).toBe(Infinity);
    expect(Number.isNaN(parseGoFloat('NaN') as number)).toBe(true);
    expect(parseGoFloat('1e3')).toBe(1000);
    expect(parseGoFloat('.5')).toBe(0.5);
    expect(parseGoFloat('0x1p-2')).toBe(0.25);
    expect(parseGoFloat('1_000.5')).toBe(1000.5);
    expect(parseGoFloat('1__0')).toBe(null);
    expect(parseGoFloat('')).toBe(null);
    expect(parseGoFloat('abc')).toBe(null);
    expect(parseGoFloat('1.0.0')).toBe(null);
  });
  it('ParseInt with base 0', () => {
    expect(parseGoIntBase0('0x1F')).toBe(31);
    expect(parseGoIntBase0('017')).toBe(15);
    expect(parseGoIntBase0('0o17')).toBe(15);
    expect(parseGoIntBase0('0b101')).toBe(5);
    expect(parseGoIntBase0('019')).toBe(null);
    expect(parseGoIntBase0('1_000')).toBe(1000);
    expect(parseGoIntBase0('9223372036854775808')).toBe(null);
  });
});

describe('Prometheus durations', () => {
  const parse: Array<[string, number]> = [
    ['0', 0],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1y', 31_536_000_000],
    ['2w3d', 1_468_800_000],
    ['100ms', 100],
    ['1m30s500ms', 90_500],
  ];
  it.each(parse)('parse %j', (s, want) => expect(parseDurationMs(s)).toBe(want));
  it('rejects out-of-order and unknown units like model.ParseDuration', () => {
    expect(() => parseDurationMs('5m1h')).toThrow('not a valid duration string: "5m1h"');
    expect(() => parseDurationMs('1x')).toThrow('unknown unit "x" in duration "1x"');
    expect(() => parseDurationMs('')).toThrow('empty duration string');
  });
  const format: Array<[number, string]> = [
    [0, '0s'],
    [300_000, '5m'],
    [5_400_000, '1h30m'],
    [86_400_000 * 90, '90d'],
    [604_800_000 * 2, '2w'],
    [31_536_000_000, '1y'],
    [1500, '1s500ms'],
    [86_400_000 + 1, '1d1ms'],
  ];
  it.each(format)('format %d', (ms, want) => expect(formatDurationMs(ms)).toBe(want));
});

describe('Go strconv.Quote', () => {
  it('escapes like Go', () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote('\n\t\x01')).toBe('"\\n\\t\\x01"');
    expect(goQuote('héllo 😀')).toBe('"héllo 😀"');
  });
});

describe('XXH64', () => {
  const enc = new TextEncoder();
  const vectors: Array<[string, string]> = [
    ['', 'ef46db3751d8e999'],
    ['a', 'd24ec4f1a98c6e5b'],
    ['abc', '44bc2cf5ad770999'],
    ['Nobody inspects the spammish repetition', 'fbcea83c8a378bf1'],
  ];
  it.each(vectors)('%j', (s, hex) => expect(xxhash64(enc.encode(s)).toString(16)).toBe(hex));
  it('hashes labels in the length-prefixed layout', () => {
    // {a="b"} is the bytes 01 'a' 01 'b'
    expect(prometheusLabelsHash(labelsOf({ a: 'b' }))).toBe(xxhash64(new Uint8Array([1, 97, 1, 98])));
  });
});

describe('quantiles', () => {
  it('quantile() interpolates between ranks, NaN first', () => {
    expect(quantileOf(0.5, [3, 1, 2])).toBe(2);
    expect(quantileOf(0.75, [1, 2])).toBe(1.75);
    expect(quantileOf(0, [NaN, 1])).toBe(NaN);
    expect(quantileOf(1.5, [1])).toBe(Infinity);
    expect(quantileOf(-1, [1])).toBe(-Infinity);
    expect(quantileOf(0.5, [])).toBe(NaN);
  });
  it('bucketQuantile: lowest bucket from 0, highest bucket gives the second-highest bound', () => {
    const b = (): Array<{ upperBound: number; count: number }> => [
      { upperBound: 1, count: 10 },
      { upperBound: 2, count: 20 },
      { upperBound: Infinity, count: 30 },
    ];
    expect(bucketQuantile(0.25, b()).value).toBe(0.75);
    expect(bucketQuantile(0.5, b()).value).toBe(1.5);
    expect(bucketQuantile(0.9, b()).value).toBe(2);
    expect(bucketQuantile(0.5, [{ upperBound: 1, count: 1 }]).value).toBe(NaN);
  });
  it('bucketQuantile ignores float noise between buckets without reporting it', () => {
    const r = bucketQuantile(0.5, [
      { upperBound: 1, count: 10 },
      { upperBound: 2, count: 10 - 1e-14 },
      { upperBound: Infinity, count: 20 },
    ]);
    expect(r.fix?.forced).toBe(false);
    expect(r.value).toBe(1);
  });
  it('bucketFraction', () => {
    expect(bucketFraction(0, 1.5, [
      { upperBound: 1, count: 1 },
      { upperBound: 2, count: 3 },
      { upperBound: Infinity, count: 100 },
    ])).toBeCloseTo(0.02, 12);
  });
  it('Kahan summation keeps small terms next to big ones', () => {
    let s = 0;
    let c = 0;
    for (const x of [1, 1e100, 1, -1e100]) [s, c] = kahanInc(x, s, c);
    expect(s + c).toBe(2);
  });
  it('Go math.Pow special cases', () => {
    expect(goPow(1, NaN)).toBe(1);
    expect(goPow(-1, Infinity)).toBe(1);
    expect(goPow(2, 10)).toBe(1024);
    expect(goPow(NaN, 0)).toBe(1);
  });
});

describe('staleness markers', () => {
  it('are found by their exact bits', () => {
    const v = new Float64Array(4);
    const bits = new BigUint64Array(v.buffer);
    bits[1] = 0x7ff0000000000002n; // Prometheus StaleNaN
    v[2] = NaN; // an ordinary NaN is a value
    v[3] = 1;
    expect(Array.from(staleMask(v) as Uint8Array)).toEqual([0, 1, 0, 0]);
    expect(staleMask(new Float64Array([1, NaN]))).toBe(null);
  });
});

describe('label sets', () => {
  it('print like Prometheus', () => {
    expect(labelsToString(labelsOf({ __name__: 'up', job: 'a"b', 'a.b': 'c' }))).toBe('{__name__="up", "a.b"="c", job="a\\"b"}');
  });
  it('compare name by name, then value', () => {
    expect(compareLabels(labelsOf({ a: '1' }), labelsOf({ a: '1', b: '2' }))).toBeLessThan(0);
    expect(compareLabels(labelsOf({ a: '2' }), labelsOf({ a: '10' }))).toBeGreaterThan(0);
    expect(compareLabels(labelsOf({ b: '1' }), labelsOf({ a: '9' }))).toBeGreaterThan(0);
  });
  it('get exact ids even when hashes would collide', () => {
    const idx = new LabelSetIndex();
    const a = labelsOf({ a: '1' });
    const b = labelsOf({ a: '2' });
    // force a collision by passing the same hash
    expect(idx.idOf(a, 7)).toBe(0);
    expect(idx.idOf(b, 7)).toBe(1);
    expect(idx.idOf(labelsOf({ a: '1' }), 7)).toBe(0);
    expect(idx.find(labelsOf({ a: '3' }), 7)).toBe(-1);
  });
});
