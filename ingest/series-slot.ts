// What ingest remembers per decoded series object (SeriesRef.cache).
//
// Decoders hand out the same SeriesRef for a label set they have seen (the
// remote_write and fleet label-bytes caches), so work that depends only on
// the series is done once and kept here: the limits' verdict on its labels,
// its metric name's number and the last day its series row was committed. One object per series, read
// by the limit check and then by the encoder: with ~100k series every extra
// object a sample touches is a cache miss (a WeakMap of verdicts next to the
// slot cost ~100 ns a series).
export class SeriesSlot {
  /** the tenant `committedDay` belongs to; undefined until the series is first encoded */
  tenant: string | undefined = undefined;
  /** the last day (since the epoch) this tenant's series row is known to be committed; -1 none */
  committedDay = -1;
  /** the limits `labelProblem` was decided under (compared by identity) */
  limits: object | undefined = undefined;
  /** why the labels break `limits`, or undefined when they do not */
  labelProblem: string | undefined = undefined;
  /** the series' metric name as a small number (row-encoders.ts), or NAME_* */
  nameId = NAME_UNNUMBERED;
}

/** SeriesSlot.nameId: not numbered yet; the name is ""; past the numbering's bound */
export const NAME_UNNUMBERED = -3;
export const NAME_EMPTY = -2;
export const NAME_OVERFLOW = -1;

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

/**
 * The series' slot for `tenant`. A series written for another tenant than
 * last time has its commit state forgotten (the tenant is part of the series
 * row's key).
 */
export function seriesSlotFor(s: SlotOwner, tenant: string): SeriesSlot {
  const slot = seriesSlot(s);
  if (slot.tenant === tenant) return slot;
  slot.tenant = tenant;
  slot.committedDay = -1;
  return slot;
}
