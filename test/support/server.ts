import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface StartedServer {
  url: string;
  apiKey: string;
  dataDir: string;
  sessionsDir: string;
  /** Everything the process wrote to stdout and stderr, across restarts. */
  output(): string;
  /** Sends the signal and waits for the process to exit; resolves with its exit code (null if a signal ended it). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends the signal and returns at once. */
  signal(signal: NodeJS.Signals): void;
  /** The current process's exit code, once it has exited. */
  exited(): Promise<number | null>;
  /**
   * Stops the process if it still runs (SIGTERM), starts it again on the same port and folders; waits for `/readyz`.
   * `env` replaces the settings given at start for this and later launches (a key set to '' is left out).
   */
  restart(env?: Record<string, string>): Promise<void>;
  /** Stops the process (SIGTERM) and removes its folders. */
  close(): Promise<void>;
  /** `fetch` against the server with the API key. */
  api(route: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface ServerOptions {
  /** Extra modules node preloads with `--import` after tsx, e.g. the WhatsApp simulator's trust preload. */
  imports?: string[];
  /**
   * A SESSIONS_DIR other servers use too (several nodes on one shared volume); the caller creates and removes it.
   * @default a folder of this server's own, removed by `close()`
   */
  sessionsDir?: string;
  /**
   * What start-up waits for: `/readyz` 200, or `/healthz` 200 only (a server expected to stay unready).
   * @default 'ready'
   */
  until?: 'ready' | 'listening';
}

/**
 * hashsend as a child process (`node --import tsx src/main.ts`) with its own temp DATA_DIR and SESSIONS_DIR, on a
 * free loopback port, the sandbox driver by default. Resolves once `/readyz` answers 200.
 */
export const startServer = async (
  env: Record<string, string> = {},
  { imports = [], sessionsDir: sharedSessionsDir, until = 'ready' }: ServerOptions = {},
): Promise<StartedServer> => {
  const root = await mkdtemp(path.join(tmpdir(), 'hashsend-test-'));
  const port = await freePort();
  const apiKey = env.API_KEY ?? 'test-key-0123456789';
  const url = `http://127.0.0.1:${port}`;
  const dataDir = path.join(root, 'data');
  const sessionsDir = sharedSessionsDir ?? path.join(root, 'sessions');
  let out = '';
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let settings = env;

  const launch = async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', ...imports.flatMap((m) => ['--import', m]), 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        HOST: '127.0.0.1',
        API_KEY: apiKey,
        DATA_DIR: dataDir,
        SESSIONS_DIR: sessionsDir,
        DEFAULT_DRIVER: 'sandbox',
        LOG_LEVEL: 'info',
        QUEUE_RETRY_BASE_MS: '50',
        ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== '')),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let alive = true;
    exited = new Promise((resolve) => proc.once('exit', (code) => ((alive = false), resolve(code))));
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (!alive) throw new Error(`hashsend exited during start-up:\n${out.slice(-3000)}`);
      const ready = await fetch(`${url}/${until === 'ready' ? 'readyz' : 'healthz'}`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`hashsend not ready after 20 s:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const signal = (sig: NodeJS.Signals) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  const kill = async (sig: NodeJS.Signals = 'SIGTERM') => {
    signal(sig);
    return exited;
  };

  await launch();
  return {
    url,
    apiKey,
    dataDir,
    sessionsDir,
    output: () => out,
    kill,
    signal,
    exited: () => exited,
    async restart(env) {
      // A second process would fail to listen while the first still answers /readyz: stop the first.
      await kill('SIGTERM');
      if (env) settings = { ...settings, ...env };
      await launch();
    },
    async close() {
      await kill('SIGTERM');
      await rm(root, { recursive: true, force: true });
    },
    api(route, { json, headers, ...init } = {}) {
      return fetch(`${url}${route}`, {
        ...init,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(headers as Record<string, string> | undefined),
        },
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      });
    },
  };
};

/** Polls `check` until it returns a value (not undefined), or fails with `what` after the deadline. */
export const waitFor = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
