// Go values as LogQL's text/template sees them, and how Go prints them.
// Templates (line_format, label_format) run Go's text/template over labels
// (strings) with sprig's functions; what they print depends on Go types, so
// the types that matter are kept: int64 (bigint), float64 (number), string,
// bool, time.Time, nil, and the maps/slices fromJson produces.
// Formatting follows Go's fmt package: https://pkg.go.dev/fmt

/** time.Time: an instant in nanoseconds and the zone it prints in. */
export class GoTime {
  constructor(
    readonly ns: bigint,
    /** offset from UTC in seconds at this instant */
    readonly offsetSec = 0,
    /** zone abbreviation Go prints for MST */
    readonly zoneName = 'UTC',
  ) {}

  get unixSeconds(): bigint {
    return floorDiv(this.ns, 1_000_000_000n);
  }
}

export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

export type GoValue = string | number | bigint | boolean | null | GoTime | GoValue[] | { [k: string]: GoValue };

export function isMap(v: GoValue): v is { [k: string]: GoValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof GoTime);
}

/** Go's notion of "empty" used by if/with/and/or/not and sprig's default. */
export function isTruthy(v: GoValue): boolean {
  if (v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'boolean') return v;
  if (v instanceof GoTime) return true;
  if (Array.isArray(v)) return v.length > 0;
  return Object.keys(v).length > 0;
}

