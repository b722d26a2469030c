// LogQL parsing: the typed AST, Loki's precedence and validation rules, and
// printing (format_query) that round-trips.
import { describe, expect, it } from 'vitest';
import { parseLogql, formatExpr, LogqlParseError } from '../query/logql/index.ts';

describe('valid queries round-trip through format_query', () => {
  const queries = [
    '{container="query-frontend",namespace="loki-dev"} |= "metrics.go" | logfmt | duration > 10s and throughput_mb < 500',
    '{name=~"mysql.+"}',
    '{app="db", name!~`mysql-\\d+`}',
    '{job="mysql"} |= "error" != "timeout"',
    '{name="kafka"} |~ "tsdb-ops.*io:2003"',
    '{job="x"} |= "a" or "b" != "c" or "d"',
    '{job="x"} |= ip("192.168.4.5/16")',
    '{job="x"} |> "<_> caller=<_>" !> "<_> debug <_>"',
    '{job="x"} | json first_server="servers[0]", ua="request.headers[\\"User-Agent\\"]"',
    '{job="x"} | logfmt --strict --keep-empty host, fwd_ip="fwd"',
    '{job="x"} | pattern `<ip> - <_>` | regexp "(?P<a>\\\\w+)" | unpack',
    '{job="x"} | line_format "{{.a}} {{div .b 10}}" | label_format dst=src, other="{{.x}}"',
    '{job="x"} | drop a, b="c" | keep d, e=~"f.*" | decolorize',
    '{job="x"} | logfmt | remote_addr = ip("2001:db8::1-2001:db8::8") | level = "error"',
    '{job="x"} | logfmt | (duration >= 20ms or size == 20KB) and method!~"2.."',
    'count_over_time({job="mysql"}[5m])',
    'sum by (host) (rate({job="mysql"} |= "error" != "timeout" | json | duration > 10s [1m]))',
    'count_over_time({job="mysql"}[5m] offset 5m)',
    'quantile_over_time(0.99, {container="ingress-nginx"} | json | unwrap response_latency_seconds | __error__="" [1m]) by (cluster)',
    'sum_over_time({a="b"} | logfmt | unwrap bytes(size) [1h])',
    'avg_over_time({a="b"} | logfmt | unwrap duration_seconds(d) [1m]) without (pod)',
    'rate_counter({a="b"} | logfmt | unwrap total [5m])',
    'topk(10, sum by (app) (rate({a="b"}[5m])))',
    'bottomk by (x) (2, count_over_time({a="b"}[1m]))',
    'sort_desc(sum by (level) (count_over_time({a="b"}[1m])))',
    'sum(count_over_time({namespace="traefik"}[5m])) or vector(0)',
    'sum by(machine) (count_over_time({app="foo"}[1m])) / on() sum(count_over_time({app="foo"}[1m]))',
    'max by(machine) (count_over_time({app="foo"}[1m])) > bool ignoring(machine) avg(count_over_time({app="foo"}[1m]))',
    'sum by (app, status) (rate({job="http-server"} | json [5m])) / on (app) group_left sum by (app) (rate({job="http-server"} | json [5m]))',
    'label_replace(rate({job="api-server",service="a:c"} |= "err" [1m]), "foo", "$1", "service", "(.*):.*")',
    'absent_over_time({job="x"}[1h])',
    'bytes_rate({job="x"}[1m]) * 8',
  ];
  it.each(queries)('%s', (q) => {
    const ast = parseLogql(q);
    const printed = formatExpr(ast);
    expect(parseLogql(printed)).toEqual(ast);
  });
  it('format_query normalises spacing (docs example)', () => {
    expect(formatExpr(parseLogql('{foo=   "bar"}'))).toBe('{foo="bar"}');
  });
});

