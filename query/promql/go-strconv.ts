// Number, duration and string formatting/parsing exactly as Prometheus (Go)
// does it, because PromQL output (label values from count_values, error
// texts, format_query) must be byte-identical to Prometheus's.
//
// Mirrors Go's strconv (FormatFloat 'f'/'g' with shortest precision,
// ParseFloat, ParseInt with base 0, Quote) and prometheus/common/model
// (ParseDuration, Duration.String).

/** Go strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloatF(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (Object.is(f, -0)) return '-0';
  const s = String(f);
  if (!/e/i.test(s)) return s;
  return expandExponent(s);
}

// Turns JS's shortest "d.ddde±x" into plain decimal notation.
function expandExponent(s: string): string {
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  const [mant = '', expStr = '0'] = body.split(/e/i);
  const exp = Number(expStr);
  const dot = mant.indexOf('.');
  const digits = mant.replace('.', '');
  const intLen = (dot === -1 ? mant.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return neg ? '-' + out : out;
}

/** Go strconv.FormatFloat(f, 'g', -1, 64) (also fmt's %g and %v for floats). */
export function formatFloatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // Shortest round-trip digits and the decimal exponent, from JS's own shortest printing.
  const e = f.toExponential(); // e.g. "1.234e+6"
  const neg = e.startsWith('-');
  const [mant = '', expStr = '0'] = (neg ? e.slice(1) : e).split('e');
  const exp = Number(expStr);
  const digits = mant.replace('.', '');
  // Go strconv ('g', shortest): %e form when exp < -4 || exp >= 6.
  let out: string;
  if (exp < -4 || exp >= 6) {
    const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const ae = Math.abs(exp);
    out = m + 'e' + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' + ae : String(ae));
  } else {
    out = formatFloatF(Math.abs(f));
  }
  return neg ? '-' + out : out;
}

/** Go fmt "%f" (6 decimals). */
export function formatFloatFixed6(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (Math.abs(f) < 1e21) return f.toFixed(6);
  return formatFloatF(f) + '.000000';
}

/**
 * Go strconv.ParseFloat(s, 64): decimal or hex floats, "Inf"/"Infinity"/"NaN"
 * in any case with optional sign, underscores between digits. Returns null when
 * Go would return a syntax error; a range error returns ±Inf like Go (the
 * caller decides whether that is an error, see {@link parseGoFloatStrict}).
 */
export function parseGoFloat(s: string): number | null {
  let i = 0;
  let sign = 1;
  if (s[0] === '+' || s[0] === '-') {
    if (s[0] === '-') sign = -1;
    i = 1;
  }
  const rest = s.slice(i).toLowerCase();
  if (rest === 'inf' || rest === 'infinity') return sign * Infinity;
  if (rest === 'nan') return i === 0 ? NaN : null;
  if (rest.length === 0) return null;
  if (rest.includes('_') && !underscoreOK(s)) return null;
  const clean = rest.replace(/_/g, '');
  if (/^0x/.test(clean)) {
    const m = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/.exec(clean);
    if (!m) return null;
    const intPart = m[1] ?? '';
    const fracPart = m[2] ?? '';
    if (intPart === '' && fracPart === '') return null;
    // Go requires the 'p' exponent for hex floats with a fraction point; plain hex integers are fine.
    if (m[3] === undefined && m[2] !== undefined) return null;
    let v = 0;
    for (const ch of intPart) v = v * 16 + parseInt(ch, 16);
    let scale = 1 / 16;
    for (const ch of fracPart) {
      v += parseInt(ch, 16) * scale;
      scale /= 16;
    }
    const p = m[3] === undefined ? 0 : Number(m[3]);
    return sign * v * Math.pow(2, p);
  }
  if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(clean)) return null;
  return sign * Number(clean);
}

/** Like {@link parseGoFloat} but also rejects values Go reports as out of range. */
export function parseGoFloatStrict(s: string): number | null {
  const v = parseGoFloat(s);
  if (v === null) return null;
  if (!Number.isFinite(v) && !Number.isNaN(v) && !/inf/i.test(s)) return null;
  return v;
}

