// Parser tests: AST shapes, literal values, Prometheus's printing and its
// error messages with positions. Expected texts follow Prometheus's parser
// (promql/parser/parse.go, generated_parser.y, lex.go) and its documentation.
import { describe, expect, it } from 'vitest';
import { parseQuery, parseExpr, type Expr } from '../query/promql/index.ts';
import { exprToString, formatQuery } from '../query/promql/format.ts';
import { isPromqlError } from '../query/promql/errors.ts';

function parseErr(q: string): string {
  const r = parseQuery(q);
  if (r.ok) throw new Error(`expected ${q} to fail`);
  expect(r.error.errorType).toBe('bad_data');
  return r.error.message;
}

describe('PromQL parser: canonical printing round trip', () => {
  const cases: Array<[string, string]> = [
    ['foo', 'foo'],
    ['foo{a="b", c=~"d.*"}', 'foo{a="b",c=~"d.*"}'],
    ['foo{c="d",a="b"}', 'foo{a="b",c="d"}'],
    ['{__name__="foo"}', '{__name__="foo"}'],
    ['{"foo", "a.b"="c"}', '{"a.b"="c",__name__="foo"}'],
    ['foo offset 5m', 'foo offset 5m'],
    ['foo offset -1h30m', 'foo offset -1h30m'],
    ['foo offset 90m', 'foo offset 1h30m'],
    ['foo offset 0s', 'foo'],
    ['foo @ 1609746000', 'foo @ 1609746000.000'],
    ['foo @ start()', 'foo @ start()'],
    ['foo @ end() offset 1m', 'foo @ end() offset 1m'],
    ['foo offset 1m @ 10.5', 'foo @ 10.500 offset 1m'],
    ['foo[5m]', 'foo[5m]'],
    ['foo[300]', 'foo[5m]'],
    ['foo[1.5]', 'foo[1s500ms]'],
    ['foo[5m] offset 1w', 'foo[5m] offset 1w'],
    ['foo[5m] @ 100 offset 2d', 'foo[5m] @ 100.000 offset 2d'],
    ['foo[1h:5m]', 'foo[1h:5m]'],
    ['foo[1h:]', 'foo[1h:]'],
    ['rate(foo[5m])[30m:1m] offset 5m', 'rate(foo[5m])[30m:1m] offset 5m'],
    ['sum(foo) by (job)', 'sum by (job) (foo)'],
    ['sum by (job, "a.b") (foo)', 'sum by (job, "a.b") (foo)'],
    ['sum without (instance) (foo)', 'sum without (instance) (foo)'],
    ['SUM(foo)', 'sum(foo)'],
    ['topk(5, foo)', 'topk(5, foo)'],
    ['count_values("v", foo)', 'count_values("v", foo)'],
    ['quantile(0.9, foo)', 'quantile(0.9, foo)'],
    ['a + on(x) group_left(y) b', 'a + on (x) group_left (y) b'],
    ['a * ignoring(x) group_right b', 'a * ignoring (x) group_right () b'],
    ['a > bool b', 'a > bool b'],
    ['a and b', 'a and b'],
    ['a unless on() b', 'a unless on () b'],
    ['1 + 2', '1 + 2'],
    ['5m', '5m'],
    ['-5m', '-5m'],
    ['"a\\tb"', '"a\\tb"'],
    ["'single'", '"single"'],
    ['`raw\\n`', '"raw\\\\n"'],
    ['-foo', '-foo'],
    ['+foo', '+foo'],
    ['(foo)', '(foo)'],
    ['label_replace(up, "a", "$1", "b", "(.*)")', 'label_replace(up, "a", "$1", "b", "(.*)")'],
    ['foo[5m+1m]', 'foo[5m + 1m]'],
    ['foo[step()]', 'foo[step()]'],
    ['foo offset (1h / 2)', 'foo offset (1h / 2)'],
    ['foo # a comment', 'foo'],
  ];
  it.each(cases)('%s', (q, want) => {
    expect(exprToString(parseExpr(q))).toBe(want);
  });
});

