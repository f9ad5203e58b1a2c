import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch } from 'undici';

type Match = (method: string, path: string) => boolean;

/**
 * A loopback HTTP hop between the driver and the fake Graph API, for what Meta cannot be asked to do on cue: answer
 * late (a send still in flight while Meta's webhooks arrive), answer other JSON (a media sha256 that is not ours),
 * or not answer at all (the network down).
 */
export interface Interposer {
  url: string;
  /** Holds matching answers until `release()`; `held()` resolves once one is being held. */
  hold(match: Match): { held: Promise<void>; release(): void };
  /** Rewrites matching JSON answers while active; returns a function that stops it. */
  rewrite(match: Match, change: (json: Record<string, unknown>) => Record<string, unknown>): () => void;
  /** While down, every connection is cut before an answer. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
};

export const startInterposer = async (target: string): Promise<Interposer> => {
  const holds: { match: Match; gate: Promise<void>; seen: () => void }[] = [];
  const rewrites = new Set<{ match: Match; change: (json: Record<string, unknown>) => Record<string, unknown> }>();
  let down = false;
  const server = createServer((req, res) => {
    void (async () => {
      if (down) return void req.socket.destroy();
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const body = await readBody(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)),
      ) as Record<string, string>;
      const answer = await fetch(`${target}${req.url}`, { method, headers, ...(body.length ? { body } : {}) });
      let bytes = Buffer.from(await answer.arrayBuffer());
      for (const r of rewrites) {
        if (r.match(method, path) && answer.headers.get('content-type')?.includes('json')) {
          bytes = Buffer.from(JSON.stringify(r.change(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>)));
        }
      }
      const hold = holds.find((h) => h.match(method, path));
      if (hold) {
        holds.splice(holds.indexOf(hold), 1);
        hold.seen();
        await hold.gate;
      }
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' }).end(bytes);
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold(match) {
      let release!: () => void;
      let seen!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const held = new Promise<void>((r) => (seen = r));
      holds.push({ match, gate, seen });
      return { held, release };
    },
    rewrite(match, change) {
      const entry = { match, change };
      rewrites.add(entry);
      return () => void rewrites.delete(entry);
    },
    setDown: (value) => void (down = value),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
};
