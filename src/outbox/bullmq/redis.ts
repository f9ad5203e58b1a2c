import { createHash } from 'node:crypto';
import { createClient } from '@redis/client';

/** A client for `REDIS_URL`, not yet connected. */
export const redisClient = (url: string | undefined) => createClient({ url });

/** The `@redis/client` connection the outbox's own keys (positions, idempotency keys) are kept on. */
export type RedisClient = ReturnType<typeof redisClient>;

/** Every key the outbox keeps in Redis starts with this; BullMQ's own keys start with `hs:bull`. */
export const KEY_PREFIX = 'hs:outbox';
export const BULL_PREFIX = 'hs:bull';

/**
 * A Lua script run by its sha (EVALSHA), loaded on first use and again after a Redis restart (NOSCRIPT): one command
 * per call rather than the script's text every time.
 */
export const defineScript = (lua: string) => {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (client: RedisClient, keys: string[], args: string[]) => {
    try {
      return await client.evalSha(sha, { keys, arguments: args });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(lua, { keys, arguments: args });
    }
  };
};
