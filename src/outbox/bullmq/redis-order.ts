import type { ChunkedList } from '../../store/chunked-list.js';
import { KEY_PREFIX, type RedisClient } from './redis.js';

/**
 * A session's keys: its order (a list of message ids, a message's position its index), the position dispatch
 * resumes from (`cursor`), and the wake flag (`wake`: the id of the wake-up job queued for it, while one is due).
 */
export const sessionKeys = (sessionId: string) => {
  const base = `${KEY_PREFIX}:{${sessionId}}`;
  return { list: `${base}:list`, cursor: `${base}:cursor`, wake: `${base}:wake` };
};

/**
 * The owner's next batch past position `next` (every message before it finished). When there is none, in the
 * same step: the cursor is stored as `next` and the wake flag cleared, so a send accepted a moment later sets it
 * again (and queues a wake-up) rather than finding it set by a worker that is about to stop looking.
 */
const PULL = `
local next = tonumber(ARGV[1])
if redis.call('LLEN', KEYS[1]) > next then return redis.call('LRANGE', KEYS[1], next, next + tonumber(ARGV[2]) - 1) end
if ARGV[3] == '1' then redis.call('SET', KEYS[2], next) end
redis.call('DEL', KEYS[3])
return {}`;

/**
 * Each session's messages in order, on Redis, for any number of nodes appending at once (appends are the accept
 * script's, src/outbox/bullmq/redis-records.ts), and the owner's cursor over it.
 */
export const createRedisOrder = (client: RedisClient) => {
  const length = (sessionId: string) => client.lLen(sessionKeys(sessionId).list);
  const order: Omit<ChunkedList, 'append'> = {
    count: length,

    async ids(sessionId, from, to) {
      if (to <= from) return [];
      return client.lRange(sessionKeys(sessionId).list, from, to - 1);
    },

    async newest(sessionId, { limit, before }) {
      const count = await length(sessionId);
      const end = Math.min(before ?? count, count) - 1;
      if (end < 0) return { ids: [], nextCursor: null };
      // One more than asked: whether it exists says if there is a next page.
      const start = Math.max(0, end - limit);
      const found = (await client.lRange(sessionKeys(sessionId).list, start, end)).reverse();
      return { ids: found.slice(0, limit), nextCursor: found.length > limit ? end - limit + 1 : null };
    },
  };

  return {
    order,
    length,
    cursor: async (sessionId: string) => Number((await client.get(sessionKeys(sessionId).cursor)) ?? 0),
    setCursor: (sessionId: string, position: number) => client.set(sessionKeys(sessionId).cursor, position),
    /**
     * Up to `limit` ids from position `next`; none means caught up, and then the wake flag is cleared (and the cursor
     * stored as `next` unless `cursorStored`). Only for the session's owner, with every message before `next` finished.
     */
    async pull(sessionId: string, next: number, limit: number, cursorStored: boolean) {
      const { list, cursor, wake } = sessionKeys(sessionId);
      return (await client.eval(PULL, {
        keys: [list, cursor, wake],
        arguments: [String(next), String(limit), cursorStored ? '0' : '1'],
      })) as string[];
    },
    /** Everything before `position` is finished and nothing is due (a deleted session's order, failed). */
    async settle(sessionId: string, position: number) {
      const { cursor, wake } = sessionKeys(sessionId);
      await client.set(cursor, position);
      await client.del(wake);
    },
  };
};

export type RedisOrder = ReturnType<typeof createRedisOrder>;
