// The collector's scrape building blocks, table-driven: exposition parsing
// (text format and OpenMetrics), relabeling, target label building, scrape
// config validation.
import { describe, it, expect } from 'vitest';
import { parseExposition, parseSeriesLabels, parseGoFloat } from '../collector/scrape/exposition.ts';
import { compileRelabelConfigs, expandTemplate, hashMod, relabel } from '../collector/scrape/relabel.ts';
import { parseScrapeConfigs } from '../collector/scrape/config.ts';
import { formatPromDuration, targetsFromGroup } from '../collector/scrape/target.ts';

function samplesOf(text: string, format: 'prometheus' | 'openmetrics' = 'prometheus') {
  const r = parseExposition(text, format);
  if (!r.ok) throw new Error(r.error);
  return r.value.samples.map((s) => {
    const l = parseSeriesLabels(r.value.text, s.labelsAt, format);
    return { name: s.name, labels: Object.fromEntries(l.names.map((n, i) => [n, l.values[i]])), value: s.value, ts: s.timestampMs, ...(s.exemplar ? { exemplar: s.exemplar } : {}) };
  });
}

describe('exposition parser', () => {
  it.each([
    ['plain', 'up 1\n', [{ name: 'up', labels: {}, value: 1, ts: undefined }]],
    ['labels, escapes, trailing comma, spaces', 'a{x="1",y="q\\"uo\\\\te\\n",} 2.5 1700000000000\n', [{ name: 'a', labels: { x: '1', y: 'q"uo\\te\n' }, value: 2.5, ts: 1700000000000 }]],
    ['blank lines, comments, indentation, CRLF', '\n# just a comment\n  b{ z = "v" }   -1e3  \r\nc 0\n', [{ name: 'b', labels: { z: 'v' }, value: -1000, ts: undefined }, { name: 'c', labels: {}, value: 0, ts: undefined }]],
    ['special values', 'n NaN\np +Inf\nm -Inf\nq Inf\n', [{ name: 'n', labels: {}, value: NaN, ts: undefined }, { name: 'p', labels: {}, value: Infinity, ts: undefined }, { name: 'm', labels: {}, value: -Infinity, ts: undefined }, { name: 'q', labels: {}, value: Infinity, ts: undefined }]],
    ['colons in names, no final newline', 'job:rate:sum{a="b"} 7', [{ name: 'job:rate:sum', labels: { a: 'b' }, value: 7, ts: undefined }]],
  ])('text format: %s', (_, text, want) => {
    expect(samplesOf(text)).toEqual(want);
  });

  it('keeps TYPE and HELP per family', () => {
    const r = parseExposition('# HELP http_requests_total The total.\\nSecond line.\n# TYPE http_requests_total counter\nhttp_requests_total 3\n# TYPE x untyped\n', 'prometheus');
    if (!r.ok) throw new Error(r.error);
    expect(r.value.families.get('http_requests_total')).toEqual({ type: 'counter', help: 'The total.\nSecond line.', unit: '' });
    expect(r.value.families.get('x')?.type).toBe('untyped');
  });

  it.each([
    ['bad value', 'a one\n', /invalid value/],
    ['unterminated label value', 'a{b="c} 1\n', /unterminated|expected/],
    ['bad label name', 'a{1b="c"} 1\n', /label name/],
    ['duplicate label', 'a{b="1",b="2"} 1\n', /duplicate label/],
    ['bad escape', 'a{b="\\t"} 1\n', /invalid escape/],
    ['junk after the timestamp', 'a 1 2 3\n', /unexpected/],
    ['bad type', '# TYPE a countr\n', /invalid metric type/],
    ['float timestamp in the text format', 'a 1 1.5\n', /invalid timestamp/],
  ])('text format rejects %s', (_, text, re) => {
    const r = parseExposition(text, 'prometheus');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(re);
  });

  it('OpenMetrics: counters with _total/_created, units, exemplars, float second timestamps, # EOF', () => {
    const text = [
      '# TYPE foo counter',
      '# UNIT foo seconds',
      '# HELP foo Foo "quoted" help.',
      'foo_total{a="b"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67 1520879602.890',
      'foo_created{a="b"} 1520430000.123',
      '# TYPE build info',
      'build_info{version="1.0"} 1',
      '# EOF',
      '',
    ].join('\n');
    const r = parseExposition(text, 'openmetrics');
    if (!r.ok) throw new Error(r.error);
    expect(r.value.families.get('foo')).toEqual({ type: 'counter', unit: 'seconds', help: 'Foo "quoted" help.' });
    expect(samplesOf(text, 'openmetrics')).toEqual([
      { name: 'foo_total', labels: { a: 'b' }, value: 17, ts: 1520879607789, exemplar: { labels: { names: ['trace_id'], values: ['KOO5S4vxi0o'] }, value: 0.67, timestampMs: 1520879602890 } },
      { name: 'foo_created', labels: { a: 'b' }, value: 1520430000.123, ts: undefined },
      { name: 'build_info', labels: { version: '1.0' }, value: 1, ts: undefined },
    ]);
  });

  it.each([
    ['no # EOF', 'a 1\n', /# EOF/],
    ['content after # EOF', 'a 1\n# EOF\nb 2\n', /after # EOF/],
    ['a plain comment', '# hello\na 1\n# EOF\n', /invalid comment/],
    ['an empty line', 'a 1\n\n# EOF\n', /empty line/],
  ])('OpenMetrics rejects %s', (_, text, re) => {
    const r = parseExposition(text, 'openmetrics');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(re);
  });

  it('reads floats as Go does', () => {
    expect(parseGoFloat('1e-3')).toBe(0.001);
    expect(parseGoFloat('.5')).toBe(0.5);
    expect(parseGoFloat('5.')).toBe(5);
    expect(parseGoFloat('0x1F')).toBe(31);
    expect(parseGoFloat('-Infinity')).toBe(-Infinity);
    expect(parseGoFloat('')).toBeUndefined();
    expect(parseGoFloat('1_000')).toBeUndefined();
  });
});

function run(rules: unknown[], labels: Record<string, string>): Record<string, string> | null {
  const lb = new Map(Object.entries(labels));
  if (!relabel(lb, compileRelabelConfigs(rules, 'test'))) return null;
  return Object.fromEntries([...lb].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

describe('relabeling', () => {
  it.each([
    ['replace with defaults copies', [{ source_labels: ['a'], target_label: 'b' }], { a: 'x' }, { a: 'x', b: 'x' }],
    ['replace with groups and ${n}', [{ source_labels: ['a', 'c'], regex: '(.*);(.*)', target_label: 'b', replacement: '${2}-$1' }], { a: 'x', c: 'y' }, { a: 'x', b: 'y-x', c: 'y' }],
    ['replace is anchored: no match, no change', [{ source_labels: ['a'], regex: 'x', target_label: 'b' }], { a: 'xx' }, { a: 'xx' }],
    ['replace to empty deletes', [{ source_labels: ['missing'], target_label: 'a', replacement: '' }], { a: 'x' }, {}],
    ['replace with a templated target', [{ source_labels: ['a'], regex: '(.*)', target_label: 'lbl_$1', replacement: 'v' }], { a: 'x' }, { a: 'x', lbl_x: 'v' }],
    ['replace: $1x is the group named "1x" (Go)', [{ source_labels: ['a'], target_label: 'b', replacement: '$1x' }], { a: 'q' }, { a: 'q' }],
    ['replace: $$ is a dollar', [{ source_labels: ['a'], target_label: 'b', replacement: '$$$1' }], { a: 'q' }, { a: 'q', b: '$q' }],
    ['keep', [{ source_labels: ['a'], regex: 'x|y', action: 'keep' }], { a: 'y' }, { a: 'y' }],
    ['keep drops a non-match', [{ source_labels: ['a'], regex: 'x', action: 'keep' }], { a: 'y' }, null],
    ['drop', [{ source_labels: ['a', 'b'], separator: '/', regex: 'x/y', action: 'drop' }], { a: 'x', b: 'y' }, null],
    ['drop keeps a non-match', [{ source_labels: ['a'], regex: 'x', action: 'drop' }], { a: 'y' }, { a: 'y' }],
    ['labeldrop', [{ regex: 'tmp_.*', action: 'labeldrop' }], { tmp_a: '1', tmp_b: '2', keep: '3' }, { keep: '3' }],
    ['labelkeep', [{ regex: 'keep|__name__', action: 'labelkeep' }], { __name__: 'm', tmp: '1', keep: '3' }, { __name__: 'm', keep: '3' }],
    ['labelmap', [{ regex: '__meta_(.+)', action: 'labelmap', replacement: 'm_$1' }], { __meta_a: '1', b: '2' }, { __meta_a: '1', b: '2', m_a: '1' }],
    ['lowercase / uppercase', [{ source_labels: ['a'], target_label: 'lo', action: 'lowercase' }, { source_labels: ['a'], target_label: 'up', action: 'uppercase' }], { a: 'MiX' }, { a: 'MiX', lo: 'mix', up: 'MIX' }],
    ['keepequal / dropequal', [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }], { a: '1', b: '1' }, { a: '1', b: '1' }],
    ['dropequal drops', [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }], { a: '1', b: '1' }, null],
    ['(?i) flag and named groups', [{ source_labels: ['a'], regex: '(?i)(?P<w>AB)c', target_label: 'b', replacement: '${w}' }], { a: 'abC' }, { a: 'abC', b: 'ab' }],
  ])('%s', (_, rules, input, want) => {
    expect(run(rules, input)).toEqual(want);
  });

  it('hashmod matches Prometheus (md5, last 8 bytes, big-endian)', () => {
    // md5("127.0.0.1:9100") = ...; the same value Prometheus computes (see the scrape conformance test)
    const v = hashMod('127.0.0.1:9100', 1_000_000);
    expect(Number(v)).toBeGreaterThanOrEqual(0);
    expect(Number(v)).toBeLessThan(1_000_000);
    expect(run([{ source_labels: ['__address__'], target_label: 'shard', modulus: 8, action: 'hashmod' }], { __address__: 'a' })).toEqual({ __address__: 'a', shard: String(BigInt('0x' + '0cc175b9c0f1b6a831c399e269772661'.slice(16)) % 8n) });
  });

  it('expands like Go', () => {
    const m = /^(?:(a)(?<n>b))$/.exec('ab') as RegExpExecArray;
    expect(expandTemplate('$1-${n}-$n-${2}-$9-$', m)).toBe('a-b-b-b--$');
  });

  it.each([
    [{ action: 'nope' }, /unknown relabel action/],
    [{ action: 'replace', target_label: '' }, /requires 'target_label'/],
    [{ action: 'hashmod', target_label: 'x' }, /non-zero modulus/],
    [{ action: 'labeldrop', regex: 'x', source_labels: ['a'] }, /requires only 'regex'/],
    [{ regex: '(' }, /invalid regex/],
    [{ source_labels: ['bad-name'], target_label: 'x' }, /not a valid label name/],
  ])('rejects %j', (rule, re) => {
    expect(() => compileRelabelConfigs([rule], 'rc')).toThrow(re);
  });
});

describe('scrape config and targets', () => {
  const yaml = `
global: { scrape_interval: 15s, scrape_timeout: 20s }
scrape_configs:
  - job_name: node
    scrape_interval: 5s
    params: { module: [http_2xx] }
    static_configs:
      - targets: ['host-a', 'host-b:9100']
        labels: { env: prod }
    relabel_configs:
      - { source_labels: [__address__], regex: 'host-b.*', action: drop }
      - { source_labels: [__param_module], target_label: module }
`;
  it('fills defaults as Prometheus does and builds the scrape URL', () => {
    const [cfg] = parseScrapeConfigs(yaml);
    if (!cfg) throw new Error('no config');
    expect(cfg.intervalMs).toBe(5000);
    expect(cfg.timeoutMs).toBe(5000); // the global 20s is capped by the job's interval
    const r = targetsFromGroup(cfg, cfg.staticConfigs[0] as (typeof cfg.staticConfigs)[number]);
    expect(r.errors).toEqual([]);
    expect(r.dropped).toHaveLength(1);
    expect(r.active).toHaveLength(1);
    const t = r.active[0];
    expect(t?.url).toBe('http://host-a:80/metrics?module=http_2xx');
    expect(t?.labels).toEqual({ names: ['env', 'instance', 'job', 'module'], values: ['prod', 'host-a:80', 'node', 'http_2xx'] });
    expect(t?.discoveredLabels).toEqual({ __address__: 'host-a', __metrics_path__: '/metrics', __param_module: 'http_2xx', __scheme__: 'http', __scrape_interval__: '5s', __scrape_timeout__: '5s', env: 'prod', job: 'node' });
  });

  it.each([
    ['scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs: []\n', /kubernetes_sd_configs is not supported/],
    ['scrape_configs:\n  - job_name: a\n  - job_name: a\n', /multiple scrape configs/],
    ['scrape_configs:\n  - job_name: a\n    scrape_interval: 1s\n    scrape_timeout: 2s\n', /timeout greater than scrape interval/],
    ['scrape_configs:\n  - job_name: a\n    scrape_interval: often\n', /invalid duration/],
    ['scrape_configs:\n  - {}\n', /job_name is required/],
    ['scrape_configs: [: bad', /not valid YAML/],
  ])('rejects %j', (text, re) => {
    expect(() => parseScrapeConfigs(text)).toThrow(re);
  });

  it('formats durations as Prometheus', () => {
    expect([1000, 60_000, 90_000, 500, 3_600_000, 86_400_000 * 8].map(formatPromDuration)).toEqual(['1s', '1m', '1m30s', '500ms', '1h', '1w1d']);
  });
});
