import { setTimeout as delay } from 'node:timers/promises';

/**
 * Gathers the writes made while the previous batch is in flight into the next one, so one round trip carries every
 * write that waited: one at a time when idle, hundreds at once under load. Batches run one after another, in the
 * order their writes were added; at most `max` writes a batch.
 */
export const writeBatch = <T>(flush: (items: T[]) => Promise<unknown>, { max = 1000, gapMs = 0 } = {}) => {
  let tail: Promise<unknown> = Promise.resolve();
  /** When the last batch ended: with `gapMs`, the next one gathers writes until that long after it. */
  let lastEnded = 0;
  let open: { items: T[]; done: Promise<void> } | undefined;
  return {
    /** Resolves once the batch holding this write has been written; rejects with that batch's error. */
    add(item: T): Promise<void> {
      if (!open || open.items.length >= max) {
        const batch: { items: T[]; done: Promise<void> } = { items: [], done: Promise.resolve() };
        batch.done = tail.then(async () => {
          const wait = lastEnded + gapMs - Date.now();
          if (wait > 0) await delay(wait);
          if (open === batch) open = undefined;
          await flush(batch.items).finally(() => (lastEnded = Date.now()));
        });
        tail = batch.done.catch(() => undefined);
        open = batch;
      }
      open.items.push(item);
      return open.done;
    },
    /** Resolves once every write added so far has been written or has failed. */
    settled: () => tail,
  };
};
