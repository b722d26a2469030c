// Where the ingest log keeps the payloads of records not yet in ClickHouse
// (so the flusher need not read them back): copied into a few large
// buffers that are reused, not kept as the encoders' own buffers.
//
// Why: a record waits up to a flush interval (~1 s), long enough for V8 to
// move its buffers to the old generation, where they are freed only by a full
// collection. ~30 MB of them a second then counted as external memory that
// grew between full collections, and V8 starts one each time external memory
// has grown by 64 MB (--trace-gc: "external memory pressure", 3 of the 7
// full collections of a bench:ingest run). Copied here, the encoders'
// buffers die young (a scavenge frees them), and the slabs' memory is
// allocated once.
//
// Records are held in append order and released in that order (the
// flusher delivers ranges by sequence number), so each slab is a bump
// allocator: it is free again once every record in it is delivered.

/** One slab: hold() hands it out so the caller can record the held record's fate. */
export interface Slab {
  readonly buf: Uint8Array;
  used: number;
  /** highest sequence number of a record held in it; -1 while none */
  lastSeq: number;
  /** records held in it whose append has not resolved yet */
  pending: number;
}

export class PayloadSlabs {
  /** slabs holding records, oldest first; the last one takes new records */
  private readonly inUse: Slab[] = [];
  private readonly spare: Uint8Array[] = [];
  private allocated = 0;

  constructor(
    /** bytes per slab; a record larger than this is not held */
    readonly slabBytes: number,
    /** most bytes of slabs in all */
    readonly maxBytes: number,
    /** free slabs kept for reuse; more are dropped (after a burst, memory goes back) */
    readonly maxSpare = 8,
  ) {}

  /** Bytes of slabs allocated (in use or spare). */
  get bytes(): number {
    return this.allocated;
  }

  /**
   * Copies a record's pieces into slab memory and returns views of the
   * copies with their slab, or undefined when it does not fit (too large, or
   * every slab in use). Then call appended() with its sequence number, or
   * failed().
   */
  hold(pieces: readonly Uint8Array[], bytes: number): { views: Uint8Array[]; slab: Slab } | undefined {
    if (bytes > this.slabBytes) return undefined;
    let slab = this.inUse[this.inUse.length - 1];
    if (slab === undefined || slab.used + bytes > slab.buf.length) {
      const buf = this.spare.pop() ?? this.allocate();
      if (buf === undefined) return undefined;
      slab = { buf, used: 0, lastSeq: -1, pending: 0 };
      this.inUse.push(slab);
    }
    const views: Uint8Array[] = [];
    for (const p of pieces) {
      slab.buf.set(p, slab.used);
      views.push(slab.buf.subarray(slab.used, slab.used + p.length));
      slab.used += p.length;
    }
    slab.pending++;
    return { views, slab };
  }

  appended(slab: Slab, seq: number): void {
    slab.pending--;
    if (seq > slab.lastSeq) slab.lastSeq = seq;
  }

  /** The record's append failed: its bytes stay unused until the slab is freed. */
  failed(slab: Slab): void {
    slab.pending--;
  }

  /**
   * Frees the slabs, oldest first, whose records are all appended and
   * delivered (sequence numbers up to `seq`); the one taking new records
   * starts over instead when it is the only one. Views into freed slab
   * memory must no longer be used.
   */
  release(seq: number): void {
    const done = (s: Slab) => s.pending === 0 && s.lastSeq <= seq;
    while (this.inUse.length > 1 && done(this.inUse[0] as Slab)) {
      const freed = (this.inUse.shift() as Slab).buf;
      if (this.spare.length < this.maxSpare) this.spare.push(freed);
      else this.allocated -= freed.length;
    }
    const last = this.inUse[this.inUse.length - 1];
    if (last !== undefined && this.inUse.length === 1 && done(last)) {
      last.used = 0;
      last.lastSeq = -1;
    }
  }

  private allocate(): Uint8Array | undefined {
    if (this.allocated + this.slabBytes > this.maxBytes) return undefined;
    this.allocated += this.slabBytes;
    return new Uint8Array(this.slabBytes);
  }
}
