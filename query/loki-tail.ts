// /loki/api/v1/tail: a websocket that streams new log lines for a LogQL log
// query. Lines are read from storage every poll period, up to `now - delay_for`,
// so a line is sent once it is committed. Message shape as Loki's:
// {"streams":[{"stream":{...},"values":[["<ns>","<line>"]]}]}
// https://grafana.com/docs/loki/latest/reference/loki-http-api/#stream-logs
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { parseLogql, type Engine, type LogSelector } from './logql/index.ts';
import { parseLimit, parseTimestampNs, nowNs, HOUR_NS } from './loki-params.ts';
import { streamsJson, CATEGORIZE_LABELS } from './loki-encode.ts';
import { lokiError } from './loki-errors.ts';

export interface TailDeps {
  readonly engine: Engine;
  readonly tenantsFor: (header: string | string[] | undefined) => string[];
  readonly pollMs: number;
  readonly maxEntries: number;
}

const TAIL_PATH = '/loki/api/v1/tail';
const MAX_DELAY_SECONDS = 5;

export function registerLokiTail(app: FastifyInstance, deps: TailDeps): void {
  const sockets = new Set<WebSocket>();
  let wss: import('ws').WebSocketServer | undefined;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== TAIL_PATH) return; // another module's websocket
    void (async () => {
      try {
        // ws is loaded on first use, so a deployment without it still serves everything else
        if (!wss) {
          const { WebSocketServer } = await import('ws');
          wss = new WebSocketServer({ noServer: true });
        }
        const server = wss;
        server.handleUpgrade(req, socket, head, (ws) => {
          sockets.add(ws);
          ws.on('close', () => sockets.delete(ws));
          void runTail(ws, req, url.searchParams, deps);
        });
      } catch (e) {
        socket.destroy(e as Error);
      }
    })();
  };
  app.server.on('upgrade', onUpgrade);
  app.addHook('onClose', async () => {
    app.server.off('upgrade', onUpgrade);
    for (const ws of sockets) ws.close(1001, 'server shutting down');
    wss?.close();
  });
  // a plain GET (no upgrade) gets Loki's answer for a missing websocket handshake
  app.get(TAIL_PATH, async (_req, reply) => reply.code(400).type('text/plain; charset=utf-8').send('websocket handshake required'));
}

async function runTail(ws: WebSocket, req: IncomingMessage, p: URLSearchParams, deps: TailDeps): Promise<void> {
  const ac = new AbortController();
  ws.on('close', () => ac.abort());
  const fail = (e: unknown): void => {
    const { text } = lokiError(e);
    if (ws.readyState === ws.OPEN) ws.close(1011, text.slice(0, 120));
  };
  let sel: LogSelector;
  let tenants: string[];
  let limit: number;
  let delayNs: bigint;
  let cursor: bigint;
  const categorize = String(req.headers['x-loki-response-encoding-flags'] ?? '').includes(CATEGORIZE_LABELS);
  try {
    const e = parseLogql(p.get('query') ?? '');
    if (e.kind !== 'log') throw new Error('only log queries can be tailed');
    sel = e;
    tenants = deps.tenantsFor(req.headers['x-scope-orgid']);
    limit = Math.min(parseLimit(p, 'limit', 100), deps.maxEntries);
    const delay = Number(p.get('delay_for') ?? '0');
    if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) throw new Error(`delay_for can't be greater than ${MAX_DELAY_SECONDS}`);
    delayNs = BigInt(delay) * 1_000_000_000n;
    cursor = parseTimestampNs(p.get('start'), nowNs() - HOUR_NS, 'start');
  } catch (e) {
    fail(e);
    return;
  }
  const send = (streams: Parameters<typeof streamsJson>[0]): void => {
    if (streams.length === 0 || ws.readyState !== ws.OPEN) return;
    const flags = categorize ? `,"encodingFlags":["${CATEGORIZE_LABELS}"]` : '';
    ws.send(`{"streams":${streamsJson(streams, categorize, false)}${flags}}`);
  };
  try {
    // history first: the newest `limit` lines since start, oldest first
    let end = nowNs() - delayNs;
    const first = await deps.engine.query({ expr: sel, tenants, startNs: cursor, endNs: end, stepNs: 0n, intervalNs: 0n, direction: 'backward', limit, instant: false, signal: ac.signal });
    if (first.type === 'streams') {
      for (const s of first.streams) s.entries.reverse();
      send(first.streams);
    }
    cursor = end;
    while (ws.readyState === ws.OPEN) {
      await new Promise((r) => setTimeout(r, deps.pollMs));
      if (ws.readyState !== ws.OPEN) break;
      end = nowNs() - delayNs;
      if (end <= cursor) continue;
      const r = await deps.engine.query({ expr: sel, tenants, startNs: cursor, endNs: end, stepNs: 0n, intervalNs: 0n, direction: 'forward', limit: deps.maxEntries, instant: false, signal: ac.signal });
      if (r.type === 'streams') {
        send(r.streams);
        // when a poll is cut by the limit, continue after the last line sent
        const count = r.streams.reduce((n, s) => n + s.entries.length, 0);
        if (count >= deps.maxEntries) {
          let maxTs = cursor;
          for (const s of r.streams) for (const en of s.entries) if (en.tsNs >= maxTs) maxTs = en.tsNs + 1n;
          cursor = maxTs;
          continue;
        }
      }
      cursor = end;
    }
  } catch (e) {
    if (!ac.signal.aborted) fail(e);
  }
}
