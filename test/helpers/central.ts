// An in-process central on this test process's chDB, in its own database.
import { loadConfig, type Config } from '../../core/index.ts';
import { startCentral, type Central } from '../../cli/central.ts';
import { testDataDir } from './store.ts';

let seq = 0;

export interface TestCentral extends Central {
  readonly config: Config;
}

export async function startTestCentral(overrides: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<TestCentral> {
  const database = `c_${process.pid}_${Date.now().toString(36)}_${seq++}`;
  const fileObject = deepMerge(
    {
      server: { httpListen: '127.0.0.1:0', grpcListen: '127.0.0.1:0' },
      storage: { dataDir: testDataDir(), database },
      log: { level: 'warn' },
    },
    overrides,
  );
  const config = loadConfig({ fileObject, env });
  const central = await startCentral(config, { role: 'all' });
  await central.ready;
  return Object.assign(central, { config });
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
