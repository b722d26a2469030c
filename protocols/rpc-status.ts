// google.rpc.Status, the error body of OTLP/HTTP and the details of OTLP/gRPC
// errors: { code = 1 (int32), message = 2 (string), details = 3 }.
// https://opentelemetry.io/docs/specs/otlp/#failures-1

const encoder = new TextEncoder();

function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Encodes a Status with a gRPC status code and message, as protobuf or OTLP/JSON. */
export function encodeRpcStatus(code: number, message: string, format: 'protobuf' | 'json'): Uint8Array {
  if (format === 'json') return encoder.encode(JSON.stringify({ code, message }));
  const msg = encoder.encode(message);
  const head: number[] = [];
  if (code !== 0) {
    head.push(0x08);
    varint(head, code);
  }
  head.push(0x12);
  varint(head, msg.length);
  const out = new Uint8Array(head.length + msg.length);
  out.set(head, 0);
  out.set(msg, head.length);
  return out;
}
