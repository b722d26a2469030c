// OTLP metrics (ExportMetricsServiceRequest, protobuf or OTLP/JSON) →
// MetricsBatch, converted to the Prometheus model as the OTel "Prometheus and
// OpenMetrics Compatibility" spec says:
// https://github.com/open-telemetry/opentelemetry-specification/blob/main/specification/compatibility/prometheus_and_openmetrics.md#otlp-metric-points-to-prometheus
//
// - names: characters outside [a-zA-Z0-9:] become `_` (runs collapsed), unit
//   suffix from UCUM (`s` → `_seconds`, `By/s` → `_bytes_per_second`,
//   `{...}` annotations dropped), `_total` for monotonic cumulative sums,
//   `_ratio` for gauges with unit `1` (as Prometheus's otlptranslator does);
// - monotonic cumulative sums → counters; non-monotonic cumulative sums and
//   gauges → gauges; histograms → `_bucket{le}` (cumulative, with +Inf),
//   `_sum`, `_count`; summaries → `{quantile}`, `_sum`, `_count`;
// - delta temporality and exponential histograms are rejected point by point
//   into `rejected` (partial success), never dropped silently;
// - resource: `service.namespace/service.name` → `job`,
//   `service.instance.id` → `instance`, other resource attributes → one
//   `target_info` series (value 1) per resource;
// - NO_RECORDED_VALUE points → Prometheus stale markers.
//
// Field numbers: opentelemetry/proto/metrics/v1/metrics.proto.
import type { Labels } from '../core/index.ts';
import { fingerprintParts, sortLabels } from '../core/index.ts';
import {
  AGGREGATION_TEMPORALITY_NAMES,
  GrowableF64,
  GrowableU32,
  RejectionCollector,
  ProtoReader,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  expectWire,
  fail,
  forEachItemPb,
  forEachResourcePb,
  forEachScopePb,
  hexOf,
  jsonArray,
  jsonBool,
  jsonDouble,
  jsonEnum,
  jsonId,
  jsonInt,
  jsonNanosToMs,
  jsonObject,
  jsonString,
  newAttrList,
  parseJsonBody,
  promLabelName,
  readAttributesJson,
  readKeyValuePb,
  readResourceJson,
  readScopeJson,
  runDecoder,
  sortPairsInPlace,
  type AttrList,
  type OtlpFormat,
  type ScopeInfo,
} from './otlp-common.ts';
import { staleNaN } from './series.ts';
import type { DecodeResult, Exemplar, MetricMetadata, MetricsBatch, SeriesRef } from './types.ts';

export interface OtlpMetricsOptions {
  /** Resource attributes also copied as labels onto every series (Prometheus `promote_resource_attributes`). */
  readonly promoteResourceAttributes?: readonly string[];
  /** Add `otel_scope_name`, `otel_scope_version` and `otel_scope_<attr>` labels (Prometheus `promote_scope_metadata`); off by default, as in Prometheus and Mimir. */
  readonly promoteScopeMetadata?: boolean;
}

/** Decodes an ExportMetricsServiceRequest body. Bad input → a 400 value; never throws on client input. */
export function decodeOtlpMetrics(body: Uint8Array | string, format: OtlpFormat, options: OtlpMetricsOptions = {}): DecodeResult<MetricsBatch> {
  return runDecoder('OTLP metrics request', () => {
    const a = new MetricsAssembler(options);
    if (format === 'json') decodeJson(parseJsonBody(body), a);
    else decodePb(new ProtoReader(typeof body === 'string' ? Buffer.from(body, 'latin1') : body), a);
    return a.finish();
  });
}

// ---------------------------------------------------------------------------
// Names and units
// ---------------------------------------------------------------------------

// UCUM unit → Prometheus unit word. The spec's table ("Metric Metadata"),
// plus `KBy` which Prometheus's translator also maps.
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  kBy: 'kilobytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

// The denominator of a rate unit ("m/s" → "meters_per_second"), singular.
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  min: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 58;
}

