import { Queue, type Job, type createNodeRedisClient } from 'bullmq';
import type { MessageRecord } from '../types.js';
import { BULL_PREFIX } from './redis.js';

/** What a job carries: only the id; the message itself is its record in the message store. */
export interface SendJob {
  messageId: string;
}

type Connection = ReturnType<typeof createNodeRedisClient>;

export const queueName = (sessionId: string) => `hs-outbox-${sessionId}`;

/** A job's message id, checked: job data comes from Redis, which any client may have written to. */
export const jobMessageId = (job: Pick<Job, 'data' | 'id'>) => {
  const id = (job.data as Partial<SendJob> | undefined)?.messageId;
  if (typeof id !== 'string' || id !== job.id) throw new Error(`job ${job.id} carries no message id of its own`);
  return id;
};

/**
 * One BullMQ queue per session, named after it (`hs-outbox-<session>`, keys under `hs:bull`): a session's messages
 * are worked in one place, by its owner. Any node adds to any session's queue.
 */
export const createSessionQueues = (connection: Connection) => {
  const queues = new Map<string, Queue<SendJob>>();
  const queue = (sessionId: string) => {
    let q = queues.get(sessionId);
    if (!q) {
      q = new Queue<SendJob>(queueName(sessionId), { connection, prefix: BULL_PREFIX });
      queues.set(sessionId, q);
    }
    return q;
  };

  return {
    queue,
    /**
     * Queues a message's job. The job id is the message id, so adding it again (a retry, a replay) is a no-op while
     * the job is there; finished jobs are removed, and one added again for a finished message completes at once.
     */
    add: (record: Pick<MessageRecord, 'id' | 'sessionId'>) =>
      queue(record.sessionId).add('send', { messageId: record.id }, { jobId: record.id, removeOnComplete: true, removeOnFail: true }),

    /** Jobs not finished: waiting, being worked (a message waiting for its session or a retry stays active), delayed. */
    async depth(sessionId: string) {
      const counts = await queue(sessionId).getJobCounts('wait', 'active', 'delayed', 'prioritized');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },

    /** The message worked now, or else the next one to be: the oldest not finished. */
    async oldestId(sessionId: string) {
      const q = queue(sessionId);
      const [active] = await q.getJobs(['active'], 0, 0, true);
      return active?.id ?? (await q.getJobs(['wait'], 0, 0, true))[0]?.id;
    },

    /** The ids of jobs not yet worked (a deleted session's, to fail their messages). */
    async waitingIds(sessionId: string) {
      return (await queue(sessionId).getJobs(['wait', 'delayed', 'prioritized'])).map((j) => j.id).filter((id): id is string => !!id);
    },

    async remove(sessionId: string) {
      await queue(sessionId).obliterate({ force: true });
      await queue(sessionId).close();
      queues.delete(sessionId);
    },

    known: () => [...queues.keys()],
    close: () => Promise.all([...queues.values()].map((q) => q.close())),
  };
};

export type SessionQueues = ReturnType<typeof createSessionQueues>;
