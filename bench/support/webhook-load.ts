/**
 * Not a bench (bench/run.ts runs only bench/*.ts): the two ends of the webhooks bench's HTTP traffic. Receivers in
 * the bench's process that note each request's arrival, and a bare POST loop in a child process of its own (as
 * hashsend is one), the baseline the engine's deliveries are set beside.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

/** The wall clock (as Date.now(), which the server stamps records with), to the microsecond. */
export const now = () => performance.timeOrigin + performance.now();

export interface LoopInput {
  url: string;
  body: string;
  headers: Record<string, string>;
  count: number;
  concurrency: number;
}
export interface LoopOutput {
  ms: number;
  latencies: number[];
}

const postLoop = async ({ url, body, headers, count, concurrency }: LoopInput): Promise<LoopOutput> => {
  const agent = new Agent();
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const t = performance.now();
      const res = await request(url, { method: 'POST', dispatcher: agent, headers, body });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`bare POST: ${res.statusCode}`);
      latencies.push(performance.now() - t);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - started;
  await agent.close();
  return { ms, latencies };
};

const POST_LOOP_ARG = '--post-loop';

/** The loop in a child process of its own, as hashsend is one: the receiver here does not share its event loop. */
export const runPostLoop = async (input: LoopInput) => {
  const child = fork(fileURLToPath(import.meta.url), [POST_LOOP_ARG], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const answer = once(child, 'message') as Promise<[LoopOutput]>;
  child.send(input);
  const [output] = await Promise.race([
    answer,
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`post loop exited ${code}`))),
  ]);
  child.disconnect();
  return output;
};

interface Receipt {
  at: number;
  type: string;
  createdAt: string;
  updatedAt?: string;
}

/** Answers 200 at once and notes each request's arrival; `hang` accepts requests and never answers them. */
export const startReceiver = async (mode: 'ok' | 'hang') => {
  const receipts: Receipt[] = [];
  let sample: { body: string; headers: Record<string, string> } | undefined;
  const hanging = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      if (mode === 'hang') return void hanging.add(res);
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw) as { type: string; createdAt: string; data: { updatedAt?: string } };
      receipts.push({ at, type: body.type, createdAt: body.createdAt, updatedAt: body.data.updatedAt });
      if (!sample && body.type.startsWith('message.')) {
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-') || k === 'content-type'));
        sample = { body: raw, headers: headers as Record<string, string> };
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    receipts,
    sample: () => sample,
    messages: () => receipts.filter((r) => r.type.startsWith('message.')),
    reset: () => void receipts.splice(0),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

if (process.argv.includes(POST_LOOP_ARG)) {
  const [input] = (await once(process, 'message')) as [LoopInput];
  process.send!(await postLoop(input));
}
