// Central: HTTP (+ gRPC) front, storage, and the modules that plug into them.
// The HTTP server listens first (so /-/healthy answers at once); /-/ready
// turns true once storage answers and migrations are done.
import type { FastifyInstance } from 'fastify';
import { createHttpApp, createRegistry, gauge, splitHostPort, startSelfTracing, type Config, type MetricsRegistry } from '../core/index.ts';
import { Head, createDeferredStore, instrumentStore, openStore, withReadBarrier, type Store } from '../storage/index.ts';
import { createFleetService, createIngestService, ingestLogEnabled, openIngestLogFromConfig, type IngestLog } from '../ingest/index.ts';
import { registerLokiQueryApi, registerPrometheusApi } from '../query/index.ts';

/** What a central module gets: configuration, storage, metrics. */
export interface CentralDeps {
  readonly config: Config;
  /** reads wait for writes the ingest log acknowledged (storage/read-barrier-store.ts) */
  readonly store: Store;
  readonly registry: MetricsRegistry;
  readonly app: FastifyInstance;
  /** the in-memory head of recent samples (query.head), when on */
  readonly head: Head | undefined;
  /** central's ingest log (opening), when ingest.log is on */
  readonly ingestLog: Promise<IngestLog> | undefined;
}

/** Whether this central keeps the in-memory head (query.head: auto = only with embedded chDB, the one writer of its data). */
export function headEnabled(config: Config): boolean {
  return config.query.head === 'on' || (config.query.head === 'auto' && !config.storage.clickhouseUrl);
}

/**
 * Loads the head from storage in the background; until that succeeds the
 * head answers nothing and queries read ClickHouse. Retries on failure.
 */
function warmHead(head: Head, store: Store, log: FastifyInstance['log'], stopped: () => boolean): Promise<void> {
  return (async () => {
    for (let attempt = 0; !stopped(); attempt++) {
      const t0 = performance.now();
      try {
        await head.warm(store);
        log.info({ ...head.stats(), ms: Math.round(performance.now() - t0) }, 'in-memory head loaded');
        return;
      } catch (e) {
        if (stopped()) return;
        log.warn({ err: e, attempt }, 'loading the in-memory head failed; queries read ClickHouse until it loads');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 1_000 * 2 ** attempt)).unref());
      }
    }
  })();
}

/** A piece of central (ingest, query APIs, ...): registers routes, may run in the background. */
export interface CentralModule {
  readonly name: string;
  /** called before listen: add routes */
  register(deps: CentralDeps): void | Promise<void>;
  /** called once storage is ready */
  start?(): Promise<void>;
  /** flush and stop; idempotent */
  shutdown?(): Promise<void>;
  /** the OTLP/gRPC address this module listens on, once started */
  readonly grpcAddress?: string | undefined;
}

export type CentralModuleFactory = () => CentralModule;

/** Modules every central runs, in order. */
export const CENTRAL_MODULES: CentralModuleFactory[] = [
  () => {
    let svc: ReturnType<typeof createIngestService> | undefined;
    let app: FastifyInstance | undefined;
    return {
      name: 'ingest',
      get grpcAddress() {
        return svc?.grpcAddress;
      },
      register: (deps) => {
        app = deps.app;
        svc = createIngestService(deps);
      },
      start: async () => {
        await svc?.start();
        app?.log.info({ grpc: svc?.grpcAddress }, 'OTLP/gRPC receiver listening');
      },
      shutdown: async () => svc?.shutdown(),
    };
  },
  () => {
    // collectors: batch endpoint with deduplication, heartbeats, cluster registry, collector auth
    let svc: ReturnType<typeof createFleetService> | undefined;
    return {
      name: 'fleet',
      register: (deps) => {
        svc = createFleetService(deps);
      },
      shutdown: async () => svc?.shutdown(),
    };
  },
  () => ({
    name: 'loki-query',
    register: (deps) => {
      registerLokiQueryApi(deps.app, deps);
    },
  }),
  () => ({
    name: 'prometheus-query',
    register: (deps) => {
      registerPrometheusApi(deps.app, deps);
    },
  }),
];

export interface Central {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly registry: MetricsRegistry;
  /** the bound HTTP address, e.g. http://127.0.0.1:9009 */
  readonly httpUrl: string;
  /** resolves once storage is migrated */
  readonly ready: Promise<void>;
  /** the bound OTLP/gRPC address (host:port) once ready; undefined without a gRPC receiver */
  readonly grpcAddress: string | undefined;
  shutdown(): Promise<void>;
  /** runs fn first when shutting down (e.g. stop load generators) */
  onShutdown(fn: () => Promise<void>): void;
  /** waits for SIGTERM/SIGINT, shuts down, returns the exit code */
  untilStopped(): Promise<number>;
}

export interface CentralOptions {
  readonly role: string;
  readonly modules?: readonly CentralModuleFactory[];
  /** install SIGTERM/SIGINT handlers (the CLI does; tests do not) */
  readonly handleSignals?: boolean;
}

