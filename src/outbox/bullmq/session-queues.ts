import { Queue, type createNodeRedisClient } from 'bullmq';
import { BULL_PREFIX } from './redis.js';

type Connection = ReturnType<typeof createNodeRedisClient>;

export const queueName = (sessionId: string) => `hs-outbox-${sessionId}`;

/** A wake-up job's id: named after the message whose acceptance set the wake flag, so unique per wake-up. */
export const wakeJobId = (messageId: string) => `wake-${messageId}`;

/**
 * One BullMQ queue per session, named after it (`hs-outbox-<session>`, keys under `hs:bull`), holding wake-ups,
 * not messages: a job tells the session's owner, on whichever node, that its order has messages to look at. The
 * messages themselves are in the session's order (src/outbox/bullmq/redis-order.ts). Any node adds to any queue.
 */
export const createSessionQueues = (connection: Connection) => {
  const queues = new Map<string, Queue>();
  const queue = (sessionId: string) => {
    let q = queues.get(sessionId);
    if (!q) {
      q = new Queue(queueName(sessionId), { connection, prefix: BULL_PREFIX });
      queues.set(sessionId, q);
    }
    return q;
  };

  return {
    /** Queues a wake-up for the session's owner; finished ones are removed, so the queue holds only those due. */
    wake: (sessionId: string, jobId: string) => queue(sessionId).add('wake', {}, { jobId, removeOnComplete: true, removeOnFail: true }),

    async remove(sessionId: string) {
      await queue(sessionId).obliterate({ force: true });
      await queue(sessionId).close();
      queues.delete(sessionId);
    },

    close: () => Promise.all([...queues.values()].map((q) => q.close())),
  };
};

export type SessionQueues = ReturnType<typeof createSessionQueues>;
