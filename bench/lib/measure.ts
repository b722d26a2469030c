// Measuring helpers shared by the benchmarks: peak RSS of a process, bytes on
// disk, a bounded concurrent HTTP sender, simple statistics.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';

/** Peak resident set size (VmHWM) of a live process, in bytes. */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * A /proc stat file as its command name and the fields after it (field 3,
 * the state, is index 0): the name is in parentheses and may hold spaces.
 */
function procStat(path: string): { name: string; fields: string[] } {
  const stat = readFileSync(path, 'utf8');
  const close = stat.lastIndexOf(')');
  return { name: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}

/** utime + stime of stat fields, in seconds (CLK_TCK is 100 on Linux). */
const cpuOf = (fields: string[]): number => (Number(fields[11]) + Number(fields[12])) / 100;

/** CPU seconds (user + system) a live process has used. */
export function cpuSeconds(pid: number): number {
  return cpuOf(procStat(`/proc/${pid}/stat`).fields);
}

/** CPU seconds per thread name (threads of one name summed) of a process, from /proc/<pid>/task. */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const { name, fields } = procStat(`/proc/${pid}/task/${tid}/stat`);
      const key = tid === String(pid) ? 'main' : name;
      out.set(key, (out.get(key) ?? 0) + cpuOf(fields));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Minor page faults of a process so far (/proc/<pid>/stat). */
export function minorFaults(pid: number): number {
  return Number(procStat(`/proc/${pid}/stat`).fields[7]);
}

/** Seconds the main thread of a process ran and waited runnable for a CPU (/proc/<pid>/schedstat). */
export function mainThreadSched(pid: number): { runS: number; waitS: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { runS: (run ?? 0) / 1e9, waitS: (wait ?? 0) / 1e9 };
  } catch {
    return { runS: 0, waitS: 0 };
  }
}

/** Total size of the files under a directory. */
export function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else total += st.size;
    }
  };
  walk(dir);
  return total;
}

export interface SendResult {
  readonly requests: number;
  readonly retries: number;
  readonly failures: number;
  readonly elapsedMs: number;
  readonly firstError?: string;
}

/**
 * Sends pre-built bodies to a URL: `lanes` senders in parallel, each sending
 * its own list in order and waiting for each answer (as Prometheus's shards
 * do). 429/5xx are retried after a short pause, as real clients would.
 */
export async function sendAll(url: string, lanes: readonly (readonly Uint8Array[])[], headers: Record<string, string>, okStatuses: readonly number[] = [200, 204]): Promise<SendResult> {
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes.length });
  let requests = 0;
  let retries = 0;
  let failures = 0;
  let firstError: string | undefined;
  const post = (body: Uint8Array) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    lanes.map(async (bodies) => {
      for (const body of bodies) {
        for (let attempt = 0; ; attempt++) {
          requests++;
          let r: { status: number; text: string };
          try {
            r = await post(body);
          } catch (e) {
            r = { status: 0, text: (e as Error).message };
          }
          if (okStatuses.includes(r.status)) break;
          if ((r.status === 429 || r.status >= 500 || r.status === 0) && attempt < 50) {
            retries++;
            await new Promise((res) => setTimeout(res, 50 * Math.min(attempt + 1, 10)));
            continue;
          }
          failures++;
          firstError ??= `${r.status}: ${r.text.slice(0, 300)}`;
          break;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - t0;
  agent.destroy();
  return { requests, retries, failures, elapsedMs, ...(firstError ? { firstError } : {}) };
}

/** A small deterministic PRNG (mulberry32) so every run sends the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i] as number;
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  mib: (n: number) => (n / 1024 / 1024).toFixed(1),
  ratio: (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(2)),
};
