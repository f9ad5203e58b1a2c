import type { MessageRecord } from '../types.js';
import { sessionKeys } from './redis-order.js';
import { KEY_PREFIX, type RedisClient } from './redis.js';

const recordKey = (id: string) => `${KEY_PREFIX}:msg:${id}`;

/**
 * A send accepted, in one step: the record is stored with the next position of its session's order (its index in
 * the list, from RPUSH) and the wake flag is set unless it is set already; `woke` 1 says this call set it, so its
 * caller queues the wake-up job named in it. With `check` (a request with an Idempotency-Key, which two requests
 * may append under one id) an id stored already is answered with its record and takes no place.
 * The record's JSON comes without its position (`head`, ending where the position goes) and is completed here.
 * Sent as EVAL, not EVALSHA: a NOSCRIPT answer (first use, or after Redis restarted) would be retried after later
 * calls had taken their positions, and positions must follow the order of the calls.
 */
const ACCEPT = `
if ARGV[4] == '1' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then return {-1, earlier} end
end
local position = redis.call('RPUSH', KEYS[1], ARGV[1]) - 1
redis.call('SET', KEYS[2], ARGV[2] .. position .. '}')
local woke = redis.call('SET', KEYS[3], ARGV[3], 'NX')
return {position, woke and 1 or 0}`;

const parse = (raw: string | null) => (raw === null ? undefined : (JSON.parse(raw) as MessageRecord));

/**
 * Message records on Redis as plain JSON (`hs:outbox:msg:<id>`), written by the accept script and the owner of the
 * message's session, read by any node.
 */
export const createRedisRecords = (client: RedisClient) => ({
  get: async (id: string) => parse(await client.get(recordKey(id))),
  set: (record: MessageRecord) => client.set(recordKey(record.id), JSON.stringify(record)),
  /** Several records in one read, in the order asked; undefined for an id without one. */
  async many(ids: string[]) {
    if (!ids.length) return [];
    return (await client.mGet(ids.map(recordKey))).map(parse);
  },

  /** Stores a new message at the end of its session's order; `woke`: the wake-up job `wakeId` is to be queued. */
  async accept(record: Omit<MessageRecord, 'position'>, { wakeId, check }: { wakeId: string; check: boolean }) {
    const { list, wake } = sessionKeys(record.sessionId);
    const json = JSON.stringify(record);
    const head = `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}"position":`;
    const [position, earlier] = (await client.eval(ACCEPT, {
      keys: [list, recordKey(record.id), wake],
      arguments: [record.id, head, wakeId, check ? '1' : '0'],
    })) as [number, number | string];
    if (position < 0) return { record: JSON.parse(earlier as string) as MessageRecord, woke: false };
    return { record: { ...record, position } as MessageRecord, woke: earlier === 1 };
  },
});

export type RedisRecords = ReturnType<typeof createRedisRecords>;
