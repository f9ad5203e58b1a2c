import type { ChunkedList } from '../../store/chunked-list.js';
import { KEY_PREFIX, type RedisClient } from './redis.js';

// Both keys of a session in one hash slot (`{…}`), so the script also runs on a Redis Cluster.
const orderKey = (sessionId: string) => `${KEY_PREFIX}:{${sessionId}}:order`;
const seqKey = (sessionId: string) => `${KEY_PREFIX}:{${sessionId}}:seq`;

/**
 * Takes the next position for an id, unless the id has one already (a retry of a request whose first run took it):
 * then that one. In one script, so two nodes appending to one session never get the same position. Sent as EVAL,
 * not EVALSHA: a NOSCRIPT answer (first use, or after Redis restarted) would be retried after later calls had
 * taken their positions, and positions must follow the order of the calls (the order jobs are added in).
 */
const CLAIM = `
local taken = redis.call('ZSCORE', KEYS[1], ARGV[1])
if taken then return tonumber(taken) end
local position = redis.call('INCR', KEYS[2]) - 1
redis.call('ZADD', KEYS[1], position, ARGV[1])
return position`;

/**
 * Each session's messages in order, on Redis, for any number of nodes appending at once: positions come from one
 * counter per session (`INCR`), and a sorted set by position holds the ids, so a page of `list()` is one range read.
 * Unlike the chunked lists of the embedded store, an id is named in the order a moment before its record is stored
 * (the position must be known to write it): readers skip an id without a record, as they do one a crash orphaned.
 */
export const createRedisOrder = (client: RedisClient): ChunkedList => ({
  async count(sessionId) {
    return Number((await client.get(seqKey(sessionId))) ?? 0);
  },

  async append(sessionId, id, writeItem) {
    const position = Number(await client.eval(CLAIM, { keys: [orderKey(sessionId), seqKey(sessionId)], arguments: [id] }));
    return writeItem(position);
  },

  async ids(sessionId, from, to) {
    if (to <= from) return [];
    return client.zRange(orderKey(sessionId), from, to - 1, { BY: 'SCORE' });
  },

  async newest(sessionId, { limit, before }) {
    // One more than asked: whether it exists says if there is a next page.
    const found = await client.zRangeWithScores(orderKey(sessionId), before === undefined ? '+inf' : `(${before}`, '-inf', {
      BY: 'SCORE',
      REV: true,
      LIMIT: { offset: 0, count: limit + 1 },
    });
    const page = found.slice(0, limit);
    return { ids: page.map((m) => m.value), nextCursor: found.length > limit ? page[page.length - 1].score : null };
  },
});
