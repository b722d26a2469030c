// `fleetwatch collector --cluster NAME --central URL`: the per-cluster agent.
// Receivers (the same remote_write, OTLP/HTTP, OTLP/gRPC and Loki push
// endpoints as central, reusing ingest's receivers over a WAL-backed sink) and
// Prometheus scraping feed the write-ahead log; the shipper drains it to
// central; the heartbeat reports how far behind it is.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { FleetwatchError, createHttpApp, createRegistry, gauge, splitHostPort, type Config, type MetricsRegistry } from '../core/index.ts';
import { isValidClusterName, registerHttpReceivers } from '../ingest/index.ts';
import { startCollectorGrpc, type CollectorGrpcReceiver } from './grpc-receiver.ts';
import { createCentralClient } from './central-client.ts';
import { createStamper, externalLabelsFromConfig } from './external-labels.ts';
import { createHeartbeat, type Heartbeat } from './heartbeat.ts';
import type { Logger } from '../core/index.ts';
import { loadScrapeConfigFile } from './scrape/config.ts';
import { registerTargetsApi, startScraping, type Scraping } from './scrape/scrape-manager.ts';
import { createShipper, type Shipper } from './shipper.ts';
import { openShipLog, openWal, type FsyncPolicy, type ShipLog, type Wal, type WalFullPolicy } from '../storage/index.ts';
import { createWalSink } from './wal-sink.ts';

export const COLLECTOR_VERSION: string = (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string }).version;

export interface Collector {
  readonly app: FastifyInstance;
  readonly registry: MetricsRegistry;
  /** e.g. http://127.0.0.1:9009 */
  readonly httpUrl: string;
  /** host:port of the OTLP/gRPC receiver */
  readonly grpcAddress: string;
  /** resolves once the WAL is replayed and shipping has started */
  readonly ready: Promise<void>;
  wal(): Promise<Wal>;
  shutdown(): Promise<void>;
  /** waits for SIGTERM/SIGINT, shuts down, returns the exit code */
  untilStopped(): Promise<number>;
}

/** Checks what the collector needs before anything starts. */
export function checkCollectorConfig(config: Config): void {
  const c = config.collector;
  if (!c.cluster) throw new FleetwatchError('FW_ERR_CONFIG_INVALID', 'collector.cluster is required: --cluster NAME');
  if (!isValidClusterName(c.cluster)) throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `collector.cluster ${JSON.stringify(c.cluster)}: use 1-128 of [A-Za-z0-9._-], starting with a letter or digit`);
  if (!c.central) throw new FleetwatchError('FW_ERR_CONFIG_INVALID', 'collector.central is required: --central URL of central (e.g. http://central:9009)');
}

