// OTLP traces (ExportTraceServiceRequest, protobuf or OTLP/JSON) → SpansBatch.
// Every span keeps all the fields the Span contract has: ids, parent,
// trace_state, name, kind, start and duration, status, scope, attributes and
// resource attributes (values rendered to strings per the OTel spec: arrays
// and maps as JSON), events and links. The service name is the resource's
// `service.name` (`unknown_service` without one, the SDK default's prefix).
//
// A span with an invalid trace id (not 16 bytes, or all zero), span id (not
// 8 bytes, or all zero) or parent span id (neither empty nor 8 bytes) is
// rejected with a reason (partial success); the rest of the request is kept.
//
// Field numbers: opentelemetry/proto/trace/v1/trace.proto.
import type { Labels } from '../core/index.ts';
import {
  ProtoReader,
  SPAN_KIND_NAMES,
  STATUS_CODE_NAMES,
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
  jsonNanos,
  jsonObject,
  jsonString,
  newAttrList,
  parseJsonBody,
  readAttributesJson,
  readKeyValuePb,
  readResourceJson,
  readScopeJson,
  runDecoder,
  sortedLastWins,
  type AttrList,
  type OtlpFormat,
  type ScopeInfo,
} from './otlp-common.ts';
import type { DecodeResult, Span, SpanEvent, SpanLink, SpansBatch } from './types.ts';

/** Decodes an ExportTraceServiceRequest body. Bad input → a 400 value; never throws on client input. */
export function decodeOtlpTraces(body: Uint8Array | string, format: OtlpFormat): DecodeResult<SpansBatch> {
  return runDecoder('OTLP traces request', () => {
    const a = new SpansAssembler();
    if (format === 'json') decodeJson(parseJsonBody(body), a);
    else decodePb(new ProtoReader(typeof body === 'string' ? Buffer.from(body, 'latin1') : body), a);
    return a.finish();
  });
}

export const UNKNOWN_SERVICE_NAME = 'unknown_service';

/** Attributes as a name-sorted label set; on a repeated key the last value wins. */
function labelsOf(attrs: AttrList): Labels {
  // the AttrList is ours (built for this span), so it is sorted in place
  return sortedLastWins(attrs.keys, attrs.values);
}

/**
 * Ids are copied out of the request into shared chunks, so a batch holds no
 * reference to the (possibly large) request body and no id costs its own
 * ArrayBuffer.
 */
class IdArena {
  private chunk = new Uint8Array(4096);
  private off = 0;

  copy(src: Uint8Array, start: number, end: number): Uint8Array {
    const n = end - start;
    if (this.off + n > this.chunk.length) {
      this.chunk = new Uint8Array(Math.max(4096, n));
      this.off = 0;
    }
    const out = this.chunk.subarray(this.off, this.off + n);
    out.set(src.subarray(start, end));
    this.off += n;
    return out;
  }
}

const SPAN_KIND_MAX = 5;
const STATUS_CODE_MAX = 2;

/** A span as read off the wire, before validation. Ids are [start, end) ranges into `idSource`. */
interface RawSpan {
  idSource: Uint8Array;
  traceStart: number;
  traceEnd: number;
  spanStart: number;
  spanEnd: number;
  parentStart: number;
  parentEnd: number;
  traceState: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attrs: AttrList;
  events: SpanEvent[];
  links: SpanLink[];
  statusCode: number;
  statusMessage: string;
}

class SpansAssembler {
  private readonly spans: Span[] = [];
  private readonly ids = new IdArena();
  readonly rejections = new RejectionCollector();
  private serviceName = UNKNOWN_SERVICE_NAME;
  private resourceAttributes: Labels = { names: [], values: [] };
  private scopeName = '';
  private scopeVersion = '';

  beginResource(attrs: AttrList): void {
    this.resourceAttributes = labelsOf(attrs);
    const i = attrs.keys.lastIndexOf('service.name');
    const svc = i >= 0 ? (attrs.values[i] as string) : '';
    this.serviceName = svc !== '' ? svc : UNKNOWN_SERVICE_NAME;
  }

  beginScope(scope: ScopeInfo): void {
    this.scopeName = scope.name;
    this.scopeVersion = scope.version;
  }

