import { WaitingError, Worker, type Job, type createNodeRedisClient } from 'bullmq';
import type { Logger } from '../../log.js';
import type { OutboxSessions } from '../index.js';
import type { MessageStore } from '../message-store.js';
import { isFinished, type MessageRecord } from '../types.js';
import { BULL_PREFIX } from '../../lib/bull-queues.js';
import { createSessionWorker } from '../worker.js';
import { createOwnerCursor } from './owner-cursor.js';
import type { RedisOrder } from './redis-order.js';
import type { RedisRecords } from './redis-records.js';
import { queueName } from './session-queues.js';

export interface RunnerOptions {
  sessionId: string;
  connection: ReturnType<typeof createNodeRedisClient>;
  messages: MessageStore;
  order: RedisOrder;
  records: Pick<RedisRecords, 'many'>;
  sessions: Pick<OutboxSessions, 'send' | 'has' | 'get'>;
  log: Logger;
  maxAgeMs: number;
  retryBaseMs: number;
  maxAttempts: number;
  /**
   * How long a wake-up job's lock lasts without renewal: the job of a worker that died comes back (stalled) after
   * at most this plus two checks of `lockMs / 2`. Also how often an idle owner looks at its order unasked. @default 5000
   */
  lockMs?: number;
  /**
   * How long the owner waits, once it has sent everything, before it looks at the order a last time and clears the
   * wake flag: sends accepted meanwhile find the flag set and cost no wake-up job. @default 50
   */
  lingerMs?: number;
}

/** Ids read from the order at a time (and their records, in one read). */
const BATCH = 500;
/** A wake-up job has stalled so often only if something is badly wrong; it must never fail for it. */
const NEVER_FAIL_STALLED = 1_000_000_000;

/**
 * Works one owned session's order, from its cursor, with the embedded session worker (src/outbox/worker.ts:
 * waiting for the session, retries with backoff, expiry, `maxAttempts`, the recording pipeline), fed in batches:
 * when it has finished what it was given, the next batch is read; when there is none, the wake flag is cleared in
 * that same read (src/outbox/bullmq/redis-order.ts), so a send accepted later queues a wake-up.
 *
 * Wake-up jobs (a BullMQ Worker with concurrency 1) only make the owner look now; a job stays active until the
 * order is caught up, so a node that dies mid-work leaves it to stall and come back. The next owner does not wait
 * for that: it resumes from the cursor at once, and a message that was `sending` goes again under its id.
 */