/** Splits on every character outside [a-zA-Z0-9:] (so `_` runs collapse and edges trim). */
function nameTokens(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (isNameChar(s.charCodeAt(i))) cur += s[i];
    else if (cur !== '') {
      out.push(cur);
      cur = '';
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

function unitTokens(unit: string): { main: string[]; per: string[] } {
  const slash = unit.indexOf('/');
  const mainRaw = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perRaw = slash < 0 ? '' : unit.slice(slash + 1).trim();
  // parts with curly-brace annotations ({packet}, {request}) MUST be dropped
  const main = mainRaw !== '' && !/[{}]/.test(mainRaw) ? nameTokens(UNIT_WORDS[mainRaw] ?? mainRaw) : [];
  const perWord = perRaw !== '' && !/[{}]/.test(perRaw) ? nameTokens(PER_UNIT_WORDS[perRaw] ?? perRaw) : [];
  return { main, per: perWord.length > 0 ? ['per', ...perWord] : [] };
}

/** The Prometheus unit word for an OTLP (UCUM) unit: `By/s` → `bytes_per_second`, `1` → ``. */
export function promUnit(unit: string): string {
  const { main, per } = unitTokens(unit);
  return [...main, ...per].join('_');
}

function endsWith(tokens: readonly string[], suffix: readonly string[]): boolean {
  if (suffix.length > tokens.length) return false;
  for (let i = 0; i < suffix.length; i++) if (tokens[tokens.length - suffix.length + i] !== suffix[i]) return false;
  return true;
}

export type PromMetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

const NAME_CACHE_MAX = 10_000;
const nameCache = new Map<string, string>();

/**
 * The Prometheus metric family name for an OTLP metric. `otlpGauge` marks a
 * real OTLP Gauge (only those get `_ratio` for unit `1`, as in Prometheus's
 * translator: counters of things are often mislabelled `1`). The unit suffix
 * is added unless the name already ends with it (before the type suffix).
 * Returns '' when nothing of the name survives.
 */
export function promMetricName(name: string, unit: string, type: PromMetricType, otlpGauge = false): string {
  const key = `${type}|${otlpGauge ? 1 : 0}|${unit}|${name}`;
  const cached = nameCache.get(key);
  if (cached !== undefined) return cached;
  const toks = nameTokens(name);
  const counter = type === 'counter';
  const ratio = otlpGauge && unit.trim() === '1';
  if (counter && toks[toks.length - 1] === 'total') toks.pop();
  if (ratio && toks[toks.length - 1] === 'ratio') toks.pop();
  const { main, per } = unitTokens(unit);
  const all = [...main, ...per];
  if (all.length > 0 && toks.length > 0 && !endsWith(toks, all)) {
    if (per.length > 0 && main.length > 0 && endsWith(toks, main)) toks.push(...per);
    else toks.push(...all);
  }
  let out = '';
  if (toks.length > 0) {
    if (counter) toks.push('total');
    if (ratio) toks.push('ratio');
    out = toks.join('_');
    const c0 = out.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) out = `_${out}`;
  }
  if (nameCache.size >= NAME_CACHE_MAX) nameCache.clear();
  nameCache.set(key, out);
  return out;
}

/** A float as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it (Prometheus's `le` and `quantile` values). */
export function formatPromFloat(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s[0] === '-';
  const mant = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mant.indexOf('.');
  const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  const point = (dot < 0 ? mant.length : dot) + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${out}` : out;
}

/**
 * Attribute keys → Prometheus label names. Keys that map to the same name
 * are concatenated with `;` in the lexicographic order of the original keys
 * (spec, "Metric Attributes"). Empty values are dropped: an empty label is an
 * absent label in Prometheus.
 */
function sanitizedAttrs(attrs: AttrList): { names: string[]; values: string[] } {
  const n = attrs.keys.length;
  const names: string[] = [];
  const values: string[] = [];
  let collision = false;
  // short lists (the norm) check by scanning; long ones with a Set, so a hostile point stays linear
  const seen = n > 16 ? new Set<string>() : null;
  for (let i = 0; i < n; i++) {
    const v = attrs.values[i] as string;
    if (v === '') continue;
    const name = promLabelName(attrs.keys[i] as string);
    if (name === '') continue;
    if (!collision) {
      if (seen !== null) {
        if (seen.has(name)) collision = true;
        else seen.add(name);
      } else if (names.includes(name)) collision = true;
    }
    names.push(name);
    values.push(v);
  }
  if (!collision) return { names, values };
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if ((attrs.values[i] as string) !== '' && promLabelName(attrs.keys[i] as string) !== '') idx.push(i);
  idx.sort((a, b) => ((attrs.keys[a] as string) < (attrs.keys[b] as string) ? -1 : (attrs.keys[a] as string) > (attrs.keys[b] as string) ? 1 : 0));
  const merged = new Map<string, string>();
  for (const i of idx) {
    const name = promLabelName(attrs.keys[i] as string);
    const prev = merged.get(name);
    merged.set(name, prev === undefined ? (attrs.values[i] as string) : `${prev};${attrs.values[i] as string}`);
  }
  return { names: [...merged.keys()], values: [...merged.values()] };
}

// ---------------------------------------------------------------------------
// Assembler: the Prometheus mapping, shared by the protobuf and JSON readers
// ---------------------------------------------------------------------------

type DataKind = 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary' | 'none';

const TEMPORALITY_DELTA = 1;
const TEMPORALITY_CUMULATIVE = 2;
const FLAG_NO_RECORDED_VALUE = 1;

interface MetricHeader {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly kind: DataKind;
  readonly temporality: number;
  readonly monotonic: boolean;
  readonly points: number;
}

interface RawExemplar {
  readonly attrs: AttrList;
  readonly tsMs: number;
  readonly value: number;
  readonly traceId: string;
  readonly spanId: string;
}

const TARGET_INFO = 'target_info';
const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';

class MetricsAssembler {
  private readonly series: SeriesRef[] = [];
  private readonly seriesIndex = new Map<number, number>();
  private readonly roundedCollisions = new Map<string, number>();
  private readonly sampleSeries = new GrowableU32(256);
  private readonly timestamps = new GrowableF64(256);
  private readonly values = new GrowableF64(256);
  private readonly exemplars: Exemplar[] = [];
  private readonly metadata = new Map<string, MetricMetadata>();
  readonly rejections = new RejectionCollector();

  // scratch for histogram / summary points (reused, never escapes)
  readonly scratchA = new GrowableF64(32);
  readonly scratchB = new GrowableF64(32);

  // per resource
  private resourceNames: string[] = [];
  private resourceValues: string[] = [];
  private targetInfo: { names: string[]; values: string[] } | null = null;
  private resourceSamples = 0;
  private resourceMaxTsMs = 0;
  // per scope: resource labels + scope labels
  private baseNames: string[] = [];
  private baseValues: string[] = [];
  /** baseNames as a Set when there are many (promoted scope attributes), else null */
  private baseSet: Set<string> | null = null;
  // per metric
  private family = '';
  private familySum = '';
  private familyCount = '';
  private familyBucket = '';
  private familyType: PromMetricType = 'gauge';
  private metricName = '';
  /** exemplars are kept for counters and histograms only (spec: dropped for gauges and summaries) */
  wantExemplars = false;

  constructor(private readonly options: OtlpMetricsOptions) {}

  beginResource(attrs: AttrList): void {
    let svc: string | undefined;
    let ns = '';
    let inst = '';
    const names: string[] = [];
    const values: string[] = [];
    const other = newAttrList();
    for (let i = 0; i < attrs.keys.length; i++) {
      const k = attrs.keys[i] as string;
      const v = attrs.values[i] as string;
      if (k === SERVICE_NAME) svc = v;
      else if (k === SERVICE_NAMESPACE) ns = v;
      else if (k === SERVICE_INSTANCE_ID) inst = v;
      else {
        other.keys.push(k);
        other.values.push(v);
      }
    }
    if (svc !== undefined && svc !== '') {
      names.push('job');
      values.push(ns !== '' ? `${ns}/${svc}` : svc);
    }
    if (inst !== '') {
      names.push('instance');
      values.push(inst);
    }
    for (const key of this.options.promoteResourceAttributes ?? []) {
      const i = attrs.keys.indexOf(key);
      const name = promLabelName(key);
      if (i < 0 || name === '' || names.includes(name) || (attrs.values[i] as string) === '') continue;
      names.push(name);
      values.push(attrs.values[i] as string);
    }
    this.resourceNames = names;
    this.resourceValues = values;
    // target_info: the resource attributes not already in job/instance, plus job/instance
    const info = sanitizedAttrs(other);
    if (info.names.length > 0) {
      const tn: string[] = [];
      const tv: string[] = [];
      for (let i = 0; i < names.length; i++) {
        if (names[i] !== 'job' && names[i] !== 'instance') continue;
        tn.push(names[i] as string);
        tv.push(values[i] as string);
      }
      for (let i = 0; i < info.names.length; i++) {
        const n = info.names[i] as string;
        if (n === 'job' || n === 'instance') continue;
        tn.push(n);
        tv.push(info.values[i] as string);
      }
      this.targetInfo = tn.length > 0 ? { names: tn, values: tv } : null;
    } else this.targetInfo = null;
    this.resourceSamples = 0;
    this.resourceMaxTsMs = 0;
    this.setBase(names, values);
  }

  private setBase(names: string[], values: string[]): void {
    this.baseNames = names;
    this.baseValues = values;
    this.baseSet = names.length > 8 ? new Set(names) : null;
  }

  endResource(): void {
    if (this.targetInfo !== null && this.resourceSamples > 0) {
      const idx = this.seriesOf(sortLabels(this.targetInfo.names, this.targetInfo.values), TARGET_INFO, null, '');
      this.push(idx, this.resourceMaxTsMs, 1);
      if (!this.metadata.has(TARGET_INFO)) this.metadata.set(TARGET_INFO, { metricFamilyName: TARGET_INFO, type: 'gauge', help: 'Target metadata', unit: '' });
    }
    this.targetInfo = null;
  }

  beginScope(scope: ScopeInfo): void {
    if (!this.options.promoteScopeMetadata) return;
    const names = this.resourceNames.slice();
    const values = this.resourceValues.slice();
    const taken = new Set(names);
    const add = (n: string, v: string): void => {
      if (v === '' || taken.has(n)) return;
      taken.add(n);
      names.push(n);
      values.push(v);
    };
    add('otel_scope_name', scope.name);
    add('otel_scope_version', scope.version);
    // scope attributes that would clash with otel_scope_name/version are dropped (spec)
    const sa = sanitizedAttrs({ keys: scope.attrs.keys.map((k) => `otel_scope_${k}`), values: scope.attrs.values });
    for (let i = 0; i < sa.names.length; i++) {
      const n = sa.names[i] as string;
      if (n !== 'otel_scope_name' && n !== 'otel_scope_version' && n !== 'otel_scope_schema_url') add(n, sa.values[i] as string);
    }
    this.setBase(names, values);
  }

  /** Checks a metric; returns false (with its points counted in `rejected`) when none of its points can be stored. */
  beginMetric(h: MetricHeader): boolean {
    const label = `metric "${h.name}"`;
    this.metricName = h.name;
    if (h.kind === 'none') return false; // no data: nothing to store or reject
    if (h.kind === 'exponential_histogram') {
      this.rejections.add(`${label}: exponential histograms are not supported; configure the SDK to use explicit bucket histograms`, h.points);
      return false;
    }
    if ((h.kind === 'sum' || h.kind === 'histogram') && h.temporality !== TEMPORALITY_CUMULATIVE) {
      const why = h.temporality === TEMPORALITY_DELTA ? 'delta temporality' : 'unspecified aggregation temporality';
      this.rejections.add(`${label}: ${why} is not supported (Prometheus needs cumulative); set the exporter's temporality preference to cumulative`, h.points);
      return false;
    }
    let type: PromMetricType;
    if (h.kind === 'sum') type = h.monotonic ? 'counter' : 'gauge';
    else if (h.kind === 'histogram') type = 'histogram';
    else if (h.kind === 'summary') type = 'summary';
    else type = 'gauge';
    const family = promMetricName(h.name, h.unit, type, h.kind === 'gauge');
    if (family === '') {
      this.rejections.add(`${label}: the name has no characters valid in a Prometheus metric name`, h.points);
      return false;
    }
    this.family = family;
    this.familySum = `${family}_sum`;
    this.familyCount = `${family}_count`;
    this.familyBucket = `${family}_bucket`;
    this.familyType = type;
    this.wantExemplars = type === 'counter' || type === 'histogram';
    this.metadata.set(family, { metricFamilyName: family, type, help: h.description, unit: promUnit(h.unit) });
    return true;
  }

  reject(reason: string, count = 1): void {
    this.rejections.add(`metric "${this.metricName}": ${reason}`, count);
  }

  /**
   * Base + point attribute labels, name-sorted, without __name__; `reserved`
   * is a label the series adds itself (le, quantile). Sorted once per point,
   * so each derived series (buckets, _sum, _count) only merges in its names.
   */
  private pointLabels(attrs: AttrList, reserved: string): Labels {
    const names = this.baseNames.slice();
    const values = this.baseValues.slice();
    const nb = names.length;
    const baseSet = this.baseSet;
    const sa = sanitizedAttrs(attrs);
    for (let i = 0; i < sa.names.length; i++) {
      const n = sa.names[i] as string;
      if (n === reserved) continue;
      let taken = false;
      if (baseSet !== null) taken = baseSet.has(n);
      else for (let j = 0; j < nb; j++) if (names[j] === n) taken = true;
      if (taken) continue;
      names.push(n);
      values.push(sa.values[i] as string);
    }
    sortPairsInPlace(names, values);
    return { names, values };
  }

  /** The series index for sorted point labels plus __name__ (and le/quantile), creating it on first sight. */
  private seriesOf(l: Labels, metricName: string, extraName: string | null, extraValue: string): number {
    // merge the one or two extra names into the sorted arrays
    let n1 = '__name__';
    let v1 = metricName;
    let n2 = extraName;
    let v2 = extraValue;
    if (n2 !== null && n2 < n1) {
      n2 = n1;
      v2 = v1;
      n1 = extraName as string;
      v1 = extraValue;
    }
    const src = l.names;
    const len = src.length + (n2 === null ? 1 : 2);
    const names: string[] = new Array<string>(len);
    const values: string[] = new Array<string>(len);
    let j = 0;
    let k = 0; // extras placed
    for (let i = 0; i < src.length; i++) {
      const cur = src[i] as string;
      if (k === 0 && n1 < cur) {
        names[j] = n1;
        values[j++] = v1;
        k = 1;
      }
      if (k === 1 && n2 !== null && n2 < cur) {
        names[j] = n2;
        values[j++] = v2;
        k = 2;
      }
      names[j] = cur;
      values[j++] = l.values[i] as string;
    }
    if (k === 0) {
      names[j] = n1;
      values[j++] = v1;
      k = 1;
    }
    if (k === 1 && n2 !== null) {
      names[j] = n2;
      values[j++] = v2;
    }
    const [fpHi, fpLo] = fingerprintParts(names, values);
    // a number key (no string per lookup); it rounds away the low bits of a
    // 64-bit fingerprint, so a hit is checked and true collisions go to an exact map
    const key = fpHi * 4294967296 + fpLo;
    let idx = this.seriesIndex.get(key);
    if (idx !== undefined) {
      const s = this.series[idx] as SeriesRef;
      if (s.fpHi === fpHi && s.fpLo === fpLo) return idx;
      const exact = `${fpHi}:${fpLo}`;
      idx = this.roundedCollisions.get(exact);
      if (idx !== undefined) return idx;
      idx = this.series.length;
      this.roundedCollisions.set(exact, idx);
    } else {
      idx = this.series.length;
      this.seriesIndex.set(key, idx);
    }
    this.series.push({ labels: { names, values }, metricName, fpHi, fpLo, cache: undefined, head: undefined });
    return idx;
  }

  private push(seriesIdx: number, tsMs: number, value: number): void {
    this.sampleSeries.push(seriesIdx);
    this.timestamps.push(tsMs);
    this.values.push(value);
  }

  private sample(seriesIdx: number, tsMs: number, value: number): void {
    this.push(seriesIdx, tsMs, value);
    this.resourceSamples++;
    if (tsMs > this.resourceMaxTsMs) this.resourceMaxTsMs = tsMs;
  }

  private exemplar(seriesIdx: number, ex: RawExemplar): void {
    const sa = sanitizedAttrs(ex.attrs);
    const names: string[] = [];
    const values: string[] = [];
    // trace_id / span_id take precedence over filtered attributes (spec, "Exemplar Conversion")
    for (let i = 0; i < sa.names.length; i++) {
      const n = sa.names[i] as string;
      if ((n === 'trace_id' && ex.traceId !== '') || (n === 'span_id' && ex.spanId !== '')) continue;
      names.push(n);
      values.push(sa.values[i] as string);
    }
    if (ex.traceId !== '') {
      names.push('trace_id');
      values.push(ex.traceId);
    }
    if (ex.spanId !== '') {
      names.push('span_id');
      values.push(ex.spanId);
    }
    const labels: Labels = sortLabels(names, values);
    this.exemplars.push({ seriesIndex: seriesIdx, labels, timestampMs: ex.tsMs, value: ex.value });
  }

  numberPoint(attrs: AttrList, tsMs: number, value: number, hasValue: boolean, flags: number, exemplars: readonly RawExemplar[] | null): void {
    const stale = (flags & FLAG_NO_RECORDED_VALUE) !== 0;
    if (!stale && !hasValue) {
      this.reject('a number data point has neither as_double nor as_int');
      return;
    }
    const l = this.pointLabels(attrs, '');
    const idx = this.seriesOf(l, this.family, null, '');
    this.sample(idx, tsMs, stale ? staleNaN() : value);
    if (exemplars !== null && this.familyType === 'counter' && !stale) for (const ex of exemplars) this.exemplar(idx, ex);
  }

  /** bounds in scratchA (explicit_bounds), bucket counts in scratchB. */
  histogramPoint(attrs: AttrList, tsMs: number, count: number, sum: number, hasSum: boolean, flags: number, exemplars: readonly RawExemplar[] | null): void {
    const bounds = this.scratchA.data;
    const nb = this.scratchA.length;
    const counts = this.scratchB.data;
    const nc = this.scratchB.length;
    const stale = (flags & FLAG_NO_RECORDED_VALUE) !== 0;
    // a stale marker carries no counts; it only needs the bounds to name the bucket series
    if (!stale && nc !== 0 && nc !== nb + 1) {
      this.reject(`a histogram data point has ${nc} bucket counts for ${nb} explicit bounds (want ${nb + 1})`);
      return;
    }
    for (let i = 0; i < nb; i++) {
      const b = bounds[i] as number;
      if (Number.isNaN(b) || (i > 0 && !(b > (bounds[i - 1] as number)))) {
        this.reject('a histogram data point has explicit bounds that are not strictly increasing');
        return;
      }
    }
    const stl = stale ? staleNaN() : 0;
    const l = this.pointLabels(attrs, 'le');
    const bucketName = this.familyBucket;
    // finite buckets: cumulative counts; without bucket counts only +Inf (= count)
    // exists, except for a stale marker, which ends every bucket series
    const withBuckets = stale || nc > 0;
    const bucketIdx: number[] = [];
    let cum = 0;
    if (withBuckets) {
      for (let i = 0; i < nb; i++) {
        if (!stale) cum += counts[i] as number;
        const idx = this.seriesOf(l, bucketName, 'le', formatPromFloat(bounds[i] as number));
        bucketIdx.push(idx);
        this.sample(idx, tsMs, stale ? stl : cum);
      }
    }
    // +Inf is the point's count (equal to the sum of all buckets for valid input)
    const infIdx = this.seriesOf(l, bucketName, 'le', '+Inf');
    bucketIdx.push(infIdx);
    this.sample(infIdx, tsMs, stale ? stl : count);
    if (hasSum || stale) this.sample(this.seriesOf(l, this.familySum, null, ''), tsMs, stale ? stl : sum);
    this.sample(this.seriesOf(l, this.familyCount, null, ''), tsMs, stale ? stl : count);
    if (exemplars !== null && !stale) {
      for (const ex of exemplars) {
        // the exemplar goes to the bucket it falls into (first bound >= value)
        let b = bucketIdx.length - 1;
        if (withBuckets) {
          for (let i = 0; i < nb; i++) {
            if (ex.value <= (bounds[i] as number)) {
              b = i;
              break;
            }
          }
        }
        this.exemplar(bucketIdx[b] as number, ex);
      }
    }
  }

  /** quantiles in scratchA, their values in scratchB. */
  summaryPoint(attrs: AttrList, tsMs: number, count: number, sum: number, flags: number): void {
    const stale = (flags & FLAG_NO_RECORDED_VALUE) !== 0;
    const stl = stale ? staleNaN() : 0;
    const l = this.pointLabels(attrs, 'quantile');
    const q = this.scratchA.data;
    const qv = this.scratchB.data;
    for (let i = 0; i < this.scratchA.length; i++) {
      const idx = this.seriesOf(l, this.family, 'quantile', formatPromFloat(q[i] as number));
      this.sample(idx, tsMs, stale ? stl : (qv[i] as number));
    }
    this.sample(this.seriesOf(l, this.familySum, null, ''), tsMs, stale ? stl : sum);
    this.sample(this.seriesOf(l, this.familyCount, null, ''), tsMs, stale ? stl : count);
  }

  finish(): MetricsBatch {
    return {
      series: this.series,
      sampleSeries: this.sampleSeries.take(),
      timestampsMs: this.timestamps.take(),
      values: this.values.take(),
      sampleCount: this.values.length,
      exemplars: this.exemplars,
      metadata: [...this.metadata.values()],
      // exponential histograms are rejected here (see `rejected`), so none reach ingest
      histogramCount: 0,
      rejected: this.rejections.list(),
    };
  }
}

