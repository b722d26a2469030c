// Micro-benchmark: decoding pre-encoded remote_write requests (uncompressed)
// shaped like Prometheus sends them by default: max_samples_per_send 2000,
// mostly one sample per series, ~8 labels per series.
//
//   npx tsx bench/decode-remote-write.ts [requests=200] [samplesPerRequest=2000] [samplesPerSeries=1]
import { createRemoteWriteSeriesCache, decodeRemoteWrite, encodeRemoteWriteV1, encodeRemoteWriteV2, type DecodeRemoteWriteOptions, type RemoteWriteV2SeriesInput } from '../protocols/index.ts';

const requests = Number(process.argv[2] ?? 200);
const samplesPerRequest = Number(process.argv[3] ?? 2000);
const samplesPerSeries = Number(process.argv[4] ?? 1);

function makeRequest(seed: number): RemoteWriteV2SeriesInput[] {
  const series: RemoteWriteV2SeriesInput[] = [];
  const seriesCount = Math.ceil(samplesPerRequest / samplesPerSeries);
  const t0 = 1_700_000_000_000 + seed * 15_000;
  for (let i = 0; i < seriesCount; i++) {
    // 20 blocks of series (40,000 active series by default), each re-sent
    // every 20 requests with new timestamps, as scrapes repeat.
    const n = (seed % 20) * seriesCount + i;
    series.push({
      labels: {
        __name__: ['node_cpu_seconds_total', 'http_requests_total', 'process_resident_memory_bytes', 'up'][n % 4] as string,
        cluster: `cluster-${n % 7}`,
        namespace: `ns-${n % 23}`,
        pod: `api-7d9f8c6b5-${(n * 2654435761 >>> 0).toString(36).slice(0, 5)}`,
        instance: `10.0.${(n >> 8) & 255}.${n & 255}:9100`,
        job: 'kubernetes-pods',
        mode: ['idle', 'user', 'system', 'iowait'][n % 4] as string,
        cpu: String(n % 16),
      },
      samples: Array.from({ length: samplesPerSeries }, (_, j) => ({ timestampMs: t0 + j * 15_000, value: n * 1.5 + j })),
    });
  }
  return series;
}

function run(version: 1 | 2, withCache: boolean): void {
  // With the cache, every request after the first few re-sends known series,
  // as Prometheus does every scrape interval.
  const opts: DecodeRemoteWriteOptions = withCache ? { seriesCache: createRemoteWriteSeriesCache({ maxEntries: 1_000_000 }) } : {};
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < requests; i++) {
    const s = makeRequest(i);
    bodies.push(version === 1 ? encodeRemoteWriteV1(s) : encodeRemoteWriteV2(s));
  }
  const bytes = bodies.reduce((a, b) => a + b.length, 0);
  // warm up the JIT on a few rounds, then measure
  for (let round = 0; round < 3; round++) for (const b of bodies.slice(0, 20)) decodeRemoteWrite(b, version, opts);
  let samples = 0;
  const start = process.hrtime.bigint();
  for (const b of bodies) {
    const r = decodeRemoteWrite(b, version, opts);
    if (!r.ok) throw new Error(r.message);
    samples += r.value.sampleCount;
  }
  const ns = Number(process.hrtime.bigint() - start);
  const perReqUs = ns / 1000 / requests;
  console.log(
    `remote_write ${version}.0${withCache ? ' (series cache)' : ''}: ${requests} requests x ${samplesPerRequest} samples (${(bytes / requests / 1024).toFixed(1)} KiB each): ` +
      `${((samples / ns) * 1e9 / 1e6).toFixed(2)} M samples/s, ${perReqUs.toFixed(0)} µs per request`,
  );
}

run(1, false);
run(1, true);
run(2, false);
