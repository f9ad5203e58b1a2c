import { Queue, type createNodeRedisClient } from 'bullmq';

/** Every BullMQ key of hashsend's (the outbox's wake-ups, broadcasts' ticks) starts with this. */
export const BULL_PREFIX = 'hs:bull';

export type BullConnection = ReturnType<typeof createNodeRedisClient>;

/** One BullMQ queue per session, named by `name`, opened on first use and kept until removed or closed. */
export const sessionQueues = <T>(connection: BullConnection, name: (sessionId: string) => string) => {
  const queues = new Map<string, Queue<T>>();
  const get = (sessionId: string) => {
    let q = queues.get(sessionId);
    if (!q) queues.set(sessionId, (q = new Queue<T>(name(sessionId), { connection, prefix: BULL_PREFIX })));
    return q;
  };
  return {
    get,
    /** Its jobs gone for good, and the queue closed. */
    async remove(sessionId: string) {
      const q = get(sessionId);
      await q.obliterate({ force: true });
      await q.close();
      queues.delete(sessionId);
    },
    close: () => Promise.all([...queues.values()].map((q) => q.close())),
  };
};