// ---------------------------------------------------------------------------
// Protobuf reader
// ---------------------------------------------------------------------------

// Metric.data oneof field numbers
const DATA_FIELDS: Readonly<Record<number, DataKind>> = { 5: 'gauge', 7: 'sum', 9: 'histogram', 10: 'exponential_histogram', 11: 'summary' };

function decodePb(r: ProtoReader, a: MetricsAssembler): void {
  forEachResourcePb(r, (rmEnd) => {
    // ResourceMetrics{resource=1, scope_metrics=2}
    forEachScopePb(
      r,
      rmEnd,
      'json',
      (attrs) => a.beginResource(attrs),
      // ScopeMetrics{scope=1, metrics=2}
      (smEnd) => forEachItemPb(r, smEnd, 'json', (scope) => a.beginScope(scope), (mEnd) => metricPb(r, mEnd, a)),
    );
    a.endResource();
  });
}

function metricPb(r: ProtoReader, end: number, a: MetricsAssembler): void {
  let name = '';
  let description = '';
  let unit = '';
  let kind: DataKind = 'none';
  let dataStart = 0;
  let dataEnd = 0;
  while (r.pos < end) {
    const t = r.tag(end);
    const f = t >>> 3;
    if (f === 1) {
      expectWire(t & 7, WIRE_LEN, 'Metric.name');
      name = r.string(end);
    } else if (f === 2) {
      expectWire(t & 7, WIRE_LEN, 'Metric.description');
      description = r.string(end);
    } else if (f === 3) {
      expectWire(t & 7, WIRE_LEN, 'Metric.unit');
      unit = r.string(end);
    } else if (DATA_FIELDS[f] !== undefined) {
      expectWire(t & 7, WIRE_LEN, 'Metric data');
      dataEnd = r.lenEnd(end);
      dataStart = r.pos;
      kind = DATA_FIELDS[f] as DataKind;
      r.pos = dataEnd;
    } else r.skip(t & 7, end);
  }
  // the data message's header: aggregation_temporality=2 and (Sum) is_monotonic=3; data_points=1
  let temporality = 0;
  let monotonic = false;
  let points = 0;
  r.pos = dataStart;
  while (r.pos < dataEnd) {
    const t = r.tag(dataEnd);
    const f = t >>> 3;
    if (f === 1) points++;
    if (f === 2 && (kind === 'sum' || kind === 'histogram' || kind === 'exponential_histogram')) {
      expectWire(t & 7, WIRE_VARINT, 'aggregation_temporality');
      temporality = r.varint32(dataEnd);
    } else if (f === 3 && kind === 'sum') {
      expectWire(t & 7, WIRE_VARINT, 'Sum.is_monotonic');
      monotonic = r.varint32(dataEnd) !== 0;
    } else r.skip(t & 7, dataEnd);
  }
  if (a.beginMetric({ name, description, unit, kind, temporality, monotonic, points })) {
    r.pos = dataStart;
    while (r.pos < dataEnd) {
      const t = r.tag(dataEnd);
      if (t >>> 3 === 1) {
        expectWire(t & 7, WIRE_LEN, 'data_points');
        const e = r.lenEnd(dataEnd);
        if (kind === 'histogram') histogramPointPb(r, e, a);
        else if (kind === 'summary') summaryPointPb(r, e, a);
        else numberPointPb(r, e, a);
        r.pos = e;
      } else r.skip(t & 7, dataEnd);
    }
  }
  r.pos = end;
}