  span(s: RawSpan): void {
    const b = s.idSource;
    if (s.traceEnd - s.traceStart !== 16 || isAllZero(b, s.traceStart, s.traceEnd)) {
      this.rejections.add('span with an invalid trace_id (must be 16 bytes and not all zero)', 1);
      return;
    }
    if (s.spanEnd - s.spanStart !== 8 || isAllZero(b, s.spanStart, s.spanEnd)) {
      this.rejections.add('span with an invalid span_id (must be 8 bytes and not all zero)', 1);
      return;
    }
    const parentLen = s.parentEnd - s.parentStart;
    if (parentLen !== 0 && parentLen !== 8) {
      this.rejections.add('span with an invalid parent_span_id (must be empty or 8 bytes)', 1);
      return;
    }
    this.spans.push({
      traceId: this.ids.copy(b, s.traceStart, s.traceEnd),
      spanId: this.ids.copy(b, s.spanStart, s.spanEnd),
      // an all-zero parent is no parent (an invalid span context)
      parentSpanId: parentLen === 0 || isAllZero(b, s.parentStart, s.parentEnd) ? '' : hexOf(b, s.parentStart, s.parentEnd),
      traceState: s.traceState,
      serviceName: this.serviceName,
      name: s.name,
      kind: s.kind >= 0 && s.kind <= SPAN_KIND_MAX ? s.kind : 0,
      startTimeNs: s.startNs,
      // an end before the start (clock trouble in the client) counts as zero length
      durationNs: s.endNs > s.startNs ? s.endNs - s.startNs : 0n,
      statusCode: s.statusCode >= 0 && s.statusCode <= STATUS_CODE_MAX ? s.statusCode : 0,
      statusMessage: s.statusMessage,
      scopeName: this.scopeName,
      scopeVersion: this.scopeVersion,
      attributes: labelsOf(s.attrs),
      resourceAttributes: this.resourceAttributes,
      events: s.events,
      links: s.links,
    });
  }

  finish(): SpansBatch {
    return { spans: this.spans, rejected: this.rejections.list() };
  }
}

function newRawSpan(idSource: Uint8Array): RawSpan {
  return {
    idSource,
    traceStart: 0,
    traceEnd: 0,
    spanStart: 0,
    spanEnd: 0,
    parentStart: 0,
    parentEnd: 0,
    traceState: '',
    name: '',
    kind: 0,
    startNs: 0n,
    endNs: 0n,
    attrs: newAttrList(),
    events: [],
    links: [],
    statusCode: 0,
    statusMessage: '',
  };
}

// ---------------------------------------------------------------------------
// Protobuf reader
// ---------------------------------------------------------------------------

function decodePb(r: ProtoReader, a: SpansAssembler): void {
  forEachResourcePb(r, (rsEnd) => {
    // ResourceSpans{resource=1, scope_spans=2}; ScopeSpans{scope=1, spans=2}
    forEachScopePb(
      r,
      rsEnd,
      'json',
      (attrs) => a.beginResource(attrs),
      (ssEnd) => forEachItemPb(r, ssEnd, 'json', (scope) => a.beginScope(scope), (spEnd) => spanPb(r, spEnd, a)),
    );
  });
}

