import type { RedisClientType } from '@redis/client';

/**
 * A connected client for a store kept on Redis (`what` names it in the error). At start-up an unreachable Redis is
 * a clear error, not a wait without end; once open, a dropped connection is retried (commands wait for it) with a
 * pause growing up to `maxRetryMs`.
 */
export const openRedisStoreClient = async (url: string, what: string, maxRetryMs: number): Promise<RedisClientType> => {
  // Loaded here, not at the top: only installs with REDIS_URL pay for the Redis client.
  const { createClient } = await import('@redis/client');
  let opened = false;
  const client = createClient({
    url,
    socket: { reconnectStrategy: (retries, cause) => (opened ? Math.min(100 * 2 ** retries, maxRetryMs) : cause) },
  }) as RedisClientType;
  // Without a listener a dropped connection would be an uncaught 'error' event; the caller learns of it from the
  // commands that fail.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`Redis at ${new URL(url).host} cannot be reached for ${what}: ${(err as Error).message}`, { cause: err });
  }
  opened = true;
  return client;
};
