// line_format / label_format templates: the examples of Loki's template
// function documentation (https://grafana.com/docs/loki/latest/query/template_functions/)
// with the outputs it gives, plus Go text/template behaviour they rely on.
import { describe, expect, it } from 'vitest';
import { parseTemplate, TemplateError } from '../query/logql/template.ts';
import { GoTime, formatTime, parseTime, sprintf } from '../query/logql/go-values.ts';

const TS = 1_700_000_000_123_456_789n; // 2023-11-14T22:13:20.123456789Z

function exec(tpl: string, labels: Record<string, string> = {}, line = 'the line'): string {
  return parseTemplate(tpl).execute(labels, { line, timestampNs: TS });
}

describe('template functions (docs examples)', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['{{ .path | replace " " "_" | trunc 5 | upper }}', { path: 'a b c d e f' }, 'A_B_C'],
    ['{{ if and (contains "he" "hello") (contains "llo" "hello") }} yes {{end}}', {}, ' yes '],
    ['{{ if contains "ErrTimeout" .err }} timeout {{else if contains "he" "hello"}} yes {{else}} no {{end}}', { err: 'x' }, ' yes '],
    ['{{ if contains "ErrTimeout" .err }} timeout {{else if contains "he" "hello"}} yes {{else}} no {{end}}', { err: 'an ErrTimeout' }, ' timeout '],
    ['{{ .path }}', { path: '/a' }, '/a'],
    ['{{ __line__ | lower }}', {}, 'the line'],
    ['{{ __timestamp__ | date "2006-01-02T15:04:05.00Z-07:00" }}', {}, '2023-11-14T22:13:20.12Z+00:00'],
    ['{{ __timestamp__ | unixEpoch }}', {}, '1700000000'],
    ['{{ toDate "2006-01-02" "2021-11-02" | unixEpoch }}', {}, '1635811200'],
    ['{{ .foo | toDateInZone "2006-01-02T15:04:05.999999999Z" "UTC" | unixEpochMillis }}', { foo: '2021-11-02T01:02:03.5Z' }, '1635814923500'],
    ['{{ toDateInZone "2006-01-02 15:04" "America/New_York" "2021-11-02 10:00" | unixEpoch }}', {}, '1635861600'],
    ['{{ unixEpochNanos __timestamp__ }}', {}, '1700000000123456789'],
    ['{{ date "2006-01-02" (unixToTime .from) }}', { from: '1679577215' }, '2023-03-23'],
    ['{{ unixToTime "19373" | unixEpoch }}', {}, String(19373 * 86400)],
    ['{{ .foo | duration }}', { foo: '1m30s' }, '90'],
    ['{{ duration_seconds .foo }}', { foo: '150ms' }, '0.15'],
    ['{{ alignLeft 5 "hello world"}}', {}, 'hello'],
    ['{{ alignLeft 5 "hi"}}', {}, 'hi   '],
    ['{{ alignRight 5 "hello world"}}', {}, 'world'],
    ['{{ alignRight 5 "hi"}}', {}, '   hi'],
    ['{{ .foo | b64enc }}', { foo: 'hello' }, 'aGVsbG8='],
    ['{{ b64dec .foo }}', { foo: 'aGVsbG8' }, 'hello'],
    ['{{ .foo | bytes }}', { foo: '1.5KiB' }, '1536'],
    ['{{ default "-" "" }}', {}, '-'],
    ['{{ default "-" "foo" }}', {}, 'foo'],
    ['{{.http_request_headers_x_forwarded_for | default "-"}}', {}, '-'],
    ['{{ lower "HELLO"}}', {}, 'hello'],
    ['{{ indent 4 .query }}', { query: 'a\nb' }, '    a\n    b'],
    ['{{ nindent 4 .query }}', { query: 'a\nb' }, '\n    a\n    b'],
    ['{{ repeat 3 "hello" }}', {}, 'hellohellohello'],
    ['{{ printf "The IP address was %s" .remote_addr }}', { remote_addr: '129.168.1.1' }, 'The IP address was 129.168.1.1'],
    ['{{ printf "%-40.40s" .request_uri}} {{printf "%-5.5s" .request_method}}', { request_uri: '/id/609259548/hpr.html', request_method: 'GET' }, '/id/609259548/hpr.html                   GET  '],
    ['"|" {{printf "%15.15s" .ClientHost}} "|"', { ClientHost: 'host' }, '"|"            host "|"'],
    ['{{ .cluster | replace "-cluster" "" }}', { cluster: 'prod-cluster' }, 'prod'],
    ['{{ replace "hello" "world" "hello world" }}', {}, 'world world'],
    ['{{ .path | substr 2 5 }}', { path: '/api/v1' }, 'pi/'],
    ['{{ substr 0 5 "hello world"}}', {}, 'hello'],
    ['{{ substr 6 11 "hello world"}}', {}, 'world'],
    ['{{ title "hello world"}}', {}, 'Hello World'],
    ['{{ trim "   hello    " }}', {}, 'hello'],
    ['{{ trimAll "$" "$5.00" }}', {}, '5.00'],
    ['{{ trimPrefix "-" "-hello" }}', {}, 'hello'],
    ['{{ trimSuffix "-" "hello-" }}', {}, 'hello'],
    ['{{ trunc 5 "hello world"}}', {}, 'hello'],
    ['{{ trunc -5 "hello world"}}', {}, 'world'],
    ['{{ upper  "hello"}}', {}, 'HELLO'],
    ['{{ .request_url | urlencode }}', { request_url: '/a b?c=d&e' }, '%2Fa+b%3Fc%3Dd%26e'],
    ['{{ urldecode .u }}', { u: '%2Fa+b' }, '/a b'],
    ['{{ if eq "hello" "hello" }} yes {{end}}', {}, ' yes '],
    // the signature is hasSuffix(suffix, src): the docs example tests "Timeout" ends with .err
    ['{{ if hasSuffix .err "Timeout" }} timeout {{end}}', { err: 'ErrTimeout' }, ''],
    ['{{ if hasSuffix .err "Timeout" }} timeout {{end}}', { err: 'out' }, ' timeout '],
    ['{{ if hasPrefix "he" "hello" }} yes {{end}}', {}, ' yes '],
    ['{{ add 3 2 5 }}', {}, '10'],
    ['{{ addf 3.5 2 5 }}', {}, '10.5'],
    ['{{ ceil 123.001 }}', {}, '124'],
    ['{{ div 10 2}}', {}, '5'],
    ['{{ divf 10 2 4}}', {}, '1.25'],
    ['{{ "3.5" | float64 }}', {}, '3.5'],
    ['{{ floor 123.9999 }}', {}, '123'],
    ['{{ "3" | int }}', {}, '3'],
    ['{{ max 1 2 3 }}', {}, '3'],
    ['{{ maxf 1 2.5 3 }}', {}, '3'],
    ['{{ min 1 2 3 }}', {}, '1'],
    ['{{ minf 1 2.5 3 }}', {}, '1'],
    ['{{ mul 5 2 3}}', {}, '30'],
    ['{{ mulf 5.5 2 2.5 }}', {}, '27.5'],
    ['{{ mod 10 3}}', {}, '1'],
    ['{{ round 123.555555 3 }}', {}, '123.556'],
    ['{{ round 123.88571428571 5 .2 }}', {}, '123.88572'],
    ['{{ sub 5 2 }}', {}, '3'],
    ['{{ subf  5.5 2 1.5 }}', {}, '2'],
    ['{{ count "a|b" "abab" }}', {}, '4'],
    ['{{ count "o" "foo" }}', {}, '2'],
    ['{{ __line__ | count "XYZ"}}', {}, '0'],
    ['{{ regexReplaceAll "(a*)bc" .some_label "${1}a" }}', { some_label: 'xaabcy' }, 'xaaay'],
    ['{{ regexReplaceAllLiteral "(ts=)" .timestamp "timestamp=" }}', { timestamp: 'ts=1' }, 'timestamp=1'],
    ['{{ range $q := fromJson .queries }}[{{ $q.query }}]{{ end }}', { queries: '[{"query":"a"},{"query":"b"}]' }, '[a][b]'],
    ['{{fromJson "{\\"foo\\": 55}"}}', {}, 'map[foo:55]'],
    ['{{ ToUpper .a }} {{ ToLower .a }} {{ TrimSpace " x " }} {{ Replace "aaa" "a" "b" 2 }}', { a: 'Mx' }, 'MX mx x bba'],
    ['{{ div .duration 1000 }}', { duration: '3000' }, '3'],
    ['{{ mulf 1000 1000 }}', {}, '1e+06'],
  ];
  it.each(cases)('%s', (tpl, labels, want) => {
    expect(exec(tpl, labels)).toBe(want);
  });
});

