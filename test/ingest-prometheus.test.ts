// A real Prometheus 2.42 scrapes targets and remote-writes to fleetwatch;
// afterwards every sample in Prometheus's own TSDB must be in fleetwatch,
// value for value. (Debian's Prometheus 2.42 does not send remote_write
// `headers`, so this writes to the default tenant; tenancy is tested with
// our own client in ingest-receivers.test.ts.)
import { describe, it, expect } from 'vitest';
import { startTestCentral } from './helpers/central.ts';
import { peerBinary, missingPeer, startPrometheus } from './helpers/peers.ts';
import { isStaleNaN } from '../protocols/index.ts';
import { RowBinaryReader } from '../storage/index.ts';

const havePrometheus = peerBinary('prometheus') !== undefined;

type Key = string;
const keyOf = (labels: Record<string, string>) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');

describe.skipIf(!havePrometheus)('remote_write from a real Prometheus', () => {
  it('stores every sample Prometheus scraped, value for value', async () => {
    const central = await startTestCentral();
    const prom1 = await startPrometheus(`
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ['127.0.0.1:\${PORT}'] }]
  - job_name: fleetwatch
    static_configs: [{ targets: ['${central.httpUrl.replace('http://', '')}'] }]
remote_write:
  - url: ${central.httpUrl}/api/v1/write
    queue_config: { batch_send_deadline: 500ms, max_samples_per_send: 2000, min_backoff: 100ms, max_backoff: 1s }
    metadata_config: { send_interval: 1s }
`);
    await new Promise((r) => setTimeout(r, 8_000));
    await prom1.stop(); // SIGTERM flushes the remote-write queue
    expect(prom1.output()).not.toMatch(/level=error.*remote/i);

    // read back Prometheus's own TSDB with a second instance that neither scrapes nor ships
    const prom2 = await startPrometheus('global: {}\n', [], { dir: prom1.dir });
    let expected: Map<Key, [number, number][]>;
    try {
      const r = await fetch(`${prom2.url}/api/v1/query?query=${encodeURIComponent('{__name__=~".+"}[1h]')}&time=${Date.now() / 1000}`);
      const body = (await r.json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
      expected = new Map(body.data.result.map((s) => [keyOf(s.metric), s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number])]));
    } finally {
      await prom2.stop();
    }

    const db = central.store.database;
    const series = await central.store.queryRows<{ fingerprint: string; labels: Record<string, string> }>({
      sql: `SELECT DISTINCT fingerprint, labels FROM ${db}.metrics_series WHERE tenant = {t:String}`,
      params: { t: 'fake' },
    });
    const labelsByFp = new Map(series.map((s) => [s.fingerprint, s.labels]));
    const bin = await central.store.queryBinary(
      { sql: `SELECT toString(fingerprint), timestamp_ms, value FROM ${db}.metrics_samples WHERE tenant = {t:String} ORDER BY fingerprint, timestamp_ms`, params: { t: 'fake' } },
      'RowBinary',
    );
    const got = new Map<Key, [number, number][]>();
    const rd = new RowBinaryReader(bin);
    while (!rd.done) {
      const fp = rd.string();
      const ts = rd.int64();
      const v = rd.float64();
      if (isStaleNaN(v)) continue; // range selectors never return stale markers
      const labels = labelsByFp.get(fp);
      expect(labels, `series row for fingerprint ${fp}`).toBeDefined();
      const k = keyOf(labels as Record<string, string>);
      let arr = got.get(k);
      if (!arr) got.set(k, (arr = []));
      arr.push([ts, v]);
    }

    expect(expected.size).toBeGreaterThan(100); // both jobs, hundreds of series
    let samples = 0;
    for (const [k, want] of expected) {
      const have = got.get(k);
      expect(have, `series ${k}`).toBeDefined();
      // compare bit-for-bit (NaN equals NaN here)
      expect(have?.map(([t, v]) => [t, Object.is(v, NaN) ? 'NaN' : v]), k).toEqual(want.map(([t, v]) => [t, Object.is(v, NaN) ? 'NaN' : v]));
      samples += want.length;
    }
    expect(samples).toBeGreaterThan(1000);
    // metadata from metadata_config arrived too
    const md = await central.store.queryRows<{ n: string }>({ sql: `SELECT count() AS n FROM ${db}.metrics_metadata WHERE tenant = {t:String}`, params: { t: 'fake' } });
    expect(Number(md[0]?.n)).toBeGreaterThan(10);
    await central.shutdown();
  }, 90_000);
});

if (!havePrometheus) console.warn(missingPeer('prometheus', 'prometheus'));
