// The `fleetwatch` program: one binary, several roles.
import { loadConfig, flagHelp, isFleetwatchError, type Config } from '../core/index.ts';
import { createStatements } from '../storage/index.ts';
import { parseArgs } from './args.ts';
import { startCentral } from './central.ts';
import { startCollector } from '../collector/index.ts';
import { startDemo } from './demo.ts';

const ROLES: Record<string, string> = {
  all: 'everything central on embedded ClickHouse (what `npm start` runs)',
  central: 'the central ingest and query layer (scale out behind a load balancer)',
  collector: 'the per-cluster agent: receivers, scraping, WAL, shipping to central',
  demo: 'central plus simulated clusters with injected faults',
  schema: 'print the ClickHouse DDL (add --cluster NAME for a ClickHouse cluster)',
};

function usage(role?: string): string {
  const head = role && ROLES[role] ? `fleetwatch ${role}: ${ROLES[role]}\n\nUsage: fleetwatch ${role} [flags]` : 'Usage: fleetwatch <role> [flags]\n\nRoles:\n' + Object.entries(ROLES).map(([r, d]) => `  ${r.padEnd(10)} ${d}`).join('\n');
  const extra = role === 'schema' ? '\n  --cluster NAME          render ReplicatedMergeTree + Distributed tables ON CLUSTER NAME' : '';
  return `${head}\n\nFlags (flags > FLEETWATCH_* environment > --config file > defaults):\n  --config FILE           YAML configuration file${extra}\n${flagHelp()}\n`;
}

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`fleetwatch: ${(e as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (!args.role || args.role === 'help') {
    process.stdout.write(usage());
    return args.role || args.help ? 0 : 2;
  }
  if (!ROLES[args.role]) {
    process.stderr.write(`fleetwatch: unknown role "${args.role}"\n\n${usage()}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(usage(args.role));
    return 0;
  }
  const flags = { ...args.flags };
  if (args.role === 'schema' && 'cluster' in flags) {
    // for `schema`, --cluster names the ClickHouse cluster
    flags['clickhouse-cluster'] = flags['cluster'] as string;
    delete flags['cluster'];
  }
  let config: Config;
  try {
    config = loadConfig({ flags, env, ...(args.configFile ? { file: args.configFile } : {}) });
  } catch (e) {
    process.stderr.write(`fleetwatch: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    switch (args.role) {
      case 'schema': {
        const stmts = createStatements({ database: config.storage.database, retention: { metricsMs: config.retention.metrics, logsMs: config.retention.logs, tracesMs: config.retention.traces }, ...(config.storage.cluster ? { cluster: config.storage.cluster } : {}) });
        process.stdout.write(stmts.map((s) => `${s};\n`).join('\n'));
        return 0;
      }
      case 'all':
      case 'central': {
        const central = await startCentral(config, { role: args.role });
        return await central.untilStopped();
      }
      case 'demo': {
        const central = await startCentral(config, { role: 'demo' });
        void central.ready.then(() => {
          const demo = startDemo(central, { clusters: config.demo.clusters, intervalMs: config.demo.intervalMs, linesPerRound: 200 });
          central.onShutdown(() => demo.stop());
          central.app.log.info({ clusters: config.demo.clusters, url: central.httpUrl }, 'demo clusters are sending; cluster-c goes silent and cluster-b degrades on a schedule');
        });
        return await central.untilStopped();
      }
      case 'collector': {
        const collector = await startCollector(config);
        return await collector.untilStopped();
      }
      default:
        process.stderr.write(`fleetwatch ${args.role}: not available in this build yet\n`);
        return 2;
    }
  } catch (e) {
    if (isFleetwatchError(e)) {
      process.stderr.write(`fleetwatch: ${e.message} [${e.code}]\n`);
      return 1;
    }
    throw e;
  }
}
