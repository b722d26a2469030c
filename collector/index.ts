// collector: the per-cluster agent (receivers, scraping, WAL, shipper, heartbeat).
export { startCollector, checkCollectorConfig, COLLECTOR_VERSION } from './collector.ts';
export type { Collector } from './collector.ts';
export { openWal } from './wal.ts';
export type { Wal, WalOptions, WalRead, WalStats, FsyncPolicy, WalFullPolicy } from './wal.ts';
export { openShipLog } from './ship-log.ts';
export type { ShipLog, SealedBatch } from './ship-log.ts';
export { createShipper, BATCH_PATH } from './shipper.ts';
export type { Shipper, ShipperOptions } from './shipper.ts';
export { createCentralClient, isRetryableStatus, backoffMs } from './central-client.ts';
export type { CentralClient, CentralAnswer } from './central-client.ts';
export { createStamper, externalLabelsFromConfig } from './external-labels.ts';
export type { Stamper } from './external-labels.ts';