function spanPb(r: ProtoReader, end: number, a: SpansAssembler): void {
  // Span{trace_id=1, span_id=2, trace_state=3, parent_span_id=4, flags=16, name=5, kind=6,
  //      start=7, end=8, attributes=9, dropped_attributes_count=10, events=11,
  //      dropped_events_count=12, links=13, dropped_links_count=14, status=15}
  const s = newRawSpan(r.buf);
  while (r.pos < end) {
    const t = r.tag(end);
    switch (t >>> 3) {
      case 1:
        expectWire(t & 7, WIRE_LEN, 'Span.trace_id');
        s.traceEnd = r.lenEnd(end);
        s.traceStart = r.pos;
        r.pos = s.traceEnd;
        break;
      case 2:
        expectWire(t & 7, WIRE_LEN, 'Span.span_id');
        s.spanEnd = r.lenEnd(end);
        s.spanStart = r.pos;
        r.pos = s.spanEnd;
        break;
      case 3:
        expectWire(t & 7, WIRE_LEN, 'Span.trace_state');
        s.traceState = r.string(end);
        break;
      case 4:
        expectWire(t & 7, WIRE_LEN, 'Span.parent_span_id');
        s.parentEnd = r.lenEnd(end);
        s.parentStart = r.pos;
        r.pos = s.parentEnd;
        break;
      case 5:
        expectWire(t & 7, WIRE_LEN, 'Span.name');
        s.name = r.string(end);
        break;
      case 6:
        expectWire(t & 7, WIRE_VARINT, 'Span.kind');
        s.kind = r.varint32(end) | 0;
        break;
      case 7:
        expectWire(t & 7, WIRE_FIXED64, 'Span.start_time_unix_nano');
        r.fixed64(end);
        s.startNs = r.u64();
        break;
      case 8:
        expectWire(t & 7, WIRE_FIXED64, 'Span.end_time_unix_nano');
        r.fixed64(end);
        s.endNs = r.u64();
        break;
      case 9: {
        expectWire(t & 7, WIRE_LEN, 'Span.attributes');
        const e = r.lenEnd(end);
        readKeyValuePb(r, e, s.attrs);
        break;
      }
      case 11: {
        expectWire(t & 7, WIRE_LEN, 'Span.events');
        const e = r.lenEnd(end);
        s.events.push(eventPb(r, e));
        r.pos = e;
        break;
      }
      case 13: {
        expectWire(t & 7, WIRE_LEN, 'Span.links');
        const e = r.lenEnd(end);
        s.links.push(linkPb(r, e));
        r.pos = e;
        break;
      }
      case 15: {
        expectWire(t & 7, WIRE_LEN, 'Span.status');
        const e = r.lenEnd(end);
        // Status{message=2, code=3}
        while (r.pos < e) {
          const st = r.tag(e);
          if (st >>> 3 === 2) {
            expectWire(st & 7, WIRE_LEN, 'Status.message');
            s.statusMessage = r.string(e);
          } else if (st >>> 3 === 3) {
            expectWire(st & 7, WIRE_VARINT, 'Status.code');
            s.statusCode = r.varint32(e) | 0;
          } else r.skip(st & 7, e);
        }
        break;
      }
      case 16:
        expectWire(t & 7, WIRE_FIXED32, 'Span.flags');
        r.fixed32(end);
        break;
      default:
        r.skip(t & 7, end);
    }
  }
  a.span(s);
}

function eventPb(r: ProtoReader, end: number): SpanEvent {
  // Event{time_unix_nano=1, name=2, attributes=3, dropped_attributes_count=4}
  let timeUnixNano = 0n;
  let name = '';
  const attrs = newAttrList();
  while (r.pos < end) {
    const t = r.tag(end);
    const f = t >>> 3;
    if (f === 1) {
      expectWire(t & 7, WIRE_FIXED64, 'Event.time_unix_nano');
      r.fixed64(end);
      timeUnixNano = r.u64();
    } else if (f === 2) {
      expectWire(t & 7, WIRE_LEN, 'Event.name');
      name = r.string(end);
    } else if (f === 3) {
      expectWire(t & 7, WIRE_LEN, 'Event.attributes');
      const e = r.lenEnd(end);
      readKeyValuePb(r, e, attrs);
    } else r.skip(t & 7, end);
  }
  return { timeUnixNano, name, attributes: labelsOf(attrs) };
}

function linkPb(r: ProtoReader, end: number): SpanLink {
  // Link{trace_id=1, span_id=2, trace_state=3, attributes=4, dropped_attributes_count=5, flags=6}
  let traceId = '';
  let spanId = '';
  let traceState = '';
  const attrs = newAttrList();
  while (r.pos < end) {
    const t = r.tag(end);
    const f = t >>> 3;
    if (f === 1 || f === 2) {
      expectWire(t & 7, WIRE_LEN, f === 1 ? 'Link.trace_id' : 'Link.span_id');
      const e = r.lenEnd(end);
      const hex = hexOf(r.buf, r.pos, e);
      if (f === 1) traceId = hex;
      else spanId = hex;
      r.pos = e;
    } else if (f === 3) {
      expectWire(t & 7, WIRE_LEN, 'Link.trace_state');
      traceState = r.string(end);
    } else if (f === 4) {
      expectWire(t & 7, WIRE_LEN, 'Link.attributes');
      const e = r.lenEnd(end);
      readKeyValuePb(r, e, attrs);
    } else r.skip(t & 7, end);
  }
  return { traceId, spanId, traceState, attributes: labelsOf(attrs) };
}