describe('structure', () => {
  it('backtick strings are raw', () => {
    expect(parseLogql('{a="b"} |~ `\\w+`')).toMatchObject({ pipeline: [{ kind: 'line_filter', op: '|~', values: ['\\w+'] }] });
  });
  it('comments are ignored', () => {
    expect(parseLogql('{app="foo"}\n    | json\n    # this line will be ignored\n    | bar="baz" # this checks if bar = "baz"')).toMatchObject({ pipeline: [{ kind: 'json' }, { kind: 'label_filter' }] });
  });
  it('the duration can follow the selector or end the pipeline', () => {
    expect(parseLogql('count_over_time({a="b"}[5m] | json)')).toEqual(parseLogql('count_over_time({a="b"} | json [5m])'));
  });
  it('label filters separated by a space mean and', () => {
    expect(parseLogql('{a="b"} | x="1" y="2"')).toEqual(parseLogql('{a="b"} | x="1", y="2"'));
  });
  it('`and` binds tighter than `or` in label filters', () => {
    const e = parseLogql('{a="b"} | x="1" or y="2" and z="3"');
    expect(e).toMatchObject({ pipeline: [{ expr: { kind: 'or', left: { kind: 'string' }, right: { kind: 'and' } } }] });
  });
  it.each([
    ['1 + 2 / 3', 1 + 2 / 3],
    ['2 * 3 % 2', 0],
    ['2 ^ 3 ^ 2', 512],
    ['(1 + 2) * 3', 9],
    ['10 - 2 - 3', 5],
    ['1 + 1', 2],
    ['1 >= bool 1', 1],
  ])('arithmetic precedence: %s = %d', (q, v) => {
    expect(parseLogql(q)).toEqual({ kind: 'literal', value: v });
  });
  it('operators on vectors keep Go precedence', () => {
    const e = parseLogql('sum(rate({a="b"}[1m])) + sum(rate({a="c"}[1m])) * 2 > 10 or vector(1)');
    expect(e).toMatchObject({ kind: 'binary', op: 'or', left: { kind: 'binary', op: '>', left: { kind: 'binary', op: '+', right: { kind: 'binary', op: '*' } } } });
  });
  it('unwrap post filters and conversions', () => {
    expect(parseLogql('sum_over_time({a="b"} | logfmt | unwrap duration(lat) | __error__="" [1m])')).toMatchObject({
      unwrap: { label: 'lat', conversion: 'duration', postFilters: [{ kind: 'string', matcher: { name: '__error__', op: '=', value: '' } }] },
    });
  });
});

describe('errors Loki gives at parse time', () => {
  const cases: [string, string][] = [
    ['{app=~".*"}', 'queries require at least one regexp or equality matcher that does not have an empty-compatible value'],
    ['{app=""}', 'queries require at least one regexp or equality matcher'],
    ['count_over_time({a="b"}[5m]) by (x)', 'grouping not allowed for count_over_time aggregation'],
    ['sum_over_time({a="b"}[5m])', 'invalid aggregation sum_over_time without unwrap'],
    ['count_over_time({a="b"} | logfmt | unwrap x [5m])', 'invalid aggregation count_over_time with unwrap'],
    ['topk(rate({a="b"}[1m]))', 'parameter required for operation topk'],
    ['topk(0, rate({a="b"}[1m]))', 'invalid parameter (must be greater than 0)'],
    ['sum(2, rate({a="b"}[1m]))', 'unsupported parameter for operation sum'],
    ['approx_topk(2, rate({a="b"}[1m]))', 'approx_topk is not supported'],
    ['{a="b"} | line_format "{{ nope .x }}"', 'function "nope" not defined'],
    ['{a="b"} |~ "a(b"', 'error parsing regexp'],
    ['{a="b"} |~ "(?=x)"', 'invalid or unsupported Perl syntax'],
    ['{a="b"} | regexp "\\\\w+"', 'at least one named capture must be supplied'],
    ['{a="b"} | pattern "<a><b>"', 'found consecutive capture'],
    ['{a="b"} | label_format a=b, a=c', "multiple label name 'a' not allowed"],
    ['{a="b"} | label_format __error__=x', '__error__ cannot be formatted'],
    ['{a="b"', 'syntax error'],
    ['', 'syntax error'],
    ['sum(count_over_time({a="b"}[1m])) and 1', 'set operator "and" not allowed in binary scalar expression'],
    ['1 > 2', 'comparisons between scalars must use BOOL modifier'],
  ];
  it.each(cases)('%s', (q, msg) => {
    let err: unknown;
    try {
      parseLogql(q);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LogqlParseError);
    expect((err as Error).message).toContain(msg);
    expect((err as Error).message).toMatch(/^parse error /);
  });
  it('errors carry line and column', () => {
    expect(() => parseLogql('{a="b"}\n | json | x > ')).toThrow(/^parse error at line 2, col \d+:/);
  });
});