function exemplarPb(r: ProtoReader, end: number): RawExemplar {
  // Exemplar{filtered_attributes=7, time_unix_nano=2, as_double=3, as_int=6, span_id=4, trace_id=5}
  const attrs = newAttrList();
  let tsMs = 0;
  let value = 0;
  let traceId = '';
  let spanId = '';
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t >>> 3) {
      case 7: {
        expectWire(t & 7, WIRE_LEN, 'Exemplar.filtered_attributes');
        const e = r.lenEnd(end);
        readKeyValuePb(r, e, attrs);
        break;
      }
      case 2:
        expectWire(t & 7, WIRE_FIXED64, 'Exemplar.time_unix_nano');
        r.fixed64(end);
        tsMs = r.nanosToMs();
        break;
      case 3:
        expectWire(t & 7, WIRE_FIXED64, 'Exemplar.as_double');
        value = r.double(end);
        break;
      case 6:
        expectWire(t & 7, WIRE_FIXED64, 'Exemplar.as_int');
        r.fixed64(end);
        value = r.i64Number();
        break;
      case 4: {
        expectWire(t & 7, WIRE_LEN, 'Exemplar.span_id');
        const e = r.lenEnd(end);
        spanId = hexOf(r.buf, r.pos, e);
        r.pos = e;
        break;
      }
      case 5: {
        expectWire(t & 7, WIRE_LEN, 'Exemplar.trace_id');
        const e = r.lenEnd(end);
        traceId = hexOf(r.buf, r.pos, e);
        r.pos = e;
        break;
      }
      default:
        r.skip(t & 7, end);
    }
  }
  return { attrs, tsMs, value, traceId, spanId };
}

