import { isFinished, type MessageRecord } from '../types.js';

/**
 * Waits for messages to be finished (sent, delivered, read or failed) as their records are stored: a job stays
 * active until its message is, so BullMQ counts it as pending while it waits, retries or is being sent.
 */
export const createFinishes = () => {
  const waiting = new Map<string, Set<() => void>>();
  return {
    /** Register before reading the record: a change stored in between is not missed. */
    wait(id: string) {
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      const set = waiting.get(id) ?? new Set();
      set.add(done);
      waiting.set(id, set);
      const cancel = () => {
        set.delete(done);
        if (!set.size && waiting.get(id) === set) waiting.delete(id);
      };
      return { finished, cancel };
    },
    /** Told of every stored change (the message store's `onChange`). */
    changed(record: MessageRecord) {
      if (!isFinished(record.status)) return;
      const set = waiting.get(record.id);
      waiting.delete(record.id);
      for (const done of set ?? []) done();
    },
  };
};

export type Finishes = ReturnType<typeof createFinishes>;
