import { reservedId, storeUnavailable, type IdempotencyKeys, type IdempotencyRef, type Reservation } from '../idempotency-keys.js';
import { KEY_PREFIX, type RedisClient } from './redis.js';

const idemKey = (key: string) => `${KEY_PREFIX}:idem:${key}`;
const unavailable = (err: unknown) => Promise.reject(storeUnavailable(err));

/**
 * `Idempotency-Key` reservations on Redis, atomic across nodes: `SET … NX GET` stores ours only where no request
 * reserved the key before, and answers with the earlier reservation otherwise, in one command. Two nodes racing on
 * one key thus agree on one message id.
 */
export const createRedisIdempotencyKeys = (client: RedisClient, ttlMs: number): IdempotencyKeys => ({
  async find({ key, fingerprint }: IdempotencyRef) {
    const saved = await client.get(idemKey(key)).catch(unavailable);
    return reservedId(saved ? (JSON.parse(saved) as Reservation) : undefined, fingerprint);
  },

  async reserve({ key, fingerprint }: IdempotencyRef, messageId: string) {
    const mine = JSON.stringify({ fingerprint, messageId } satisfies Reservation);
    const earlier = await client
      .set(idemKey(key), mine, { condition: 'NX', GET: true, expiration: { type: 'PX', value: ttlMs } })
      .catch(unavailable);
    return reservedId(earlier ? (JSON.parse(earlier) as Reservation) : undefined, fingerprint) ?? messageId;
  },
});
