// A Store whose reads first wait for a barrier: central's ingest log
// (ingest/ingest-log.ts) acknowledges writes before they reach ClickHouse, and
// its barrier resolves once everything acknowledged so far is committed, so a
// read through this store sees every write acknowledged before it began.
// Inserts pass straight through (the log's own inserts go this way).
import type { QueryOptions, Store } from './store.ts';

export type ReadBarrier = (signal?: AbortSignal) => Promise<void>;

export function withReadBarrier(inner: Store, barrier: ReadBarrier): Store {
  const wait = (o?: QueryOptions): Promise<void> => barrier(o?.signal);
  return {
    kind: inner.kind,
    database: inner.database,
    exec: async (q, o) => {
      await wait(o);
      return inner.exec(q, o);
    },
    queryRows: async <T>(q: Parameters<Store['queryRows']>[0], o?: QueryOptions) => {
      await wait(o);
      return inner.queryRows<T>(q, o);
    },
    queryBinary: async (q, f, o) => {
      await wait(o);
      return inner.queryBinary(q, f, o);
    },
    insert: (b, o) => inner.insert(b, o),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}
