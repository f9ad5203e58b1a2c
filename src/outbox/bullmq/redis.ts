import { createClient } from '@redis/client';

/** A client for `REDIS_URL`, not yet connected. */
export const redisClient = (url: string | undefined) => createClient({ url });

/** The `@redis/client` connection the outbox's own keys (records, orders, cursors, wake flags, idempotency keys) are kept on. */
export type RedisClient = ReturnType<typeof redisClient>;

/** Every key the outbox keeps in Redis starts with this; BullMQ's own keys start with `hs:bull` (lib/bull-queues.ts). */
export const KEY_PREFIX = 'hs:outbox';

/**
 * Whether `client` is connected, or gets connected within `ms`: while it is not, its commands wait for Redis to come
 * back, and whatever awaits them with them.
 */
export const readyWithin = (client: RedisClient, ms: number) =>
  client.isReady
    ? Promise.resolve(true)
    : new Promise<boolean>((resolve) => {
        const done = (ready: boolean) => {
          clearTimeout(timer);
          client.off('ready', onReady);
          resolve(ready);
        };
        const onReady = () => done(true);
        const timer = setTimeout(done, ms, false);
        client.on('ready', onReady);
      });
