// collector: the per-cluster agent (receivers, scraping, WAL, shipper, heartbeat).
export { startCollector, checkCollectorConfig, COLLECTOR_VERSION } from './collector.ts';
export type { Collector } from './collector.ts';
export { createShipper, BATCH_PATH } from './shipper.ts';
export type { Shipper, ShipperOptions } from './shipper.ts';
export { createCentralClient, isRetryableStatus, backoffMs } from './central-client.ts';
export type { CentralClient, CentralAnswer } from './central-client.ts';
export { createStamper, externalLabelsFromConfig } from './external-labels.ts';
export type { Stamper } from './external-labels.ts';
