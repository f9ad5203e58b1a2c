import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { freePort } from './free-port.ts';

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server for good and removes its data. */
  stop(): Promise<void>;
  /** Stops the server as an outage would, keeping its data (saved on the way down) and its port for `restart()`. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port, with the data it had (keys past their TTL are gone). */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open and nothing answers, as a hung Redis or host. */
  freeze(): void;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
}

const spawnRedis = async (port: number, dir: string): Promise<ChildProcess> => {
  // SIGINT saves before exiting (for halt/restart); SIGTERM, with no save points, does not (stop).
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--shutdown-on-sigint', 'save'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  return child;
};

const end = async (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await once(child, 'exit');
};

/** A real redis-server on a loopback port, in a temp dir, with persistence off; ready when it says so. */
export const startRedis = async (): Promise<RedisServer> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-redis-'));
  const port = await freePort();
  let child = await spawnRedis(port, dir);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill('SIGCONT');
      await end(child, 'SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    halt: () => end(child, 'SIGINT'),
    async restart() {
      await end(child, 'SIGINT');
      child = await spawnRedis(port, dir);
    },
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
  };
};