// ---------------------------------------------------------------------------
// OTLP/JSON reader
// ---------------------------------------------------------------------------

/** A hex id as bytes appended to `s.idSource`-style ranges: JSON ids are decoded into a small buffer per span. */
function jsonSpanIds(o: Record<string, unknown>): { buf: Uint8Array; trace: [number, number]; span: [number, number]; parent: [number, number] } {
  const trace = jsonId(o.traceId, 'traceId') ?? new Uint8Array(1); // not hex: a 1-byte id, rejected as invalid
  const span = jsonId(o.spanId, 'spanId') ?? new Uint8Array(1);
  const parent = jsonId(o.parentSpanId, 'parentSpanId') ?? new Uint8Array(1);
  const buf = new Uint8Array(trace.length + span.length + parent.length);
  buf.set(trace, 0);
  buf.set(span, trace.length);
  buf.set(parent, trace.length + span.length);
  const t1 = trace.length;
  const s1 = t1 + span.length;
  return { buf, trace: [0, t1], span: [t1, s1], parent: [s1, s1 + parent.length] };
}

function jsonLinkId(v: unknown, what: string): string {
  const b = jsonId(v, what);
  return b === null ? '' : hexOf(b);
}

function decodeJson(root: unknown, a: SpansAssembler): void {
  const req = jsonObject(root, 'request body') ?? {};
  for (const rs of jsonArray(req.resourceSpans, 'resourceSpans')) {
    const rso = jsonObject(rs, 'resourceSpans[]') ?? {};
    a.beginResource(readResourceJson(rso.resource));
    for (const ss of jsonArray(rso.scopeSpans, 'scopeSpans')) {
      const sso = jsonObject(ss, 'scopeSpans[]') ?? {};
      a.beginScope(readScopeJson(sso.scope));
      for (const sp of jsonArray(sso.spans, 'spans')) {
        const o = jsonObject(sp, 'spans[]') ?? {};
        const ids = jsonSpanIds(o);
        const s = newRawSpan(ids.buf);
        [s.traceStart, s.traceEnd] = ids.trace;
        [s.spanStart, s.spanEnd] = ids.span;
        [s.parentStart, s.parentEnd] = ids.parent;
        s.traceState = jsonString(o.traceState, 'traceState');
        s.name = jsonString(o.name, 'name');
        s.kind = jsonEnum(o.kind, SPAN_KIND_NAMES, 'kind');
        s.startNs = jsonNanos(o.startTimeUnixNano, 'startTimeUnixNano');
        s.endNs = jsonNanos(o.endTimeUnixNano, 'endTimeUnixNano');
        readAttributesJson(o.attributes, s.attrs);
        for (const ev of jsonArray(o.events, 'events')) {
          const eo = jsonObject(ev, 'events[]') ?? {};
          const attrs = newAttrList();
          readAttributesJson(eo.attributes, attrs);
          s.events.push({ timeUnixNano: jsonNanos(eo.timeUnixNano, 'event timeUnixNano'), name: jsonString(eo.name, 'event name'), attributes: labelsOf(attrs) });
        }
        for (const ln of jsonArray(o.links, 'links')) {
          const lo = jsonObject(ln, 'links[]') ?? {};
          const attrs = newAttrList();
          readAttributesJson(lo.attributes, attrs);
          s.links.push({
            traceId: jsonLinkId(lo.traceId, 'link traceId'),
            spanId: jsonLinkId(lo.spanId, 'link spanId'),
            traceState: jsonString(lo.traceState, 'link traceState'),
            attributes: labelsOf(attrs),
          });
        }
        const st = jsonObject(o.status, 'status');
        if (st !== undefined) {
          s.statusMessage = jsonString(st.message, 'status.message');
          s.statusCode = jsonEnum(st.code, STATUS_CODE_NAMES, 'status.code');
        }
        a.span(s);
      }
    }
  }
}
