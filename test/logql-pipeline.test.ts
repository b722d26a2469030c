// Pipeline stages, table-driven. Each expectation is derived by hand from
// Loki's documentation of the stage (https://grafana.com/docs/loki/latest/query/log_queries/,
// .../query/ip/, .../query/query_reference/#pipeline-errors); where the docs
// are silent the comment names the Loki behaviour followed.
import { describe, expect, it } from 'vitest';
import { parseLogql, compilePipeline, LabelsBuilder, makeStreamLabels } from '../query/logql/index.ts';

interface Out {
  line: string;
  labels: Record<string, string>;
}

/** Runs `{stream} <pipeline>` over one line; undefined when the line is dropped. */
function run(query: string, stream: Record<string, string>, line: string, metadata: Record<string, string> = {}): Out | undefined {
  const e = parseLogql(query);
  if (e.kind !== 'log') throw new Error('not a log query');
  const p = compilePipeline(e.pipeline);
  const lb = new LabelsBuilder();
  lb.reset(makeStreamLabels(Object.keys(stream), Object.values(stream)), Object.entries(metadata));
  const entry = { line, tsNs: 1_700_000_000_000_000_000n, lb };
  if (!p.process(entry)) return undefined;
  return { line: entry.line, labels: Object.fromEntries(lb.all()) };
}

const JOB = { job: 'varlogs' };

// the example document of the json parser docs
const DOC = `{
    "protocol": "HTTP/2.0",
    "servers": ["129.0.1.1","10.2.1.3"],
    "request": {
        "time": "6.032",
        "method": "GET",
        "host": "foo.grafana.net",
        "size": "55",
        "headers": {
          "Accept": "*/*",
          "User-Agent": "curl/7.68.0"
        }
    },
    "response": {
        "status": 401,
        "size": "228",
        "latency_seconds": "6.031"
    }
}`;

describe('json parser', () => {
  const cases: [string, string, string, Record<string, string> | 'dropped'][] = [
    [
      'without parameters: nested keys joined with _, arrays skipped, keys sanitized',
      '| json',
      DOC,
      {
        ...JOB,
        protocol: 'HTTP/2.0',
        request_time: '6.032',
        request_method: 'GET',
        request_host: 'foo.grafana.net',
        request_size: '55',
        request_headers_Accept: '*/*',
        request_headers_User_Agent: 'curl/7.68.0',
        response_status: '401',
        response_size: '228',
        response_latency_seconds: '6.031',
      },
    ],
    ['expressions pick fields and array elements', '| json first_server="servers[0]", ua="request.headers[\\"User-Agent\\"]"', DOC, { ...JOB, first_server: '129.0.1.1', ua: 'curl/7.68.0' }],
    ['an array or object comes back as its JSON text', '| json server_list="servers", headers="request.headers"', '{"servers": ["129.0.1.1","10.2.1.3"], "request": {"headers": {"Accept": "*/*"}}}', { ...JOB, server_list: '["129.0.1.1","10.2.1.3"]', headers: '{"Accept": "*/*"}' }],
    ['`| json servers` is `| json servers="servers"`', '| json servers', '{"servers": ["a","b"]}', { ...JOB, servers: '["a","b"]' }],
    ['docs mapping {"a.b": {c: "d"}, e: "f"}', '| json', '{"a.b": {"c": "d"}, "e": "f"}', { ...JOB, a_b_c: 'd', e: 'f' }],
    ['a key already a stream label gets _extracted', '| json', '{"job": "other", "x": "1"}', { job: 'varlogs', job_extracted: 'other', x: '1' }],
    ['numbers keep their text; booleans as true/false; null skipped', '| json', '{"lat": 1.50, "ok": true, "n": null, "big": 12345678901234567890}', { ...JOB, lat: '1.50', ok: 'true', big: '12345678901234567890' }],
    ['escapes are decoded', '| json', '{"msg": "a\\"b\\u0041\\n"}', { ...JOB, msg: 'a"bA\n' }],
    ['a key starting with a digit is prefixed with _', '| json', '{"1st": "x", "a-b": "y"}', { ...JOB, _1st: 'x', a_b: 'y' }],
    ['if a key appears twice, the first value is kept', '| json', '{"a": "1", "a": "2"}', { ...JOB, a: '1' }],
    ['an invalid line is not filtered: it gets __error__', '| json', 'INFO GET / loki.net 200', { ...JOB, __error__: 'JSONParserErr', __error_details__: 'Value is not an object' }],
    ['errors can be filtered with a label filter', '| json | __error__ != "JSONParserErr"', 'INFO GET / loki.net 200', 'dropped'],
    // Loki sets a label for every expression ("Ensure there's a label for every value")
    ['an expression that finds nothing gives an empty label', '| json missing="nope.x"', '{"a": 1}', { ...JOB, missing: '' }],
  ];
  it.each(cases)('%s', (_name, pipeline, line, want) => {
    const out = run(`{job="varlogs"} ${pipeline}`, JOB, line);
    if (want === 'dropped') expect(out).toBeUndefined();
    else expect(out?.labels).toEqual(want);
  });
});

