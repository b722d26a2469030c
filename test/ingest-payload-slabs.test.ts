// The ingest log's payload slabs (ingest/payload-slabs.ts): copies come back
// intact, and slab memory is reused only once every record in it is both
// appended and delivered — never while a view may still be read.
import { describe, expect, it } from 'vitest';
import { PayloadSlabs } from '../ingest/payload-slabs.ts';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const same = (views: Uint8Array[], pieces: Uint8Array[]) => views.length === pieces.length && views.every((v, i) => Buffer.from(v).equals(Buffer.from(pieces[i] as Uint8Array)));

describe('payload slabs', () => {
  it('copies pieces, so the originals may change or go', () => {
    const slabs = new PayloadSlabs(1000, 4000);
    const pieces = [bytes(10, 1), bytes(20, 2)];
    const held = slabs.hold(pieces, 30);
    expect(held).toBeDefined();
    pieces[0]?.fill(9);
    expect(same(held?.views ?? [], [bytes(10, 1), bytes(20, 2)])).toBe(true);
  });

  it('frees a slab only when all its records are appended and delivered, oldest first', () => {
    const slabs = new PayloadSlabs(100, 1000);
    const a = slabs.hold([bytes(60, 1)], 60)!;
    const b = slabs.hold([bytes(60, 2)], 60)!; // does not fit beside a: a second slab
    expect(b.slab).not.toBe(a.slab);
    slabs.appended(b.slab, 2);
    // a's append has not resolved: delivering seq 2 must not free a's slab
    slabs.release(2);
    const c = slabs.hold([bytes(60, 3)], 60)!;
    expect(c.slab).not.toBe(a.slab);
    expect(same(a.views, [bytes(60, 1)])).toBe(true);
    slabs.appended(a.slab, 1);
    slabs.appended(c.slab, 3);
    slabs.release(1);
    // a's slab is free now and taken again; b's and c's views are intact
    const d = slabs.hold([bytes(60, 4)], 60)!;
    expect(d.slab.buf).toBe(a.slab.buf);
    expect(same(b.views, [bytes(60, 2)])).toBe(true);
    expect(same(c.views, [bytes(60, 3)])).toBe(true);
    expect(slabs.bytes).toBe(300);
  });

  it('starts the last slab over once it alone holds delivered records; a failed append leaves a gap, not a leak', () => {
    const slabs = new PayloadSlabs(100, 100);
    const a = slabs.hold([bytes(40, 1)], 40)!;
    const b = slabs.hold([bytes(40, 2)], 40)!;
    slabs.appended(a.slab, 7);
    slabs.failed(b.slab);
    expect(slabs.hold([bytes(40, 3)], 40)).toBeUndefined(); // full, and no room for another slab
    slabs.release(6);
    expect(slabs.hold([bytes(40, 3)], 40)).toBeUndefined();
    slabs.release(7);
    const c = slabs.hold([bytes(90, 3)], 90)!;
    expect(c.slab.buf).toBe(a.slab.buf);
    expect(same(c.views, [bytes(90, 3)])).toBe(true);
  });

  it('keeps at most maxSpare free slabs for reuse', () => {
    const slabs = new PayloadSlabs(100, 10_000, 1);
    const held = [1, 2, 3, 4].map((i) => slabs.hold([bytes(100, i)], 100)!);
    held.forEach((h, i) => slabs.appended(h.slab, i + 1));
    expect(slabs.bytes).toBe(400);
    slabs.release(4); // three slabs freed (the last one starts over): one kept, two dropped
    expect(slabs.bytes).toBe(200);
    const again = slabs.hold([bytes(100, 5)], 100)!;
    expect(again.slab.buf).toBe(held[3]?.slab.buf);
  });

  it('does not hold what is larger than a slab, or beyond its byte cap', () => {
    const slabs = new PayloadSlabs(100, 200);
    expect(slabs.hold([bytes(101, 1)], 101)).toBeUndefined();
    expect(slabs.hold([bytes(100, 1)], 100)).toBeDefined();
    expect(slabs.hold([bytes(100, 1)], 100)).toBeDefined();
    expect(slabs.hold([bytes(1, 1)], 1)).toBeUndefined();
    expect(slabs.bytes).toBe(200);
  });
});