describe('Go text/template behaviour', () => {
  it('trim markers remove surrounding whitespace', () => {
    expect(exec('a  {{- .x -}}  b', { x: 'X' })).toBe('aXb');
  });
  it('comments print nothing', () => {
    expect(exec('a{{/* note */}}b')).toBe('ab');
  });
  it('variables and with/else', () => {
    expect(exec('{{ $v := .a }}{{ with .b }}b={{ . }}{{ else }}v={{ $v }}{{ end }}', { a: '1' })).toBe('v=1');
    expect(exec('{{ with .b }}b={{ . }}{{ end }}', { b: '2' })).toBe('b=2');
  });
  it('range over a map is in key order, break and continue work', () => {
    expect(exec('{{ range $k, $v := fromJson .m }}{{ if eq $k "b" }}{{ continue }}{{ end }}{{ $k }}={{ $v }};{{ end }}', { m: '{"c":3,"a":1,"b":2}' })).toBe('a=1;c=3;');
    expect(exec('{{ range $i, $v := fromJson .m }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ $v }}{{ end }}', { m: '[7,8,9]' })).toBe('78');
  });
  it('missing keys render as empty (missingkey=zero on a label map)', () => {
    expect(exec('[{{ .none }}]')).toBe('[]');
  });
  it('an unknown function is a parse error', () => {
    expect(() => parseTemplate('{{ nope .x }}')).toThrow(TemplateError);
    expect(() => parseTemplate('{{ nope .x }}')).toThrow('function "nope" not defined');
  });
  it('unbalanced actions are parse errors', () => {
    expect(() => parseTemplate('{{ if .x }}a')).toThrow(TemplateError);
    expect(() => parseTemplate('{{ .x ')).toThrow(TemplateError);
    expect(() => parseTemplate('{{ end }}')).toThrow(TemplateError);
  });
  it('execution errors are reported (Loki turns them into TemplateFormatErr)', () => {
    expect(() => exec('{{ div 1 0 }}')).toThrow(TemplateError);
    expect(() => exec('{{ upper 3 }}')).toThrow(/expected string/);
    expect(() => exec('{{ eq "a" 1 }}')).toThrow(/incompatible types/);
  });
  it('fields it reads are known for planning', () => {
    expect([...parseTemplate('{{ .a }} {{ if .b }}{{ upper .c }}{{ end }}').fields].sort()).toEqual(['a', 'b', 'c']);
    expect(parseTemplate('{{.message}}').simpleField).toBe('message');
  });
});