export async function startCentral(config: Config, opts: CentralOptions): Promise<Central> {
  const registry = createRegistry(opts.role);
  const deferred = createDeferredStore(config.storage.database, config.storage.clickhouseUrl ? 'server' : 'embedded');
  const rawStore = instrumentStore(deferred, registry);
  const app = createHttpApp({ logLevel: config.log.level, maxRequestBytes: config.limits.maxRequestBytes, registry, isReady: () => deferred.ready });
  // acknowledged writes may wait in the ingest log: every read waits for them first
  const ingestLog = ingestLogEnabled(config) ? openIngestLogFromConfig(config, rawStore, app.log, registry) : undefined;
  ingestLog?.catch(() => undefined);
  // (before storage is ready a read fails at once with 503, as without the log: it must not wait for a flusher that has not started)
  const store = ingestLog ? withReadBarrier(rawStore, async (signal) => (deferred.ready ? (await ingestLog).barrier(signal) : undefined)) : rawStore;
  const tracing = await startSelfTracing({ endpoint: config.telemetry.otlpEndpoint, serviceName: config.telemetry.serviceName, role: opts.role });
  tracing?.instrument(app);

  // what each table holds (active parts only), for operators and the benchmarks
  app.get('/api/v1/status/storage', async () => {
    const rows = await store.queryRows<{ table: string; rows: string; bytes_on_disk: string; uncompressed: string }>({
      sql: 'SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk, sum(data_uncompressed_bytes) AS uncompressed FROM system.parts WHERE active AND database = {db:String} GROUP BY table ORDER BY table',
      params: { db: store.database },
    });
    return { status: 'success', data: rows.map((r) => ({ table: r.table, rows: Number(r.rows), bytesOnDisk: Number(r.bytes_on_disk), uncompressedBytes: Number(r.uncompressed) })) };
  });

  // taken before any module can write, so no commit escapes it (storage/head.ts)
  // never longer than metrics are kept: the head must not answer what retention dropped
  const headWindowMs = config.retention.metrics > 0 ? Math.min(config.query.headWindowMs, config.retention.metrics) : config.query.headWindowMs;
  const head = headEnabled(config) ? new Head({ windowMs: headWindowMs, maxSamples: config.query.headMaxSamples }) : undefined;
  let stopHead = (): void => undefined;
  let headStopped = false;
  if (head) {
    gauge(registry, 'fleetwatch_head_series', 'series in the in-memory head', [], () => head.stats().series);
    gauge(registry, 'fleetwatch_head_samples', 'samples in the in-memory head', [], () => head.stats().samples);
    gauge(registry, 'fleetwatch_head_covered_from_seconds', 'the head holds every sample from this time on (+Inf while loading)', [], () => head.coveredFromMs() / 1000);
    stopHead = head.startEviction();
  }

  const modules = (opts.modules ?? CENTRAL_MODULES).map((f) => f());
  for (const m of modules) await m.register({ config, store, registry, app, head, ingestLog });

  const { host, port } = splitHostPort(config.server.httpListen);
  await app.listen({ host, port });
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const httpUrl = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${boundPort}`;

  let failed: unknown;
  const ready = (async () => {
    const real = await openStore(config);
    deferred.resolve(real);
    // replays what an earlier run acknowledged but did not insert
    (await ingestLog)?.start();
    // through the read barrier: the head must not miss rows still in the log
    if (head) void warmHead(head, store, app.log, () => headStopped);
    for (const m of modules) await m.start?.();
    app.log.info({ url: httpUrl, storage: real.kind, database: real.database }, 'fleetwatch is ready');
  })();
  ready.catch((e) => {
    failed = e;
  });

  let stopping: Promise<void> | undefined;
  const hooks: (() => Promise<void>)[] = [];
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const h of hooks) await h().catch(() => undefined);
      headStopped = true;
      stopHead();
      // stop accepting; in-flight requests finish. A client that stalls
      // mid-request would hold close() open forever, so after a grace period
      // the remaining connections are cut.
      const closing = app.close();
      const grace = setTimeout(() => app.server.closeAllConnections(), Math.min(5_000, config.server.shutdownTimeoutMs / 2));
      await closing;
      clearTimeout(grace);
      for (const m of [...modules].reverse()) await m.shutdown?.();
      // acknowledged rows go to ClickHouse now if they can; what cannot stays logged for the next start
      await (await ingestLog?.catch(() => undefined))?.close(Math.min(10_000, config.server.shutdownTimeoutMs / 2));
      await tracing?.shutdown().catch(() => undefined);
      await ready.catch(() => undefined);
      await store.close();
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
    app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      app.log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.server.shutdownTimeoutMs);
    timer.unref();
    await shutdown();
    return failed ? 1 : 0;
  };

  return {
    app,
    store,
    registry,
    httpUrl,
    ready,
    get grpcAddress() {
      return modules.find((m) => m.grpcAddress !== undefined)?.grpcAddress;
    },
    shutdown,
    untilStopped,
    onShutdown: (fn) => void hooks.push(fn),
  };
}
