import type { Store } from '../store/index.js';

/**
 * WASenderApi names messages by a positive integer (`msgId`), ours by strings: an outbox id for a message sent, an
 * inbox id (`in_…`) for one received. This keeps the two in step, one number per hashsend id, counted per install
 * from 1 and never reused.
 *
 * Numbers are handed out one at a time by this process; several nodes sharing one Redis would need an atomic
 * counter there instead.
 */
export interface MessageIds {
  /** The msgId of a hashsend message id, given it on first ask. */
  numberOf(id: string): Promise<number>;
  /** The hashsend message id a msgId names, if any. */
  idOf(msgId: number): Promise<string | undefined>;
}

const NEXT = 'next';
const byNumber = (msgId: number) => `n:${msgId}`;
const byId = (id: string) => `id:${id}`;

export const createMessageIds = (store: Store): MessageIds => {
  // Allocations in this process run one after another: two sends never read the same counter value.
  let tail: Promise<unknown> = Promise.resolve();

  const allocate = async (id: string): Promise<number> => {
    const known = await store.get<number>(byId(id));
    if (known !== undefined) return known;
    const msgId = ((await store.get<number>(NEXT)) ?? 0) + 1;
    // The number is taken before it is given out: a crash between these writes skips a number, never repeats one.
    await store.set(NEXT, msgId);
    await store.set(byNumber(msgId), id);
    await store.set(byId(id), msgId);
    return msgId;
  };

  return {
    async numberOf(id) {
      const known = await store.get<number>(byId(id));
      if (known !== undefined) return known;
      const run = tail.then(
        () => allocate(id),
        () => allocate(id),
      );
      tail = run.catch(() => undefined);
      return run;
    },
    idOf: (msgId) => store.get<string>(byNumber(msgId)),
  };
};
