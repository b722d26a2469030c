// What ingest remembers per decoded series object (SeriesRef.cache).
//
// Decoders hand out the same SeriesRef for a label set they have seen (the
// remote_write and fleet label-bytes caches), so work that depends only on
// the series is done once and kept here: the limits' verdict on its labels,
// the RowBinary prefix of its sample rows, and the last day its series row
// was committed. One object per series, read by the limit check and then by
// the encoder: with ~100k series every extra object a sample touches is a
// cache miss (a WeakMap of verdicts next to the slot cost ~100 ns a series).
import { RowBinaryWriter } from '../storage/index.ts';

export class SeriesSlot {
  /** the tenant `prefix` and `committedDay` belong to; undefined until the series is first encoded */
  tenant: string | undefined = undefined;
  /** RowBinary of the sample rows' first columns: tenant, metric_name, fingerprint */
  prefix: Uint8Array = EMPTY;
  /** the last day (since the epoch) this tenant's series row is known to be committed; -1 none */
  committedDay = -1;
  /** the limits `labelProblem` was decided under (compared by identity) */
  limits: object | undefined = undefined;
  /** why the labels break `limits`, or undefined when they do not */
  labelProblem: string | undefined = undefined;
}

const EMPTY = new Uint8Array(0);

interface SlotOwner {
  cache: unknown;
}

/** The series' slot, made on first use (anything else in `cache` is replaced). */
export function seriesSlot(s: SlotOwner): SeriesSlot {
  const cur = s.cache;
  if (cur instanceof SeriesSlot) return cur;
  const slot = new SeriesSlot();
  s.cache = slot;
  return slot;
}

const prefixWriter = new RowBinaryWriter(256);

/**
 * The series' slot with its sample-row prefix for `tenant`. A series written
 * for another tenant than last time gets its prefix re-encoded and its
 * commit state forgotten (the tenant is part of the series row's key).
 */
export function seriesSlotFor(s: SlotOwner & { readonly metricName: string; readonly fpHi: number; readonly fpLo: number }, tenant: string): SeriesSlot {
  const slot = seriesSlot(s);
  if (slot.tenant === tenant) return slot;
  prefixWriter.reset();
  prefixWriter.string(tenant);
  prefixWriter.string(s.metricName);
  prefixWriter.uint64Parts(s.fpHi, s.fpLo);
  // Buffer.from copies into Node's shared pool: no ArrayBuffer object per
  // series for the garbage collector (Uint8Array.from also iterated slowly)
  slot.prefix = Buffer.from(prefixWriter.finish());
  slot.tenant = tenant;
  slot.committedDay = -1;
  return slot;
}