function numberPointPb(r: ProtoReader, end: number, a: MetricsAssembler): void {
  // NumberDataPoint{attributes=7, start_time_unix_nano=2, time_unix_nano=3, as_double=4, as_int=6, exemplars=5, flags=8}
  const attrs = newAttrList();
  let tsMs = 0;
  let value = 0;
  let hasValue = false;
  let flags = 0;
  let exemplars: RawExemplar[] | null = null;
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t >>> 3) {
      case 7: {
        expectWire(t & 7, WIRE_LEN, 'NumberDataPoint.attributes');
        const e = r.lenEnd(end);
        readKeyValuePb(r, e, attrs);
        break;
      }
      case 3:
        expectWire(t & 7, WIRE_FIXED64, 'NumberDataPoint.time_unix_nano');
        r.fixed64(end);
        tsMs = r.nanosToMs();
        break;
      case 4:
        expectWire(t & 7, WIRE_FIXED64, 'NumberDataPoint.as_double');
        value = r.double(end);
        hasValue = true;
        break;
      case 6:
        expectWire(t & 7, WIRE_FIXED64, 'NumberDataPoint.as_int');
        r.fixed64(end);
        value = r.i64Number();
        hasValue = true;
        break;
      case 5: {
        expectWire(t & 7, WIRE_LEN, 'NumberDataPoint.exemplars');
        const e = r.lenEnd(end);
        if (a.wantExemplars) (exemplars ??= []).push(exemplarPb(r, e));
        r.pos = e;
        break;
      }
      case 8:
        expectWire(t & 7, WIRE_VARINT, 'NumberDataPoint.flags');
        flags = r.varint32(end);
        break;
      default:
        r.skip(t & 7, end);
    }
  }
  a.numberPoint(attrs, tsMs, value, hasValue, flags, exemplars);
}

