// Loki's response shapes, written as JSON text directly (results can be
// large): streams with [ns-string, line] pairs (or 3-tuples with
// categorize-labels), matrix/vector with [seconds, "value"], and the stats
// object. https://grafana.com/docs/loki/latest/reference/loki-http-api/
import { formatFloat, formatSeconds, type LabelPairs, type QueryResult, type QueryStats, type StreamOut } from './logql/index.ts';

export const CATEGORIZE_LABELS = 'categorize-labels';

function labelsObject(labels: LabelPairs): string {
  let s = '{';
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as [string, string];
    if (i > 0) s += ',';
    s += JSON.stringify(l[0]) + ':' + JSON.stringify(l[1]);
  }
  return s + '}';
}

/** Loki's stats object (fields Grafana reads, with what we measured). */
export function statsJson(st: QueryStats, execSeconds: number, queueSeconds = 0): string {
  const bytes = st.bytesProcessed;
  const lines = st.linesProcessed;
  const perSec = (n: number): number => (execSeconds > 0 ? Math.round(n / execSeconds) : 0);
  const emptyCache = { entriesFound: 0, entriesRequested: 0, entriesStored: 0, bytesReceived: 0, bytesSent: 0, requests: 0, downloadTime: 0, queryLengthServed: 0 };
  const chunk = {
    headChunkBytes: 0,
    headChunkLines: 0,
    decompressedBytes: bytes,
    decompressedLines: lines,
    compressedBytes: 0,
    totalDuplicates: 0,
    postFilterLines: st.postFilterLines,
    headChunkStructuredMetadataBytes: 0,
    decompressedStructuredMetadataBytes: 0,
  };
  const store = {
    totalChunksRef: 0,
    totalChunksDownloaded: 0,
    chunksDownloadTime: 0,
    queryReferencedStructuredMetadata: false,
    chunk,
    chunkRefsFetchTime: 0,
    congestionControlLatency: 0,
    pipelineWrapperFilteredLines: 0,
  };
  return JSON.stringify({
    summary: {
      bytesProcessedPerSecond: perSec(bytes),
      linesProcessedPerSecond: perSec(lines),
      totalBytesProcessed: bytes,
      totalLinesProcessed: lines,
      execTime: execSeconds,
      queueTime: queueSeconds,
      subqueries: st.queries,
      totalEntriesReturned: st.entriesReturned,
      splits: 0,
      shards: 0,
      totalPostFilterLines: st.postFilterLines,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: { store },
    ingester: { totalReached: 0, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0, store: { ...store, chunk: { ...chunk, decompressedBytes: 0, decompressedLines: 0, postFilterLines: 0 } } },
    cache: { chunk: emptyCache, index: emptyCache, result: emptyCache, statsResult: emptyCache, volumeResult: emptyCache, seriesResult: emptyCache, labelResult: emptyCache, instantMetricResult: emptyCache },
    index: { totalChunks: 0, postFilterChunks: 0, shardsDuration: 0, usedBloomFilters: false },
  });
}

/** Streams regrouped by their stream labels only (categorize-labels). */
function categorized(streams: StreamOut[], backward: boolean): StreamOut[] {
  const m = new Map<string, StreamOut>();
  for (const s of streams) {
    const k = labelsObject(s.streamLabels);
    const o = m.get(k);
    if (!o) m.set(k, { labels: s.streamLabels, streamLabels: s.streamLabels, entries: [...s.entries] });
    else o.entries.push(...s.entries);
  }
  const out = [...m.values()];
  for (const s of out) s.entries.sort((a, b) => (a.tsNs === b.tsNs ? 0 : (a.tsNs < b.tsNs) === backward ? 1 : -1));
  return out.sort((a, b) => {
    const x = labelsObject(a.labels);
    const y = labelsObject(b.labels);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export function streamsJson(streams: StreamOut[], categorize: boolean, backward: boolean): string {
  const parts: string[] = [];
  const list = categorize ? categorized(streams, backward) : streams;
  for (const s of list) {
    const vals: string[] = [];
    for (const e of s.entries) {
      let v = '["' + e.tsNs.toString() + '",' + JSON.stringify(e.line);
      if (categorize) {
        const o: string[] = [];
        if (e.structuredMetadata.length) o.push('"structuredMetadata":' + labelsObject(e.structuredMetadata));
        if (e.parsed.length) o.push('"parsed":' + labelsObject(e.parsed));
        v += ',{' + o.join(',') + '}';
      }
      vals.push(v + ']');
    }
    parts.push('{"stream":' + labelsObject(categorize ? s.streamLabels : s.labels) + ',"values":[' + vals.join(',') + ']}');
  }
  return '[' + parts.join(',') + ']';
}

/** The `data.result` array (and its type) for a query result. */
export function resultJson(r: QueryResult, categorize: boolean, backward: boolean): { type: string; result: string } {
  switch (r.type) {
    case 'streams':
      return { type: 'streams', result: streamsJson(r.streams, categorize, backward) };
    case 'scalar':
      return { type: 'scalar', result: '[' + formatSeconds(r.timeMs) + ',' + JSON.stringify(formatFloat(r.value)) + ']' };
    case 'vector':
      return { type: 'vector', result: '[' + r.samples.map((s) => '{"metric":' + labelsObject(s.labels) + ',"value":[' + formatSeconds(r.timeMs) + ',' + JSON.stringify(formatFloat(s.value)) + ']}').join(',') + ']' };
    case 'matrix': {
      const parts = r.series.map((s) => {
        const vals: string[] = [];
        for (let i = 0; i < r.timesMs.length; i++) if (s.present[i]) vals.push('[' + formatSeconds(r.timesMs[i] as number) + ',' + JSON.stringify(formatFloat(s.values[i] as number)) + ']');
        return '{"metric":' + labelsObject(s.labels) + ',"values":[' + vals.join(',') + ']}';
      });
      return { type: 'matrix', result: '[' + parts.join(',') + ']' };
    }
  }
}

export function queryResponseJson(r: QueryResult, execSeconds: number, categorize: boolean, backward: boolean, warnings: readonly string[] = []): string {
  const { type, result } = resultJson(r, categorize, backward);
  const flags = categorize ? ',"encodingFlags":["' + CATEGORIZE_LABELS + '"]' : '';
  const warn = warnings.length ? ',"warnings":' + JSON.stringify(warnings) : '';
  return '{"status":"success"' + warn + ',"data":{"resultType":"' + type + '"' + flags + ',"result":' + result + ',"stats":' + statsJson(r.stats, execSeconds) + '}}';
}

export { labelsObject };
