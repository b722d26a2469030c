// Central's side of the collectors as one piece: collector auth, the batch
// endpoint with deduplication, heartbeats and the cluster registry.
import type { FastifyInstance } from 'fastify';
import type { Config, MetricsRegistry } from '../core/index.ts';
import type { Head, Store } from '../storage/index.ts';
import { headFeed } from './ingester.ts';
import { createClusterAuth } from './fleet-auth.ts';
import { createFleetBatches, registerFleetBatchRoute, type FleetBatches } from './fleet-batches.ts';
import { createFleetRegistry, registerFleetRegistryRoutes, type FleetRegistry } from './fleet-registry.ts';

export interface FleetService {
  readonly batches: FleetBatches;
  readonly clusters: FleetRegistry;
  shutdown(): Promise<void>;
}

/** Registers the routes now (before listen); storage is used once requests come. */
export function createFleetService(deps: { config: Config; store: Store; registry: MetricsRegistry; app: FastifyInstance; head?: Head | undefined }): FleetService {
  const auth = createClusterAuth(deps.config);
  const feed = headFeed(deps.head);
  const batches = createFleetBatches({ config: deps.config, store: deps.store, registry: deps.registry, auth, ...(feed ? { onMetricsCommitted: feed } : {}) });
  const clusters = createFleetRegistry({ store: deps.store });
  registerFleetBatchRoute(deps.app, auth, batches);
  registerFleetRegistryRoutes(deps.app, { config: deps.config, auth, registry: clusters });
  let stopped: Promise<void> | undefined;
  return {
    batches,
    clusters,
    shutdown: () => (stopped ??= batches.shutdown()),
  };
}
