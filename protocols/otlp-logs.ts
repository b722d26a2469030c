// OTLP logs (ExportLogsServiceRequest, protobuf or OTLP/JSON) → LogsBatch,
// mapped the way Loki's native OTLP ingestion does
// (https://grafana.com/docs/loki/latest/send-data/otel/):
// - stream labels come from a fixed set of resource attributes (Loki's 17
//   default index labels, plus `cluster`, the label fleetwatch collectors
//   stamp), names normalised (`service.name` → `service_name`); a resource
//   without `service.name` gets `service_name="unknown_service"`;
// - everything else becomes structured metadata: the other resource
//   attributes, scope name/version/attributes, log attributes (maps flattened
//   into `key_sub` names), severity_text, severity_number, flags,
//   observed_timestamp, dropped_attributes_count, event_name;
// - body: a string as is, any other AnyValue rendered as JSON;
// - severity: severity_text, else the short name of severity_number
//   (https://opentelemetry.io/docs/specs/otel/logs/data-model/#displaying-severity);
// - timestamp: time_unix_nano, else observed_time_unix_nano, else now.
// trace_id / span_id go to their own columns (lowercase hex); a record whose
// id has the wrong length is rejected (partial success), the rest kept.
//
// Field numbers: opentelemetry/proto/logs/v1/logs.proto.
import type { Labels } from '../core/index.ts';
import {
  GrowableI64,
  SEVERITY_NUMBER_NAMES,
  GrowableU32,
  ProtoReader,
  RejectionCollector,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  expectWire,
  forEachItemPb,
  forEachResourcePb,
  forEachScopePb,
  hexOf,
  isAllZero,
  jsonArray,
  jsonEnum,
  jsonId,
  jsonInt,
  jsonNanos,
  jsonObject,
  jsonString,
  newAttrList,
  parseJsonBody,
  promLabelName,
  readAttributesJson,
  readKeyValuePb,
  readResourceJson,
  readScopeJson,
  renderAnyValueJson,
  renderAnyValuePb,
  runDecoder,
  sortedLastWins,
  type AttrList,
  type OtlpFormat,
  type ScopeInfo,
} from './otlp-common.ts';
import { makeStream } from './series.ts';
import type { DecodeResult, LogStream, LogsBatch } from './types.ts';

/** Decodes an ExportLogsServiceRequest body. Bad input → a 400 value; never throws on client input. */
export function decodeOtlpLogs(body: Uint8Array | string, format: OtlpFormat): DecodeResult<LogsBatch> {
  return runDecoder('OTLP logs request', () => {
    const a = new LogsAssembler();
    if (format === 'json') decodeJson(parseJsonBody(body), a);
    else decodePb(new ProtoReader(typeof body === 'string' ? Buffer.from(body, 'latin1') : body), a);
    return a.finish();
  });
}

/**
 * Resource attributes that become stream labels: Loki's default
 * `default_resource_attributes_as_index_labels`, plus `cluster`.
 */
export const OTLP_LOG_STREAM_ATTRIBUTES: ReadonlySet<string> = new Set([
  'cloud.availability_zone',
  'cloud.region',
  'container.name',
  'deployment.environment',
  'k8s.cluster.name',
  'k8s.container.name',
  'k8s.cronjob.name',
  'k8s.daemonset.name',
  'k8s.deployment.name',
  'k8s.job.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.replicaset.name',
  'k8s.statefulset.name',
  'service.instance.id',
  'service.name',
  'service.namespace',
  'cluster',
]);

const SERVICE_NAME_LABEL = 'service_name';
const UNKNOWN_SERVICE = 'unknown_service';

// SeverityNumber → short name (logs data model, "Displaying Severity")
const SEVERITY_NAMES: readonly string[] = ['', ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((n) => [n, `${n}2`, `${n}3`, `${n}4`])];

export function severityName(severityNumber: number): string {
  return SEVERITY_NAMES[severityNumber] ?? '';
}