describe('PromQL parser: literals', () => {
  const num = (q: string): number => {
    const e = parseExpr(q);
    if (e.type !== 'NumberLiteral') throw new Error(`not a number literal: ${e.type}`);
    return e.value;
  };
  const cases: Array<[string, number]> = [
    ['1', 1],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['1e3', 1000],
    ['1E-2', 0.01],
    ['0x1f', 31],
    ['017', 15], // Go ParseInt base 0: leading 0 is octal
    ['019', 19], // not octal: falls back to ParseFloat
    ['1_000', 1000],
    ['Inf', Infinity],
    ['+inf', Infinity],
    ['-Inf', -Infinity],
    ['5m', 300],
    ['1h30m', 5400],
    ['1d', 86400],
    ['1w', 604800],
    ['1y', 31536000],
    ['100ms', 0.1],
    ['-1', -1],
    ['- 1', -1],
    ['-(1)', NaN], // not folded: a unary expression, checked below
  ];
  it.each(cases.filter(([q]) => q !== '-(1)'))('%s', (q, want) => {
    expect(num(q)).toBe(want);
  });
  it('NaN literal', () => {
    expect(Number.isNaN(num('NaN'))).toBe(true);
    expect(Number.isNaN(num('nan'))).toBe(true);
  });
  it('a sign before a parenthesised number stays a unary expression', () => {
    expect(parseExpr('-(1)').type).toBe('UnaryExpr');
  });
  const strs: Array<[string, string]> = [
    ['"a\\nb"', 'a\nb'],
    ["'it\\'s'", "it's"],
    ['"q\\"q"', 'q"q'],
    ['"\\x41\\u00e9\\U0001F600"', 'Aé😀'],
    ['"\\303\\251"', 'é'],
    ['`a\\nb`', 'a\\nb'],
    ['"\\a\\b\\f\\r\\t\\v\\\\"', '\x07\b\f\r\t\v\\'],
  ];
  it.each(strs)('string %s', (q, want) => {
    const e = parseExpr(q);
    expect(e.type).toBe('StringLiteral');
    expect((e as Expr & { type: 'StringLiteral' }).value).toBe(want);
  });
});

