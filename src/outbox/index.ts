import type { Logger } from '../log.js';
import type { EventBus } from '../events/bus.js';
import type { MessageEvent } from '../events/types.js';
import type { Store } from '../store/index.js';
import type { OutboundContent, SendRequest, SentRef, SessionState } from '../whatsapp/driver.js';
import type { SessionEvent } from '../whatsapp/sessions.js';
import { crashPoint } from './crash-point.js';
import { newRecord, publishingMessageStore, queuedFor } from './accept.js';
import { createAppendTurns } from './append-turns.js';
import { createIdempotencyKeys, storeUnavailable, type IdempotencyRef } from './idempotency-keys.js';
import { newMessageId } from './message-id.js';
import { createReceiptRecorder } from './receipts.js';
import type { MessageRecord } from './types.js';
import { createSessionWorker, type SessionWorker } from './worker.js';

export type { MessageRecord, MessageStatus } from './types.js';
export type { IdempotencyRef } from './idempotency-keys.js';

/** What the outbox needs of the session manager. */
export interface OutboxSessions {
  list(): { id: string }[];
  get(id: string): { state: SessionState };
  has(id: string): boolean;
  send(id: string, request: SendRequest): Promise<SentRef>;
  subscribe(listener: (event: SessionEvent) => void): () => void;
}

export interface OutboxOptions {
  store: Store;
  sessions: OutboxSessions;
  log: Logger;
  /** A message not sent within this age fails as `expired`. */
  maxAgeMs: number;
  /** First retry delay after a transient failure; doubles per attempt, capped at a minute. */
  retryBaseMs: number;
  maxAttempts: number;
  /** How long an `Idempotency-Key` is remembered. @default 86_400_000 (24 h) */
  idempotencyTtlMs?: number;
  /** Where a `message` event is published whenever a message is queued or its status moves. */
  events?: Pick<EventBus<MessageEvent>, 'publish'>;
}

export interface EnqueueRequest {
  sessionId: string;
  to: string;
  content: OutboundContent;
  media?: MessageRecord['media'];
  /** A repeat of a request with this key and fingerprint queues nothing more: it gets the first message. */
  idempotency?: IdempotencyRef;
  broadcast?: MessageRecord['broadcast'];
  /** The inbound message it answers: our id, and what the driver quotes. */
  replyTo?: MessageRecord['replyTo'];
  quoted?: MessageRecord['quoted'];
}

/** A page of a session's messages, newest first; `nextCursor` is the position to pass as `before` next. */
export interface MessagePage {
  items: MessageRecord[];
  nextCursor: number | null;
}

/**
 * The durable send queue, as every implementation offers it (embedded today; BullMQ on Redis is to stand beside
 * it): a message is stored before `enqueue` resolves and leaves through its session's driver once, in order.
 */
export interface Outbox {
  /** Resumes every session's queue where the last run left it. */
  start(): void;
  /** Stores the message and queues it; with `idempotency`, a repeat gets the message already queued for it. */
  enqueue(request: EnqueueRequest): Promise<MessageRecord>;
  /** The message an earlier request with this key queued; `409 idempotency_conflict` for another request's key. */
  replay(ref: IdempotencyRef): Promise<MessageRecord | undefined>;
  get(id: string): Promise<MessageRecord | undefined>;
  list(sessionId: string, page: { limit: number; before?: number }): Promise<MessagePage>;
  /** When a message still waiting fails as `expired`. */
  expiresAt(record: MessageRecord): string;
  /** Stops taking new work; resolves when every worker has finished what it was doing. */
  stop(): Promise<void>;
  /** Per session with a queue: messages not finished yet, and the oldest of them (for metrics and shutdown). */
  backlog(): Promise<SessionBacklog[]>;
}

export interface SessionBacklog {
  sessionId: string;
  /** Messages `queued` or `sending`. */
  depth: number;
  /** The oldest of them, by when it was accepted; `sending` when it is being sent now. */
  oldest?: Pick<MessageRecord, 'id' | 'status' | 'createdAt'>;
}