export async function startCollector(config: Config): Promise<Collector> {
  checkCollectorConfig(config);
  const c = config.collector;
  const external = externalLabelsFromConfig(c.cluster, c.externalLabels);
  const registry = createRegistry('collector');
  gauge(registry, 'fleetwatch_collector_info', 'the collector\'s cluster and version (always 1)', ['cluster', 'version']).set({ cluster: c.cluster, version: COLLECTOR_VERSION }, 1);
  let isReady = false;
  const app = createHttpApp({ logLevel: config.log.level, maxRequestBytes: config.limits.maxRequestBytes, registry, isReady: () => isReady });
  const log: Logger = app.log;
  const walDir = path.join(config.storage.dataDir, 'wal');
  const fsync = c.walFsync as FsyncPolicy;

  let shipLog: ShipLog | undefined;
  const walOpening = (async () => {
    try {
      await mkdir(walDir, { recursive: true });
    } catch (e) {
      throw new FleetwatchError('FW_ERR_STORAGE_DATA_DIR', `cannot create the WAL directory ${walDir}: ${(e as Error).message}; choose another with --data-dir`);
    }
    // the checkpoint first: it tells the WAL what is shipped and where numbering stands
    shipLog = await openShipLog({ dir: walDir, fsync, log });
    return openWal({
      dir: walDir,
      maxBytes: c.walMaxBytes,
      segmentBytes: c.walSegmentBytes,
      fsync,
      fsyncIntervalMs: c.walFsyncIntervalMs,
      fullPolicy: c.walFullPolicy as WalFullPolicy,
      // a batch of one record must still fit central's request limit (the same setting there)
      maxRecordBytes: config.limits.maxRequestBytes - 1024,
      log,
      registry,
      releasedSeq: shipLog.ackedThrough,
      minNextSeq: shipLog.sealedThrough + 1,
    });
  })();
  walOpening.catch(() => undefined);

  const sink = createWalSink({ wal: () => walOpening, stamper: createStamper(external), registry });
  registerHttpReceivers(app, { config, ingester: sink });
  // a bad scrape config stops start-up here, before anything listens
  const scrapeConfigs = c.scrapeConfigFile ? loadScrapeConfigFile(c.scrapeConfigFile) : [];
  let scraping: Scraping | undefined;
  registerTargetsApi(app, () => scraping);

  const { host, port } = splitHostPort(config.server.httpListen);
  await app.listen({ host, port });
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const httpUrl = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${boundPort}`;

  let grpc: CollectorGrpcReceiver;
  try {
    grpc = await startCollectorGrpc(config, sink);
  } catch (e) {
    await app.close();
    throw e;
  }

  const client = createCentralClient({ url: c.central, token: c.token, cluster: c.cluster, version: COLLECTOR_VERSION, timeoutMs: c.shipTimeoutMs });
  let shipper: Shipper | undefined;
  let heartbeat: Heartbeat | undefined;
  let wal: Wal | undefined;

  const ready = (async () => {
    wal = await walOpening;
    const w = wal;
    shipper = createShipper({
      wal: w,
      shipLog: shipLog as ShipLog,
      client,
      maxBatchBytes: c.shipBatchBytes,
      concurrency: c.shipConcurrency,
      lingerMs: c.shipLingerMs,
      minBackoffMs: c.shipMinBackoffMs,
      maxBackoffMs: c.shipMaxBackoffMs,
      log,
      registry,
    });
    shipper.start();
    const s = shipper;
    heartbeat = createHeartbeat({
      client,
      intervalMs: c.heartbeatIntervalMs,
      log,
      body: () => {
        const st = w.stats();
        return {
          cluster: c.cluster,
          version: COLLECTOR_VERSION,
          queueDepthBytes: st.unreleasedBytes,
          queueRecords: st.records,
          oldestUnshippedAgeMs: st.oldestUnreleasedMs === undefined ? 0 : Math.max(0, Date.now() - st.oldestUnreleasedMs),
          lastError: s.lastError || (heartbeat?.lastError ?? ''),
          labels: Object.fromEntries(external.names.map((n, i) => [n, external.values[i] as string])),
        };
      },
    });
    heartbeat.start();
    if (scrapeConfigs.length > 0) scraping = startScraping({ configs: scrapeConfigs, sink, tenant: config.tenancy.defaultTenant, log, registry, userAgent: `fleetwatch-collector/${COLLECTOR_VERSION}` });
    isReady = true;
    log.info({ url: httpUrl, grpc: grpc.address, cluster: c.cluster, central: c.central, wal: walDir }, 'collector is ready');
  })();
  let failed: unknown;
  ready.catch((e) => {
    failed = e;
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      isReady = false;
      await scraping?.stop();
      await Promise.all([app.close(), grpc.shutdown()]);
      await ready.catch(() => undefined);
      // in-flight batches get a while to finish; the rest are sealed and go out after a restart
      await shipper?.shutdown(Math.max(1000, config.server.shutdownTimeoutMs / 2));
      await heartbeat?.stop();
      await shipLog?.close();
      await wal?.close();
    })());

  const untilStopped = async (): Promise<number> => {
    try {
      await ready;
    } catch (e) {
      await shutdown().catch(() => undefined);
      throw e;
    }
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({}, 'shutdown timed out; exiting (unshipped records stay in the WAL)');
      process.exit(1);
    }, config.server.shutdownTimeoutMs);
    timer.unref();
    await shutdown();
    return failed ? 1 : 0;
  };

  return { app, registry, httpUrl, grpcAddress: grpc.address, ready, wal: () => walOpening, shutdown, untilStopped };
}