describe('PromQL parser: tree shapes', () => {
  it('multiplication binds tighter than addition', () => {
    const e = parseExpr('1 + 2 * 3');
    expect(e.type === 'BinaryExpr' && e.op).toBe('+');
    expect(e.type === 'BinaryExpr' && e.rhs.type === 'BinaryExpr' && e.rhs.op).toBe('*');
  });
  it('^ is right-associative', () => {
    const e = parseExpr('2 ^ 3 ^ 2');
    expect(e.type === 'BinaryExpr' && e.lhs.type).toBe('NumberLiteral');
    expect(e.type === 'BinaryExpr' && e.rhs.type === 'BinaryExpr' && e.rhs.op).toBe('^');
  });
  it('-1^2 is -(1^2) as in Prometheus', () => {
    const e = parseExpr('-1^2');
    expect(e.type).toBe('UnaryExpr');
    if (e.type !== 'UnaryExpr') return;
    expect(e.op).toBe('-');
    expect(e.expr.type === 'BinaryExpr' && e.expr.op).toBe('^');
    expect(e.expr.type === 'BinaryExpr' && e.expr.lhs.type === 'NumberLiteral' && e.expr.lhs.value).toBe(1);
  });
  it('-1*2 folds the sign into the literal', () => {
    const e = parseExpr('-1*2');
    expect(e.type === 'BinaryExpr' && e.lhs.type === 'NumberLiteral' && e.lhs.value).toBe(-1);
  });
  it('and binds tighter than or, comparisons tighter than and', () => {
    const e = parseExpr('a or b and c > d');
    expect(e.type === 'BinaryExpr' && e.op).toBe('or');
    const r = e.type === 'BinaryExpr' ? e.rhs : null;
    expect(r?.type === 'BinaryExpr' && r.op).toBe('and');
    expect(r?.type === 'BinaryExpr' && r.rhs.type === 'BinaryExpr' && r.rhs.op).toBe('>');
  });
  it('set operators become many-to-many', () => {
    const e = parseExpr('a and on(x) b');
    expect(e.type === 'BinaryExpr' && e.matching).toEqual({ card: 'many-to-many', on: true, labels: ['x'], include: [] });
  });
  it('group_left records the included labels', () => {
    const e = parseExpr('a / on(x) group_left(y, z) b');
    expect(e.type === 'BinaryExpr' && e.matching).toEqual({ card: 'many-to-one', on: true, labels: ['x'], include: ['y', 'z'] });
  });
  it('vector matching is dropped when a side is scalar', () => {
    const e = parseExpr('a + 1');
    expect(e.type === 'BinaryExpr' && e.matching).toBe(null);
  });
  it('a metric name before braces becomes the last matcher', () => {
    const e = parseExpr('foo{a!="b",c!~"d"}');
    expect(e.type === 'VectorSelector' && e.matchers).toEqual([
      { name: 'a', type: '!=', value: 'b' },
      { name: 'c', type: '!~', value: 'd' },
      { name: '__name__', type: '=', value: 'foo' },
    ]);
  });
  it('offset and @ apply to the selector inside a range', () => {
    const e = parseExpr('foo[5m] offset -2m @ end()');
    expect(e.type).toBe('MatrixSelector');
    if (e.type !== 'MatrixSelector') return;
    expect(e.range).toEqual({ kind: 'literal', ms: 300_000 });
    expect(e.selector.offset).toEqual({ kind: 'literal', ms: -120_000 });
    expect(e.selector.at).toEqual({ kind: 'end' });
  });
  it('subquery with step, offset and @', () => {
    const e = parseExpr('max_over_time(rate(x[1m])[10m:30s] @ 123.456 offset 1m)');
    const sq = e.type === 'Call' ? e.args[0] : null;
    expect(sq?.type).toBe('SubqueryExpr');
    if (sq?.type !== 'SubqueryExpr') return;
    expect(sq.range).toEqual({ kind: 'literal', ms: 600_000 });
    expect(sq.step).toEqual({ kind: 'literal', ms: 30_000 });
    expect(sq.at).toEqual({ kind: 'time', ms: 123_456 });
    expect(sq.offset).toEqual({ kind: 'literal', ms: 60_000 });
  });
  it('aggregation modifiers before or after the body', () => {
    const a = parseExpr('sum by (a) (x)');
    const b = parseExpr('sum(x) by (a)');
    expect(exprToString(a)).toBe(exprToString(b));
  });
  it('parseExpr throws a PromqlError', () => {
    try {
      parseExpr('rate(foo)');
      throw new Error('no error');
    } catch (e) {
      expect(isPromqlError(e)).toBe(true);
    }
  });
});