describe('Go fmt and time', () => {
  it.each([
    ['%d|%5d|%-5d|%05d', [42n, 42n, 42n, 42n], '42|   42|42   |00042'],
    ['%x %X %o %b', [255n, 255n, 8n, 5n], 'ff FF 10 101'],
    ['%.2f %e %g', [3.14159, 1234.5678, 0.000012], '3.14 1.234568e+03 1.2e-05'],
    ['%q %v %t', ['a"b', 1.5, true], '"a\\"b" 1.5 true'],
    ['%s %d', ['x'], 'x %!d(MISSING)'],
    ['%d', ['x'], '%!d(string=x)'],
    ['%%', [], '%'],
  ] as [string, (string | number | bigint | boolean)[], string][])('sprintf(%j)', (f, args, want) => {
    expect(sprintf(f, args)).toBe(want);
  });
  it('formats and parses Go layouts', () => {
    const t = new GoTime(TS);
    expect(formatTime(t, '2006-01-02T15:04:05.000Z07:00')).toBe('2023-11-14T22:13:20.123Z');
    expect(formatTime(t, 'Mon Jan _2 03:04:05 PM MST 2006')).toBe('Tue Nov 14 10:13:20 PM UTC 2023');
    expect(parseTime('02/Jan/2006:15:04:05 -0700', '10/Jun/2021:09:14:29 +0200')?.ns).toBe(1623309269000000000n);
    expect(parseTime('2006-01-02', 'not a date')).toBeUndefined();
  });
});
