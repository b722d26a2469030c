// Test storage: one embedded chDB per test process (vitest runs each file in
// its own fork), one database per caller, so tests isolate by database.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openEmbedded, migrate, type Store, type Retention } from '../../storage/index.ts';

let dataDir: string | undefined;

/** The data directory this test process uses for embedded ClickHouse. */
export function testDataDir(): string {
  dataDir ??= mkdtempSync(path.join(tmpdir(), 'fw-test-'));
  return dataDir;
}

let seq = 0;

/** A fresh, migrated database in this process's chDB. Close it when done. */
export async function testStore(opts: { migrate?: boolean; retention?: Retention; database?: string } = {}): Promise<Store> {
  const database = opts.database ?? `t_${process.pid}_${Date.now().toString(36)}_${seq++}`;
  const store = await openEmbedded({ dataDir: testDataDir(), database });
  if (opts.migrate !== false) await migrate(store, opts.retention ? { retention: opts.retention } : {});
  return store;
}
