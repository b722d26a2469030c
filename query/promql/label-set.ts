// Label-set operations the evaluator needs, over core's name-sorted parallel
// arrays (no per-label objects), plus an exact hash index keyed by core's
// 64-bit fingerprint: hash a label set once, compare labels only on a hash hit.
import { fingerprintParts, type Labels } from '../../core/index.ts';
import { goQuote } from './go-strconv.ts';

export const METRIC_NAME = '__name__';
export const EMPTY: Labels = Object.freeze({ names: Object.freeze([]) as readonly string[], values: Object.freeze([]) as readonly string[] });

export function getLabel(l: Labels, name: string): string {
  const { names } = l;
  for (let i = 0; i < names.length; i++) if (names[i] === name) return l.values[i] as string;
  return '';
}

export function hasLabel(l: Labels, name: string): boolean {
  return l.names.includes(name);
}

/** Removes __name__ (Prometheus DropReserved / DropMetricName). */
export function dropMetricName(l: Labels): Labels {
  const i = l.names.indexOf(METRIC_NAME);
  if (i < 0) return l;
  return { names: l.names.filter((_, j) => j !== i), values: l.values.filter((_, j) => j !== i) };
}

/** Keeps only the named labels. */
export function keepLabels(l: Labels, keep: ReadonlySet<string>): Labels {
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < l.names.length; i++) {
    const n = l.names[i] as string;
    if (keep.has(n)) {
      names.push(n);
      values.push(l.values[i] as string);
    }
  }
  return { names, values };
}

/** Removes the named labels. */
export function removeLabels(l: Labels, drop: ReadonlySet<string>): Labels {
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < l.names.length; i++) {
    const n = l.names[i] as string;
    if (!drop.has(n)) {
      names.push(n);
      values.push(l.values[i] as string);
    }
  }
  return { names, values };
}

/** Sets a label (an empty value deletes it, as in Prometheus's labels.Builder). */
export function setLabel(l: Labels, name: string, value: string): Labels {
  const names = l.names.slice();
  const values = l.values.slice();
  let i = 0;
  while (i < names.length && (names[i] as string) < name) i++;
  if (names[i] === name) {
    if (value === '') {
      names.splice(i, 1);
      values.splice(i, 1);
    } else values[i] = value;
  } else if (value !== '') {
    names.splice(i, 0, name);
    values.splice(i, 0, value);
  }
  return { names, values };
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  const n = a.names.length;
  if (n !== b.names.length) return false;
  for (let i = 0; i < n; i++) if (a.names[i] !== b.names[i] || a.values[i] !== b.values[i]) return false;
  return true;
}

/** Prometheus labels.Compare: name, then value, label by label; shorter first. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.names.length, b.names.length);
  for (let i = 0; i < n; i++) {
    const an = a.names[i] as string;
    const bn = b.names[i] as string;
    if (an !== bn) return an < bn ? -1 : 1;
    const av = a.values[i] as string;
    const bv = b.values[i] as string;
    if (av !== bv) return av < bv ? -1 : 1;
  }
  return a.names.length - b.names.length;
}

const LEGACY_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isLegacyLabelName(name: string): boolean {
  return LEGACY_NAME.test(name);
}

/** Prometheus labels.String(): {a="1", b="2"} with Go-quoted values. */
export function labelsToString(l: Labels): string {
  const parts: string[] = [];
  for (let i = 0; i < l.names.length; i++) {
    const n = l.names[i] as string;
    parts.push(`${isLegacyLabelName(n) ? n : goQuote(n)}=${goQuote(l.values[i] as string)}`);
  }
  return `{${parts.join(', ')}}`;
}

/** 53 bits of core's 64-bit fingerprint as a Map key (exactness comes from the equality check). */
export function labelsHash(l: Labels): number {
  const [hi, lo] = fingerprintParts(l.names, l.values);
  return (hi & 0x1fffff) * 4294967296 + lo;
}

/**
 * Assigns dense ids to distinct label sets. Hash collisions are resolved by
 * comparing labels, so ids are exact.
 */
export class LabelSetIndex {
  private readonly byHash = new Map<number, number | number[]>();
  readonly sets: Labels[] = [];

  /** Id of `l`, adding it if new. */
  idOf(l: Labels, hash: number = labelsHash(l)): number {
    const hit = this.byHash.get(hash);
    if (hit === undefined) {
      const id = this.sets.push(l) - 1;
      this.byHash.set(hash, id);
      return id;
    }
    if (typeof hit === 'number') {
      if (labelsEqual(this.sets[hit] as Labels, l)) return hit;
      const id = this.sets.push(l) - 1;
      this.byHash.set(hash, [hit, id]);
      return id;
    }
    for (const id of hit) if (labelsEqual(this.sets[id] as Labels, l)) return id;
    const id = this.sets.push(l) - 1;
    hit.push(id);
    return id;
  }

  /** Id of `l`, or -1. */
  find(l: Labels, hash: number = labelsHash(l)): number {
    const hit = this.byHash.get(hash);
    if (hit === undefined) return -1;
    if (typeof hit === 'number') return labelsEqual(this.sets[hit] as Labels, l) ? hit : -1;
    for (const id of hit) if (labelsEqual(this.sets[id] as Labels, l)) return id;
    return -1;
  }

  get size(): number {
    return this.sets.length;
  }
}

/** Builds a name-sorted label set from a record (tests, absent()). */
export function labelsOf(record: Readonly<Record<string, string>>): Labels {
  const names = Object.keys(record).filter((n) => record[n] !== '').sort();
  return { names, values: names.map((n) => record[n] as string) };
}
