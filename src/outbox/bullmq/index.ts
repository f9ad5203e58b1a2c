import { setTimeout as delay } from 'node:timers/promises';
import { createNodeRedisClient } from 'bullmq';
import { newRecord, publishingMessageStore, queuedFor } from '../accept.js';
import { createAppendTurns } from '../append-turns.js';
import { crashPoint } from '../crash-point.js';
import { storeUnavailable, type IdempotencyRef } from '../idempotency-keys.js';
import type { EnqueueRequest, Outbox, OutboxOptions, SessionBacklog } from '../index.js';
import { newMessageId } from '../message-id.js';
import { createReceiptHandler } from '../receipts.js';
import { isFinished, type MessageRecord } from '../types.js';
import { createFinishes } from './finishes.js';
import { createRedisIdempotencyKeys } from './idempotency.js';
import { createRedisOrder } from './redis-order.js';
import { redisClient, type RedisClient } from './redis.js';
import { createSessionQueues } from './session-queues.js';
import { startSessionRunner, type SessionRunner } from './session-runner.js';

export interface BullOutboxOptions extends OutboxOptions {
  /** Redis for the queues, positions and idempotency keys: a client of the outbox's own is opened, and closed by `stop()`. */
  redisUrl?: string;
  /** Or a client opened (and closed) by the caller. */
  redis?: RedisClient;
  /**
   * Work every session this process knows (single node): each is owned at `start()` or when it first appears
   * (created, or a message queued for it). Off, only sessions given to `own()` are worked. @default false
   */
  ownAll?: boolean;
  /** A dead worker's job comes back (stalled) within about this plus two checks of half of it. @default 5000 */
  lockMs?: number;
}

/** The outbox on BullMQ: any node queues for any session; a session's queue is worked by the node that owns it. */
export interface BullOutbox extends Outbox {
  /** Starts working the session's queue here (its owner): one job at a time, in order. Resolves once it runs. */
  own(sessionId: string): Promise<void>;
  /** Stops working it: the message in hand finishes its attempt and is recorded; one still waiting goes back to the head of the queue. */
  disown(sessionId: string): Promise<void>;
  /** The sessions worked here. */
  owned(): string[];
}

/** How long a request that lost an `Idempotency-Key` race waits for the winner's message to be stored. */
const WINNER_WAIT_MS = 5000;

/**
 * The durable send queue on Redis for several nodes. Records stay in the message store (Keyv, on Redis); each
 * session's order is a Redis counter and sorted set; each message is a BullMQ job (id = message id) in its session's
 * queue (`hs-outbox-<session>`, prefix `hs:bull`), worked by the session's owner only (src/outbox/bullmq/session-runner.ts).
 */