/** A repeated fixed64 / double field, packed (wire 2) or not (wire 1). */
function repeatedFixed64Pb(r: ProtoReader, wire: number, end: number, out: GrowableF64, asDouble: boolean, field: string): void {
  if (wire === WIRE_LEN) {
    const e = r.lenEnd(end);
    if ((e - r.pos) % 8 !== 0) fail(`packed ${field} is not a multiple of 8 bytes`);
    while (r.pos < e) {
      if (asDouble) out.push(r.double(e));
      else {
        r.fixed64(e);
        out.push(r.u64Number());
      }
    }
    return;
  }
  expectWire(wire, WIRE_FIXED64, field);
  if (asDouble) out.push(r.double(end));
  else {
    r.fixed64(end);
    out.push(r.u64Number());
  }
}

function histogramPointPb(r: ProtoReader, end: number, a: MetricsAssembler): void {
  // HistogramDataPoint{attributes=9, start=2, time=3, count=4, sum=5, bucket_counts=6, explicit_bounds=7, exemplars=8, flags=10, min=11, max=12}
  const attrs = newAttrList();
  let tsMs = 0;
  let count = 0;
  let sum = 0;
  let hasSum = false;
  let flags = 0;
  let exemplars: RawExemplar[] | null = null;
  a.scratchA.clear();
  a.scratchB.clear();
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t >>> 3) {
      case 9: {
        expectWire(t & 7, WIRE_LEN, 'HistogramDataPoint.attributes');
        const e = r.lenEnd(end);
        readKeyValuePb(r, e, attrs);
        break;
      }
      case 3:
        expectWire(t & 7, WIRE_FIXED64, 'HistogramDataPoint.time_unix_nano');
        r.fixed64(end);
        tsMs = r.nanosToMs();
        break;
      case 4:
        expectWire(t & 7, WIRE_FIXED64, 'HistogramDataPoint.count');
        r.fixed64(end);
        count = r.u64Number();
        break;
      case 5:
        expectWire(t & 7, WIRE_FIXED64, 'HistogramDataPoint.sum');
        sum = r.double(end);
        hasSum = true;
        break;
      case 6:
        repeatedFixed64Pb(r, t & 7, end, a.scratchB, false, 'HistogramDataPoint.bucket_counts');
        break;
      case 7:
        repeatedFixed64Pb(r, t & 7, end, a.scratchA, true, 'HistogramDataPoint.explicit_bounds');
        break;
      case 8: {
        expectWire(t & 7, WIRE_LEN, 'HistogramDataPoint.exemplars');
        const e = r.lenEnd(end);
        (exemplars ??= []).push(exemplarPb(r, e));
        r.pos = e;
        break;
      }
      case 10:
        expectWire(t & 7, WIRE_VARINT, 'HistogramDataPoint.flags');
        flags = r.varint32(end);
        break;
      default:
        r.skip(t & 7, end);
    }
  }
  a.histogramPoint(attrs, tsMs, count, sum, hasSum, flags, exemplars);
}

