// Durations, byte sizes and numbers as LogQL reads and prints them.
//  - label values are read with Go's time.ParseDuration and go-humanize's
//    ParseBytes, as Loki does (https://grafana.com/docs/loki/latest/query/log_queries/#label-filter-expression)
//  - query literals ([5m], `| d > 1.5h`) also accept d, w and y
//  - sample values print like Go's strconv.FormatFloat(v, 'f', -1, 64)

const GO_UNITS_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const QUERY_UNITS_NS: Record<string, number> = { ...GO_UNITS_NS, d: 86_400e9, w: 7 * 86_400e9, y: 365 * 86_400e9 };

function parseDurationWith(text: string, units: Record<string, number>): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const re = /([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    const num = m[1] as string;
    if (num === '' || num === '.') return undefined;
    const unit = units[m[2] as string];
    if (unit === undefined) return undefined;
    total += Number(num) * unit;
    pos = re.lastIndex;
  }
  if (!Number.isFinite(total) || Math.abs(total) > 9.223372036854775807e18) return undefined;
  return sign * Math.round(total);
}

/** Go's time.ParseDuration: nanoseconds, or undefined when invalid. */
export function parseGoDurationNs(text: string): number | undefined {
  return parseDurationWith(text, GO_UNITS_NS);
}

/** A LogQL duration literal (adds d, w, y): nanoseconds, or undefined. */
export function parseQueryDurationNs(text: string): number | undefined {
  return parseDurationWith(text, QUERY_UNITS_NS);
}

/** The error text Go's time.ParseDuration gives, used in __error_details__. */
export function goDurationError(text: string): string {
  return `time: invalid duration "${text}"`;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, ki: 1024, kib: 1024,
  m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, ti: 1024 ** 4, tib: 1024 ** 4,
  p: 1e15, pb: 1e15, pi: 1024 ** 5, pib: 1024 ** 5,
  e: 1e18, eb: 1e18, ei: 1024 ** 6, eib: 1024 ** 6,
};

/**
 * go-humanize ParseBytes: leading digits (commas allowed), optional space,
 * case-insensitive SI or IEC unit. Returns bytes or an error message.
 */
export function parseHumanBytes(text: string): { ok: true; value: number } | { ok: false; error: string } {
  let i = 0;
  while (i < text.length && /[0-9.,]/.test(text[i] as string)) i++;
  const num = text.slice(0, i).replace(/,/g, '');
  const unit = text.slice(i).trim().toLowerCase();
  if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/.test(num)) return { ok: false, error: `strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax` };
  const mult = BYTE_UNITS[unit];
  if (mult === undefined) return { ok: false, error: `unhandled size name: ${unit}` };
  const v = Number(num) * mult;
  if (v >= 18446744073709551615) return { ok: false, error: `too large: ${text}` };
  return { ok: true, value: Math.floor(v) };
}

/** Go's strconv.ParseFloat(s, 64) accepted forms: decimal, exponent, hex float, inf, nan, underscores only with base prefix. */
export function parseGoFloat(s: string): number | undefined {
  const t = s;
  if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(t)) return Number(t);
  if (/^[+-]?(?:inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?[0-9]+)$/.exec(t);
  if (hex && (hex[2] || hex[3])) {
    const mant = parseInt((hex[2] || '0') + (hex[3] || ''), 16) / 16 ** (hex[3] ?? '').length;
    const v = mant * 2 ** Number(hex[4]);
    return hex[1] === '-' ? -v : v;
  }
  return undefined;
}

/** Go strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never exponent form. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s.startsWith('-');
  const mant = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mant.indexOf('.');
  const digits = mant.replace('.', '');
  const intLen = (dot < 0 ? mant.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return (neg ? '-' : '') + out;
}

/** Prometheus model.Time(ms).String(): seconds with up to 3 decimals. */
export function formatSeconds(ms: number): string {
  return formatFloat(ms / 1000);
}

/** Go's time.Duration.String(): "1h2m3.5s", "150ms", "0s". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    // sub-second: largest unit ns/µs/ms with a fraction
    if (u < 1e3) out = `${u}ns`;
    else if (u < 1e6) out = `${trimFrac(u / 1e3)}µs`;
    else out = `${trimFrac(u / 1e6)}ms`;
  } else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    const s = trimFrac(u / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? '-' + out : out;
}

function trimFrac(x: number): string {
  // up to 9 fractional digits, trailing zeros removed (Go prints exact ns)
  return x.toFixed(9).replace(/\.?0+$/, '');
}

/** Prometheus-style duration for printing a query back ([5m], offset 1h). */
export function formatQueryDuration(ns: number): string {
  if (ns === 0) return '0s';
  let ms = Math.round(ns / 1e6);
  if (ms * 1e6 !== ns) return formatGoDuration(ns);
  const neg = ms < 0;
  ms = Math.abs(ms);
  const units: [string, number][] = [['y', 365 * 86_400_000], ['w', 7 * 86_400_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let out = '';
  for (const [name, size] of units) {
    if (ms >= size) {
      const n = Math.floor(ms / size);
      ms -= n * size;
      out += `${n}${name}`;
    }
  }
  return (neg ? '-' : '') + out;
}

/** go-humanize Bytes(): "83 MB" style (SI, one decimal below 10). Used by the bytes template function. */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const suffix = sizes[e] as string;
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return val < 10 ? `${val.toFixed(1)} ${suffix}` : `${val.toFixed(0)} ${suffix}`;
}