describe('PromQL parser: errors with positions', () => {
  const cases: Array<[string, string]> = [
    ['', 'unknown position: parse error: no expression found in input'],
    ['  ', '1:1: parse error: no expression found in input'],
    ['rate(foo)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector'],
    ['rate(foo[5m], 1)', '1:1: parse error: expected 1 argument(s) in call to "rate", got 2'],
    ['floor()', '1:1: parse error: expected 1 argument(s) in call to "floor", got 0'],
    ['floor(1)', '1:7: parse error: expected type instant vector in call to function "floor", got scalar'],
    ['hour(a, b, c)', '1:1: parse error: expected at most 1 argument(s) in call to "hour", got 3'],
    ['label_join(a)', '1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 1'],
    ['time(1)', '1:1: parse error: expected 0 argument(s) in call to "time", got 1'],
    ['foo(bar)', '1:1: parse error: unknown function with name "foo"'],
    ['holt_winters(x[5m], 0.5, 0.5)', '1:1: parse error: unknown function with name "holt_winters"'],
    ['sum(foo', '1:8: parse error: unclosed left parenthesis'],
    ['foo)', '1:4: parse error: unexpected right parenthesis \')\''],
    ['1 +', '1:4: parse error: unexpected end of input'],
    ['foo bar', '1:5: parse error: unexpected identifier "bar"'],
    ['foo{a="b" c="d"}', '1:11: parse error: unexpected identifier "c" in label matching'],
    ['"abc', '1:1: parse error: unterminated quoted string'],
    ['`abc', '1:1: parse error: unterminated raw string'],
    ['foo ~ bar', "1:5: parse error: unexpected character: '~'"],
    ['foo =~ bar', "1:5: parse error: unexpected character after '=': '~'"],
    ['foo{a>"b"}', "1:6: parse error: unexpected character inside braces: '>'"],
    ['foo{a="b"', '1:10: parse error: unexpected end of input inside braces'],
    ['foo{a="\\c"}', "1:7: parse error: unknown escape sequence U+0063 'c'"],
    ['foo[5m', '1:7: parse error: unexpected end of input in duration expression'],
    ['foo[5mm]', '1:5: parse error: bad number or duration syntax: "5mm"'],
    ['foo[5m1m]', '1:5: parse error: not a valid duration string: "5m1m"'],
    ['foo[5y1hs]', '1:5: parse error: unknown unit "hs" in duration "5y1hs"'],
    ['foo offset 1.5m', '1:12: parse error: unknown unit "." in duration "1.5m"'],
    ['1 > 2', '1:3: parse error: comparisons between scalars must use BOOL modifier'],
    ['1 + bool 2', '1:3: parse error: bool modifier can only be used on comparison operators'],
    ['1 and 2', '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
    ['foo and on(a) group_left bar', '1:1: parse error: no grouping allowed for "and" operation'],
    ['foo + on(a) group_left(a) bar', '1:5: parse error: label "a" must not occur in ON and GROUP clause at once'],
    ['foo + on(a) 1', '1:1: parse error: vector matching only allowed between instant vectors'],
    ['foo[5m] + 1', '1:1: parse error: binary expression must contain only scalar and instant vector types'],
    ['-"a"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'],
    ['-foo[5m]', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'],
    ['foo[5m][10m:]', '1:1: parse error: subquery is only allowed on instant vector, got matrix instead'],
    ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors'],
    ['foo offset 5m[10m]', '1:14: parse error: no offset modifiers allowed before range'],
    ['foo @ 10 [10m]', '1:10: parse error: no @ modifiers allowed before range'],
    ['foo offset 1m offset 2m', '1:1: parse error: offset may not be set multiple times'],
    ['(foo) offset 1m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['(foo) @ 1', '1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times'],
    ['foo @ Inf', '1:1: parse error: timestamp out of bounds for @ modifier: +Inf'],
    ['foo @ NaN', '1:1: parse error: timestamp out of bounds for @ modifier: NaN'],
    ['foo[0s]', '1:5: parse error: duration must be greater than 0'],
    ['foo[-5m]', '1:5: parse error: duration must be greater than 0'],
    ['foo[5m:0s]', '1:8: parse error: duration must be greater than 0'],
    ['foo[5m / 0]', '1:8: parse error: division by zero'],
    ['{}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{a=""}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{a=~".*"}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{a!~".+"}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'],
    ['foo{a=~"("}', '1:5: parse error: error parsing regexp: missing closing ): `(`'],
    ['sum()', '1:1: parse error: no arguments for aggregate expression provided'],
    ['topk(foo)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'],
    ['sum(1, foo)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2'],
    ['topk(foo, bar)', '1:6: parse error: expected type scalar in aggregation parameter, got instant vector'],
    ['count_values(1, foo)', '1:14: parse error: expected type string in aggregation parameter, got scalar'],
    ['sum(1)', '1:5: parse error: expected type instant vector in aggregation expression, got scalar'],
    ['rate(foo[5m],)', '1:13: parse error: trailing commas not allowed in function call args'],
    ['foo smoothed', '1:1: parse error: smoothed modifier is experimental and not enabled'],
    ['a + fill(0) b', '1:1: parse error: binop fill modifiers are experimental and not enabled'],
    ['ab\ncd ef', '2:1: parse error: unexpected identifier "cd"'],
    ['é + foo bar', '1:10: parse error: unexpected identifier "bar"'],
  ];
  it.each(cases)('%j', (q, want) => {
    if (q === 'é + foo bar') {
      // Non-ASCII is not a valid token at all; Prometheus reports the character.
      expect(parseErr(q)).toBe("1:1: parse error: unexpected character: 'é'");
      return;
    }
    expect(parseErr(q)).toBe(want);
  });
  it('columns count UTF-8 bytes, as Prometheus', () => {
    expect(parseErr('{a="é"} bar')).toBe('1:10: parse error: unexpected identifier "bar"');
  });
});

describe('format_query', () => {
  it('keeps short queries on one line', () => {
    expect(formatQuery('sum(rate(http_requests_total{job="api"}[5m])) by (code)')).toBe('sum by (code) (rate(http_requests_total{job="api"}[5m]))');
  });
  it('splits long queries like Prometheus prettier', () => {
    const q = 'sum by (job, instance) (rate(http_requests_total{job="apiserver",code=~"5.."}[5m])) / sum by (job, instance) (rate(http_requests_total{job="apiserver"}[5m]))';
    expect(formatQuery(q)).toBe(
      [
        '  sum by (job, instance) (rate(http_requests_total{code=~"5..",job="apiserver"}[5m]))',
        '/',
        '  sum by (job, instance) (rate(http_requests_total{job="apiserver"}[5m]))',
      ].join('\n'),
    );
  });
  it('splits long function calls and aggregations', () => {
    const q = 'histogram_quantile(0.99, sum by (le, service, namespace, cluster) (rate(http_request_duration_seconds_bucket{namespace="production"}[5m])))';
    expect(formatQuery(q)).toBe(
      [
        'histogram_quantile(',
        '  0.99,',
        '  sum by (le, service, namespace, cluster) (',
        '    rate(http_request_duration_seconds_bucket{namespace="production"}[5m])',
        '  )',
        ')',
      ].join('\n'),
    );
  });
  it('rejects invalid queries with bad_data', () => {
    expect(() => formatQuery('sum(')).toThrow(/unclosed left parenthesis/);
  });
});

describe('PromQL parser: postfix modifiers bind to the nearest operand', () => {
  const cases: Array<[string, string]> = [
    ['a + b offset 5m', 'a + b offset 5m'],
    ['a + b offset 5m + c', 'a + b offset 5m + c'],
    ['a * max_over_time(b[5m:] offset 1m)', 'a * max_over_time(b[5m:] offset 1m)'],
    ['-foo offset 5m', '-foo offset 5m'],
    ['-foo @ 5', '-foo @ 5.000'],
    ['a + rate(b[5m] @ 10)', 'a + rate(b[5m] @ 10.000)'],
    ['a / b @ end() offset 1m', 'a / b @ end() offset 1m'],
  ];
  it.each(cases)('%s', (q, want) => {
    expect(exprToString(parseExpr(q))).toBe(want);
  });
  it('the offset lands on the right operand only', () => {
    const e = parseExpr('a + b offset 5m');
    expect(e.type).toBe('BinaryExpr');
    if (e.type !== 'BinaryExpr') return;
    expect(e.lhs.type === 'VectorSelector' && e.lhs.offset).toBe(null);
    expect(e.rhs.type === 'VectorSelector' && e.rhs.offset).toEqual({ kind: 'literal', ms: 300_000 });
  });
  it('a range on the right operand of a binary expression is a type error', () => {
    expect(parseErr('a + b[5m]')).toBe('1:5: parse error: binary expression must contain only scalar and instant vector types');
  });
  it('-foo[5m] is a unary minus over a range vector', () => {
    expect(parseErr('-foo[5m]')).toBe('1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"');
  });
  it('sum(x) offset 1m is an error', () => {
    expect(parseErr('sum(x) offset 1m')).toBe('1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
  });
});

describe('PromQL parser: functions the grammar only knows in durations', () => {
  it('min_of outside a duration fails clearly', () => {
    expect(parseErr('min_of(1, 2)')).toBe('1:1: parse error: function "min_of" is only supported inside duration expressions by this engine');
  });
  it('min_of inside a duration parses', () => {
    expect(exprToString(parseExpr('foo[min_of(5m, 1h)]'))).toBe('foo[min_of(5m, 1h)]');
  });
});
