/**
 * API benchmark, all on loopback in one run:
 * - accepted sends per second: autocannon POSTs `{to, text}` to `/api/sessions/:id/messages` of hashsend (a child
 *   process, sandbox session linked, fresh temp DATA_DIR) and gets 202 once the message is persisted; the
 *   baseline is a bare express handler (another child process) that parses the same JSON and answers 202.
 *   p50/p99 latency for both. Goal: ≥ 2,000/s and ≥ 0.4× bare express.
 * - cold start: `node --import tsx src/main.ts` spawned until `/readyz` answers 200. Goal: < 1 s.
 * Printed, not asserted; the last line is a `RESULT {json}` for bench/run.ts. Every process it starts is stopped.
 * BENCH_CPU_PROF=<dir>: the measured hashsend servers and the baseline write `node --cpu-prof` profiles there, a
 * folder each (one profile per thread: tsx's loader runs in its own).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import { API_KEY, ROOT, profileArgs, startHashsend, stopChild } from './hashsend.js';
import { printResult, type Figure } from './result.js';

const DURATION_S = 10;
const WARMUP_S = 2;
const CONNECTIONS = 20;
const COLD_STARTS = 3;
const BODY = JSON.stringify({ to: '+4915100000002', text: 'Your order has shipped' });

/** The baseline: the same route and JSON parsing, nothing behind it. */
const serveBare = () => {
  const app = express();
  app.post('/api/sessions/:id/messages', express.json({ limit: '1mb' }), (req, res) => {
    const { to, text } = req.body as { to?: unknown; text?: unknown };
    if (typeof to !== 'string' || typeof text !== 'string') {
      res.status(400).json({ error: { code: 'invalid_request' } });
      return;
    }
    res.status(202).json({ id: 'bare', status: 'queued', sessionId: req.params.id, to, type: 'text', createdAt: new Date().toISOString() });
  });
  // Exits through process.exit so a `--cpu-prof` profile is written.
  process.on('SIGTERM', () => process.exit(0));
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(typeof address === 'object' && address ? address.port : '');
  });
};

interface Child {
  url: string;
  stop(): Promise<void>;
}

const startBare = async (): Promise<Child> => {
  const child = spawn(process.execPath, [...profileArgs('bare'), ...process.execArgv, fileURLToPath(import.meta.url), '--bare'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${line.toString().trim()}`, stop: () => stopChild(child) };
};

const api = async (url: string, route: string, body: unknown) => {
  const res = await fetch(`${url}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
};

interface Load {
  perSecond: number;
  p50: number;
  p99: number;
  accepted: number;
  other: number;
  errors: number;
}

const load = async (url: string, duration: number): Promise<Load> => {
  const result = await autocannon({
    url: `${url}/api/sessions/bench/messages`,
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: BODY,
    connections: CONNECTIONS,
    duration,
  });
  return {
    perSecond: result['2xx'] / duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    accepted: result['2xx'],
    other: result.non2xx,
    errors: result.errors + result.timeouts,
  };
};

/** A warm-up first (JIT, SQLite pages), then the measured run. */
const measure = async (url: string) => {
  await load(url, WARMUP_S);
  return load(url, DURATION_S);
};

const describe = (name: string, l: Load) =>
  `${name.padEnd(34)} ${l.perSecond.toFixed(0).padStart(6)} accepted/s  p50 ${l.p50.toFixed(1)} ms  p99 ${l.p99.toFixed(1)} ms` +
  (l.other || l.errors ? `  (${l.other} non-2xx, ${l.errors} errors/timeouts)` : '');

const main = async () => {
  const [load1] = loadavg();
  console.log(`api: ${CONNECTIONS} connections, ${DURATION_S} s per run after ${WARMUP_S} s warm-up, load average ${load1.toFixed(2)}`);

  // Cold starts first, each on fresh folders, before anything else warms the page cache further.
  const coldMs: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const s = await startHashsend({ logLevel: 'warn' });
    coldMs.push(s.readyMs);
    await s.stop();
  }

  const runs: { name: string; load: Load }[] = [];
  for (const logLevel of ['warn', 'info']) {
    const s = await startHashsend({ logLevel, profile: `hashsend-${logLevel}` });
    try {
      await api(s.url, '/api/sessions', { id: 'bench' });
      await api(s.url, '/api/sessions/bench/sandbox/link', { phone: '+4915100000001' });
      runs.push({ name: `hashsend (LOG_LEVEL=${logLevel})`, load: await measure(s.url) });
    } finally {
      await s.stop();
    }
  }
  const bare = await startBare();
  try {
    runs.push({ name: 'bare express (parse JSON, 202)', load: await measure(bare.url) });
  } finally {
    await bare.stop();
  }

  for (const r of runs) console.log(describe(r.name, r.load));
  const [warn, info, base] = runs.map((r) => r.load);
  console.log(`ratio hashsend(warn)/bare: ${(warn.perSecond / base.perSecond).toFixed(2)}x (goal >= 0.4x and >= 2000/s)`);
  console.log(`ratio hashsend(info)/bare: ${(info.perSecond / base.perSecond).toFixed(2)}x`);
  const sorted = [...coldMs].sort((a, b) => a - b);
  console.log(
    `cold start to /readyz 200 (node --import tsx src/main.ts): ${coldMs.map((m) => m.toFixed(0)).join(', ')} ms; median ${sorted[sorted.length >> 1].toFixed(0)} ms (goal < 1000 ms)`,
  );

  const figures: Figure[] = [
    {
      name: 'accepted sends (warn)',
      value: warn.perSecond,
      unit: '/s',
      baseline: 'bare express',
      baselineValue: base.perSecond,
      goal: '>= 2000/s, >= 0.4x',
    },
    { name: 'accepted sends (info)', value: info.perSecond, unit: '/s', baseline: 'bare express', baselineValue: base.perSecond },
    { name: 'send p50 latency (warn)', value: warn.p50, unit: 'ms', baseline: 'bare express', baselineValue: base.p50 },
    { name: 'send p99 latency (warn)', value: warn.p99, unit: 'ms', baseline: 'bare express', baselineValue: base.p99 },
    { name: 'cold start to /readyz (median)', value: sorted[sorted.length >> 1], unit: 'ms', goal: '< 1000 ms' },
  ];
  printResult('api', figures);
};

if (process.argv[2] === '--bare') serveBare();
else await main();
