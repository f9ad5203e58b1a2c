import { WaitingError, Worker, type Job, type createNodeRedisClient } from 'bullmq';
import type { Logger } from '../../log.js';
import type { OutboxSessions } from '../index.js';
import type { MessageStore } from '../message-store.js';
import { isFinished, type MessageRecord } from '../types.js';
import { createSessionWorker } from '../worker.js';
import type { Finishes } from './finishes.js';
import { BULL_PREFIX } from './redis.js';
import { jobMessageId, queueName, type SendJob, type SessionQueues } from './session-queues.js';

export interface RunnerOptions {
  sessionId: string;
  queues: SessionQueues;
  connection: ReturnType<typeof createNodeRedisClient>;
  messages: MessageStore;
  finishes: Finishes;
  sessions: Pick<OutboxSessions, 'send' | 'has' | 'get'>;
  log: Logger;
  maxAgeMs: number;
  retryBaseMs: number;
  maxAttempts: number;
  /**
   * How long a job's lock lasts without renewal: a job whose worker died comes back (stalled) after at most this
   * plus two checks of `lockMs / 2`. @default 5000
   */
  lockMs?: number;
}

/** A job has stalled so often only if something is badly wrong; it must never fail for it (its message is intact). */
const NEVER_FAIL_STALLED = 1_000_000_000;

/**
 * Works one owned session's queue: a BullMQ Worker with concurrency 1 hands each job's message to the embedded
 * session worker (src/outbox/worker.ts: waiting for the session, retries with backoff, expiry, `maxAttempts`, the
 * recording pipeline) and keeps the job active until the message is finished. A message that waits or is retried
 * thus holds back the ones after it, since BullMQ gives out the next job only when this one completes; its lock is
 * renewed meanwhile.
 *
 * Jobs already active when the session is taken on are the last owner's, which died mid-job: their messages go
 * first (one that was `sending` goes again under its id), and when BullMQ gives a job back as stalled its message is
 * found finished.
 */
export const startSessionRunner = async (options: RunnerOptions) => {
  const { sessionId, queues, messages, finishes, sessions, log, lockMs = 5000 } = options;
  const left: Pick<Job, 'data' | 'id'>[] = await queues.queue(sessionId).getJobs(['active']);
  const adopted = new Set<string>(left.map((job) => jobMessageId(job)));
  const adoptedRecords = (await Promise.all([...adopted].map(messages.get)))
    .filter((r): r is MessageRecord => !!r && !isFinished(r.status))
    .sort((a, b) => a.position - b.position);

  const worker = createSessionWorker({
    ...options,
    // The embedded worker resumes from a cursor over the session's order; here the queue is the order, and what it
    // resumes is only what the last owner left in hand.
    messages: { ...messages, getCursor: async () => 0, from: async () => adoptedRecords, setCursor: async () => undefined },
    send: sessions.send,
    state: (id) => (sessions.has(id) ? sessions.get(id).state : undefined),
  });
  worker.sessionChanged();

  let stopping: (() => void) | undefined;
  const stopped = new Promise<'stopped'>((resolve) => (stopping = () => resolve('stopped')));

  const sendJob = async (job: Job<SendJob>, token?: string) => {
    const id = jobMessageId(job);
    const { finished, cancel } = finishes.wait(id);
    try {
      const record = await messages.get(id);
      if (!record || isFinished(record.status)) return;
      // An adopted message is in the session worker already: handing it over again would send it twice.
      if (!adopted.delete(id)) worker.push(id);
      if ((await Promise.race([finished, stopped])) !== 'stopped') return;
      const now = await messages.get(id);
      if (!now || isFinished(now.status)) return;
      // Given up (the session is disowned): back to the head of the queue, for the next owner, not failed.
      await job.moveToWait(token);
      throw new WaitingError();
    } finally {
      cancel();
    }
  };

  const bull = new Worker<SendJob>(queueName(sessionId), sendJob, {
    connection: options.connection,
    prefix: BULL_PREFIX,
    concurrency: 1,
    lockDuration: lockMs,
    stalledInterval: lockMs / 2,
    maxStalledCount: NEVER_FAIL_STALLED,
  });
  bull.on('error', (err) => log.error({ err, sessionId }, 'outbox queue worker error'));

  /** Stops taking jobs; the message in hand finishes its attempt, and is recorded, before this resolves. */
  const close = async (finish: () => Promise<void>) => {
    const closing = bull.close();
    await finish();
    stopping?.();
    await closing;
  };

  return {
    sessionChanged: () => worker.sessionChanged(),
    recorded: () => worker.recorded(),
    stop: () => close(() => worker.stop()),
    /** Fails the messages in hand (the session was deleted); the queue's other jobs are the caller's. */
    abandon: (error: { code: string; message: string }) => close(() => worker.abandon(error)),
  };
};

export type SessionRunner = Awaited<ReturnType<typeof startSessionRunner>>;
