// A Store that stands in while the real one opens and migrates: the HTTP
// server can listen (and answer /-/healthy) at once, and storage calls made
// before the store is ready answer 503 so clients retry.
import { FleetwatchError } from '../core/index.ts';
import type { Store } from './store.ts';

export interface DeferredStore extends Store {
  readonly ready: boolean;
  resolve(store: Store): void;
}

export function createDeferredStore(database: string, kind: Store['kind']): DeferredStore {
  let inner: Store | undefined;
  const get = (): Store => {
    if (!inner) throw new FleetwatchError('FW_ERR_STORAGE_UNAVAILABLE', 'storage is starting');
    return inner;
  };
  return {
    kind,
    database,
    get ready() {
      return inner !== undefined;
    },
    resolve(store) {
      inner = store;
    },
    exec: (q, o) => get().exec(q, o),
    queryRows: (q, o) => get().queryRows(q, o),
    queryBinary: (q, f, o) => get().queryBinary(q, f, o),
    insert: (b, o) => get().insert(b, o),
    ping: () => get().ping(),
    close: async () => {
      await inner?.close();
    },
  };
}
