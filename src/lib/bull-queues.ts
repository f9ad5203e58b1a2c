import { Queue, createNodeRedisClient } from 'bullmq';

/** Every BullMQ key of hashsend's (the outbox's wake-ups, broadcasts' ticks) starts with this. */
export const BULL_PREFIX = 'hs:bull';

export type BullConnection = ReturnType<typeof createNodeRedisClient>;

/**
 * BullMQ's connection over a node-redis client. It repeats the client's errors as its own 'error' events, which
 * with no listener would end the process: a node that has opened no queue yet would die when Redis drops. The
 * commands that fail, and the workers (which log their errors), tell of it instead.
 */
export const bullConnection = (client: Parameters<typeof createNodeRedisClient>[0]): BullConnection =>
  createNodeRedisClient(client).on('error', () => undefined);

/** One BullMQ queue per session, named by `name`, opened on first use and kept until removed or closed. */
export const sessionQueues = <T>(connection: BullConnection, name: (sessionId: string) => string) => {
  const queues = new Map<string, Queue<T>>();
  const get = (sessionId: string) => {
    let q = queues.get(sessionId);
    if (!q) {
      q = new Queue<T>(name(sessionId), { connection, prefix: BULL_PREFIX });
      // The calls that fail tell their callers; with no listener BullMQ prints each connection error raw on stderr,
      // among the JSON log lines.
      q.on('error', () => undefined);
      queues.set(sessionId, q);
    }
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
