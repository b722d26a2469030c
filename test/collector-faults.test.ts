// Collector fault tests (issue 5), loopback only, each bounded in time:
// kill -9 mid-stream, a TCP proxy that resets/delays/cuts streams, the WAL
// cap (backpressure and drop-oldest), a corrupted WAL tail. "Exactly once"
// is checked in central's ClickHouse: every sample carries a unique id as its
// value, and each acknowledged id must be stored once, nothing twice.
// (Central down for 60 s is in collector-central-down.test.ts.)
import { describe, it, expect, afterEach } from 'vitest';
import { readdirSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { startTestCentral, type TestCentral } from './helpers/central.ts';
import { freePort } from './helpers/proc.ts';
import { TOKEN, exactlyOnceProblems, scrapeMetric, startCollectorProcess, startFaultProxy, startLoad, storedCounts, waitDrained, type CollectorProcess } from './helpers/collector.ts';
import { GRPC_STATUS, encodeRemoteWriteV1, otlpGrpcServiceDefinition, snappyCompress } from '../protocols/index.ts';
import { Metadata, credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function central(port?: number, database?: string): Promise<TestCentral> {
  const c = await startTestCentral({ auth: { clusterTokens: [`east=${TOKEN}`] }, ...(port ? { server: { httpListen: `127.0.0.1:${port}` } } : {}), ...(database ? { storage: { database } } : {}) });
  cleanups.push(() => c.shutdown());
  return c;
}

async function collector(opts: Parameters<typeof startCollectorProcess>[0]): Promise<CollectorProcess> {
  const c = await startCollectorProcess(opts);
  cleanups.push(() => c.stop('SIGKILL'));
  return c;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

describe('collector faults', () => {
  it('kill -9 mid-stream: every sample acknowledged before the kill is in central exactly once after a restart', async () => {
    const c = await central();
    const col = await collector({ central: c.httpUrl, env: { FLEETWATCH_COLLECTOR_SHIP_BATCH_BYTES: '256KiB' } });
    const load = startLoad(col.url, { metric: 'fault_kill9', lanes: 4, samplesPerRequest: 500, pauseMs: 2 });
    await until(() => load.ackedCount > 40_000, 30_000, 'load to be acknowledged');
    // shipping is under way: some batches are in flight at the kill
    await until(async () => (await scrapeMetric(col.url, 'fleetwatch_collector_shipped_records_total')) > 0, 10_000, 'shipping');
    col.child.kill('SIGKILL');
    const res = await load.stop();
    expect(res.acked.length).toBeGreaterThan(40_000);

    // and once more while the restarted collector re-sends its sealed batches and drains the rest
    const second = await collector({ central: c.httpUrl, dataDir: col.dataDir, port: col.port });
    await sleep(150);
    second.child.kill('SIGKILL');
    await new Promise((r) => second.child.once('exit', r));
    const again = await collector({ central: c.httpUrl, dataDir: col.dataDir, port: col.port });
    await waitDrained(again.url, 60_000);
    const counts = await storedCounts(c.store, c.store.database, 'fault_kill9');
    expect(exactlyOnceProblems(counts, res.acked, load.nextId)).toEqual([]);
    // what was in flight when the process died (never acknowledged) is there at most once
    expect(res.unacked.filter((id) => (counts.get(id) ?? 0) > 1)).toEqual([]);
  }, 120_000);

  it('a proxy that resets, delays and cuts streams: no loss, no duplicates', async () => {
    const c = await central();
    const proxy = await startFaultProxy(c.httpUrl, 7);
    cleanups.push(() => proxy.close());
    proxy.mode = 'faulty';
    const col = await collector({ central: proxy.url, env: { FLEETWATCH_COLLECTOR_SHIP_BATCH_BYTES: '128KiB', FLEETWATCH_COLLECTOR_SHIP_CONCURRENCY: '3', FLEETWATCH_COLLECTOR_SHIP_MAX_BACKOFF_MS: '300ms' } });
    const load = startLoad(col.url, { metric: 'fault_proxy', lanes: 2, samplesPerRequest: 300, pauseMs: 10 });
    await until(() => proxy.injected.dropResponse >= 3 && proxy.injected.resetUpload >= 3 && proxy.injected.cutResponse >= 2 && proxy.injected.delay >= 2, 45_000, 'every kind of fault');
    const res = await load.stop();
    expect(res.unacked).toEqual([]); // the collector's clients never see central's network trouble
    // keep the faults going while the queue drains a bit, then let it finish
    await sleep(2_000);
    proxy.mode = 'pass';
    await waitDrained(col.url, 60_000);
    const counts = await storedCounts(c.store, c.store.database, 'fault_proxy');
    if (process.env['FW_DEBUG']) {
      console.log(proxy.injected, (await (await fetch(`${col.url}/metrics`)).text()).split('\n').filter((l) => /^fleetwatch_collector_(ship|wal_(app|corr|drop))/.test(l) && !/bucket/.test(l)).join('\n'));
      console.log((await (await fetch(`${c.httpUrl}/metrics`)).text()).split('\n').filter((l) => /^fleetwatch_(fleet|ingest_inserts)/.test(l)).join('\n'));
      const missing = res.acked.filter((id) => !counts.has(id));
      console.log('missing', missing.length, missing[0], missing.at(-1));
      console.log(col.output().slice(-5000));
    }
    expect(exactlyOnceProblems(counts, res.acked, load.nextId)).toEqual([]);
    // responses were lost after central committed: the resends were recognised
    expect(await scrapeMetric(c.httpUrl, 'fleetwatch_fleet_batches_total', 'outcome="duplicate"')).toBeGreaterThan(0);
    expect(await scrapeMetric(col.url, 'fleetwatch_collector_ship_retries_total')).toBeGreaterThan(0);
  }, 120_000);

  it('WAL cap: clients get 429 with Retry-After, and nothing acknowledged is dropped', async () => {
    const port = await freePort(); // central is not there yet
    const grpcPort = await freePort();
    const col = await collector({ central: `http://127.0.0.1:${port}`, grpcPort, env: { FLEETWATCH_COLLECTOR_WAL_MAX_BYTES: '1MiB' } });
    const load = startLoad(col.url, { metric: 'fault_cap', lanes: 2, samplesPerRequest: 500, pauseMs: 0 });
    await until(() => load.nextId > 0 && (load as { ackedCount: number }).ackedCount > 0, 10_000, 'first acks');
    let res = await (async () => {
      await until(async () => (await scrapeMetric(col.url, 'fleetwatch_collector_wal_appends_total', 'outcome="full"')) >= 20, 30_000, '429s');
      return load.stop();
    })();
    expect(res.statuses.get(429)).toBeGreaterThanOrEqual(20);
    expect(res.retryAfterSeen).toBe(true);
    expect(res.acked.length).toBeGreaterThan(0);
    expect(await scrapeMetric(col.url, 'fleetwatch_collector_wal_bytes')).toBeLessThanOrEqual(1024 * 1024);

    // OTLP/HTTP says it its own way, OTLP/gRPC with RESOURCE_EXHAUSTED
    const bigLog = JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: '1', body: { stringValue: 'x'.repeat(300_000) } }] }] }] });
    const otlp = await fetch(`${col.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bigLog });
    expect([429, 503]).toContain(otlp.status);
    const Client = makeGenericClientConstructor(otlpGrpcServiceDefinition('logs'), 'OtlpRaw');
    const client = new Client(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
    // LogsData{resource_logs{scope_logs{log_records{time_unix_nano, body{string_value}}}}} by hand: 300 KB of body
    const str = Buffer.concat([Buffer.from([0x0a]), varint(300_000), Buffer.alloc(300_000, 0x78)]);
    const rec = Buffer.concat([Buffer.from([0x09]), Buffer.alloc(8, 1), Buffer.from([0x2a]), varint(str.length), str]);
    const scope = Buffer.concat([Buffer.from([0x12]), varint(rec.length), rec]);
    const rl = Buffer.concat([Buffer.from([0x12]), varint(scope.length), scope]);
    const body = Buffer.concat([Buffer.from([0x0a]), varint(rl.length), rl]);
    const err = await new Promise<ServiceError | null>((resolve) => {
      (client.Export as (req: Buffer, md: Metadata, cb: (e: ServiceError | null) => void) => void).call(client, body, new Metadata(), (e) => {
        client.close();
        resolve(e);
      });
    });
    expect(err?.code).toBe(GRPC_STATUS.RESOURCE_EXHAUSTED);

    const c = await central(port);
    const more = startLoad(col.url, { metric: 'fault_cap', lanes: 1, samplesPerRequest: 500, pauseMs: 20, startId: load.nextId });
    await sleep(1_000);
    const res2 = await more.stop();
    await waitDrained(col.url, 60_000);
    const counts = await storedCounts(c.store, c.store.database, 'fault_cap');
    res = { ...res, acked: [...res.acked, ...res2.acked.filter((id) => !res2.unacked.includes(id))] };
    expect(exactlyOnceProblems(counts, res.acked, more.nextId)).toEqual([]);
    // refused requests were never written
    expect(res.unacked.filter((id) => counts.has(id))).toEqual([]);
  }, 120_000);

  it('WAL cap with drop-oldest: clients are acknowledged, the oldest records are dropped and counted', async () => {
    const port = await freePort();
    // small batches, one in flight: what the shipper holds in memory is small next to what is dropped
    const col = await collector({
      central: `http://127.0.0.1:${port}`,
      env: { FLEETWATCH_COLLECTOR_WAL_MAX_BYTES: '1MiB', FLEETWATCH_COLLECTOR_WAL_FULL_POLICY: 'drop-oldest', FLEETWATCH_COLLECTOR_SHIP_BATCH_BYTES: '64KiB', FLEETWATCH_COLLECTOR_SHIP_CONCURRENCY: '1' },
    });
    const load = startLoad(col.url, { metric: 'fault_drop', lanes: 1, samplesPerRequest: 500, pauseMs: 0 });
    await until(async () => (await scrapeMetric(col.url, 'fleetwatch_collector_wal_dropped_records_total')) >= 20, 30_000, 'drops');
    const res = await load.stop();
    expect(res.unacked).toEqual([]);
    const droppedRecords = await scrapeMetric(col.url, 'fleetwatch_collector_wal_dropped_records_total');
    const c = await central(port);
    await waitDrained(col.url, 60_000);
    const counts = await storedCounts(c.store, c.store.database, 'fault_drop');
    expect(exactlyOnceProblems(counts, [], load.nextId)).toEqual([]); // nothing twice, nothing unknown
    // one record per request: whole requests are missing, at most the dropped ones (a batch
    // already in flight when its records were dropped is still delivered)
    const missing = res.acked.length - counts.size;
    expect(missing).toBeGreaterThan(0);
    expect(missing % 500).toBe(0);
    expect(missing).toBeLessThanOrEqual(droppedRecords * 500);
    // the newest data survived
    expect(counts.has(load.nextId - 1)).toBe(true);
  }, 120_000);

  it('a torn WAL tail is skipped with a warning and the rest replays', async () => {
    const port = await freePort();
    const col = await collector({ central: `http://127.0.0.1:${port}` });
    const sent: number[][] = [];
    const t0 = Date.now() - 60_000;
    for (let r = 0; r < 20; r++) {
      const ids = Array.from({ length: 100 }, (_, i) => r * 100 + i);
      const body = await snappyCompress(encodeRemoteWriteV1([{ labels: { __name__: 'fault_torn', r: String(r % 3) }, samples: ids.map((id) => ({ timestampMs: t0 + id, value: id })) }]));
      const resp = await fetch(`${col.url}/api/v1/write`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, body });
      expect(resp.status).toBe(204);
      sent.push(ids);
    }
    col.child.kill('SIGKILL');
    await new Promise((r) => col.child.once('exit', r));
    // tear the last record, as a crash in the middle of a write would
    const walDir = path.join(col.dataDir, 'wal');
    const newest = readdirSync(walDir).filter((n) => n.endsWith('.wal')).sort().map((n) => path.join(walDir, n)).filter((f) => statSync(f).size > 8).at(-1) as string;
    truncateSync(newest, statSync(newest).size - 50);

    const c = await central(port);
    const again = await collector({ central: c.httpUrl, dataDir: col.dataDir, port: col.port });
    await waitDrained(again.url, 30_000);
    expect(again.output()).toMatch(/torn or corrupt tail skipped/);
    const counts = await storedCounts(c.store, c.store.database, 'fault_torn');
    const kept = sent.slice(0, -1).flat();
    expect(exactlyOnceProblems(counts, kept, 2000)).toEqual([]);
    expect(counts.size).toBe(kept.length); // only the torn record is gone
    expect(await scrapeMetric(again.url, 'fleetwatch_collector_wal_corrupt_bytes_total')).toBeGreaterThan(0);
  }, 120_000);
});