/** Attribute list with Loki-normalised names, empty values dropped. */
function normalized(attrs: AttrList): AttrList {
  const out = newAttrList();
  for (let i = 0; i < attrs.keys.length; i++) {
    const v = attrs.values[i] as string;
    const k = promLabelName(attrs.keys[i] as string);
    if (v === '' || k === '') continue;
    out.keys.push(k);
    out.values.push(v);
  }
  return out;
}

function pushPair(keys: string[], values: string[], k: string, v: string): void {
  keys.push(k);
  values.push(v);
}

/** Merges two sorted label sets; `b` wins on an equal name. */
function mergeSorted(a: Labels, b: Labels): Labels {
  if (a.names.length === 0) return b;
  const names: string[] = [];
  const values: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.names.length || j < b.names.length) {
    const an = a.names[i];
    const bn = b.names[j];
    if (bn === undefined || (an !== undefined && an < bn)) {
      names.push(an as string);
      values.push(a.values[i++] as string);
    } else {
      if (an === bn) i++;
      names.push(bn);
      values.push(b.values[j++] as string);
    }
  }
  return { names, values };
}

interface LogRecordFields {
  timeNs: bigint;
  observedNs: bigint;
  severityNumber: number;
  severityText: string;
  body: string;
  attrs: AttrList;
  droppedAttributes: number;
  flags: number;
  /** lowercase hex, '' when absent, null when malformed */
  traceId: string | null;
  spanId: string | null;
  eventName: string;
}

class LogsAssembler {
  private readonly streams: LogStream[] = [];
  private readonly streamIndex = new Map<string, number>();
  private readonly recordStream = new GrowableU32(256);
  private readonly timestamps = new GrowableI64(256);
  private readonly bodies: string[] = [];
  private readonly severities: string[] = [];
  private readonly traceIds: string[] = [];
  private readonly spanIds: string[] = [];
  private readonly metadata: Labels[] = [];
  readonly rejections = new RejectionCollector();

  private stream = 0;
  private resourceMeta: AttrList = newAttrList();
  /** resource + scope metadata, name-sorted, shared by every record of the scope that adds nothing */
  private baseMeta: Labels = { names: [], values: [] };

  beginResource(attrs: AttrList): void {
    const names: string[] = [];
    const values: string[] = [];
    const meta = newAttrList();
    for (let i = 0; i < attrs.keys.length; i++) {
      const k = attrs.keys[i] as string;
      const v = attrs.values[i] as string;
      if (v === '') continue;
      const name = promLabelName(k);
      if (name === '') continue;
      if (OTLP_LOG_STREAM_ATTRIBUTES.has(k) && !names.includes(name)) {
        names.push(name);
        values.push(v);
      } else {
        meta.keys.push(name);
        meta.values.push(v);
      }
    }
    if (!names.includes(SERVICE_NAME_LABEL)) {
      names.push(SERVICE_NAME_LABEL);
      values.push(UNKNOWN_SERVICE);
    }
    const s = makeStream(names, values);
    const key = `${s.fpHi}:${s.fpLo}`;
    let idx = this.streamIndex.get(key);
    if (idx === undefined) {
      idx = this.streams.length;
      this.streams.push(s);
      this.streamIndex.set(key, idx);
    }
    this.stream = idx;
    this.resourceMeta = meta;
    this.baseMeta = sortedLastWins(meta.keys, meta.values);
  }

  beginScope(scope: ScopeInfo): void {
    // scope entries come after the resource's, so they win a name clash
    const keys = this.resourceMeta.keys.slice();
    const values = this.resourceMeta.values.slice();
    const m = normalized(scope.attrs);
    keys.push(...m.keys);
    values.push(...m.values);
    if (scope.name !== '') {
      keys.push('scope_name');
      values.push(scope.name);
    }
    if (scope.version !== '') {
      keys.push('scope_version');
      values.push(scope.version);
    }
    this.baseMeta = sortedLastWins(keys, values);
  }

