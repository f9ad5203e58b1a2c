import { sessionQueues, type BullConnection } from '../../lib/bull-queues.js';

export const queueName = (sessionId: string) => `hs-outbox-${sessionId}`;

/** A wake-up job's id: named after the message whose acceptance set the wake flag, so unique per wake-up. */
export const wakeJobId = (messageId: string) => `wake-${messageId}`;

/**
 * One BullMQ queue per session, named after it (`hs-outbox-<session>`, keys under `hs:bull`), holding wake-ups,
 * not messages: a job tells the session's owner, on whichever node, that its order has messages to look at. The
 * messages themselves are in the session's order (src/outbox/bullmq/redis-order.ts). Any node adds to any queue.
 */
export const createSessionQueues = (connection: BullConnection) => {
  const queues = sessionQueues(connection, queueName);
  return {
    /** Queues a wake-up for the session's owner; finished ones are removed, so the queue holds only those due. */
    wake: (sessionId: string, jobId: string) =>
      queues.get(sessionId).add('wake', {}, { jobId, removeOnComplete: true, removeOnFail: true }),

    remove: queues.remove,
    close: queues.close,
  };
};

export type SessionQueues = ReturnType<typeof createSessionQueues>;
