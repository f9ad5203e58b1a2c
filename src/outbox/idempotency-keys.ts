import { HashsendError } from '../errors.js';
import type { Store } from '../store/index.js';

/** A client's `Idempotency-Key` and the fingerprint of the request it came with. */
export interface IdempotencyRef {
  key: string;
  fingerprint: string;
}

interface Reservation {
  fingerprint: string;
  messageId: string;
}

const storeKey = (key: string) => `idem:${key}`;

/** A store that failed is the server's fault, and a retry may pass: 503, never a 202 for what was not kept. */
export const storeUnavailable = (cause: unknown) =>
  new HashsendError('store_unavailable', 503, 'the message store could not keep the request; nothing was queued, retry it', undefined, {
    cause,
  });

/**
 * Which message an `Idempotency-Key` stands for. The key is reserved, with the id its message will get, in a commit
 * before the message's own: whatever a crash interrupts, a retry finds either that message queued (and answers with
 * it) or the id to queue it under. Nothing depends on two writes landing in one commit, so it holds on any store.
 */
export const createIdempotencyKeys = (store: Store, ttlMs: number) => ({
  /** The id reserved for this key, if any; `409 idempotency_conflict` when it came with another request. */
  async find({ key, fingerprint }: IdempotencyRef): Promise<string | undefined> {
    const saved = (await store.get(storeKey(key)).catch((err: unknown) => Promise.reject(storeUnavailable(err)))) as
      Reservation | undefined;
    if (!saved) return undefined;
    if (saved.fingerprint !== fingerprint) {
      throw new HashsendError('idempotency_conflict', 409, 'this Idempotency-Key was used for a different request');
    }
    return saved.messageId;
  },

  async reserve({ key, fingerprint }: IdempotencyRef, messageId: string) {
    await store.set(storeKey(key), { fingerprint, messageId } satisfies Reservation, ttlMs).catch((err: unknown) => {
      throw storeUnavailable(err);
    });
  },
});