describe('logfmt parser', () => {
  const line = 'at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" service=8ms status=200';
  const cases: [string, string, string, Record<string, string>][] = [
    ['docs example', '| logfmt', line, { ...JOB, at: 'info', method: 'GET', path: '/', host: 'grafana.net', fwd: '124.133.124.161', service: '8ms', status: '200' }],
    ['with parameters: only the requested keys, renamed', '| logfmt host, fwd_ip="fwd"', line, { ...JOB, host: 'grafana.net', fwd_ip: '124.133.124.161' }],
    ['non-strict skips a bad pair and continues', '| logfmt', 'a=1 foo=bar=buzz b=2', { ...JOB, a: '1', b: '2' }],
    ['--strict stops at the first bad pair with an error', '| logfmt --strict', 'a=1 foo=bar=buzz b=2', { ...JOB, a: '1', __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 12 : unexpected '='" }],
    ['--strict: a pair without a key', '| logfmt --strict', '=value', { ...JOB, __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 1 : unexpected '='" }],
    ['--strict: a quote in a key', '| logfmt --strict', 'fo"o=bar', { ...JOB, __error__: 'LogfmtParserErr', __error_details__: 'logfmt syntax error at pos 3 : unexpected \'"\'' }],
    ['standalone keys and empty values are dropped by default', '| logfmt', 'a=1 standalone b=', { ...JOB, a: '1' }],
    ['--keep-empty keeps them as empty labels', '| logfmt --keep-empty', 'a=1 standalone b=', { ...JOB, a: '1', standalone: '', b: '' }],
    ['quoted values with escapes', '| logfmt', 'msg="hello \\"world\\"" x=1', { ...JOB, msg: 'hello "world"', x: '1' }],
    ['a stream label collision gets _extracted', '| logfmt', 'job=x level=warn', { job: 'varlogs', job_extracted: 'x', level: 'warn' }],
    ['first value wins for a repeated key', '| logfmt', 'a=1 a=2', { ...JOB, a: '1' }],
  ];
  it.each(cases)('%s', (_name, pipeline, l, want) => {
    expect(run(`{job="varlogs"} ${pipeline}`, JOB, l)?.labels).toEqual(want);
  });
});

describe('pattern, regexp and unpack parsers', () => {
  it('pattern: docs NGINX example', () => {
    const line = '0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] "GET /api/plugins/versioncheck HTTP/1.1" 200 2 "-" "Go-http-client/2.0" "13.76.247.102, 34.120.177.193" "TLSv1.2" "US" ""';
    const out = run('{job="varlogs"} | pattern `<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>`', JOB, line);
    expect(out?.labels).toEqual({ ...JOB, ip: '0.191.12.2', method: 'GET', uri: '/api/plugins/versioncheck', status: '200', size: '2', agent: 'Go-http-client/2.0' });
  });
  it('pattern: <_> at the start un-anchors the expression', () => {
    const line = 'level=debug ts=2021-06-10T09:24:13.472094048Z caller=logging.go:66 traceID=0568b66ad2d9294c msg="POST /loki/api/v1/push (204) 16.652862ms"';
    expect(run('{job="varlogs"} | pattern `<_> msg="<method> <path> (<status>) <latency>"`', JOB, line)?.labels).toEqual({ ...JOB, method: 'POST', path: '/loki/api/v1/push', status: '204', latency: '16.652862ms' });
  });
  it('pattern: a leading literal must match the line start', () => {
    expect(run('{job="varlogs"} | pattern `GET <path>`', JOB, 'POST /x')?.labels).toEqual(JOB);
  });
  it('regexp: docs example', () => {
    const out = run('{job="varlogs"} | regexp "(?P<method>\\\\w+) (?P<path>[\\\\w|/]+) \\\\((?P<status>\\\\d+?)\\\\) (?P<duration>.*)"', JOB, 'POST /api/prom/api/v1/query_range (200) 1.5s');
    expect(out?.labels).toEqual({ ...JOB, method: 'POST', path: '/api/prom/api/v1/query_range', status: '200', duration: '1.5s' });
  });
  it('regexp: no match adds nothing and keeps the line', () => {
    expect(run('{job="varlogs"} | regexp "(?P<n>\\\\d+)"', JOB, 'no digits')).toEqual({ line: 'no digits', labels: JOB });
  });
  it('unpack: labels from the packed object, _entry becomes the line', () => {
    const out = run('{job="varlogs"} | unpack', JOB, '{"container":"myapp","pod":"pod-3223f","_entry":"original log message"}');
    expect(out).toEqual({ line: 'original log message', labels: { ...JOB, container: 'myapp', pod: 'pod-3223f' } });
  });
  it('unpack then json parses the original line', () => {
    const out = run('{job="varlogs"} | unpack | json', JOB, '{"pod":"p1","_entry":"{\\"level\\":\\"warn\\"}"}');
    expect(out?.labels).toEqual({ ...JOB, pod: 'p1', level: 'warn' });
  });
});

describe('line filters', () => {
  const cases: [string, string, boolean][] = [
    ['|= "error" != "timeout"', 'an error happened', true],
    ['|= "error" != "timeout"', 'error: timeout', false],
    ['|~ "tsdb-ops.*io:2003"', 'x tsdb-ops-1.io:2003 y', true],
    ['|~ `error=\\w+`', 'error=disk', true],
    ['|~ `error=\\w+`', 'error=', false],
    ['|~ "(?i)ERROR"', 'an error', true],
    ['|= "a" or "b"', 'only b here', true],
    ['|= "a" or "b"', 'nothing', false],
    // `!= "x" or "y"` excludes lines with either (Loki rewrites it to != "x" != "y")
    ['!= "x" or "y"', 'has y', false],
    ['!= "x" or "y"', 'none', true],
    ['!~ "^INFO"', 'INFO x', false],
    ['|= ip("3.180.71.3")', '93.180.71.3 - - [17/May/2015:08:05:26 +0000] "GET"', false],
    ['|= ip("3.180.71.3")', '3.180.71.3 - - [17/May/2015:08:05:32 +0000] "GET"', true],
    ['|= ip("192.168.4.5/16")', 'from 192.168.200.1 ok', true],
    ['!= ip("192.168.4.5-192.168.4.20")', 'from 192.168.4.10', false],
    ['|= ip("2001:db8::/32")', 'peer 2001:db8:0:1::5 connected', true],
  ];
  it.each(cases)('%s on %j -> %s', (filter, line, keep) => {
    expect(run(`{job="varlogs"} ${filter}`, JOB, line) !== undefined).toBe(keep);
  });

  const pushLines = [
    'ts=2024-04-05T08:40:13.585911094Z caller=http.go:194 level=debug traceID=23e54a271db607cc orgID=3648 msg="POST /push.v1.PusherService/Push (200) 12.684035ms"',
    'ts=2024-04-05T08:41:06.551403339Z caller=http.go:194 level=debug traceID=54325a1a15b42e2d orgID=1218 msg="POST /push.v1.PusherService/Push (200) 1.664285ms"',
  ];
  it.each(pushLines)('pattern filter |> and !> (docs example) on %s', (line) => {
    const p = '`<_> caller=http.go:194 level=debug <_> msg="POST /push.v1.PusherService/Push <_>`';
    expect(run(`{job="varlogs"} |> ${p}`, JOB, line)).toBeDefined();
    expect(run(`{job="varlogs"} !> ${p}`, JOB, line)).toBeUndefined();
  });
  it.each([
    ['<_> bar', 'foo bar baz', false],
    ['<_> baz', 'foo bar baz', true],
    ['foo <_>', 'foo bar baz', true],
    ['<_> bar <_>', ' bar ', false],
    ['<_>bar<_>', ' bar ', true],
  ])('pattern filter %j on %j -> %s (a capture must not be empty)', (p, line, keep) => {
    expect(run(`{job="varlogs"} |> "${p}"`, JOB, line) !== undefined).toBe(keep);
  });
  it('decolorize strips ANSI colour codes', () => {
    expect(run('{job="varlogs"} | decolorize', JOB, '\u001b[31mred\u001b[0m text')?.line).toBe('red text');
  });
});

describe('label filters', () => {
  const labels = { ...JOB };
  const lf = (expr: string, line: string): Out | undefined => run(`{job="varlogs"} | logfmt | ${expr}`, labels, line);
  it.each([
    // docs: `and` before `or`; comma and space are `and`
    ['duration >= 20ms or size == 20KB and method!~"2.."', 'duration=10ms size=20KB method=GET', true],
    ['duration >= 20ms or size == 20KB and method!~"2.."', 'duration=10ms size=20KB method=200', false],
    ['duration >= 20ms or size == 20KB , method!~"2.."', 'duration=30ms size=1KB method=200', true],
    ['duration >= 20ms or size == 20KB  method!~"2.."', 'duration=10ms size=20KB method=GET', true],
    ['(duration >= 20ms or size == 20KB) and method!~"2.."', 'duration=30ms size=1KB method=200', false],
    ['duration > 1m and bytes_consumed > 20MB', 'duration=90s bytes_consumed=25MB', true],
    ['duration > 1m and bytes_consumed > 20MB', 'duration=90s bytes_consumed=1.5MiB', false],
    ['status >= 500', 'status=503', true],
    ['status == 200', 'status=200.0', true],
    ['status != 200', 'status=404', true],
    ['status < 300', 'status=404', false],
    ['cluster="namespace"', 'cluster=namespace', true],
    ['cluster=~"name.*"', 'cluster=namespace', true],
    ['cluster!~"name.*"', 'cluster=namespace', false],
    ['addr = ip("192.168.4.5/16") | addr != ip("192.168.4.2")', 'addr=192.168.4.2', false],
    ['addr = ip("192.168.4.5/16") | addr != ip("192.168.4.2")', 'addr=192.168.7.9', true],
    ['addr = ip("192.168.4.0/24") or addr = ip("10.10.15.0/24")', 'addr=10.10.15.3', true],
    ['remote_addr = ip("2001:db8::1-2001:db8::8")', 'remote_addr=2001:db8::4', true],
  ])('%s on %j -> %s', (expr, line, keep) => {
    expect(lf(expr, line) !== undefined).toBe(keep);
  });
  it('a numeric filter on a missing label drops the line', () => {
    expect(lf('status > 200', 'other=1')).toBeUndefined();
  });
  it('a value that does not convert keeps the line with __error__=LabelFilterErr', () => {
    expect(lf('status > 200', 'status=abc')?.labels).toEqual({ ...JOB, status: 'abc', __error__: 'LabelFilterErr', __error_details__: 'strconv.ParseFloat: parsing "abc": invalid syntax' });
    expect(lf('latency > 1s', 'latency=fast')?.labels.__error__).toBe('LabelFilterErr');
    expect(lf('size > 1KB', 'size=big')?.labels.__error__).toBe('LabelFilterErr');
  });
  it('only string filters read __error__', () => {
    expect(lf('status > 200 | __error__=""', 'status=abc')).toBeUndefined();
    expect(run('{job="varlogs"} | json | __error__ > 0', JOB, 'not json')).toBeUndefined();
  });
  it('a string filter on a missing label compares with ""', () => {
    expect(lf('missing=""', 'a=1')).toBeDefined();
    expect(lf('missing!=""', 'a=1')).toBeUndefined();
  });
  it('an ip() label filter keeps lines that already carry __error__', () => {
    expect(run('{job="varlogs"} | json | addr = ip("10.0.0.0/8")', JOB, 'plain text')).toBeDefined();
  });
});

describe('formatting and label stages', () => {
  it('line_format with math (docs: div .duration 1000)', () => {
    expect(run('{job="varlogs"} | logfmt | line_format "{{.ip}} {{.status}} {{div .duration 1000}}"', JOB, 'ip=1.1.1.1 status=200 duration=3000')?.line).toBe('1.1.1.1 200 3');
  });
  it('line_format sees __line__ and __timestamp__', () => {
    expect(run('{job="varlogs"} | line_format `{{ __line__ | upper }} {{ __timestamp__ | unixEpoch }}`', JOB, 'abc')?.line).toBe('ABC 1700000000');
  });
  it('line_format: a missing label renders empty', () => {
    expect(run('{job="varlogs"} | line_format "[{{.nope}}]"', JOB, 'x')?.line).toBe('[]');
  });
  it('line_format: an execution error keeps the line and sets TemplateFormatErr', () => {
    const out = run('{job="varlogs"} | logfmt | line_format "{{div .a .b}}"', JOB, 'a=1 b=0');
    expect(out?.line).toBe('a=1 b=0');
    expect(out?.labels.__error__).toBe('TemplateFormatErr');
  });
  it('label_format: dst=src renames (src is dropped)', () => {
    expect(run('{job="varlogs"} | logfmt | label_format dst=src', JOB, 'src=v')?.labels).toEqual({ ...JOB, dst: 'v' });
  });
  it('label_format: a template keeps the labels it reads', () => {
    expect(run('{job="varlogs"} | logfmt | label_format dst="{{.src}}-{{.status}}"', JOB, 'src=v status=200')?.labels).toEqual({ ...JOB, src: 'v', status: '200', dst: 'v-200' });
  });
  it('label_format can overwrite a stream label', () => {
    expect(run('{job="varlogs"} | label_format job="new"', JOB, 'x')?.labels).toEqual({ job: 'new' });
  });
  it('drop (docs): names and a matcher', () => {
    const line = '{"level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}';
    expect(run('{job="varlogs"} | json | drop level, method="GET"', JOB, line)?.labels).toEqual({ ...JOB, host: 'grafana.net', path: '/', status: '200' });
  });
  it('drop (docs): a regex matcher drops only when it matches', () => {
    const a = '{"app": "some-api-service", "level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}';
    const b = '{"app": "other-service", "level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}';
    const q = '{job="varlogs"} | json | drop level, path, app=~"some-api.*"';
    expect(run(q, JOB, a)?.labels).toEqual({ host: 'grafana.net', job: 'varlogs', method: 'GET', status: '200' });
    expect(run(q, JOB, b)?.labels).toEqual({ app: 'other-service', host: 'grafana.net', job: 'varlogs', method: 'GET', status: '200' });
  });
  it('drop __error__ / __error_details__ removes the error labels', () => {
    expect(run('{job="varlogs"} | json | drop __error__, __error_details__', JOB, 'INFO GET / loki.net 200')?.labels).toEqual(JOB);
  });
  it('keep (docs): only listed labels, a matcher must match', () => {
    const a = '{"level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}';
    const b = '{"level": "info", "method": "POST", "path": "/", "host": "grafana.net", "status": "200"}';
    const q = '{job="varlogs"} | json | keep level, method="GET"';
    expect(run(q, JOB, a)?.labels).toEqual({ level: 'info', method: 'GET' });
    expect(run(q, JOB, b)?.labels).toEqual({ level: 'info' });
  });
  it('keep does not drop __error__', () => {
    expect(run('{job="varlogs"} | json | keep level', JOB, 'text')?.labels).toEqual({ __error__: 'JSONParserErr', __error_details__: 'Value is not an object' });
  });
});

describe('label categories', () => {
  it('structured metadata shows with the labels and wins over a stream label of the same name', () => {
    expect(run('{job="varlogs"}', { job: 'varlogs', env: 'a' }, 'x', { env: 'b', trace_id: 't1' })?.labels).toEqual({ job: 'varlogs', env: 'b', trace_id: 't1' });
  });
  it('a parser key equal to a metadata name gets _extracted', () => {
    expect(run('{job="varlogs"} | logfmt', JOB, 'trace_id=zzz', { trace_id: 't1' })?.labels).toEqual({ ...JOB, trace_id: 't1', trace_id_extracted: 'zzz' });
  });
  it('a later parser does not overwrite what an earlier one extracted', () => {
    expect(run('{job="varlogs"} | json | regexp "level=(?P<level>\\\\w+)"', JOB, '{"level":"info","m":"level=warn"}')?.labels.level).toBe('info');
  });
});
