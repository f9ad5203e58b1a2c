/**
 * Not a bench: how bench scripts start hashsend. `node --import tsx src/main.ts` as a child process on a free
 * loopback port with its own temp DATA_DIR and SESSIONS_DIR, the sandbox driver by default, logs to a file (as under
 * a supervisor: a pipe drained by the bench would tie the server's synchronous log writes to the bench's event loop).
 * BENCH_CPU_PROF=<dir>: a server started with `profile` writes `node --cpu-prof` profiles to <dir>/<profile>.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const API_KEY = 'bench-key-0123456789abcdef';
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;

export const profileArgs = (name: string) => (CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF_DIR, name)}`] : []);

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(forced);
};

/** Polls until `/readyz` answers 200; returns the ms since `since`. */
const waitReady = async (url: string, child: ChildProcess, since: number, output: () => string) => {
  const deadline = since + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hashsend exited during start-up:\n${output().slice(-3000)}`);
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return performance.now() - since;
    if (performance.now() > deadline) throw new Error(`hashsend not ready after 30 s:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

export interface Hashsend {
  url: string;
  pid: number;
  /** The temp folder holding DATA_DIR (`data`), SESSIONS_DIR (`sessions`) and the log. */
  root: string;
  readyMs: number;
  output(): string;
  /** `fetch` against the server with the API key; a JSON `json` becomes the body. */
  api(route: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** SIGTERM (SIGKILL after 5 s) and the temp folders removed. */
  stop(): Promise<void>;
}

/** Resolves once `/readyz` is 200. */
export const startHashsend = async ({
  logLevel = 'warn',
  profile,
  env = {},
  sessionsDir,
}: {
  logLevel?: string;
  profile?: string;
  env?: Record<string, string>;
  /** A SESSIONS_DIR shared with other nodes (not removed by `stop()`). @default one of its own */
  sessionsDir?: string;
} = {}): Promise<Hashsend> => {
  const root = await mkdtemp(path.join(tmpdir(), 'hashsend-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(root, 'hashsend.log');
  const log = await open(logFile, 'w');
  const output = () => readFileSync(logFile, 'utf8');
  const started = performance.now();
  const child = spawn(process.execPath, [...(profile ? profileArgs(profile) : []), '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      API_KEY,
      DATA_DIR: path.join(root, 'data'),
      SESSIONS_DIR: sessionsDir ?? path.join(root, 'sessions'),
      DEFAULT_DRIVER: 'sandbox',
      LOG_LEVEL: logLevel,
      ...env,
    },
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  const stop = async () => {
    await stopChild(child);
    await rm(root, { recursive: true, force: true });
  };
  const api = (route: string, { json, headers, ...init }: RequestInit & { json?: unknown } = {}) =>
    fetch(`${url}${route}`, {
      ...init,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(headers as Record<string, string> | undefined),
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
  try {
    const readyMs = await waitReady(url, child, started, output);
    return { url, pid: child.pid!, root, readyMs, output, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
};
