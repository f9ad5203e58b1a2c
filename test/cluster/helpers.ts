import { after, before } from 'node:test';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { openClusterRedis, type ClusterRedis } from '../../src/cluster/redis.js';
import { createLogger } from '../../src/log.js';

export const quiet = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/**
 * Resolves with the first value a subscription delivers that passes `accept`; `subscribe` returns the unsubscribe.
 * `check` runs once at once too, for a condition that may already hold.
 */
export const waitFor = <T>(
  subscribe: (listener: (value: T) => void) => () => void,
  accept: (value: T) => boolean = () => true,
): Promise<T> =>
  new Promise((resolve) => {
    const off = subscribe((value) => {
      if (!accept(value)) return;
      off();
      resolve(value);
    });
  });

/** A tiny event hub for tests: `emit` values, `on` them (returns the unsubscribe), `next` awaits one that fits. */
export const hub = <T>() => {
  const listeners = new Set<(value: T) => void>();
  const on = (listener: (value: T) => void) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  return {
    emit: (value: T) => [...listeners].forEach((l) => l(value)),
    on,
    next: (accept?: (value: T) => boolean) => waitFor(on, accept),
  };
};

/** A redis-server for one file's tests and a node's connection to it (quick health checks), closed after them. */
export const redisPerFile = () => {
  const ctx = {} as { server: RedisServer; redis: ClusterRedis };
  before(async () => {
    ctx.server = await startRedis();
    ctx.redis = await openClusterRedis({ url: ctx.server.url, log: quiet, pingIntervalMs: 100, commandTimeoutMs: 300 });
  });
  after(async () => {
    await ctx.redis.close();
    await ctx.server.stop();
  });
  return ctx;
};
