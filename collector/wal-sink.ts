// The collector's receivers write here: the same Ingester interface central's
// ingest offers, so the collector reuses central's HTTP and gRPC receivers
// unchanged (content types, error shapes, partial success). A write stamps
// the external labels, encodes the batch as a fleet record and resolves once
// the WAL holds it durably — only then does the receiver acknowledge the
// client. A full WAL rejects with FW_ERR_WAL_FULL, which the receivers turn
// into 429 (HTTP) or RESOURCE_EXHAUSTED (gRPC).
import { counter, type MetricsRegistry } from '../core/index.ts';
import type { Ingester } from '../ingest/index.ts';
import { FLEET_RECORD_LOGS, FLEET_RECORD_METRICS, FLEET_RECORD_SPANS, encodeFleetLogs, encodeFleetMetrics, encodeFleetSpans } from '../protocols/index.ts';
import type { Stamper } from './external-labels.ts';
import type { Wal } from '../storage/index.ts';

export function createWalSink(opts: { wal: () => Promise<Wal>; stamper: Stamper; registry: MetricsRegistry }): Ingester {
  const received = counter(opts.registry, 'fleetwatch_collector_received_total', 'samples, log records and spans written to the WAL, by signal', ['signal']);
  const { stamper } = opts;
  return {
    // nothing to batch with: each write is its own WAL append (group-committed by the WAL)
    produce: () => () => undefined,
    async writeMetrics(tenant, batch) {
      if (batch.sampleCount > 0 || batch.exemplars.length > 0 || batch.metadata.length > 0) {
        const payload = encodeFleetMetrics(batch, stamper.seriesBlock);
        await (await opts.wal()).append(FLEET_RECORD_METRICS, tenant, payload);
        received.inc({ signal: 'metrics' }, batch.sampleCount);
      }
      return { written: batch.sampleCount, exemplars: batch.exemplars.length, rejected: batch.rejected };
    },
    async writeLogs(tenant, batch) {
      if (batch.recordCount > 0) {
        await (await opts.wal()).append(FLEET_RECORD_LOGS, tenant, encodeFleetLogs(batch, stamper.streamBlock));
        received.inc({ signal: 'logs' }, batch.recordCount);
      }
      return { written: batch.recordCount, rejected: batch.rejected };
    },
    async writeSpans(tenant, batch) {
      if (batch.spans.length > 0) {
        await (await opts.wal()).append(FLEET_RECORD_SPANS, tenant, encodeFleetSpans(batch, stamper.resource));
        received.inc({ signal: 'traces' }, batch.spans.length);
      }
      return { written: batch.spans.length, rejected: batch.rejected };
    },
    pendingBytes: 0,
    async shutdown() {
      // the WAL is closed by the collector after the receivers stop
    },
  };
}