/**
 * The durable send queue: a message is stored before the caller hears 202, then sent by its session's worker.
 * After a restart each worker resumes from its session's cursor, so nothing accepted is lost or sent twice.
 */
export const createOutbox = ({
  store,
  sessions,
  log,
  maxAgeMs,
  retryBaseMs,
  maxAttempts,
  idempotencyTtlMs = 86_400_000,
  events,
}: OutboxOptions): Outbox => {
  const messages = publishingMessageStore(store, events);
  const keys = createIdempotencyKeys(store, idempotencyTtlMs);
  const workers = new Map<string, SessionWorker>();
  const takeTurn = createAppendTurns();
  const outboxLog = log.child({ component: 'outbox' });

  const worker = (sessionId: string) => {
    let w = workers.get(sessionId);
    if (!w) {
      w = createSessionWorker({
        sessionId,
        messages,
        send: sessions.send,
        state: (id) => (sessions.has(id) ? sessions.get(id).state : undefined),
        log: outboxLog.child({ sessionId }),
        maxAgeMs,
        retryBaseMs,
        maxAttempts,
      });
      workers.set(sessionId, w);
    }
    return w;
  };

  const receipts = createReceiptRecorder(messages, (sessionId) => workers.get(sessionId)?.recorded(), outboxLog);

  const unsubscribe = sessions.subscribe((event) => {
    if (event.type === 'state') worker(event.session.id).sessionChanged();
    if (event.type === 'receipt') receipts.take(event);
    if (event.type === 'deleted') {
      const w = workers.get(event.sessionId);
      workers.delete(event.sessionId);
      w?.abandon({ code: 'session_deleted', message: 'the session was deleted before the message was sent' }).catch((err: unknown) =>
        outboxLog.error({ err, sessionId: event.sessionId }, 'queued messages of a deleted session could not be failed'),
      );
    }
  });

  return {
    start() {
      for (const { id } of sessions.list()) worker(id).sessionChanged();
    },

    replay: async (ref: IdempotencyRef) => (await queuedFor(keys, messages, ref)).record,

    /**
     * Stores the message, then hands it to its session's worker. With `idempotency`, the key is reserved first and a
     * repeat gets the message already queued for it: a retry after a crash at any point queues one message.
     */
    async enqueue(request: EnqueueRequest): Promise<MessageRecord> {
      const { sessionId, idempotency } = request;
      let id = newMessageId();
      const turn = takeTurn(sessionId);
      let appended: Promise<MessageRecord>;
      try {
        if (idempotency) {
          const earlier = await queuedFor(keys, messages, idempotency);
          if (earlier.record) return earlier.record;
          if (earlier.id) id = earlier.id;
          else await keys.reserve(idempotency, id);
        }
        await turn.ready;
        // The place in the queue is taken in this call, before the turn passes on.
        appended = messages.append(newRecord(id, request));
      } finally {
        turn.release();
      }
      const record = await appended.catch((err: unknown) => {
        throw storeUnavailable(err);
      });
      crashPoint('message-stored');
      worker(sessionId).push(record.id);
      return record;
    },

    get: messages.get,
    list: (sessionId: string, page: { limit: number; before?: number }) => messages.list(sessionId, page),
    expiresAt: (record: MessageRecord) => new Date(Date.parse(record.createdAt) + maxAgeMs).toISOString(),

    backlog: () =>
      Promise.all(
        [...workers].map(async ([sessionId, w]) => {
          const { depth, head } = w.backlog();
          const oldest = head === undefined ? undefined : await messages.get(head);
          return { sessionId, depth, ...(oldest ? { oldest: { id: oldest.id, status: oldest.status, createdAt: oldest.createdAt } } : {}) };
        }),
      ),

    async stop() {
      unsubscribe();
      receipts.stop();
      await Promise.all([...workers.values()].map((w) => w.stop()));
    },
  };
};
