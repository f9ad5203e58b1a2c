import { setTimeout as delay } from 'node:timers/promises';
import { bullConnection } from '../../lib/bull-queues.js';
import { newRecord, publishingMessageStore, queuedFor } from '../accept.js';
import { createAppendTurns } from '../append-turns.js';
import { crashPoint } from '../crash-point.js';
import { storeUnavailable, type IdempotencyRef } from '../idempotency-keys.js';
import type { EnqueueRequest, Outbox, OutboxOptions, SessionBacklog } from '../index.js';
import { newMessageId } from '../message-id.js';
import type { MessageRecords } from '../message-store.js';
import { createReceiptRecorder } from '../receipts.js';
import type { MessageRecord } from '../types.js';
import { createRedisIdempotencyKeys } from './idempotency.js';
import { createRedisOrder } from './redis-order.js';
import { createRedisRecords } from './redis-records.js';
import { readiness, redisClient, type RedisClient } from './redis.js';
import { createSessionQueues, wakeJobId } from './session-queues.js';
import { startSessionRunner, type SessionRunner } from './session-runner.js';

export interface BullOutboxOptions extends OutboxOptions {
  /** Redis for the queues, orders, records and idempotency keys: a client of the outbox's own is opened, and closed by `stop()`. */
  redisUrl?: string;
  /** Or a client opened (and closed) by the caller. */
  redis?: RedisClient;
  /** A dead worker's wake-up job comes back (stalled) within about this plus two checks of half of it. @default 5000 */
  lockMs?: number;
  /** How long an owner that has sent everything waits for more before it clears the wake flag. @default 50 */
  lingerMs?: number;
}

/** The outbox on BullMQ: any node queues for any session; a session's order is worked by the node that owns it. */
export interface BullOutbox extends Outbox {
  /** Starts working the session's order here (its owner): one message at a time, in order. Resolves once it runs. */
  own(sessionId: string): Promise<void>;
  /** Stops working it: the message in hand finishes its attempt and is recorded; the rest wait for the next owner. */
  disown(sessionId: string): Promise<void>;
  /** The sessions worked here. */
  owned(): string[];
}

/** Longer than the client's longest pause between reconnects (2 s and a jitter of up to 0.2 s). */
const RECONNECT_WAIT_MS = 3000;
/** How long a request that lost an `Idempotency-Key` race waits for the winner's message to be stored. */
const WINNER_WAIT_MS = 5000;

/**
 * The durable send queue on Redis for several nodes. A send is accepted in one script (src/outbox/bullmq/redis-records.ts):
 * its record, its place in the session's order (a list) and the session's wake flag; the node that set the flag
 * queues a BullMQ wake-up job (`hs-outbox-<session>`, prefix `hs:bull`), worked by the session's owner only, which
 * then follows the order from its cursor (src/outbox/bullmq/session-runner.ts). A burst of sends thus costs one job.
 */
