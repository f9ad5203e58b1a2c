import type { RedisClientType } from '@redis/client';
import type { Logger } from '../log.js';

/** This node's connection to the cluster's Redis, and whether Redis answers right now. */
export interface ClusterRedis {
  /** For commands. While Redis is down a command fails at once (or after `commandTimeoutMs`), never waits for it. */
  readonly client: RedisClientType;
  /** The name (CLIENT SETNAME) each of this process's connections carries, when one was given. */
  readonly name?: string;
  /** A connected copy of the client for SUBSCRIBE (a subscribed connection takes no other command); closed by `close()`. */
  subscriber(): Promise<RedisClientType>;
  /** Whether the last check found Redis answering: the connection is ready and a PING came back in time. */
  isUp(): boolean;
  /** Called with the new state each time Redis goes down or comes back; returns the unsubscribe. */
  onHealth(listener: (up: boolean) => void): () => void;
  close(): Promise<void>;
}

export interface ClusterRedisOptions {
  url: string;
  log: Logger;
  /** How often Redis is PINGed. @default 500 */
  pingIntervalMs?: number;
  /** The longest any command (a PING included) may wait for its answer before it fails. @default 1000 */
  commandTimeoutMs?: number;
  /** The longest pause between attempts to reconnect. @default 1000 */
  maxReconnectDelayMs?: number;
  /** Set on every connection (its copies too), again after each reconnect: how other processes can see this one's. */
  name?: string;
}

/**
 * Opens the node's Redis connection. An unreachable Redis at start is an error; once open, a lost connection is
 * retried without end, and health follows it: a stopped Redis reads as down when its connection drops, a frozen
 * one when a PING goes unanswered, so both within about `pingIntervalMs + commandTimeoutMs`.
 */
export const openClusterRedis = async ({
  url,
  log,
  pingIntervalMs = 500,
  commandTimeoutMs = 1000,
  maxReconnectDelayMs = 1000,
  name,
}: ClusterRedisOptions): Promise<ClusterRedis> => {
  // Loaded here: only installs with REDIS_URL pay for the Redis client.
  const { createClient } = await import('@redis/client');
  let opened = false;
  const client = createClient({
    url,
    ...(name ? { name } : {}),
    // Commands fail instead of queueing while the connection is down (callers answer 503 rather than hang); one
    // stuck behind others times out, and one already sent to a silent Redis fails when the PING watchdog drops it.
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeoutMs },
    socket: {
      connectTimeout: Math.max(commandTimeoutMs, 1000),
      reconnectStrategy: (retries, cause) => (opened ? Math.min(50 * 2 ** retries, maxReconnectDelayMs) : cause),
    },
  }) as RedisClientType;

  let up = true;
  let closed = false;
  let pinging = false;
  const listeners = new Set<(up: boolean) => void>();
  const setUp = (next: boolean, why: string) => {
    if (next === up || closed) return;
    up = next;
    if (up) log.info('Redis is reachable again');
    else log.warn({ why }, 'Redis is unreachable');
    for (const listener of listeners) {
      try {
        listener(up);
      } catch (err) {
        log.error({ err }, 'a Redis health listener threw');
      }
    }
  };
  const ping = async () => {
    if (pinging || closed) return;
    if (!client.isReady) return setUp(false, 'not connected');
    pinging = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, commandTimeoutMs, 'late')));
    try {
      if ((await Promise.race([client.ping(), late])) === 'late') reconnect();
      else setUp(true, 'PING answered');
    } catch (err) {
      setUp(false, `PING failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      pinging = false;
    }
  };
  // node-redis times a command out only until it is written: one already sent to a frozen Redis (or over a
  // half-open connection) would wait without end. Dropping the connection fails them all; it is then reopened.
  const reconnect = () => {
    setUp(false, 'PING unanswered');
    if (closed || !client.isOpen) return;
    client.destroy();
    client.connect().catch((err: unknown) => log.error({ err }, 'reconnecting to Redis failed'));
  };
  // Without a listener a dropped connection would be an uncaught 'error' event that ends the process.
  client.on('error', (err: Error) => setUp(false, err.message));
  client.on('reconnecting', () => setUp(false, 'reconnecting'));
  client.on('end', () => setUp(false, 'connection closed'));
  client.on('ready', () => void ping());

  try {
    await client.connect();
  } catch (err) {
    throw new Error(`Redis at ${new URL(url).host} cannot be reached: ${(err as Error).message}`, { cause: err });
  }
  opened = true;

  const timer = setInterval(() => void ping(), pingIntervalMs);
  timer.unref();

  const duplicates: RedisClientType[] = [];
  const shut = async (c: RedisClientType) => {
    if (!c.isOpen) return;
    // close() waits for the answers still due, which a frozen Redis never sends.
    if (!c.isReady) return c.destroy();
    const timeout = new Promise<'late'>((resolve) => setTimeout(resolve, commandTimeoutMs, 'late').unref());
    if ((await Promise.race([c.close().then(() => 'done' as const), timeout])) === 'late') c.destroy();
  };

  return {
    client,
    ...(name ? { name } : {}),
    async subscriber() {
      const copy = client.duplicate({ disableOfflineQueue: false }) as RedisClientType;
      copy.on('error', () => undefined);
      duplicates.push(copy);
      await copy.connect();
      return copy;
    },
    isUp: () => up,
    onHealth(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await Promise.all([...duplicates, client].map(shut));
    },
  };
};
