import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, envName, parseDurationMs } from '../core/index.ts';

function yamlFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-cfg-'));
  const f = path.join(dir, 'fleetwatch.yaml');
  writeFileSync(f, text);
  return f;
}

describe('configuration', () => {
  it('has defaults', () => {
    const c = loadConfig();
    expect(c.server.httpListen).toBe('0.0.0.0:9009');
    expect(c.storage.dataDir).toBe('./data');
    expect(c.storage.clickhouseUrl).toBe('');
    expect(c.retention.logs).toBe(14 * 86_400_000);
  });

  it('applies precedence flags > env > file > defaults', () => {
    const file = yamlFile('storage:\n  dataDir: /from/file\n  database: filedb\nserver:\n  httpListen: 127.0.0.1:1111\nretention:\n  logs: 3d\n');
    const c = loadConfig({
      file,
      env: { FLEETWATCH_STORAGE_DATA_DIR: '/from/env', FLEETWATCH_SERVER_HTTP_LISTEN: '127.0.0.1:2222' },
      flags: { 'http-listen': '127.0.0.1:3333' },
    });
    expect(c.server.httpListen).toBe('127.0.0.1:3333'); // flag beats env and file
    expect(c.storage.dataDir).toBe('/from/env'); // env beats file
    expect(c.storage.database).toBe('filedb'); // file beats default
    expect(c.retention.logs).toBe(3 * 86_400_000);
    expect(c.retention.metrics).toBe(30 * 86_400_000); // default
  });

  it('is frozen', () => {
    const c = loadConfig();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.storage)).toBe(true);
    expect(() => {
      (c.storage as { dataDir: string }).dataDir = 'x';
    }).toThrow();
  });

  it.each([
    [{ flags: { 'http-listen': 'nonsense' } }, /server\.httpListen.*flag --http-listen.*HOST:PORT/],
    [{ flags: { 'clickhouse-url': 'ftp://x' } }, /storage\.clickhouseUrl.*http/],
    [{ flags: { 'log-level': 'loud' } }, /log\.level.*allowed: trace, debug, info/],
    [{ env: { FLEETWATCH_LIMITS_MAX_LABELS_PER_SERIES: '-1' } }, /limits\.maxLabelsPerSeries.*FLEETWATCH_LIMITS_MAX_LABELS_PER_SERIES.*>= 0/],
    [{ env: { FLEETWATCH_RETENTION_METRICS: 'forever' } }, /retention\.metrics.*duration/],
    [{ fileObject: { storage: { dataDirectory: 'x' } } }, /unknown key "storage\.dataDirectory"/],
    [{ flags: { 'no-such-flag': 'x' } }, /unknown flag --no-such-flag/],
  ])('rejects a bad value with the key and what is allowed (%#)', (sources, message) => {
    expect(() => loadConfig(sources)).toThrow(message);
  });

  it('reports an unreadable or invalid file', () => {
    expect(() => loadConfig({ file: '/no/such/file.yaml' })).toThrow(/cannot read config file/);
    expect(() => loadConfig({ file: yamlFile('a: [unclosed') })).toThrow(/not valid YAML/);
  });

  it('honours the standard OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' } }).telemetry.otlpEndpoint).toBe('http://127.0.0.1:4318');
  });

  it('names environment variables predictably', () => {
    expect(envName('storage.dataDir')).toBe('FLEETWATCH_STORAGE_DATA_DIR');
    expect(envName('limits.maxSampleAgeMs')).toBe('FLEETWATCH_LIMITS_MAX_SAMPLE_AGE_MS');
  });

  it.each([
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['1500', 1500],
    ['1x', undefined],
    ['', undefined],
  ])('parses duration %s', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });
});
