import { createClient } from '@redis/client';

/** A client for `REDIS_URL`, not yet connected. */
export const redisClient = (url: string | undefined) => createClient({ url });

/** The `@redis/client` connection the outbox's own keys (records, orders, cursors, wake flags, idempotency keys) are kept on. */
export type RedisClient = ReturnType<typeof redisClient>;

/** Every key the outbox keeps in Redis starts with this; BullMQ's own keys start with `hs:bull` (lib/bull-queues.ts). */
export const KEY_PREFIX = 'hs:outbox';

/**
 * Whether `client` is connected, or gets connected within `ms`: while it is not, its commands wait for Redis to come
 * back, and whatever awaits them with them. Callers meanwhile share one wait (one listener, however many ask).
 */
export const readiness = (client: RedisClient, ms: number) => {
  let waiting: Promise<boolean> | undefined;
  const wait = () =>
    new Promise<boolean>((resolve) => {
      const done = (ready: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        waiting = undefined;
        resolve(ready);
      };
      const onReady = () => done(true);
      const timer = setTimeout(done, ms, false);
      client.on('ready', onReady);
    });
  return () => (client.isReady ? Promise.resolve(true) : (waiting ??= wait()));
};
