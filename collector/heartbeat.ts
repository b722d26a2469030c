// The collector's heartbeat: every collector.heartbeatIntervalMs it tells
// central who it is and how far behind it is. Central keeps the latest in
// its cluster registry (fleet_clusters), which health builds on: a cluster
// whose heartbeats stop is Unknown, one whose queue grows is falling behind.
import type { CentralClient } from './central-client.ts';
import type { Logger } from '../core/index.ts';

export const HEARTBEAT_PATH = '/api/v1/fleet/heartbeat';

/** What a heartbeat carries (JSON; a few hundred bytes every few seconds). */
export interface HeartbeatBody {
  readonly cluster: string;
  readonly version: string;
  /** bytes in WAL segment files */
  readonly queueDepthBytes: number;
  /** WAL records not yet acknowledged by central */
  readonly queueRecords: number;
  /** age of the oldest unshipped record, 0 when caught up */
  readonly oldestUnshippedAgeMs: number;
  readonly lastError: string;
  /** the external labels this collector stamps */
  readonly labels: Readonly<Record<string, string>>;
}

export interface Heartbeat {
  start(): void;
  /** sends one heartbeat now (tests, shutdown) */
  beat(): Promise<boolean>;
  stop(): Promise<void>;
  readonly lastError: string;
}

export function createHeartbeat(opts: { client: CentralClient; intervalMs: number; log: Logger; body: () => HeartbeatBody }): Heartbeat {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<boolean> | undefined;
  let lastError = '';
  let failures = 0;

  const beat = async (): Promise<boolean> => {
    const answer = await opts.client.post(HEARTBEAT_PATH, Buffer.from(JSON.stringify(opts.body())), { 'content-type': 'application/json' });
    if (answer.status >= 200 && answer.status < 300) {
      if (failures > 0) opts.log.info({ failures }, 'heartbeat reaches central again');
      failures = 0;
      lastError = '';
      return true;
    }
    lastError = answer.status === 0 ? answer.text : `central answered ${answer.status} to a heartbeat: ${answer.text.trim().slice(0, 200)}`;
    if (failures++ % 10 === 0) opts.log.warn({ error: lastError, failures }, 'heartbeat failed');
    return false;
  };

  // the next beat is scheduled when this one ends: beats never overlap
  const loop = (): void => {
    if (stopped) return;
    current = beat().finally(() => {
      current = undefined;
      if (!stopped) timer = setTimeout(loop, opts.intervalMs);
    });
  };

  return {
    start() {
      if (!timer && !current && !stopped) loop();
    },
    beat,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
    get lastError() {
      return lastError;
    },
  };
}
