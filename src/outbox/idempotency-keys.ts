import { HashsendError } from '../errors.js';
import type { Store } from '../store/index.js';

/** A client's `Idempotency-Key` and the fingerprint of the request it came with. */
export interface IdempotencyRef {
  key: string;
  fingerprint: string;
}

/** What a key is stored as: the request it came with and the id reserved for that request's message. */
export interface Reservation {
  fingerprint: string;
  messageId: string;
}

/** The id a stored reservation holds for this request; `409 idempotency_conflict` when it came with another. */
export const reservedId = (saved: Reservation | undefined, fingerprint: string) => {
  if (!saved) return undefined;
  if (saved.fingerprint !== fingerprint) {
    throw new HashsendError('idempotency_conflict', 409, 'this Idempotency-Key was used for a different request');
  }
  return saved.messageId;
};

const storeKey = (key: string) => `idem:${key}`;

/**
 * A store that failed is the server's fault, and a retry may pass: 503, never a 202 for what was not kept. With
 * `inDoubt`, the store took the write and went away before confirming it (Redis dropped mid-command): the message
 * may be queued under that id, and the answer says so rather than "nothing was queued", which a retry would double.
 */
export const storeUnavailable = (cause: unknown, inDoubt?: string) =>
  inDoubt
    ? new HashsendError(
        'store_unavailable',
        503,
        `the message store went away before confirming the request: it may have been queued as message ${inDoubt} ` +
          `(GET /api/messages/${inDoubt} tells once the store is back); retry with an Idempotency-Key to be sure of one message`,
        { messageId: inDoubt },
        { cause },
      )
    : new HashsendError('store_unavailable', 503, 'the message store could not keep the request; nothing was queued, retry it', undefined, {
        cause,
      });

/** Where an outbox keeps what each `Idempotency-Key` stands for. */
export interface IdempotencyKeys {
  /** The id reserved for this key, if any; `409 idempotency_conflict` when it came with another request. */
  find(ref: IdempotencyRef): Promise<string | undefined>;
  /**
   * Reserves `messageId` for the key; resolves with the id the key stands for: `messageId`, or the one another
   * request reserved first where reservations can race (several nodes), which the caller must queue under instead.
   */
  reserve(ref: IdempotencyRef, messageId: string): Promise<string>;
}

/**
 * Which message an `Idempotency-Key` stands for. The key is reserved, with the id its message will get, in a commit
 * before the message's own: whatever a crash interrupts, a retry finds either that message queued (and answers with
 * it) or the id to queue it under. Nothing depends on two writes landing in one commit, so it holds on any store.
 */
export const createIdempotencyKeys = (store: Store, ttlMs: number): IdempotencyKeys => ({
  async find({ key, fingerprint }: IdempotencyRef): Promise<string | undefined> {
    const saved = (await store.get(storeKey(key)).catch((err: unknown) => Promise.reject(storeUnavailable(err)))) as
      Reservation | undefined;
    return reservedId(saved, fingerprint);
  },

  // One process reserves a key at a time here (the HTTP layer runs one request per key), so the id is always ours.
  async reserve({ key, fingerprint }: IdempotencyRef, messageId: string) {
    await store.set(storeKey(key), { fingerprint, messageId } satisfies Reservation, ttlMs).catch((err: unknown) => {
      throw storeUnavailable(err);
    });
    return messageId;
  },
});
