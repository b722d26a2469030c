// Request body decompression with a cap on the decompressed size, checked
// before the work is done where the format allows it, so a small "zip bomb"
// body cannot make us allocate gigabytes.
//
// - snappy: block format (not framed), as remote_write 1.0/2.0 and Loki's
//   protobuf push use. https://github.com/google/snappy/blob/main/format_description.txt
//   The block starts with the uncompressed length as a uvarint: checked
//   against the cap before decompressing.
// - gzip: node:zlib with maxOutputLength, which stops inflating at the cap.
// - identity: the body itself, still subject to the cap.
import { gunzip } from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { compress as snappyCompressAsync, uncompress as snappyUncompressAsync, uncompressSync as snappyUncompressSync } from 'snappy';
import type { DecodeResult } from './types.ts';

export type ContentEncoding = 'snappy' | 'gzip' | 'identity';

const gunzipAsync = promisify(gunzip);

/** Decompresses a request body, refusing (413) when the result would exceed `maxBytes`. */
export async function decompress(body: Uint8Array, encoding: ContentEncoding, maxBytes: number): Promise<DecodeResult<Uint8Array>> {
  switch (encoding) {
    case 'identity':
      if (body.length > maxBytes) return tooLarge(body.length, maxBytes);
      return { ok: true, value: body };
    case 'snappy':
      return snappyDecompress(body, maxBytes);
    case 'gzip':
      return gzipDecompress(body, maxBytes);
    default:
      return { ok: false, status: 415, message: `unsupported content encoding ${String(encoding)}` };
  }
}

/**
 * The uncompressed length a snappy block announces in its header, or -1 when
 * the header is not a valid uvarint (at most 5 bytes, below 2^32).
 */
export function snappyUncompressedLength(block: Uint8Array): number {
  let v = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const c = block[i] as number;
    v += (c & 0x7f) * 2 ** (7 * i);
    if (c < 0x80) return v <= 0xffffffff ? v : -1;
  }
  return -1;
}

/**
 * Bodies that announce at most this many bytes are decompressed on the
 * calling thread, larger ones on libuv's pool (~1 GB/s: a 4 MiB body holds
 * the event loop ~4 ms). Why not always the pool: the addon allocates each
 * output with its own allocator (mimalloc) on the pool thread, and it is
 * freed on the main thread by the GC; such cross-thread frees were not
 * reused promptly, and under bench:ingest the pool threads spent ~0.45
 * CPU-s per 2 M samples having the kernel zero fresh 2 MiB huge pages for
 * the outputs (perf: clear_page_erms under the decompressor), against ~0.06
 * decompressing. On the calling thread, allocation and free are on one
 * thread: those page faults fell by ~75%, the process used ~0.5 CPU-s less
 * and samples/s rose ~10% (docs/ingest.md, "Throughput"). copyOutputData:
 * the addon copies its output into a Node buffer and frees its own at once,
 * so its allocator reuses the same memory call after call instead of
 * faulting in fresh pages while the GC has not yet freed earlier outputs
 * (perf: ~75 fewer main-thread memory samples per run; 4 A/B rounds: 2%
 * more samples/s, each pair ahead).
 */
const SNAPPY_INLINE_MAX_BYTES = 4 * 1024 * 1024;

async function snappyDecompress(body: Uint8Array, maxBytes: number): Promise<DecodeResult<Uint8Array>> {
  const announced = snappyUncompressedLength(body);
  if (announced < 0) return { ok: false, status: 400, message: 'snappy: invalid or missing block header (expected snappy block format)' };
  if (announced > maxBytes) return tooLarge(announced, maxBytes);
  let out: string | Buffer;
  try {
    out = announced <= SNAPPY_INLINE_MAX_BYTES ? snappyUncompressSync(body, { asBuffer: true, copyOutputData: true }) : await snappyUncompressAsync(body, { asBuffer: true });
  } catch (e) {
    return { ok: false, status: 400, message: `snappy: ${(e as Error).message.replace(/^snappy:\s*/, '')}` };
  }
  if (typeof out === 'string') throw new Error('snappy returned a string despite asBuffer');
  // The library checks the output against the header; keep the cap honest anyway.
  if (out.length > maxBytes) return tooLarge(out.length, maxBytes);
  return { ok: true, value: out };
}

async function gzipDecompress(body: Uint8Array, maxBytes: number): Promise<DecodeResult<Uint8Array>> {
  try {
    // zlib accepts maxOutputLength in [1, buffer.constants.MAX_LENGTH]; the
    // length check below covers a cap of 0.
    const out = await gunzipAsync(body, { maxOutputLength: Math.max(1, Math.min(maxBytes, bufferConstants.MAX_LENGTH)) });
    if (out.length > maxBytes) return tooLarge(out.length, maxBytes);
    return { ok: true, value: out };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) return tooLarge(undefined, maxBytes);
    return { ok: false, status: 400, message: `gzip: ${err.message}` };
  }
}

function tooLarge(bytes: number | undefined, maxBytes: number): DecodeResult<never> {
  const what = bytes === undefined ? 'more than' : `${bytes} bytes, more than`;
  return { ok: false, status: 413, message: `decompressed body is ${what} the limit of ${maxBytes} bytes` };
}

/**
 * Parses a Content-Encoding header into one of the `allowed` encodings;
 * anything else answers 415. A missing header means identity, except where
 * the protocol fixes the encoding (remote_write: Prometheus's own receiver
 * assumes snappy when the header is absent), which callers express through
 * `absentMeans`.
 */
export function parseContentEncoding(header: string | undefined, allowed: readonly ContentEncoding[], absentMeans: ContentEncoding = 'identity'): DecodeResult<ContentEncoding> {
  const raw = (header ?? '').trim().toLowerCase();
  let enc: ContentEncoding | undefined;
  if (raw === '') enc = absentMeans;
  else if (raw === 'snappy') enc = 'snappy';
  else if (raw === 'gzip' || raw === 'x-gzip') enc = 'gzip';
  else if (raw === 'identity') enc = 'identity';
  if (enc === undefined || !allowed.includes(enc)) {
    return { ok: false, status: 415, message: `unsupported Content-Encoding ${JSON.stringify(header ?? '')}; accepted: ${allowed.join(', ')}` };
  }
  return { ok: true, value: enc };
}

/** Snappy block-format compression (what remote_write and Loki protobuf push send). */
export async function snappyCompress(bytes: Uint8Array): Promise<Uint8Array> {
  return snappyCompressAsync(bytes);
}
