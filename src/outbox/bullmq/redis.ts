import { createClient } from '@redis/client';

/** A client for `REDIS_URL`, not yet connected. */
export const redisClient = (url: string | undefined) => createClient({ url });

/** The `@redis/client` connection the outbox's own keys (records, orders, cursors, wake flags, idempotency keys) are kept on. */
export type RedisClient = ReturnType<typeof redisClient>;

/** Every key the outbox keeps in Redis starts with this; BullMQ's own keys start with `hs:bull` (lib/bull-queues.ts). */
export const KEY_PREFIX = 'hs:outbox';
