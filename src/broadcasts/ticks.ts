import { Worker, type Job } from 'bullmq';
import { BULL_PREFIX, sessionQueues, type BullConnection } from '../lib/bull-queues.js';
import type { Logger } from '../log.js';

/** What a tick carries: whose due time it is, and which. */
export interface Tick {
  broadcastId: string;
  at: number;
}

export const tickQueueName = (sessionId: string) => `hs-broadcast-ticks-${sessionId}`;

/** A tick's data, checked: job data comes from Redis, which any client may have written to. */
const tickOf = (job: Pick<Job, 'data' | 'id'>): Tick => {
  const { broadcastId, at } = (job.data ?? {}) as Partial<Tick>;
  if (typeof broadcastId !== 'string' || typeof at !== 'number') throw new Error(`job ${job.id} is not a broadcast tick`);
  return { broadcastId, at };
};

export interface BroadcastTicksOptions {
  connection: BullConnection;
  log: Logger;
  /** A due time has come, on the node that owns the broadcast's session. */
  onTick(tick: Tick): void;
}

/**
 * The due times broadcasts wait for (the pace's next turn, the schedule, the end of quiet hours, the next local day
 * under a daily cap), as BullMQ delayed jobs: one queue per session (`hs-broadcast-ticks-<session>`, keys under
 * `hs:bull`), worked only by the session's owner, so a due time set by an owner that dies fires on the next one, at
 * the same time.
 */
export const createBroadcastTicks = ({ connection, log, onTick }: BroadcastTicksOptions) => {
  const queues = sessionQueues<Tick>(connection, tickQueueName);
  const workers = new Map<string, Worker<Tick>>();
  const disown = async (sessionId: string) => {
    const worker = workers.get(sessionId);
    workers.delete(sessionId);
    await worker?.close();
  };

  return {
    /** Fires `onTick` here at `at`, or at once if that has passed; `key` tells one waiter's jobs from another's. */
    async schedule(sessionId: string, tick: Tick, key: string, now = Date.now()) {
      await queues.get(sessionId).add('tick', tick, {
        jobId: `${tick.broadcastId}-${tick.at}-${key}`,
        delay: Math.max(0, tick.at - now),
        removeOnComplete: true,
        removeOnFail: true,
      });
    },

    async own(sessionId: string) {
      if (workers.has(sessionId)) return;
      const worker = new Worker<Tick>(tickQueueName(sessionId), async (job) => onTick(tickOf(job)), {
        connection,
        prefix: BULL_PREFIX,
        concurrency: 8,
      });
      worker.on('error', (err) => log.error({ err, sessionId }, 'broadcast tick worker error'));
      workers.set(sessionId, worker);
      await worker.waitUntilReady();
    },

    disown,

    async close() {
      await Promise.all([...workers.keys()].map(disown));
      await queues.close();
    },
  };
};

export type BroadcastTicks = ReturnType<typeof createBroadcastTicks>;