export const startSessionRunner = async (options: RunnerOptions) => {
  const { sessionId, messages, order, records, sessions, log, lockMs = 5000, lingerMs = 50 } = options;
  /** The first position not yet given to the session worker: every one before it is finished or in its hands. */
  let next = await order.cursor(sessionId);
  const cursor = createOwnerCursor(next, (position) => order.setCursor(sessionId, position));
  /** The session worker has finished everything given to it (so `next` may be stored as the cursor). */
  let idle = true;
  let stopped = false;
  /** The last read filled a batch: more is there, read it without lingering. */
  let full = false;
  /** Wake-up jobs in hand, each waiting for a read that finds the order caught up and starts after it came. */
  const waiters = new Set<() => void>();
  let pulling: Promise<void> | undefined;
  let wanted = false;
  let lingering: NodeJS.Timeout | undefined;

  const worker = createSessionWorker({
    ...options,
    messages: {
      ...messages,
      getCursor: async () => next,
      from: async () => [],
      setCursor: async (_id, position) => cursor.moved(position),
    },
    send: sessions.send,
    state: (id) => (sessions.has(id) ? sessions.get(id).state : undefined),
    onIdle() {
      idle = true;
      if (full) pull();
      else lingering = setTimeout(pull, lingerMs);
    },
  });

  /**
   * Gives the worker the batch's messages not finished; false if there were none (a cursor that lagged). Only those
   * are kept in memory: a finished one is changed only by receipts, which a former owner may still be recording.
   */
  const handOver = (ids: string[], found: (MessageRecord | undefined)[]) => {
    const due = found.filter((r): r is MessageRecord => !!r && !isFinished(r.status));
    messages.keep(due);
    for (const r of due)
      if (r.status === 'sending') log.info({ messageId: r.id }, 'retrying a message that was being sent when its owner stopped');
    full = ids.length === BATCH;
    next += ids.length;
    if (!due.length) return false;
    idle = false;
    for (const r of due) worker.push(r.id);
    return true;
  };

  /** Reads the order past `next` while the worker is idle and someone asked; errors wait for the next look. */
  const drain = async () => {
    try {
      while (wanted && idle && !stopped) {
        wanted = false;
        const asked = [...waiters];
        const ids = await order.pull(sessionId, next, BATCH, cursor.storedAt(next));
        if (stopped) return;
        if (ids.length) {
          if (!handOver(ids, await records.many(ids))) wanted = true;
          continue;
        }
        cursor.caughtUp(next);
        for (const done of asked) done();
      }
    } catch (err) {
      log.warn({ err, sessionId }, 'the session order could not be read; looking again shortly');
    }
  };
  // A busy worker asks again when it is idle. `pulling` is cleared only after it was set: a read that ended at once
  // and cleared it first would leave it set for good, and this owner would never read its order again.
  function pull() {
    clearTimeout(lingering);
    wanted = true;
    if (pulling || !idle || stopped) return;
    pulling = drain().finally(() => (pulling = undefined));
  }
  pull();
  // A wake-up can be missing: a node that died between accepting a send and queuing its job left the flag set. An
  // idle owner thus looks at its order's length now and then (one command), and reads it when it grew; a wake-up
  // in hand whose read failed is read for again.
  const look = async () => {
    if (!idle || pulling) return;
    if (waiters.size || (await order.length(sessionId)) > next) pull();
  };
  const sweep = setInterval(
    () => void look().catch((err: unknown) => log.warn({ err, sessionId }, 'the session order could not be read')),
    lockMs,
  );
  sweep.unref();

  let stopping!: () => void;
  const stoppedOrder = new Promise<'stopped'>((resolve) => (stopping = () => resolve('stopped')));

  const wakeUp = async (job: Job, token?: string) => {
    let done!: () => void;
    const caughtUp = new Promise<'caught-up'>((resolve) => (done = () => resolve('caught-up')));
    waiters.add(done);
    try {
      if (idle) pull();
      if ((await Promise.race([caughtUp, stoppedOrder])) === 'caught-up') return;
      // Given up (the session is disowned): back to the queue for the next owner, not completed.
      await job.moveToWait(token);
      throw new WaitingError();
    } finally {
      waiters.delete(done);
    }
  };

  const bull = new Worker(queueName(sessionId), wakeUp, {
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
    stopped = true;
    clearTimeout(lingering);
    clearInterval(sweep);
    const closing = bull.close();
    await finish();
    await pulling;
    stopping();
    await closing;
    await cursor.flush().catch((err: unknown) => log.warn({ err, sessionId }, 'restart point not stored'));
  };

  return {
    sessionChanged: () => worker.sessionChanged(),
    recorded: () => worker.recorded(),
    stop: () => close(() => worker.stop()),
    /** Fails every message not finished (the session was deleted): those in hand and those not read yet. */
    async abandon(error: { code: string; message: string }) {
      await close(() => worker.abandon(error));
      const ids = await order.order.ids(sessionId, next, await order.length(sessionId));
      for (const id of ids) await messages.update(id, (r) => (isFinished(r.status) ? undefined : { ...r, status: 'failed', error }));
      await order.settle(sessionId, next + ids.length);
    },
    /** Messages not finished and the oldest of them: those in the worker's hands, then those not read yet. */
    async backlog() {
      const length = await order.length(sessionId);
      // Taken together after the read: a batch handed over meanwhile moved `next` and the worker's depth alike.
      const { depth, head } = worker.backlog();
      const unread = Math.max(0, length - next);
      const oldestId = head ?? (unread ? (await order.order.ids(sessionId, next, next + 1))[0] : undefined);
      return { depth: depth + unread, oldestId };
    },
  };
};

export type SessionRunner = Awaited<ReturnType<typeof startSessionRunner>>;
