import type { Logger } from '../log.js';
import type { SessionEvent } from '../whatsapp/sessions.js';
import type { MessageStore } from './message-store.js';
import { STATUS_RANK, type MessageRecord } from './types.js';

export type Receipt = Extract<SessionEvent, { type: 'receipt' }>;

/** The change a receipt makes to a message of its session: a status only moves forward, a platform `failed` is final. */
const receiptChange =
  ({ sessionId, status, error }: Receipt, at: string) =>
  (r: MessageRecord): MessageRecord | undefined => {
    if (r.sessionId !== sessionId || r.status === 'failed') return undefined;
    // A platform that accepted the message may still fail it (the Cloud API's `failed` status): that is final.
    if (status === 'failed') return { ...r, status, error: error ?? { code: 'send_failed', message: 'the platform failed the message' } };
    const next = {
      ...r,
      status: STATUS_RANK[r.status] >= STATUS_RANK[status] ? r.status : status,
      ...(status === 'sent' ? { sentAt: r.sentAt ?? at } : { deliveredAt: r.deliveredAt ?? at }),
      ...(status === 'read' ? { readAt: r.readAt ?? at } : {}),
    };
    // A receipt that tells nothing new (`sent` after the send was recorded) is not written again.
    const same = next.status === r.status && next.sentAt === r.sentAt && next.deliveredAt === r.deliveredAt && next.readAt === r.readAt;
    return same ? undefined : next;
  };

/**
 * Records receipts on the messages they name. `recorded(sessionId)` resolves once the session's last send is stored
 * with the platform's id for it (a worker's `recorded()`), or is undefined when no worker runs there.
 */
const createReceiptHandler =
  (messages: Pick<MessageStore, 'update' | 'byWaId'>, recorded: (sessionId: string) => Promise<unknown> | undefined) =>
  async (receipt: Receipt) => {
    const change = receiptChange(receipt, new Date().toISOString());
    const { sessionId, waMessageId } = receipt;
    // Our id is WhatsApp's for WhatsApp Web drivers: one read of the record, not a look first and a read again.
    if (await messages.update(waMessageId, change)) return;
    const id = await messages.byWaId(sessionId, waMessageId);
    if (id) return void (await messages.update(id, change));
    // A platform that chooses its own ids can report on a message before its id is stored: look again once it is.
    await recorded(sessionId);
    const later = await messages.byWaId(sessionId, waMessageId);
    if (later) await messages.update(later, change);
  };

/** How long a receipt that could not be recorded is tried again; the pauses between tries grow from 100 ms to 2 s. */
const GIVE_UP_MS = 600_000;
const MAX_PAUSE_MS = 2000;

/**
 * Records each receipt (see `createReceiptHandler`); one that failed, the store being away (Redis dropped with the
 * write in flight), is tried again until it is recorded or `GIVE_UP_MS` passed: WhatsApp sends a receipt once, so a
 * receipt dropped here leaves its message `sent` for good. Receipts only move a status forward, so a late one is
 * harmless. `stop()` drops those still waiting, saying how many.
 */
export const createReceiptRecorder = (
  messages: Pick<MessageStore, 'update' | 'byWaId'>,
  recorded: (sessionId: string) => Promise<unknown> | undefined,
  log: Logger,
) => {
  const handle = createReceiptHandler(messages, recorded);
  const waiting = new Set<NodeJS.Timeout>();
  let stopped = false;
  const attempt = (receipt: Receipt, tries: number, since: number) =>
    handle(receipt).catch((err: unknown) => {
      const { sessionId, waMessageId } = receipt;
      if (stopped || Date.now() - since >= GIVE_UP_MS) return log.error({ err, sessionId, waMessageId }, 'receipt not recorded; given up');
      if (tries === 0) log.warn({ err, sessionId, waMessageId }, 'receipt not recorded yet; trying again until the store answers');
      const timer = setTimeout(
        () => {
          waiting.delete(timer);
          void attempt(receipt, tries + 1, since);
        },
        Math.min(100 * 2 ** tries, MAX_PAUSE_MS),
      );
      waiting.add(timer);
    });
  return {
    take: (receipt: Receipt) => void attempt(receipt, 0, Date.now()),
    stop() {
      stopped = true;
      if (waiting.size) log.error({ receipts: waiting.size }, 'receipts not recorded at the stop; their messages keep their last status');
      for (const timer of waiting) clearTimeout(timer);
      waiting.clear();
    },
  };
};