/** strconv.FormatFloat(f, 'g', -1, 64), which fmt's %v uses for float64 (1e+06, 0.0001, 1e-05). */
export function formatFloatG(f: number, upperE = false): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // shortest digits from JS; Go's %g with shortest precision switches to
  // exponent form when the exponent is < -4 or >= 6 (strconv eprec = 6)
  const e = Number(f.toExponential().split('e')[1]);
  if (e < -4 || e >= 6) {
    const [mant, ex] = f.toExponential().split('e') as [string, string];
    const n = Number(ex);
    const es = `${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
    return `${mant}${upperE ? 'E' : 'e'}${es}`;
  }
  return plainDecimal(f);
}

/** Decimal digits without exponent for |f| < 1e21. */
export function plainDecimal(f: number): string {
  const s = String(f);
  if (!s.includes('e')) return s;
  const neg = f < 0;
  const [mant, ex] = Math.abs(f).toExponential().split('e') as [string, string];
  const n = Number(ex);
  const digits = mant.replace('.', '');
  const intLen = 1 + n;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return (neg ? '-' : '') + out;
}

/** fmt's %v. */
export function formatValue(v: GoValue, nested = false): string {
  if (v === null) return nested ? '<nil>' : '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatFloatG(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof GoTime) return formatTimeDefault(v);
  if (Array.isArray(v)) return '[' + v.map((x) => formatValue(x, true)).join(' ') + ']';
  const keys = Object.keys(v).sort();
  return 'map[' + keys.map((k) => `${k}:${formatValue(v[k] as GoValue, true)}`).join(' ') + ']';
}

// ---------- time ----------

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

interface Civil {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  weekday: number;
  yday: number;
}

function civil(t: GoTime): Civil {
  const localNs = t.ns + BigInt(t.offsetSec) * 1_000_000_000n;
  const secs = floorDiv(localNs, 1_000_000_000n);
  const nanos = Number(localNs - secs * 1_000_000_000n);
  const d = new Date(Number(secs) * 1000);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    nanos,
    weekday: d.getUTCDay(),
    yday: Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - start) / 86_400_000) + 1,
  };
}

type LayoutToken = { lit: string } | { code: string };

const LAYOUT_CODES = [
  'January', 'Jan', 'Monday', 'Mon', 'MST',
  '2006', '002', '01', '02', '03', '04', '05', '06', '_2', '15', '1', '2', '3', '4', '5',
  'PM', 'pm',
  'Z07:00:00', '-07:00:00', 'Z070000', '-070000', 'Z07:00', '-07:00', 'Z0700', '-0700', 'Z07', '-07',
];

function tokenizeLayout(layout: string): LayoutToken[] {
  const out: LayoutToken[] = [];
  let lit = '';
  let i = 0;
  outer: while (i < layout.length) {
    // fractional seconds: .000 .999 ,000 ,999 (after a seconds field)
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i));
    if (frac && /05$|5$/.test(layout.slice(0, i))) {
      if (lit) out.push({ lit }), (lit = '');
      out.push({ code: frac[0] });
      i += frac[0].length;
      continue;
    }
    for (const c of LAYOUT_CODES) {
      if (layout.startsWith(c, i)) {
        // "Jan" must not be the start of a longer word like "January" (handled by order),
        // "Mon" vs "Monday" likewise; a digit code must not be followed by another digit for 1/2/3
        if (lit) out.push({ lit }), (lit = '');
        out.push({ code: c });
        i += c.length;
        continue outer;
      }
    }
    lit += layout[i];
    i++;
  }
  if (lit) out.push({ lit });
  return out;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function offsetText(sec: number, code: string): string {
  if (code.startsWith('Z') && sec === 0) return 'Z';
  const sign = sec < 0 ? '-' : '+';
  const a = Math.abs(sec);
  const h = pad(Math.floor(a / 3600), 2);
  const m = pad(Math.floor((a % 3600) / 60), 2);
  const s = pad(a % 60, 2);
  const body = code.replace(/^Z/, '-');
  switch (body) {
    case '-07:00:00':
      return `${sign}${h}:${m}:${s}`;
    case '-070000':
      return `${sign}${h}${m}${s}`;
    case '-07:00':
      return `${sign}${h}:${m}`;
    case '-0700':
      return `${sign}${h}${m}`;
    default:
      return `${sign}${h}`;
  }
}

/** time.Time.Format(layout). */
export function formatTime(t: GoTime, layout: string): string {
  const c = civil(t);
  let out = '';
  for (const tok of tokenizeLayout(layout)) {
    if ('lit' in tok) {
      out += tok.lit;
      continue;
    }
    const code = tok.code;
    switch (code) {
      case 'January':
        out += MONTHS[c.month - 1];
        break;
      case 'Jan':
        out += (MONTHS[c.month - 1] as string).slice(0, 3);
        break;
      case 'Monday':
        out += DAYS[c.weekday];
        break;
      case 'Mon':
        out += (DAYS[c.weekday] as string).slice(0, 3);
        break;
      case 'MST':
        out += t.zoneName;
        break;
      case '2006':
        out += pad(c.year, 4);
        break;
      case '06':
        out += pad(c.year % 100, 2);
        break;
      case '002':
        out += pad(c.yday, 3);
        break;
      case '01':
        out += pad(c.month, 2);
        break;
      case '1':
        out += c.month;
        break;
      case '02':
        out += pad(c.day, 2);
        break;
      case '_2':
        out += String(c.day).padStart(2, ' ');
        break;
      case '2':
        out += c.day;
        break;
      case '15':
        out += pad(c.hour, 2);
        break;
      case '03':
        out += pad(c.hour % 12 === 0 ? 12 : c.hour % 12, 2);
        break;
      case '3':
        out += c.hour % 12 === 0 ? 12 : c.hour % 12;
        break;
      case '04':
        out += pad(c.minute, 2);
        break;
      case '4':
        out += c.minute;
        break;
      case '05':
        out += pad(c.second, 2);
        break;
      case '5':
        out += c.second;
        break;
      case 'PM':
        out += c.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += c.hour >= 12 ? 'pm' : 'am';
        break;
      default:
        if (/^[.,]/.test(code)) {
          const digits = code.length - 1;
          let f = pad(c.nanos, 9).slice(0, digits);
          if (code[1] === '9') {
            f = f.replace(/0+$/, '');
            out += f ? code[0] + f : '';
          } else out += code[0] + f;
        } else out += offsetText(t.offsetSec, code);
    }
  }
  return out;
}

/** time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST". */
export function formatTimeDefault(t: GoTime): string {
  return formatTime(t, '2006-01-02 15:04:05.999999999 -0700 MST');
}

/** Offset (seconds) of an IANA zone at an instant, via Intl; undefined for unknown zones. */
export function zoneOffsetSec(zone: string, utcMs: number): number | undefined {
  if (zone === 'UTC' || zone === '' || zone === 'Local') return 0;
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(new Date(utcMs));
    const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
    if (!m) return 0;
    const sec = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60;
    return m[1] === '-' ? -sec : sec;
  } catch {
    return undefined;
  }
}

function zoneAbbrev(zone: string, utcMs: number): string {
  if (zone === 'UTC' || zone === '' || zone === 'Local') return 'UTC';
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' }).formatToParts(new Date(utcMs));
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? zone;
  } catch {
    return zone;
  }
}

/** A time shown in an IANA zone. */
export function inZone(t: GoTime, zone: string): GoTime {
  const ms = Number(t.ns / 1_000_000n);
  const off = zoneOffsetSec(zone, ms) ?? 0;
  return new GoTime(t.ns, off, zoneAbbrev(zone, ms));
}

/** time.ParseInLocation(layout, value, zone); undefined on error. */
export function parseTime(layout: string, value: string, zone = 'UTC'): GoTime | undefined {
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let pm: boolean | undefined;
  let offset: number | undefined;
  let s = value;
  const num = (min: number, max: number): number | undefined => {
    const m = new RegExp(`^[0-9]{${min},${max}}`).exec(s);
    if (!m) return undefined;
    s = s.slice(m[0].length);
    return Number(m[0]);
  };
  const word = (list: string[], len?: number): number | undefined => {
    for (let i = 0; i < list.length; i++) {
      const w = len ? (list[i] as string).slice(0, len) : (list[i] as string);
      if (s.toLowerCase().startsWith(w.toLowerCase())) {
        s = s.slice(w.length);
        return i;
      }
    }
    return undefined;
  };
  for (const tok of tokenizeLayout(layout)) {
    if ('lit' in tok) {
      if (!s.startsWith(tok.lit)) return undefined;
      s = s.slice(tok.lit.length);
      continue;
    }
    let v: number | undefined;
    switch (tok.code) {
      case 'January':
        v = word(MONTHS);
        if (v === undefined) return undefined;
        month = v + 1;
        break;
      case 'Jan':
        v = word(MONTHS, 3);
        if (v === undefined) return undefined;
        month = v + 1;
        break;
      case 'Monday':
        if (word(DAYS) === undefined) return undefined;
        break;
      case 'Mon':
        if (word(DAYS, 3) === undefined) return undefined;
        break;
      case 'MST': {
        const m = /^[A-Z]{3,5}|^[+-][0-9]{2,4}/.exec(s);
        if (!m) return undefined;
        s = s.slice(m[0].length);
        if (m[0] === 'UTC' || m[0] === 'GMT') offset = 0;
        break;
      }
      case '2006':
        v = num(4, 4);
        if (v === undefined) return undefined;
        year = v;
        break;
      case '06':
        v = num(2, 2);
        if (v === undefined) return undefined;
        year = v >= 69 ? 1900 + v : 2000 + v;
        break;
      case '01':
      case '1':
        v = num(tok.code === '01' ? 2 : 1, 2);
        if (v === undefined || v < 1 || v > 12) return undefined;
        month = v;
        break;
      case '02':
      case '2':
      case '_2':
        if (tok.code === '_2' && s.startsWith(' ')) s = s.slice(1);
        v = num(tok.code === '02' ? 2 : 1, 2);
        if (v === undefined || v < 1 || v > 31) return undefined;
        day = v;
        break;
      case '002':
        v = num(3, 3);
        if (v === undefined) return undefined;
        break;
      case '15':
        v = num(1, 2);
        if (v === undefined || v > 23) return undefined;
        hour = v;
        break;
      case '03':
      case '3':
        v = num(tok.code === '03' ? 2 : 1, 2);
        if (v === undefined || v > 12) return undefined;
        hour = v;
        break;
      case '04':
      case '4':
        v = num(tok.code === '04' ? 2 : 1, 2);
        if (v === undefined || v > 59) return undefined;
        minute = v;
        break;
      case '05':
      case '5': {
        v = num(tok.code === '05' ? 2 : 1, 2);
        if (v === undefined || v > 59) return undefined;
        second = v;
        // Go accepts a fractional second after the seconds field even if the layout has none
        const f = /^[.,]([0-9]+)/.exec(s);
        if (f && !/^[.,][09]/.test(layout.slice(layout.indexOf(tok.code) + tok.code.length))) {
          nanos = Number((f[1] as string).slice(0, 9).padEnd(9, '0'));
          s = s.slice(f[0].length);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const m = /^(AM|PM)/i.exec(s);
        if (!m) return undefined;
        pm = m[1]!.toUpperCase() === 'PM';
        s = s.slice(2);
        break;
      }
      default:
        if (/^[.,]/.test(tok.code)) {
          const f = /^[.,]([0-9]+)/.exec(s);
          if (!f) {
            if (tok.code[1] === '9') break;
            return undefined;
          }
          nanos = Number((f[1] as string).slice(0, 9).padEnd(9, '0'));
          s = s.slice(f[0].length);
        } else {
          // zone offsets
          if (tok.code.startsWith('Z') && s.startsWith('Z')) {
            s = s.slice(1);
            offset = 0;
            break;
          }
          const m = /^([+-])([0-9]{2}):?([0-9]{2})?(?::?([0-9]{2}))?/.exec(s);
          if (!m) return undefined;
          s = s.slice(m[0].length);
          const sec = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
          offset = m[1] === '-' ? -sec : sec;
        }
    }
  }
  if (s !== '') return undefined;
  if (pm !== undefined) {
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  const localMs = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(localMs);
  if (check.getUTCDate() !== day) return undefined; // e.g. Feb 30
  let off = offset;
  let name = 'UTC';
  if (off === undefined) {
    off = zoneOffsetSec(zone, localMs) ?? 0;
    off = zoneOffsetSec(zone, localMs - off * 1000) ?? off;
    name = zoneAbbrev(zone, localMs - off * 1000);
  } else if (off !== 0) name = '';
  const ns = (BigInt(localMs) - BigInt(off) * 1000n) * 1_000_000n + BigInt(nanos);
  return new GoTime(ns, off, name || offsetText(off, '-0700'));
}

// ---------- fmt.Sprintf ----------

function typeName(v: GoValue): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoTime) return 'time.Time';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

function quoteGo(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  sharp: boolean;
  width?: number;
  prec?: number;
}

function padTo(s: string, spec: Spec, numeric: boolean): string {
  if (spec.width === undefined || [...s].length >= spec.width) return s;
  const n = spec.width - [...s].length;
  if (spec.minus) return s + ' '.repeat(n);
  if (spec.zero && numeric) {
    const sign = /^[+-]/.test(s) ? (s[0] as string) : '';
    return sign + '0'.repeat(n) + s.slice(sign.length);
  }
  return ' '.repeat(n) + s;
}

function signed(s: string, spec: Spec, neg: boolean): string {
  if (neg) return s;
  if (spec.plus) return '+' + s;
  if (spec.space) return ' ' + s;
  return s;
}

function fmtFloat(f: number, verb: string, spec: Spec): string {
  if (!Number.isFinite(f)) return padTo(Number.isNaN(f) ? 'NaN' : f > 0 ? (spec.plus ? '+Inf' : 'Inf') : '-Inf', { ...spec, zero: false }, false);
  let s: string;
  switch (verb) {
    case 'f':
    case 'F':
      s = f.toFixed(spec.prec ?? 6);
      break;
    case 'e':
    case 'E': {
      const [m, e] = f.toExponential(spec.prec ?? 6).split('e') as [string, string];
      const n = Number(e);
      s = `${m}${verb}${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
      break;
    }
    default:
      if (spec.prec !== undefined) {
        const p = spec.prec === 0 ? 1 : spec.prec;
        const exp = f === 0 ? 0 : Math.floor(Math.log10(Math.abs(f)));
        if (exp < -4 || exp >= p) {
          const [m, e] = f.toExponential(p - 1).split('e') as [string, string];
          const n = Number(e);
          s = `${m.includes('.') ? m.replace(/\.?0+$/, '') : m}${verb === 'G' ? 'E' : 'e'}${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
        } else s = String(Number(f.toPrecision(p)));
      } else s = formatFloatG(f, verb === 'G');
  }
  return padTo(signed(s, spec, f < 0 || Object.is(f, -0)), spec, true);
}

function toBigInt(v: GoValue): bigint | undefined {
  if (typeof v === 'bigint') return v;
  return undefined;
}

function formatOne(verb: string, spec: Spec, v: GoValue): string {
  const bad = (): string => `%!${verb}(${typeName(v)}=${formatValue(v, true)})`;
  switch (verb) {
    case 'v':
      if (typeof v === 'number') return fmtFloat(v, 'g', spec);
      if (typeof v === 'bigint') return padTo(signed(v.toString(), spec, v < 0n), spec, true);
      if (spec.sharp && typeof v === 'string') return padTo(quoteGo(v), spec, false);
      return padTo(formatValue(v, true).replace(/^<nil>$/, '<nil>'), spec, false);
    case 's': {
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return bad();
      let s = v === null ? '%!s(<nil>)' : formatValue(v, true);
      if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
      return padTo(s, spec, false);
    }
    case 'q':
      if (typeof v !== 'string') return bad();
      return padTo(quoteGo(v), spec, false);
    case 't':
      if (typeof v !== 'boolean') return bad();
      return padTo(String(v), spec, false);
    case 'd': {
      const b = toBigInt(v);
      if (b === undefined) return bad();
      return padTo(signed(b.toString(), spec, b < 0n), spec, true);
    }
    case 'b':
    case 'o':
    case 'x':
    case 'X': {
      if (typeof v === 'string' && (verb === 'x' || verb === 'X')) {
        const hex = Buffer.from(v, 'utf8').toString('hex');
        return padTo(verb === 'X' ? hex.toUpperCase() : hex, spec, false);
      }
      const b = toBigInt(v);
      if (b === undefined) {
        if (typeof v === 'number' && (verb === 'x' || verb === 'X')) return bad();
        return bad();
      }
      const radix = verb === 'b' ? 2 : verb === 'o' ? 8 : 16;
      let s = (b < 0n ? -b : b).toString(radix);
      if (verb === 'X') s = s.toUpperCase();
      if (spec.sharp) s = (verb === 'o' ? '0' : verb === 'b' ? '' : verb === 'x' ? '0x' : '0X') + s;
      return padTo(signed((b < 0n ? '-' : '') + s, spec, b < 0n), spec, true);
    }
    case 'c': {
      const b = toBigInt(v);
      if (b === undefined) return bad();
      return padTo(String.fromCodePoint(Number(b)), spec, false);
    }
    case 'U': {
      const b = toBigInt(v);
      if (b === undefined) return bad();
      return padTo('U+' + Number(b).toString(16).toUpperCase().padStart(4, '0'), spec, false);
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (typeof v !== 'number') return bad();
      return fmtFloat(v, verb, spec);
    default:
      return `%!${verb}(${typeName(v)}=${formatValue(v, true)})`;
  }
}

/** fmt.Sprintf for the verbs templates use. */
export function sprintf(format: string, args: readonly GoValue[]): string {
  let out = '';
  let argi = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c !== '%') {
      out += c;
      continue;
    }
    i++;
    const spec: Spec = { minus: false, plus: false, space: false, zero: false, sharp: false };
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === ' ') spec.space = true;
      else if (f === '0') spec.zero = true;
      else if (f === '#') spec.sharp = true;
      else break;
    }
    let w = '';
    if (format[i] === '*') {
      const a = args[argi++];
      spec.width = typeof a === 'bigint' ? Number(a) : 0;
      i++;
    } else while (i < format.length && /[0-9]/.test(format[i] as string)) w += format[i++];
    if (w) spec.width = Number(w);
    if (format[i] === '.') {
      i++;
      let p = '';
      while (i < format.length && /[0-9]/.test(format[i] as string)) p += format[i++];
      spec.prec = p === '' ? 0 : Number(p);
    }
    const verb = format[i];
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, spec, args[argi++] as GoValue);
  }
  if (argi < args.length) out += '%!(EXTRA ' + args.slice(argi).map((a) => `${typeName(a)}=${formatValue(a, true)}`).join(', ') + ')';
  return out;
}
