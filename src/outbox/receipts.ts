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
export const createReceiptHandler =
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