function summaryPointPb(r: ProtoReader, end: number, a: MetricsAssembler): void {
  // SummaryDataPoint{attributes=7, start=2, time=3, count=4, sum=5, quantile_values=6{quantile=1, value=2}, flags=8}
  const attrs = newAttrList();
  let tsMs = 0;
  let count = 0;
  let sum = 0;
  let flags = 0;
  a.scratchA.clear();
  a.scratchB.clear();
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t >>> 3) {
      case 7: {
        expectWire(t & 7, WIRE_LEN, 'SummaryDataPoint.attributes');
        const e = r.lenEnd(end);
        readKeyValuePb(r, e, attrs);
        break;
      }
      case 3:
        expectWire(t & 7, WIRE_FIXED64, 'SummaryDataPoint.time_unix_nano');
        r.fixed64(end);
        tsMs = r.nanosToMs();
        break;
      case 4:
        expectWire(t & 7, WIRE_FIXED64, 'SummaryDataPoint.count');
        r.fixed64(end);
        count = r.u64Number();
        break;
      case 5:
        expectWire(t & 7, WIRE_FIXED64, 'SummaryDataPoint.sum');
        sum = r.double(end);
        break;
      case 6: {
        expectWire(t & 7, WIRE_LEN, 'SummaryDataPoint.quantile_values');
        const e = r.lenEnd(end);
        let q = 0;
        let v = 0;
        while (r.pos < e) {
          const qt = r.tag(e);
          if (qt >>> 3 === 1) {
            expectWire(qt & 7, WIRE_FIXED64, 'ValueAtQuantile.quantile');
            q = r.double(e);
          } else if (qt >>> 3 === 2) {
            expectWire(qt & 7, WIRE_FIXED64, 'ValueAtQuantile.value');
            v = r.double(e);
          } else r.skip(qt & 7, e);
        }
        a.scratchA.push(q);
        a.scratchB.push(v);
        break;
      }
      case 8:
        expectWire(t & 7, WIRE_VARINT, 'SummaryDataPoint.flags');
        flags = r.varint32(end);
        break;
      default:
        r.skip(t & 7, end);
    }
  }
  a.summaryPoint(attrs, tsMs, count, sum, flags);
}

