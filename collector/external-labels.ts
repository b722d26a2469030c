// External labels: every series, log stream and span resource the collector
// ships carries cluster="NAME" plus the configured labels.
//
// `cluster` always wins (central enforces it from the collector's credential
// too); the other external labels are added only where the data does not
// already have the label, as Prometheus does with its external_labels
// (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#configuration-file).
//
// Stamping is paid once per series object: the stamped label block (the bytes
// the fleet format carries) is kept in the SeriesRef's consumer slot, and the
// remote_write decoder hands back the same SeriesRef for a label set it has
// seen, so a steady stream of samples never re-stamps.
import { FleetwatchError, sortLabels, type Labels } from '../core/index.ts';
import { encodeFleetLabels, type LogStream, type SeriesRef } from '../protocols/index.ts';

export interface Stamper {
  /** the external labels, cluster included, name-sorted */
  readonly labels: Labels;
  /** the stamped label block of a series (cached on the series) */
  seriesBlock(s: SeriesRef): Uint8Array;
  streamBlock(s: LogStream): Uint8Array;
  /** a span resource's attributes with the external labels */
  resource(l: Labels): Labels;
  /** any label set with the external labels */
  stamp(l: Labels): Labels;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses collector.externalLabels ("name=value" items) plus the cluster name. */
export function externalLabelsFromConfig(cluster: string, items: readonly string[]): Labels {
  const record: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq).trim() : '';
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `collector.externalLabels item ${JSON.stringify(item)}: expected name=value with a Prometheus label name`);
    if (name === 'cluster') throw new FleetwatchError('FW_ERR_CONFIG_INVALID', 'collector.externalLabels must not set "cluster"; it comes from --cluster');
    record[name] = item.slice(eq + 1).trim();
  }
  record['cluster'] = cluster;
  const names = Object.keys(record).sort();
  return { names, values: names.map((n) => record[n] as string) };
}

interface Slot {
  readonly owner: Stamper;
  readonly block: Uint8Array;
}

export function createStamper(external: Labels): Stamper {
  const resources = new WeakMap<Labels, Labels>();
  const stamp = (l: Labels): Labels => {
    const names = [...l.names];
    const values = [...l.values];
    for (let k = 0; k < external.names.length; k++) {
      const name = external.names[k] as string;
      const i = names.indexOf(name);
      if (i < 0) {
        names.push(name);
        values.push(external.values[k] as string);
      } else if (name === 'cluster') values[i] = external.values[k] as string;
    }
    return sortLabels(names, values);
  };
  const blockOf = (ref: { labels: Labels; cache: unknown }): Uint8Array => {
    const slot = ref.cache as Slot | undefined;
    if (slot !== undefined && slot !== null && typeof slot === 'object' && slot.owner === self) return slot.block;
    const block = encodeFleetLabels(stamp(ref.labels));
    ref.cache = { owner: self, block } satisfies Slot;
    return block;
  };
  const self: Stamper = {
    labels: external,
    seriesBlock: blockOf,
    streamBlock: blockOf,
    resource(l) {
      let r = resources.get(l);
      if (!r) resources.set(l, (r = stamp(l)));
      return r;
    },
    stamp,
  };
  return self;
}
