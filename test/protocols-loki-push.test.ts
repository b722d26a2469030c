// Loki push decoding (JSON and protobuf), the label-string parser and the
// protobuf encoder. The hand-assembled protobuf case builds its bytes here
// with its own helpers so encoder and decoder cannot share a bug silently.
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { labelsToRecord } from '../core/index.ts';
import { decodeLokiPush, decompress, encodeLokiPushProto, formatLokiLabels, lokiPushFormat, parseLokiLabels, snappyCompress, type LogsBatch } from '../protocols/index.ts';

function varint(n: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
const ld = (field: number, payload: number[]): number[] => [...tag(field, 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string): number[] => ld(field, [...Buffer.from(s, 'utf8')]);
const vint = (field: number, n: bigint | number): number[] => [...tag(field, 0), ...varint(n)];
const bytes = (...parts: number[][]): Uint8Array => new Uint8Array(parts.flat());
const json = (v: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(v)));

function ok<T>(r: { ok: true; value: T } | { ok: false; status: number; message: string }): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.status}: ${r.message}`);
  return r.value;
}

/** Records as plain data. */
function records(b: LogsBatch): { stream: Record<string, string>; ts: string; line: string; severity: string; metadata: Record<string, string> }[] {
  const out = [];
  for (let i = 0; i < b.recordCount; i++) {
    out.push({
      stream: labelsToRecord(b.streams[b.recordStream[i] as number]!.labels),
      ts: (b.timestampsNs[i] as bigint).toString(),
      line: b.bodies[i] as string,
      severity: b.severities[i] as string,
      metadata: labelsToRecord(b.metadata[i]!),
    });
  }
  return out;
}

describe('Loki push JSON', () => {
  it('decodes streams, entries, structured metadata and severity', () => {
    const body = json({
      streams: [
        {
          stream: { job: 'api', level: 'warn' },
          values: [
            ['1700000000000000001', 'first line'],
            ['1700000000000000002', 'second line', { trace_id: '0af7651916cd43dd8448eb211c80319c', detected_level: 'error' }],
          ],
        },
        { stream: { job: 'worker' }, values: [['1700000001000000000', 'no level', { user: 'ada' }]] },
      ],
    });
    const b = ok(decodeLokiPush(body, 'application/json'));
    expect(records(b)).toEqual([
      { stream: { job: 'api', level: 'warn' }, ts: '1700000000000000001', line: 'first line', severity: 'warn', metadata: {} },
      { stream: { job: 'api', level: 'warn' }, ts: '1700000000000000002', line: 'second line', severity: 'error', metadata: { detected_level: 'error', trace_id: '0af7651916cd43dd8448eb211c80319c' } },
      { stream: { job: 'worker' }, ts: '1700000001000000000', line: 'no level', severity: '', metadata: { user: 'ada' } },
    ]);
    expect(b.streams).toHaveLength(2);
    expect(b.metadata[1]!.names).toEqual(['detected_level', 'trace_id']); // name-sorted
    expect(b.traceIds).toEqual(['', '', '']);
    expect(b.spanIds).toEqual(['', '', '']);
    expect(b.rejected).toEqual([]);
  });

  it('keeps good streams and entries when one stream has bad labels or an entry a bad timestamp', () => {
    const body = json({
      streams: [
        { stream: {}, values: [['1', 'no labels'], ['2', 'no labels']] },
        { stream: { 'bad-name': 'x' }, values: [['1', 'bad name']] },
        { stream: { job: '' }, values: [['1', 'empty value']] },
        { stream: { job: 5 }, values: [['1', 'number value']] },
        { stream: { job: 'ok' }, values: [['1700000000000000000', 'kept'], ['yesterday', 'bad ts'], ['-5', 'negative'], ['99999999999999999999', 'too big'], [1_700_000_000_000, 'exact number'], [1.7e18, 'inexact number']] },
      ],
    });
    const b = ok(decodeLokiPush(body, 'application/json; charset=utf-8'));
    expect(records(b).map((r) => [r.line, r.ts])).toEqual([
      ['kept', '1700000000000000000'],
      ['exact number', '1700000000000'],
    ]);
    const reasons = b.rejected.map((r) => [r.reason, r.count]);
    expect(reasons).toEqual([
      ['stream 0: a stream needs at least one label', 2],
      ['stream 1: invalid label name "bad-name"', 1],
      ['stream 2: label "job" has an empty value', 1],
      ['stream 3: label "job" must have a string value', 1],
      [expect.stringMatching(/^stream \{job="ok"\}: invalid timestamp "yesterday"/), 1],
      [expect.stringMatching(/invalid timestamp "-5"/), 1],
      [expect.stringMatching(/invalid timestamp "99999999999999999999"/), 1],
      [expect.stringMatching(/not exact as a JSON number/), 1],
    ]);
  });

  const malformed: [string, string][] = [
    ['not JSON', '{"streams": ['],
    ['not an object', '[1,2]'],
    ['no streams', '{"data":[]}'],
    ['a stream that is not an object', '{"streams":[5]}'],
    ['values not an array', '{"streams":[{"stream":{"a":"b"},"values":{}}]}'],
    ['an entry with one element', '{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}'],
    ['a line that is not a string', '{"streams":[{"stream":{"a":"b"},"values":[["1", 5]]}]}'],
    ['metadata values that are not strings', '{"streams":[{"stream":{"a":"b"},"values":[["1", "x", {"k": 1}]]}]}'],
  ];
  for (const [name, body] of malformed) {
    it(`answers 400 to ${name}`, () => {
      expect(decodeLokiPush(new Uint8Array(Buffer.from(body)), 'application/json')).toMatchObject({ ok: false, status: 400 });
    });
  }

  it('decodes gzip-compressed JSON after capped decompression', async () => {
    const plain = json({ streams: [{ stream: { app: 'x' }, values: [['1700000000000000000', 'zipped']] }] });
    const raw = ok(await decompress(gzipSync(plain), 'gzip', 1 << 20));
    expect(records(ok(decodeLokiPush(raw, 'application/json'))).map((r) => r.line)).toEqual(['zipped']);
    expect(await decompress(gzipSync(plain), 'gzip', 10)).toMatchObject({ ok: false, status: 413 });
  });
});

describe('Loki push protobuf', () => {
  // PushRequest{ streams=1 StreamAdapter{ labels=1, entries=2 EntryAdapter{ timestamp=1 {seconds=1, nanos=2}, line=2, structuredMetadata=3 {name=1, value=2} } } }
  const labelString = '{app="shop", msg="say \\"hi\\"\\\\n", path="C:\\\\tmp"}';
  const hand = bytes(
    ld(1, [
      ...str(1, labelString),
      ...ld(2, [...ld(1, [...vint(1, 1_700_000_000), ...vint(2, 123_456_789)]), ...str(2, 'GET /cart 200'), ...ld(3, [...str(1, 'trace_id'), ...str(2, 'abc')]), ...ld(3, [...str(1, 'level'), ...str(2, 'info')])]),
      ...ld(2, [...ld(1, [...vint(1, 1_700_000_001)]), ...str(2, 'ünïcödé ✓')]),
      ...vint(3, 12345), // hash: ignored
    ]),
    str(2, 'loki'), // format: ignored
  );

  it('decodes a hand-assembled PushRequest field by field', () => {
    const b = ok(decodeLokiPush(hand, 'application/x-protobuf'));
    expect(b.streams).toHaveLength(1);
    expect(b.streams[0]!.labels).toEqual({ names: ['app', 'msg', 'path'], values: ['shop', 'say "hi"\\n', 'C:\\tmp'] });
    expect(records(b)).toEqual([
      { stream: { app: 'shop', msg: 'say "hi"\\n', path: 'C:\\tmp' }, ts: '1700000000123456789', line: 'GET /cart 200', severity: 'info', metadata: { level: 'info', trace_id: 'abc' } },
      { stream: { app: 'shop', msg: 'say "hi"\\n', path: 'C:\\tmp' }, ts: '1700000001000000000', line: 'ünïcödé ✓', severity: '', metadata: {} },
    ]);
  });

  it('the encoder produces the same stream and entries as the hand-assembled bytes', () => {
    const enc = encodeLokiPushProto([
      {
        labels: { app: 'shop', msg: 'say "hi"\\n', path: 'C:\\tmp' },
        entries: [
          { timestampNs: 1_700_000_000_123_456_789n, line: 'GET /cart 200', metadata: { trace_id: 'abc', level: 'info' } },
          { timestampNs: 1_700_000_001_000_000_000n, line: 'ünïcödé ✓' },
        ],
      },
    ]);
    expect(records(ok(decodeLokiPush(enc, undefined)))).toEqual(records(ok(decodeLokiPush(hand, 'application/x-protobuf'))));
    // field by field: the encoder's entries are the hand-assembled ones (metadata name-sorted)
    const entry1 = ld(2, [...ld(1, [...vint(1, 1_700_000_000), ...vint(2, 123_456_789)]), ...str(2, 'GET /cart 200'), ...ld(3, [...str(1, 'level'), ...str(2, 'info')]), ...ld(3, [...str(1, 'trace_id'), ...str(2, 'abc')])]);
    expect(Buffer.from(enc).includes(Buffer.from(entry1))).toBe(true);
  });

  it('round-trips label values with escapes and unicode through snappy', async () => {
    const labels = { a: 'quote " backslash \\ newline \n tab \t', b: 'emoji 🚀 and 東京', c: 'ctrl \u0001 del \u007f' };
    const enc = encodeLokiPushProto([{ labels, entries: [{ timestampNs: 1n, line: 'x' }, { timestampNs: 9_223_372_036_854_775_807n, line: 'max' }] }]);
    const raw = ok(await decompress(await snappyCompress(enc), 'snappy', 1 << 20));
    const b = ok(decodeLokiPush(raw, 'application/x-protobuf'));
    expect(labelsToRecord(b.streams[0]!.labels)).toEqual(labels);
    expect([...b.timestampsNs]).toEqual([1n, 9_223_372_036_854_775_807n]);
  });

  it('merges streams with identical label strings and rejects only bad streams and entries', () => {
    const entry = (s: number, n: number, line: string): number[] => ld(2, [...ld(1, [...vint(1, s), ...vint(2, n)]), ...str(2, line)]);
    const body = bytes(
      ld(1, [...str(1, '{job="a"}'), ...entry(1_700_000_000, 0, 'a1')]),
      ld(1, [...str(1, '{job!="a"}'), ...entry(1_700_000_000, 0, 'neq'), ...entry(1_700_000_000, 0, 'neq2')]),
      ld(1, [...entry(1_700_000_000, 0, 'no labels')]),
      ld(1, [...str(1, '{job="a"}'), ...entry(1_700_000_000, 5, 'a2'), ...entry(1_700_000_000, 1_000_000_000, 'bad nanos'), ...ld(2, [...str(2, 'no timestamp')])]),
      ld(1, [...entry(1_700_000_002, 0, 'labels after entries'), ...str(1, '{job="b"}')]),
    );
    const b = ok(decodeLokiPush(body, 'application/x-protobuf'));
    expect(b.streams.map((s) => labelsToRecord(s.labels))).toEqual([{ job: 'a' }, { job: 'b' }]);
    expect(records(b).map((r) => [r.stream['job'], r.line])).toEqual([
      ['a', 'a1'],
      ['a', 'a2'],
      ['b', 'labels after entries'],
    ]);
    expect(b.rejected.map((r) => [r.reason, r.count])).toEqual([
      [expect.stringMatching(/^stream 1: invalid labels: only equality/), 2],
      ['stream 2: stream has no labels', 1],
      ['stream {job="a"}: timestamp nanos 1000000000 outside [0, 1e9)', 1],
      ['stream {job="a"}: entry without a timestamp', 1],
    ]);
  });

  it('rejects timestamps outside the int64 nanosecond range', () => {
    const entry = (s: bigint, n: number, line: string): number[] => ld(2, [...ld(1, [...vint(1, s), ...vint(2, n)]), ...str(2, line)]);
    const body = bytes(
      ld(1, [
        ...str(1, '{job="t"}'),
        ...entry(9_223_372_036n, 854_775_807, 'max'),
        ...entry(9_223_372_036n, 854_775_808, 'max+1'),
        ...entry(9_223_372_037n, 0, 'seconds too big'),
        ...entry(-1n, 0, 'before the epoch'),
        ...entry(5n, -1, 'negative nanos'),
      ]),
    );
    const b = ok(decodeLokiPush(body, 'application/x-protobuf'));
    expect(records(b).map((r) => r.line)).toEqual(['max']);
    expect(b.rejected.map((r) => r.reason.replace('stream {job="t"}: ', ''))).toEqual([
      'timestamp 9223372036.854775808 s is beyond the int64 nanosecond range',
      'timestamp seconds 9223372037 out of range',
      'timestamp seconds -1 out of range',
      'timestamp nanos -1 outside [0, 1e9)',
    ]);
  });

  it('answers 400 to truncated and garbage bodies, never throwing', () => {
    for (let n = 1; n < hand.length; n++) {
      const r = decodeLokiPush(hand.subarray(0, n), 'application/x-protobuf');
      if (n === hand.length - 6) expect(r.ok).toBe(true); // clean cut before the trailing format field
      else expect(r).toMatchObject({ ok: false, status: 400 });
    }
    let seed = 99;
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(1 + (i % 48));
      for (let j = 0; j < b.length; j++) b[j] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
      const r = decodeLokiPush(b, 'application/x-protobuf');
      if (!r.ok) expect(r.status).toBe(400);
    }
  });
});

describe('Loki content types', () => {
  const cases: [string | undefined, 'json' | 'protobuf' | 415][] = [
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['Application/JSON', 'json'],
    ['application/x-protobuf', 'protobuf'],
    [undefined, 'protobuf'],
    ['', 'protobuf'],
    ['text/plain', 415],
    ['application/x-www-form-urlencoded', 415],
  ];
  for (const [ct, want] of cases) {
    it(`${JSON.stringify(ct)} -> ${want}`, () => {
      const r = lokiPushFormat(ct);
      if (want === 415) expect(r).toMatchObject({ ok: false, status: 415 });
      else expect(r).toEqual({ ok: true, value: want });
    });
  }
  it('decodeLokiPush answers 415 to an unsupported type', () => {
    expect(decodeLokiPush(new Uint8Array(), 'text/plain')).toMatchObject({ ok: false, status: 415 });
  });
});

describe('Loki label strings', () => {
  const good: [string, Record<string, string>][] = [
    ['{a="b"}', { a: 'b' }],
    ['{a="b", c="d"}', { a: 'b', c: 'd' }],
    ['  { c = "d" ,a="b", }  ', { a: 'b', c: 'd' }],
    ['{a="with \\"quotes\\" and \\\\ backslash"}', { a: 'with "quotes" and \\ backslash' }],
    ['{a="line\\nbreak\\ttab\\rcr"}', { a: 'line\nbreak\ttab\rcr' }],
    ['{a="\\x41\\101\\u00e9\\U0001F680"}', { a: 'AAé🚀' }],
    ['{a="\\xc3\\xa9"}', { a: 'é' }], // UTF-8 bytes given as \x escapes
    ['{a="\\a\\b\\f\\v"}', { a: '\x07\b\f\v' }],
    ["{a='single \\' quoted'}", { a: "single ' quoted" }],
    ['{a=`raw \\n string`}', { a: 'raw \\n string' }],
    ['{"app"="v"}', { app: 'v' }], // quoted label names (Prometheus 3 syntax)
    ['{a="東京 🚀"}', { a: '東京 🚀' }],
    ['{_x9="1"}', { _x9: '1' }],
  ];
  for (const [s, want] of good) {
    it(`parses ${s}`, () => {
      const r = parseLokiLabels(s);
      if (typeof r === 'string') throw new Error(r);
      expect(labelsToRecord(r)).toEqual(want);
    });
  }

  const bad: [string, RegExp][] = [
    ['{}', /at least one label/],
    ['a="b"', /expected \{/],
    ['{a="b"', /expected , or \}/],
    ['{a="b}', /unterminated string/],
    ['{a=b}', /quoted value/],
    ['{a!="b"}', /only equality/],
    ['{a=~"b"}', /only equality/],
    ['{a=="b"}', /only equality/],
    ['{9a="b"}', /label name/],
    ['{a="b" c="d"}', /expected , or \}/],
    ['{a="b"} extra', /unexpected text/],
    ['{a="b", a="c"}', /duplicate label name "a"/],
    ['{a=""}', /empty value/],
    ['{a="\\q"}', /unknown escape/],
    ['{a="\\x4"}', /bad \\x escape/],
    ['{a="\\ud800"}', /invalid code point/],
    ['{a="\\\'"}', /unknown escape/],
    ['{"a.b"="x"}', /invalid label name "a.b"/],
  ];
  for (const [s, reason] of bad) {
    it(`rejects ${s}`, () => {
      const r = parseLokiLabels(s);
      expect(typeof r).toBe('string');
      expect(r).toMatch(reason);
    });
  }

  it('formatLokiLabels output parses back to the same labels', () => {
    const labels = { names: ['a', 'b', 'c'], values: ['"q" \\ \n', '🚀 東京', '\u0000\u001f'] };
    const r = parseLokiLabels(formatLokiLabels(labels));
    expect(r).toEqual(labels);
  });
});