export const createBullOutbox = async (options: BullOutboxOptions): Promise<BullOutbox> => {
  const { sessions, log, maxAgeMs, idempotencyTtlMs = 86_400_000, events, store } = options;
  const client = options.redis ?? (await redisClient(options.redisUrl).connect());
  const ownClient = !options.redis;
  const connection = bullConnection(client);
  const connected = readiness(client, RECONNECT_WAIT_MS);
  const queues = createSessionQueues(connection);
  const order = createRedisOrder(client);
  const redisRecords = createRedisRecords(client);
  const runners = new Map<string, Promise<SessionRunner>>();
  /** Sessions worked here: only their owner changes their records, so a copy kept here stays true. */
  const owning = new Set<string>();
  const outboxLog = log.child({ component: 'outbox' });

  const records: MessageRecords = {
    get: redisRecords.get,
    set: redisRecords.set,
    async append(record) {
      const accepted = await redisRecords.accept(record, { wakeId: wakeJobId(record.id), check: !!checkNext.delete(record.id) });
      crashPoint('message-stored');
      if (accepted.woke) {
        // Stored and due: a wake-up lost here is found by the owner's next look (its sweep), so the send stands.
        await queues
          .wake(record.sessionId, wakeJobId(record.id))
          .catch((err: unknown) =>
            outboxLog.warn(
              { err, sessionId: record.sessionId },
              'a wake-up job could not be queued; the owner finds the message on its next look',
            ),
          );
      }
      return accepted.record;
    },
  };
  /** Ids appended with an `Idempotency-Key`: another request may append under the same id, so the script checks. */
  const checkNext = new Set<string>();
  const messages = publishingMessageStore(store, events, { order: order.order, records, live: (r) => owning.has(r.sessionId) });
  const keys = createRedisIdempotencyKeys(client, idempotencyTtlMs);
  const takeTurn = createAppendTurns();

  const own = (sessionId: string) => {
    let runner = runners.get(sessionId);
    if (!runner) {
      messages.forget(sessionId);
      owning.add(sessionId);
      runner = startSessionRunner({
        ...options,
        sessionId,
        connection,
        messages,
        order,
        records: redisRecords,
        log: outboxLog.child({ sessionId }),
      });
      runners.set(sessionId, runner);
      runner.catch((err: unknown) => {
        if (runners.get(sessionId) !== runner) return;
        runners.delete(sessionId);
        owning.delete(sessionId);
        outboxLog.error({ err, sessionId }, 'the session queue could not be taken on');
      });
    }
    return runner.then(() => undefined);
  };
  /** Lets go of the session's runner, then of the copies of its records (another node changes them from now on). */
  const letGo = async (sessionId: string, end: (r: SessionRunner) => Promise<void>) => {
    const runner = runners.get(sessionId);
    runners.delete(sessionId);
    try {
      const r = await runner?.catch(() => undefined);
      if (r) await end(r);
    } finally {
      owning.delete(sessionId);
      messages.forget(sessionId);
    }
  };
  const disown = (sessionId: string) => letGo(sessionId, (r) => r.stop());
  const runner = (sessionId: string, use: (r: SessionRunner) => unknown) => void runners.get(sessionId)?.then(use, () => undefined);

  const receipts = createReceiptRecorder(messages, async (sessionId) => (await runners.get(sessionId))?.recorded(), outboxLog);

  /** A deleted session's messages fail, those in hand and those not read yet; its wake-ups go. */
  const deleted = async (sessionId: string) => {
    const error = { code: 'session_deleted', message: 'the session was deleted before the message was sent' };
    await letGo(sessionId, (r) => r.abandon(error));
    await queues.remove(sessionId);
  };

  const unsubscribe = sessions.subscribe((event) => {
    if (event.type === 'state' && runners.has(event.session.id)) runner(event.session.id, (r) => r.sessionChanged());
    if (event.type === 'receipt') receipts.take(event);
    if (event.type === 'deleted' && runners.has(event.sessionId)) {
      deleted(event.sessionId).catch((err: unknown) =>
        outboxLog.error({ err, sessionId: event.sessionId }, 'queued messages of a deleted session could not be failed'),
      );
    }
  });

  /** An owned session's from its runner; another's from its order and cursor (which lags while its owner sends). */
  const sessionBacklog = async (sessionId: string): Promise<SessionBacklog> => {
    const worked = await runners.get(sessionId)?.catch(() => undefined);
    const { depth, oldestId } = worked
      ? await worked.backlog()
      : await (async () => {
          const [cursor, length] = await Promise.all([order.cursor(sessionId), order.length(sessionId)]);
          return { depth: Math.max(0, length - cursor), oldestId: (await order.order.ids(sessionId, cursor, cursor + 1))[0] };
        })();
    const oldest = depth && oldestId !== undefined ? await messages.get(oldestId) : undefined;
    return { sessionId, depth, ...(oldest ? { oldest: { id: oldest.id, status: oldest.status, createdAt: oldest.createdAt } } : {}) };
  };
  const backlog = () => Promise.all([...new Set([...sessions.list().map((s) => s.id), ...runners.keys()])].map(sessionBacklog));
  /** What was left at `stop()`, when the queues are closed: what shutdown reports as kept for the next start. */
  let left: SessionBacklog[] | undefined;

  /** The message another request with the same key is storing (on another node) as this one runs. */
  const stored = async (id: string) => {
    for (let waited = 0; waited < WINNER_WAIT_MS; waited += 25) {
      const record = await messages.get(id);
      if (record && (await messages.isQueued(record))) return record;
      await delay(25);
    }
    return undefined;
  };

  return {
    own,
    disown,
    owned: () => [...runners.keys()],

    start() {},

    replay: async (ref: IdempotencyRef) => (await queuedFor(keys, messages, ref)).record,

    async enqueue(request: EnqueueRequest): Promise<MessageRecord> {
      // A request is not held for an outage; a reconnect under way (Redis just back) is waited for.
      if (!(await connected())) throw storeUnavailable(new Error('the outbox has no connection to Redis'));
      const { sessionId, idempotency } = request;
      const ours = newMessageId();
      let id = ours;
      const turn = takeTurn(sessionId);
      let appended: Promise<MessageRecord>;
      try {
        if (idempotency) {
          const earlier = await queuedFor(keys, messages, idempotency);
          if (earlier.record) return earlier.record;
          id = earlier.id ?? (await keys.reserve(idempotency, ours));
          const winners = id === ours || earlier.id ? undefined : await stored(id);
          if (winners) return winners;
          checkNext.add(id);
        }
        await turn.ready;
        // The place in the order is taken in this call (the script is sent at once), before the turn passes on.
        appended = messages.append(newRecord(id, request));
      } finally {
        turn.release();
      }
      return appended.catch((err: unknown) => {
        checkNext.delete(id);
        // The script was sent: a connection lost before its answer leaves it run or not.
        throw storeUnavailable(err, id);
      });
    },

    get: messages.get,
    list: (sessionId: string, page: { limit: number; before?: number }) => messages.list(sessionId, page),
    expiresAt: (record: MessageRecord) => new Date(Date.parse(record.createdAt) + maxAgeMs).toISOString(),

    backlog: async () => left ?? backlog(),

    async stop() {
      unsubscribe();
      receipts.stop();
      await Promise.all([...runners.keys()].map(disown));
      left = await backlog().catch(() => []);
      await queues.close();
      if (ownClient) await client.close();
    },
  };
};
