// Real peer processes (Prometheus, VictoriaMetrics, Alertmanager) for
// conformance and integration tests, on loopback, in temporary directories.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './proc.ts';

/** Path of a peer binary, or undefined when its Debian package is not installed. */
export function peerBinary(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/** The message a skipped test shows when a peer is missing. */
export function missingPeer(binary: string, debianPackage: string): string {
  return `${binary} is not installed: apt-get install ${debianPackage} (CI's .ci/run installs it)`;
}

export interface PeerProcess {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function waitHttp(url: string, child: ChildProcess, out: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`peer exited with ${child.exitCode}:\n${out()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`peer not ready at ${url} within ${timeoutMs} ms:\n${out()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function launch(bin: string, args: string[], dir: string): { child: ChildProcess; output: () => string } {
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => out };
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

/**
 * Starts Prometheus with the given YAML config on a free loopback port, with
 * the remote-write receiver on (so it can also be written to).
 */
export async function startPrometheus(configYaml: string, extraArgs: string[] = [], opts: { dir?: string } = {}): Promise<PeerProcess> {
  const bin = peerBinary('prometheus');
  if (!bin) throw new Error(missingPeer('prometheus', 'prometheus'));
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'fw-prom-'));
  const port = await freePort();
  // ${PORT} in the config stands for Prometheus's own port (to scrape itself)
  writeFileSync(path.join(dir, 'prometheus.yml'), configYaml.replaceAll('${PORT}', String(port)));
  const { child, output } = launch(
    bin,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--web.enable-admin-api',
      '--log.level=warn',
      ...extraArgs,
    ],
    dir,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/-/ready`, child, output, 30_000);
  return { url, port, dir, child, output, stop: stopper(child) };
}

/** Starts VictoriaMetrics single-node on a free loopback port. */
export async function startVictoriaMetrics(extraArgs: string[] = []): Promise<PeerProcess> {
  const bin = peerBinary('victoria-metrics');
  if (!bin) throw new Error(missingPeer('victoria-metrics', 'victoria-metrics'));
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-vm-'));
  const port = await freePort();
  const { child, output } = launch(bin, [`-storageDataPath=${path.join(dir, 'data')}`, `-httpListenAddr=127.0.0.1:${port}`, '-loggerLevel=WARN', ...extraArgs], dir);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/health`, child, output, 30_000);
  return { url, port, dir, child, output, stop: stopper(child) };
}