  record(r: LogRecordFields): void {
    if (r.traceId === null) {
      this.rejections.add('log record with an invalid trace_id (must be 16 bytes, hex in JSON)', 1);
      return;
    }
    if (r.spanId === null) {
      this.rejections.add('log record with an invalid span_id (must be 8 bytes, hex in JSON)', 1);
      return;
    }
    // later sources win on a name clash: resource < scope < log attributes < record fields
    const keys: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < r.attrs.keys.length; i++) {
      const v = r.attrs.values[i] as string;
      const k = promLabelName(r.attrs.keys[i] as string);
      if (v === '' || k === '') continue;
      keys.push(k);
      values.push(v);
    }
    if (r.timeNs !== 0n && r.observedNs !== 0n) pushPair(keys, values, 'observed_timestamp', r.observedNs.toString());
    if (r.severityNumber !== 0) pushPair(keys, values, 'severity_number', String(r.severityNumber));
    if (r.severityText !== '') pushPair(keys, values, 'severity_text', r.severityText);
    if (r.droppedAttributes !== 0) pushPair(keys, values, 'dropped_attributes_count', String(r.droppedAttributes));
    if (r.flags !== 0) pushPair(keys, values, 'flags', String(r.flags));
    if (r.eventName !== '') pushPair(keys, values, 'event_name', r.eventName);
    const labels = keys.length === 0 ? this.baseMeta : mergeSorted(this.baseMeta, sortedLastWins(keys, values));

    this.recordStream.push(this.stream);
    this.timestamps.push(r.timeNs !== 0n ? r.timeNs : r.observedNs !== 0n ? r.observedNs : BigInt(Date.now()) * 1_000_000n);
    this.bodies.push(r.body);
    this.severities.push(r.severityText !== '' ? r.severityText : severityName(r.severityNumber));
    this.traceIds.push(r.traceId);
    this.spanIds.push(r.spanId);
    this.metadata.push(labels);
  }

  finish(): LogsBatch {
    return {
      streams: this.streams,
      recordStream: this.recordStream.take(),
      timestampsNs: this.timestamps.take(),
      bodies: this.bodies,
      severities: this.severities,
      traceIds: this.traceIds,
      spanIds: this.spanIds,
      metadata: this.metadata,
      recordCount: this.bodies.length,
      rejected: this.rejections.list(),
    };
  }
}

/** An id's hex: '' when absent or all zero (invalid means "no id"), null when the length is wrong. */
function idHex(bytes: Uint8Array, start: number, end: number, size: number): string | null {
  if (end === start) return '';
  if (end - start !== size) return null;
  return isAllZero(bytes, start, end) ? '' : hexOf(bytes, start, end);
}

// ---------------------------------------------------------------------------
// Protobuf reader
// ---------------------------------------------------------------------------

function decodePb(r: ProtoReader, a: LogsAssembler): void {
  forEachResourcePb(r, (rlEnd) => {
    // ResourceLogs{resource=1, scope_logs=2}; ScopeLogs{scope=1, log_records=2}
    forEachScopePb(
      r,
      rlEnd,
      'flatten',
      (attrs) => a.beginResource(attrs),
      (slEnd) => forEachItemPb(r, slEnd, 'flatten', (scope) => a.beginScope(scope), (lrEnd) => logRecordPb(r, lrEnd, a)),
    );
  });
}