export const createBullOutbox = async (options: BullOutboxOptions): Promise<BullOutbox> => {
  const { store, sessions, log, maxAgeMs, idempotencyTtlMs = 86_400_000, events, ownAll = false } = options;
  const client = options.redis ?? (await redisClient(options.redisUrl).connect());
  const ownClient = !options.redis;
  const connection = createNodeRedisClient(client);
  const finishes = createFinishes();
  // Several nodes write messages: a copy kept in memory here would go stale.
  const messages = publishingMessageStore(store, events, { order: createRedisOrder(client), live: false, onChange: finishes.changed });
  const keys = createRedisIdempotencyKeys(client, idempotencyTtlMs);
  const queues = createSessionQueues(connection);
  const takeTurn = createAppendTurns();
  // Jobs are added in the order positions were taken, so the queue's order is the session's order.
  const takeAddTurn = createAppendTurns();
  const runners = new Map<string, Promise<SessionRunner>>();
  const outboxLog = log.child({ component: 'outbox' });

  const own = (sessionId: string) => {
    let runner = runners.get(sessionId);
    if (!runner) {
      runner = startSessionRunner({ ...options, sessionId, queues, connection, messages, finishes, log: outboxLog.child({ sessionId }) });
      runners.set(sessionId, runner);
      runner.catch((err: unknown) => {
        if (runners.get(sessionId) === runner) runners.delete(sessionId);
        outboxLog.error({ err, sessionId }, 'the session queue could not be taken on');
      });
    }
    return runner.then(() => undefined);
  };
  const disown = async (sessionId: string) => {
    const runner = runners.get(sessionId);
    runners.delete(sessionId);
    await (await runner?.catch(() => undefined))?.stop();
  };
  const runner = (sessionId: string, use: (r: SessionRunner) => unknown) => void runners.get(sessionId)?.then(use, () => undefined);

  const onReceipt = createReceiptHandler(messages, async (sessionId) => (await runners.get(sessionId))?.recorded());

  /** A deleted session's messages fail: those in hand through its worker, those still in its queue here. */
  const deleted = async (sessionId: string) => {
    const error = { code: 'session_deleted', message: 'the session was deleted before the message was sent' };
    const worked = runners.get(sessionId);
    runners.delete(sessionId);
    await (await worked)?.abandon(error);
    for (const id of await queues.waitingIds(sessionId)) {
      await messages.update(id, (r) => (isFinished(r.status) ? undefined : { ...r, status: 'failed', error }));
    }
    await queues.remove(sessionId);
  };

  const unsubscribe = sessions.subscribe((event) => {
    if (event.type === 'state') {
      if (runners.has(event.session.id)) runner(event.session.id, (r) => r.sessionChanged());
      // `has`: a deleted session's last state change comes before its `deleted`, and must not take it on again.
      else if (ownAll && sessions.has(event.session.id)) void own(event.session.id);
    }
    if (event.type === 'receipt') onReceipt(event).catch((err) => outboxLog.error({ err }, 'receipt not recorded'));
    if (event.type === 'deleted' && (ownAll || runners.has(event.sessionId))) {
      deleted(event.sessionId).catch((err: unknown) =>
        outboxLog.error({ err, sessionId: event.sessionId }, 'queued messages of a deleted session could not be failed'),
      );
    }
  });

  const backlog = async (): Promise<SessionBacklog[]> => {
    const ids = new Set([...sessions.list().map((s) => s.id), ...runners.keys(), ...queues.known()]);
    return Promise.all(
      [...ids].map(async (sessionId) => {
        const [depth, oldestId] = await Promise.all([queues.depth(sessionId), queues.oldestId(sessionId)]);
        const oldest = oldestId === undefined ? undefined : await messages.get(oldestId);
        return { sessionId, depth, ...(oldest ? { oldest: { id: oldest.id, status: oldest.status, createdAt: oldest.createdAt } } : {}) };
      }),
    );
  };
  /** What was left at `stop()`, when the queues are closed: what shutdown reports as kept for the next start. */
  let left: SessionBacklog[] | undefined;

  /** Makes sure the message has its job: a crash between storing a message and queuing it leaves it without. */
  const handed = async (record: MessageRecord) => {
    if (!isFinished(record.status)) await queues.add(record).catch((err: unknown) => Promise.reject(storeUnavailable(err)));
    return record;
  };

  /** The message another request with the same key is storing (on another node) as this one runs. */
  const stored = async (id: string) => {
    for (let waited = 0; waited < WINNER_WAIT_MS; waited += 25) {
      const record = await messages.get(id);
      if (record && (await messages.isQueued(record))) return record;
      await delay(25);
    }
    return undefined;
  };

  const queue = async (record: MessageRecord, turn: ReturnType<typeof takeAddTurn>) => {
    try {
      await turn.ready;
      await queues.add(record);
    } catch (err) {
      // Stored but not queued: the caller hears 503, so the record must not say it waits to be sent.
      await messages
        .update(record.id, (r) => ({
          ...r,
          status: 'failed',
          error: { code: 'store_unavailable', message: 'the message could not be queued' },
        }))
        .catch(() => undefined);
      throw storeUnavailable(err);
    } finally {
      turn.release();
    }
  };

  return {
    own,
    disown,
    owned: () => [...runners.keys()],

    start() {
      if (ownAll) for (const { id } of sessions.list()) void own(id);
    },

    async replay(ref: IdempotencyRef) {
      const { record } = await queuedFor(keys, messages, ref);
      return record && handed(record);
    },

    async enqueue(request: EnqueueRequest): Promise<MessageRecord> {
      const { sessionId, idempotency } = request;
      if (ownAll) void own(sessionId);
      const ours = newMessageId();
      let id = ours;
      const turn = takeTurn(sessionId);
      let appended: Promise<MessageRecord>;
      let addTurn: ReturnType<typeof takeAddTurn>;
      try {
        if (idempotency) {
          const earlier = await queuedFor(keys, messages, idempotency);
          if (earlier.record) return await handed(earlier.record);
          id = earlier.id ?? (await keys.reserve(idempotency, ours));
          const winners = id === ours || earlier.id ? undefined : await stored(id);
          if (winners) return await handed(winners);
        }
        await turn.ready;
        // The place in the queue, and in the order of adding jobs, is taken in this call, before the turn passes on.
        appended = messages.append(newRecord(id, request));
        addTurn = takeAddTurn(sessionId);
      } finally {
        turn.release();
      }
      const record = await appended.catch((err: unknown) => {
        addTurn.release();
        throw storeUnavailable(err);
      });
      crashPoint('message-stored');
      await queue(record, addTurn);
      return record;
    },

    get: messages.get,
    list: (sessionId: string, page: { limit: number; before?: number }) => messages.list(sessionId, page),
    expiresAt: (record: MessageRecord) => new Date(Date.parse(record.createdAt) + maxAgeMs).toISOString(),

    backlog: async () => left ?? backlog(),

    async stop() {
      unsubscribe();
      await Promise.all([...runners.keys()].map(disown));
      left = await backlog().catch(() => []);
      await queues.close();
      if (ownClient) await client.close();
    },
  };
};
