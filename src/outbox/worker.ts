import { isHashsendError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SendRequest, SentRef, SessionState } from '../whatsapp/driver.js';
import type { MessageStore } from './message-store.js';
import { STATUS_RANK, isFinished, type MessageRecord } from './types.js';

export interface WorkerOptions {
  sessionId: string;
  messages: MessageStore;
  send(sessionId: string, request: SendRequest): Promise<SentRef>;
  state(sessionId: string): SessionState | undefined;
  log: Logger;
  maxAgeMs: number;
  retryBaseMs: number;
  maxAttempts: number;
  /** Told each time every message pushed so far is finished and recorded (a queue that feeds it in batches). */
  onIdle?: () => void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const ERROR_PAUSE_MS = 1000;
/** 5xx, timeouts and rate limits may pass on a later try; a 4xx (bad media, bad recipient) never will. */
const retryable = (err: unknown) => !isHashsendError(err) || err.status >= 500 || err.status === 408 || err.status === 429;
const errorOf = (err: unknown) =>
  isHashsendError(err)
    ? { code: err.code, message: err.message }
    : { code: 'send_failed', message: err instanceof Error ? err.message : String(err) };

/**
 * Sends one session's messages in the order they were accepted, one at a time. It waits while the session is not
 * connected, retries what may pass later with capped exponential backoff, and fails a message for good on a
 * permanent error, after `maxAttempts`, or when it has waited longer than `maxAgeMs` (`expired`).
 */
export const createSessionWorker = ({
  sessionId,
  messages,
  send,
  state,
  log,
  maxAgeMs,
  retryBaseMs,
  maxAttempts,
  onIdle,
}: WorkerOptions) => {
  let pending: string[] = [];
  let loaded = false;
  let running: Promise<void> | undefined;
  let stopped = false;
  /** Pauses under way: the loop's, and a `sent` record's retry beside it (see `recording`). */
  const pauses = new Map<() => void, 'session' | 'backoff'>();
  const wake = (reason?: 'session') => {
    for (const [done, why] of pauses) if (!reason || why === reason) done();
  };

  const pause = (ms: number, reason: 'session' | 'backoff') =>
    new Promise<void>((resolve) => {
      // setTimeout fires at once for more than 2^31-1 ms (a QUEUE_MAX_AGE_MS of weeks): wait that long and look again.
      const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
      function done() {
        clearTimeout(timer);
        pauses.delete(done);
        resolve();
      }
      pauses.set(done, reason);
    });

  const fail = (id: string, error: { code: string; message: string }) =>
    messages.update(id, (r) => (isFinished(r.status) ? undefined : { ...r, status: 'failed', error }));

  /**
   * The write that records the last send as `sent`, in flight while the next message is prepared: the next send
   * waits for it (and for its own `sending`, often in the same commit), so at most one message is ever sent and not
   * yet stored as sent, as when each write was awaited in turn. Never rejects; false if the worker stopped first.
   */
  let recording: Promise<boolean> = Promise.resolve(true);

  /**
   * Moves the restart point past finished messages at the head of the queue. The next send does not wait for it:
   * the message's own finished status is already stored, which is what a restart goes by. It waits for the last
   * send's record, so it never passes a message still stored as `sending`.
   */
  let cursorWrite: Promise<unknown> = Promise.resolve();
  const moveCursor = (position: number) => {
    cursorWrite = recording
      .then((stored) => stored && messages.setCursor(sessionId, position))
      .catch((err) => log.warn({ err, sessionId }, 'restart point not stored'));
  };
  const finishHead = (record: MessageRecord) => {
    pending.shift();
    moveCursor(record.position + 1);
  };

  const load = async () => {
    const cursor = await messages.getCursor(sessionId);
    const found: string[] = [];
    for (const r of await messages.from(sessionId, cursor)) {
      if (!isFinished(r.status)) found.push(r.id);
      // A message that was `sending` when the process stopped goes again with the same id: WhatsApp shows it once.
      if (r.status === 'sending') log.info({ messageId: r.id }, 'retrying a message that was being sent at the last stop');
    }
    // Messages pushed while this was reading come after the stored ones, once.
    pending = [...found, ...pending.filter((id) => !found.includes(id))];
    loaded = true;
  };

  /**
   * Records a send that went out. A failed write here is no failed send: the recipient has the message, so it is
   * never marked failed nor queued again; the write is retried (receipts may land meanwhile, which is fine). If the
   * worker stops first, the store still says `sending` and a restart sends it again under the same id.
   */
  const recordSent = async (record: MessageRecord, ref: SentRef): Promise<boolean> => {
    for (let tries = 0; ; tries++) {
      try {
        if (ref.waMessageId !== record.id) await messages.mapWaId(sessionId, ref.waMessageId, record.id);
        const done = await messages.update(record.id, (r) => ({
          ...r,
          status: STATUS_RANK[r.status] > STATUS_RANK.sent ? r.status : 'sent',
          waMessageId: ref.waMessageId,
          sentAt: r.sentAt ?? new Date().toISOString(),
          error: undefined,
          ...(r.media ? { media: { ...r.media, ...(ref.sentSha256 ? { sentSha256: ref.sentSha256 } : {}) } } : {}),
        }));
        return !!done;
      } catch (err) {
        log.error({ err, messageId: record.id }, 'a sent message could not be recorded as sent; retrying the write');
        if (stopped) return false;
        await pause(Math.min(retryBaseMs * 2 ** tries, 60_000), 'backoff');
        if (stopped) return false;
      }
    }
  };

  const attempt = async (record: MessageRecord) => {
    const [sending] = await Promise.all([
      messages.update(record.id, (r) => ({ ...r, status: 'sending', attempts: r.attempts + 1 })),
      recording,
    ]);
    if (!sending) return;
    let ref: SentRef;
    try {
      ref = await send(sessionId, {
        messageId: record.id,
        to: record.to,
        content: record.content,
        ...(record.quoted ? { quoted: record.quoted } : {}),
      });
    } catch (err) {
      const error = errorOf(err);
      const waitForSession = isHashsendError(err) && err.code === 'session_not_connected';
      if (!waitForSession && (!retryable(err) || sending.attempts >= maxAttempts)) {
        log.warn({ messageId: record.id, code: error.code }, 'message failed');
        await fail(record.id, error);
        finishHead(record);
        return;
      }
      await messages.update(record.id, (r) => ({ ...r, status: 'queued', error }));
      if (!waitForSession) {
        const backoff = Math.min(retryBaseMs * 2 ** (sending.attempts - 1), 60_000);
        log.info({ messageId: record.id, code: error.code, backoff }, 'send failed; retrying');
        await pause(backoff * (0.8 + Math.random() * 0.4), 'backoff');
      }
      return;
    }
    // The next message is looked at while this one is recorded; its send waits for the record (see `recording`).
    pending.shift();
    recording = recordSent(record, ref);
    moveCursor(record.position + 1);
  };

  const run = async () => {
    if (!loaded) await load();
    while (!stopped && pending.length) {
      const record = await messages.get(pending[0]);
      if (!record || isFinished(record.status)) {
        if (record) finishHead(record);
        else pending.shift();
        continue;
      }
      const age = Date.now() - Date.parse(record.createdAt);
      // `sending` here means the process stopped mid-send: the recipient may have it, so "not sent within" would be
      // a lie. It never expires; it goes again under its id (the recipient shows one message) once connected.
      const maybeSent = record.status === 'sending';
      if (age >= maxAgeMs && !maybeSent) {
        await fail(record.id, { code: 'expired', message: `not sent within ${maxAgeMs} ms (session was ${state(sessionId) ?? 'gone'})` });
        finishHead(record);
        continue;
      }
      if (state(sessionId) !== 'connected') {
        await pause(maybeSent ? MAX_TIMER_MS : maxAgeMs - age, 'session');
        continue;
      }
      await attempt(record);
    }
    await recording;
  };

  const ensureRunning = () => {
    if (stopped || running) return;
    running = run()
      .catch(async (err) => {
        log.error({ err, sessionId }, 'outbox worker stopped on an error; restarting after a pause');
        // A store that keeps failing must not become a loop that floods the log.
        await pause(ERROR_PAUSE_MS, 'backoff');
      })
      .finally(() => {
        running = undefined;
        // Work that arrived while the loop was finishing.
        if (!stopped && pending.length) ensureRunning();
        else if (!stopped) onIdle?.();
      });
  };

  return {
    push(id: string) {
      pending.push(id);
      ensureRunning();
    },
    /** The session changed state: a worker waiting for it looks again now; one in backoff keeps its pace. */
    sessionChanged() {
      wake('session');
      ensureRunning();
    },
    /** Resolves once the last message sent is stored as sent (with the platform's id for it). */
    recorded: () => recording,
    /** Messages accepted and not finished (the head may be being sent), and the head's id: the oldest of them. */
    backlog: () => ({ depth: pending.length, head: pending[0] as string | undefined }),
    /** Fails everything still waiting, e.g. when the session is deleted. */
    async abandon(error: { code: string; message: string }) {
      stopped = true;
      wake();
      await running;
      if (!loaded) await load();
      for (const id of pending.splice(0)) await fail(id, error);
      await cursorWrite;
    },
    async stop() {
      stopped = true;
      wake();
      await running;
      await cursorWrite;
    },
  };
};

export type SessionWorker = ReturnType<typeof createSessionWorker>;
