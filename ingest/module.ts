// Ingest as one piece of central: the ingester, its HTTP receivers and the
// OTLP/gRPC server, with one lifecycle.
import type { FastifyInstance } from 'fastify';
import type { Config, MetricsRegistry } from '../core/index.ts';
import type { Head, Store } from '../storage/index.ts';
import { createIngester, ingesterOptionsFromConfig, headFeed, type Ingester } from './ingester.ts';
import { registerHttpReceivers } from './http-receivers.ts';
import { startGrpcReceiver, type GrpcReceiver } from './grpc-receiver.ts';
import type { IngestLog } from './ingest-log.ts';

export interface IngestService {
  readonly ingester: Ingester;
  /** bound gRPC address once started */
  readonly grpcAddress: string | undefined;
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface IngestDeps {
  readonly config: Config;
  readonly store: Store;
  readonly registry: MetricsRegistry;
  readonly app: FastifyInstance;
  /** start the OTLP/gRPC server (default true) */
  readonly grpc?: boolean;
  /** the in-memory head of recent samples, fed with every committed metrics write */
  readonly head?: Head | undefined;
  /** central's ingest log (opening), when ingest.log is on */
  readonly ingestLog?: Promise<IngestLog> | undefined;
}

/** Registers the HTTP receivers now; the gRPC server starts with start(). */
export function createIngestService(deps: IngestDeps): IngestService {
  const ingester = createIngester(ingesterOptionsFromConfig(deps.config, deps.store, deps.registry, headFeed(deps.head), deps.ingestLog));
  registerHttpReceivers(deps.app, { config: deps.config, ingester });
  let grpc: GrpcReceiver | undefined;
  let stopped: Promise<void> | undefined;
  return {
    ingester,
    get grpcAddress() {
      return grpc?.address;
    },
    async start() {
      if (deps.grpc !== false) grpc = await startGrpcReceiver(deps.config, ingester, { maxMessageBytes: deps.config.limits.maxRequestBytes });
    },
    shutdown: () =>
      (stopped ??= (async () => {
        await grpc?.shutdown();
        await ingester.shutdown();
      })()),
  };
}
