/**
 * Decodes OTLP trace export requests (opentelemetry-proto's ExportTraceServiceRequest), in the
 * protobuf encoding (OTLP/HTTP `application/x-protobuf`, the default) and in OTLP/JSON, into flat
 * spans for tests. Only what tests look at is read: ids, parent, name, kind, times, attributes,
 * links, status and the resource's service.name; every other field is skipped.
 *
 *   ExportTraceServiceRequest { 1: repeated ResourceSpans }
 *   ResourceSpans { 1: Resource { 1: repeated KeyValue }, 2: repeated ScopeSpans }
 *   ScopeSpans    { 2: repeated Span }
 *   Span { 1: trace_id, 2: span_id, 4: parent_span_id, 5: name, 6: kind, 7/8: start/end (fixed64 ns),
 *          9: repeated KeyValue, 13: repeated Link { 1: trace_id, 2: span_id }, 15: Status { 2: message, 3: code } }
 *   KeyValue { 1: key, 2: AnyValue { 1: string, 2: bool, 3: int64, 4: double, 5: ArrayValue { 1: repeated AnyValue } } }
 *
 * What it is not: a collector; see ./otlp-receiver.ts for the server.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export type OtlpValue = string | number | boolean | OtlpValue[] | undefined;

export interface OtlpSpan {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, OtlpValue>;
  links: { traceId: string; spanId: string }[];
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  /** The resource's service.name. */
  serviceName: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Reads the fields of one length-delimited message, calling `field` for each (it must consume it or return false to skip). */
function fields(bytes: Uint8Array, field: (no: number, r: BinaryReader, wt: WireType) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (!field(no, r, wt)) r.skip(wt, no);
  }
}

function anyValue(bytes: Uint8Array): OtlpValue {
  let out: OtlpValue;
  fields(bytes, (no, r) => {
    if (no === 1) out = r.string();
    else if (no === 2) out = r.bool();
    else if (no === 3) out = Number(r.int64());
    else if (no === 4) out = r.double();
    else if (no === 5) {
      const items: OtlpValue[] = [];
      fields(r.bytes(), (n, rr) => (n === 1 ? (items.push(anyValue(rr.bytes())), true) : false));
      out = items;
    } else return false;
    return true;
  });
  return out;
}

function keyValue(bytes: Uint8Array, into: Record<string, OtlpValue>): void {
  let key = '';
  let value: OtlpValue;
  fields(bytes, (no, r) => {
    if (no === 1) key = r.string();
    else if (no === 2) value = anyValue(r.bytes());
    else return false;
    return true;
  });
  into[key] = value;
}

function span(bytes: Uint8Array, serviceName: string): OtlpSpan {
  const s: OtlpSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startNs: 0n, endNs: 0n, attributes: {}, links: [], statusCode: 0, statusMessage: '', serviceName };
  fields(bytes, (no, r) => {
    switch (no) {
      case 1: s.traceId = hex(r.bytes()); return true;
      case 2: s.spanId = hex(r.bytes()); return true;
      case 4: s.parentSpanId = hex(r.bytes()); return true;
      case 5: s.name = r.string(); return true;
      case 6: s.kind = r.int32(); return true;
      case 7: s.startNs = BigInt(r.fixed64()); return true;
      case 8: s.endNs = BigInt(r.fixed64()); return true;
      case 9: keyValue(r.bytes(), s.attributes); return true;
      case 13: {
        const link = { traceId: '', spanId: '' };
        fields(r.bytes(), (n, rr) => (n === 1 ? ((link.traceId = hex(rr.bytes())), true) : n === 2 ? ((link.spanId = hex(rr.bytes())), true) : false));
        s.links.push(link);
        return true;
      }
      case 15:
        fields(r.bytes(), (n, rr) => (n === 2 ? ((s.statusMessage = rr.string()), true) : n === 3 ? ((s.statusCode = rr.int32()), true) : false));
        return true;
      default:
        return false;
    }
  });
  return s;
}

/** The spans of an OTLP/protobuf ExportTraceServiceRequest body. */
export function decodeOtlpTraces(body: Uint8Array): OtlpSpan[] {
  const out: OtlpSpan[] = [];
  fields(body, (no, r) => {
    if (no !== 1) return false;
    const resourceSpans = r.bytes();
    const resource: Record<string, OtlpValue> = {};
    const scopes: Uint8Array[] = [];
    fields(resourceSpans, (n, rr) => {
      if (n === 1) fields(rr.bytes(), (k, r3) => (k === 1 ? (keyValue(r3.bytes(), resource), true) : false));
      else if (n === 2) scopes.push(rr.bytes());
      else return false;
      return true;
    });
    const service = String(resource['service.name'] ?? '');
    for (const scope of scopes) fields(scope, (n, rr) => (n === 2 ? (out.push(span(rr.bytes(), service)), true) : false));
    return true;
  });
  return out;
}

type JsonAny = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number; arrayValue?: { values?: JsonAny[] } };
type JsonKv = { key: string; value?: JsonAny };

function jsonValue(v: JsonAny | undefined): OtlpValue {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(jsonValue);
  return undefined;
}

const attrs = (kvs: JsonKv[] | undefined) => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));

/** The spans of an OTLP/JSON ExportTraceServiceRequest body (ids as hex strings). */
export function decodeOtlpTracesJson(body: string): OtlpSpan[] {
  const req = JSON.parse(body) as { resourceSpans?: { resource?: { attributes?: JsonKv[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };
  const out: OtlpSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const j of ss.spans ?? []) {
        const status = (j.status ?? {}) as { code?: number; message?: string };
        out.push({
          traceId: String(j.traceId ?? ''), spanId: String(j.spanId ?? ''), parentSpanId: String(j.parentSpanId ?? ''), name: String(j.name ?? ''),
          kind: Number(j.kind ?? 0), startNs: BigInt(String(j.startTimeUnixNano ?? 0)), endNs: BigInt(String(j.endTimeUnixNano ?? 0)),
          attributes: attrs(j.attributes as JsonKv[]), links: ((j.links ?? []) as { traceId: string; spanId: string }[]).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
          statusCode: status.code ?? 0, statusMessage: status.message ?? '', serviceName: service,
        });
      }
    }
  }
  return out;
}
