// A Store wrapper that counts and times every storage call for /metrics.
import type { MetricsRegistry } from '../core/index.ts';
import { counter, histogram } from '../core/index.ts';
import { insertBytes, type BinaryFormat, type InsertBatch, type QueryOptions, type Store } from './store.ts';
import type { Sql } from './sql.ts';

export function instrumentStore(inner: Store, registry: MetricsRegistry): Store {
  const ops = counter(registry, 'fleetwatch_storage_operations_total', 'storage calls by operation and outcome', ['op', 'outcome']);
  const latency = histogram(registry, 'fleetwatch_storage_operation_duration_seconds', 'storage call latency', ['op'], [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  const rows = counter(registry, 'fleetwatch_storage_inserted_rows_total', 'rows inserted by table', ['table']);
  const bytes = counter(registry, 'fleetwatch_storage_inserted_bytes_total', 'RowBinary bytes inserted by table', ['table']);

  async function timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const end = latency.startTimer({ op });
    try {
      const r = await fn();
      ops.inc({ op, outcome: 'ok' });
      return r;
    } catch (e) {
      ops.inc({ op, outcome: 'error' });
      throw e;
    } finally {
      end();
    }
  }

  return {
    kind: inner.kind,
    database: inner.database,
    exec: (q: Sql, o?: QueryOptions) => timed('exec', () => inner.exec(q, o)),
    queryRows: <T>(q: Sql, o?: QueryOptions) => timed('query', () => inner.queryRows<T>(q, o)),
    queryBinary: (q: Sql, f: BinaryFormat, o?: QueryOptions) => timed('query', () => inner.queryBinary(q, f, o)),
    insert: async (b: InsertBatch, o?: QueryOptions) => {
      await timed('insert', () => inner.insert(b, o));
      rows.inc({ table: b.table }, b.rows);
      bytes.inc({ table: b.table }, insertBytes(b));
    },
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}