function logRecordPb(r: ProtoReader, end: number, a: LogsAssembler): void {
  // LogRecord{time=1, observed_time=11, severity_number=2, severity_text=3, body=5, attributes=6,
  //           dropped_attributes_count=7, flags=8 (fixed32), trace_id=9, span_id=10, event_name=12}
  const f: LogRecordFields = {
    timeNs: 0n,
    observedNs: 0n,
    severityNumber: 0,
    severityText: '',
    body: '',
    attrs: newAttrList(),
    droppedAttributes: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    eventName: '',
  };
  let bodyStart = -1;
  let bodyEnd = -1;
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t >>> 3) {
      case 1:
        expectWire(t & 7, WIRE_FIXED64, 'LogRecord.time_unix_nano');
        r.fixed64(end);
        f.timeNs = r.u64();
        break;
      case 11:
        expectWire(t & 7, WIRE_FIXED64, 'LogRecord.observed_time_unix_nano');
        r.fixed64(end);
        f.observedNs = r.u64();
        break;
      case 2:
        expectWire(t & 7, WIRE_VARINT, 'LogRecord.severity_number');
        f.severityNumber = r.varint32(end) | 0;
        break;
      case 3:
        expectWire(t & 7, WIRE_LEN, 'LogRecord.severity_text');
        f.severityText = r.string(end);
        break;
      case 5:
        expectWire(t & 7, WIRE_LEN, 'LogRecord.body');
        bodyEnd = r.lenEnd(end);
        bodyStart = r.pos;
        r.pos = bodyEnd;
        break;
      case 6: {
        expectWire(t & 7, WIRE_LEN, 'LogRecord.attributes');
        const e = r.lenEnd(end);
        readKeyValuePb(r, e, f.attrs, 'flatten');
        break;
      }
      case 7:
        expectWire(t & 7, WIRE_VARINT, 'LogRecord.dropped_attributes_count');
        f.droppedAttributes = r.varint32(end);
        break;
      case 8:
        expectWire(t & 7, WIRE_FIXED32, 'LogRecord.flags');
        f.flags = r.fixed32(end);
        break;
      case 9: {
        expectWire(t & 7, WIRE_LEN, 'LogRecord.trace_id');
        const e = r.lenEnd(end);
        f.traceId = idHex(r.buf, r.pos, e, 16);
        r.pos = e;
        break;
      }
      case 10: {
        expectWire(t & 7, WIRE_LEN, 'LogRecord.span_id');
        const e = r.lenEnd(end);
        f.spanId = idHex(r.buf, r.pos, e, 8);
        r.pos = e;
        break;
      }
      case 12:
        expectWire(t & 7, WIRE_LEN, 'LogRecord.event_name');
        f.eventName = r.string(end);
        break;
      default:
        r.skip(t & 7, end);
    }
  }
  if (bodyStart >= 0) f.body = renderAnyValuePb(r, bodyStart, bodyEnd);
  r.pos = end;
  a.record(f);
}

// ---------------------------------------------------------------------------
// OTLP/JSON reader
// ---------------------------------------------------------------------------

function jsonIdHex(v: unknown, size: number, what: string): string | null {
  const b = jsonId(v, what);
  if (b === null) return null;
  return idHex(b, 0, b.length, size);
}

function decodeJson(root: unknown, a: LogsAssembler): void {
  const req = jsonObject(root, 'request body') ?? {};
  for (const rl of jsonArray(req.resourceLogs, 'resourceLogs')) {
    const rlo = jsonObject(rl, 'resourceLogs[]') ?? {};
    a.beginResource(readResourceJson(rlo.resource, 'flatten'));
    for (const sl of jsonArray(rlo.scopeLogs, 'scopeLogs')) {
      const slo = jsonObject(sl, 'scopeLogs[]') ?? {};
      a.beginScope(readScopeJson(slo.scope, 'flatten'));
      for (const lr of jsonArray(slo.logRecords, 'logRecords')) {
        const o = jsonObject(lr, 'logRecords[]') ?? {};
        const attrs = newAttrList();
        readAttributesJson(o.attributes, attrs, 'flatten');
        a.record({
          timeNs: jsonNanos(o.timeUnixNano, 'timeUnixNano'),
          observedNs: jsonNanos(o.observedTimeUnixNano, 'observedTimeUnixNano'),
          severityNumber: jsonEnum(o.severityNumber, SEVERITY_NUMBER_NAMES, 'severityNumber'),
          severityText: jsonString(o.severityText, 'severityText'),
          body: renderAnyValueJson(o.body),
          attrs,
          droppedAttributes: jsonInt(o.droppedAttributesCount, 'droppedAttributesCount'),
          flags: jsonInt(o.flags, 'flags'),
          traceId: jsonIdHex(o.traceId, 16, 'traceId'),
          spanId: jsonIdHex(o.spanId, 8, 'spanId'),
          eventName: jsonString(o.eventName, 'eventName'),
        });
      }
    }
  }
}