// ---------------------------------------------------------------------------
// OTLP/JSON reader
// ---------------------------------------------------------------------------

function decodeJson(root: unknown, a: MetricsAssembler): void {
  const req = jsonObject(root, 'request body') ?? {};
  for (const rm of jsonArray(req.resourceMetrics, 'resourceMetrics')) {
    const rmo = jsonObject(rm, 'resourceMetrics[]') ?? {};
    a.beginResource(readResourceJson(rmo.resource));
    for (const sm of jsonArray(rmo.scopeMetrics, 'scopeMetrics')) {
      const smo = jsonObject(sm, 'scopeMetrics[]') ?? {};
      a.beginScope(readScopeJson(smo.scope));
      for (const m of jsonArray(smo.metrics, 'metrics')) metricJson(jsonObject(m, 'metrics[]') ?? {}, a);
    }
    a.endResource();
  }
}

const JSON_DATA_FIELDS: readonly (readonly [string, DataKind])[] = [
  ['gauge', 'gauge'],
  ['sum', 'sum'],
  ['histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram'],
  ['summary', 'summary'],
];

function metricJson(m: Record<string, unknown>, a: MetricsAssembler): void {
  const name = jsonString(m.name, 'metric.name');
  let kind: DataKind = 'none';
  let data: Record<string, unknown> = {};
  for (const [field, k] of JSON_DATA_FIELDS) {
    const d = jsonObject(m[field], `metric.${field}`);
    if (d !== undefined) {
      kind = k;
      data = d;
    }
  }
  const points = jsonArray(data.dataPoints, `metric "${name}" dataPoints`);
  const header: MetricHeader = {
    name,
    description: jsonString(m.description, 'metric.description'),
    unit: jsonString(m.unit, 'metric.unit'),
    kind,
    temporality: jsonEnum(data.aggregationTemporality, AGGREGATION_TEMPORALITY_NAMES, 'aggregationTemporality'),
    monotonic: jsonBool(data.isMonotonic, 'isMonotonic'),
    points: points.length,
  };
  if (!a.beginMetric(header)) return;
  for (const p of points) {
    const po = jsonObject(p, 'dataPoints[]') ?? {};
    const attrs = newAttrList();
    readAttributesJson(po.attributes, attrs);
    const tsMs = jsonNanosToMs(po.timeUnixNano, 'timeUnixNano');
    const flags = jsonInt(po.flags, 'flags');
    if (kind === 'histogram') {
      a.scratchA.clear();
      a.scratchB.clear();
      for (const b of jsonArray(po.explicitBounds, 'explicitBounds')) a.scratchA.push(jsonDouble(b, 'explicitBounds[]'));
      for (const c of jsonArray(po.bucketCounts, 'bucketCounts')) a.scratchB.push(jsonUint(c, 'bucketCounts[]'));
      const hasSum = po.sum !== undefined && po.sum !== null;
      a.histogramPoint(attrs, tsMs, jsonUint(po.count, 'count'), hasSum ? jsonDouble(po.sum, 'sum') : 0, hasSum, flags, exemplarsJson(po.exemplars));
    } else if (kind === 'summary') {
      a.scratchA.clear();
      a.scratchB.clear();
      for (const q of jsonArray(po.quantileValues, 'quantileValues')) {
        const qo = jsonObject(q, 'quantileValues[]') ?? {};
        a.scratchA.push(jsonDouble(qo.quantile, 'quantile'));
        a.scratchB.push(jsonDouble(qo.value, 'value'));
      }
      a.summaryPoint(attrs, tsMs, jsonUint(po.count, 'count'), jsonDouble(po.sum, 'sum'), flags);
    } else {
      const hasDouble = po.asDouble !== undefined && po.asDouble !== null;
      const hasInt = po.asInt !== undefined && po.asInt !== null;
      const value = hasInt ? jsonInt(po.asInt, 'asInt') : hasDouble ? jsonDouble(po.asDouble, 'asDouble') : 0;
      a.numberPoint(attrs, tsMs, value, hasDouble || hasInt, flags, a.wantExemplars ? exemplarsJson(po.exemplars) : null);
    }
  }
}

function jsonUint(v: unknown, what: string): number {
  const n = jsonInt(v, what);
  if (n < 0) fail(`${what} must not be negative`);
  return n;
}

function exemplarsJson(list: unknown): RawExemplar[] | null {
  const arr = jsonArray(list, 'exemplars');
  if (arr.length === 0) return null;
  return arr.map((e) => {
    const eo = jsonObject(e, 'exemplars[]') ?? {};
    const attrs = newAttrList();
    readAttributesJson(eo.filteredAttributes, attrs);
    const trace = jsonId(eo.traceId, 'exemplar traceId');
    const span = jsonId(eo.spanId, 'exemplar spanId');
    const hasInt = eo.asInt !== undefined && eo.asInt !== null;
    return {
      attrs,
      tsMs: jsonNanosToMs(eo.timeUnixNano, 'exemplar timeUnixNano'),
      value: hasInt ? jsonInt(eo.asInt, 'exemplar asInt') : jsonDouble(eo.asDouble, 'exemplar asDouble'),
      // an id that is not hex is left off rather than failing the request
      traceId: trace === null ? '' : hexOf(trace),
      spanId: span === null ? '' : hexOf(span),
    };
  });
}