// Go's strconv underscoreOK: underscores only between digits (or after a base prefix).
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && /[box]/i.test(s[1] as string)) {
    i = 2;
    saw = '0';
    hex = (s[1] as string).toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if ((c >= '0' && c <= '9') || (hex && /[a-f]/i.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * Go strconv.ParseInt(s, 0, 64) as a float: "0x1f", "0o17", "0b101", and the C
 * quirk that a leading 0 means octal ("017" is 15). Returns null when Go fails
 * (the PromQL parser then falls back to ParseFloat).
 */
export function parseGoIntBase0(s: string): number | null {
  let i = 0;
  let sign = 1;
  if (s[0] === '+' || s[0] === '-') {
    if (s[0] === '-') sign = -1;
    i = 1;
  }
  let body = s.slice(i);
  if (body.length === 0) return null;
  let base = 10;
  let digits = body;
  const lower = body.toLowerCase();
  if (lower.startsWith('0x')) {
    base = 16;
    digits = body.slice(2);
  } else if (lower.startsWith('0o')) {
    base = 8;
    digits = body.slice(2);
  } else if (lower.startsWith('0b')) {
    base = 2;
    digits = body.slice(2);
  } else if (body.length > 1 && body[0] === '0') {
    base = 8;
    digits = body.slice(1);
  }
  if (digits.includes('_')) {
    if (!underscoreOK(s)) return null;
    digits = digits.replace(/_/g, '');
  }
  if (digits.length === 0) return null;
  let v = 0n;
  const b = BigInt(base);
  for (const ch of digits.toLowerCase()) {
    const d = parseInt(ch, 36);
    if (Number.isNaN(d) || d >= base) return null;
    v = v * b + BigInt(d);
  }
  if (sign > 0 && v > 0x7fffffffffffffffn) return null;
  if (sign < 0 && v > 0x8000000000000000n) return null;
  return sign * Number(v);
}

const MS_PER_UNIT: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};
const UNIT_ORDER: Record<string, number> = { y: 1, w: 2, d: 3, h: 4, m: 5, s: 6, ms: 7 };

/** prometheus/common model.ParseDuration, in milliseconds; throws a Go-worded Error. */
export function parseDurationMs(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new Error('empty duration string');
  const orig = s;
  let dur = 0n;
  let lastUnitPos = 0;
  while (s !== '') {
    const dm = /^\d+/.exec(s);
    if (!dm) throw new Error(`not a valid duration string: ${goQuote(orig)}`);
    const v = BigInt(dm[0]);
    s = s.slice(dm[0].length);
    const um = /^\D+/.exec(s);
    if (!um) throw new Error(`not a valid duration string: ${goQuote(orig)}`);
    const u = um[0];
    s = s.slice(u.length);
    const mult = MS_PER_UNIT[u];
    const pos = UNIT_ORDER[u];
    if (mult === undefined || pos === undefined) throw new Error(`unknown unit ${goQuote(u)} in duration ${goQuote(orig)}`);
    if (pos <= lastUnitPos) throw new Error(`not a valid duration string: ${goQuote(orig)}`);
    lastUnitPos = pos;
    // time.Duration is int64 nanoseconds: ~292 years.
    const ns = v * BigInt(mult) * 1_000_000n;
    dur += ns;
    if (dur > 0x7fffffffffffffffn) throw new Error('duration out of range');
  }
  return Number(dur / 1_000_000n);
}

/** prometheus/common model.Duration.String for a millisecond count. */
export function formatDurationMs(totalMs: number): string {
  let ms = Math.trunc(totalMs);
  if (ms === 0) return '0s';
  let r = '';
  const f = (unit: string, mult: number, exact: boolean): void => {
    if (exact && ms % mult !== 0) return;
    const v = Math.floor(ms / mult);
    if (v > 0) {
      r += `${v}${unit}`;
      ms -= v * mult;
    }
  };
  // Years and weeks only when exact: 90d reads better than 12w6d.
  f('y', 31_536_000_000, true);
  f('w', 604_800_000, true);
  f('d', 86_400_000, false);
  f('h', 3_600_000, false);
  f('m', 60_000, false);
  f('s', 1000, false);
  f('ms', 1, false);
  return r;
}

/** Go strconv.Quote: double-quoted, with Go escapes for control and non-printable characters. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd'; // lone surrogate: Go sees invalid UTF-8
    else if (!isGoPrintable(cp)) out += cp > 0xffff ? '\\U' + cp.toString(16).padStart(8, '0') : '\\u' + cp.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

// An approximation of Go's unicode.IsPrint: letters, marks, numbers,
// punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
function isGoPrintable(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  return PRINTABLE.test(String.fromCodePoint(cp));
}

/** Go time.Format(time.RFC3339) of a unix-millisecond time, UTC, seconds precision. */
export function formatRfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go fmt "%.<prec>g". */
export function formatFloatGPrec(f: number, prec: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const p = Math.max(prec, 1);
  const e = f.toExponential(p - 1);
  const [mant = '', expStr = '0'] = e.split('e');
  const exp = Number(expStr);
  const trim = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= p) {
    const ae = Math.abs(exp);
    return `${trim(mant)}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' + ae : ae}`;
  }
  return trim(f.toFixed(Math.max(p - 1 - exp, 0)));
}
