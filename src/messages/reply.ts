import { HashsendError } from '../errors.js';
import type { InboundMessage, OptOut } from '../events/types.js';
import type { MessageRecord } from '../outbox/types.js';
import { toJid } from '../whatsapp/recipient.js';

/** The JID an inbound message's `chat` or `from` names, or undefined for one `toJid` does not take. */
const jidOf = (value: string) => {
  try {
    return toJid(value);
  } catch {
    return undefined;
  }
};

/**
 * What a reply's record carries: our id of the message it answers and, for the driver, the WhatsApp message to
 * quote. The message must have come into this session in the chat the reply goes to (the person, or the group it
 * was written in) or from that person: otherwise `404 reply_target_not_found`.
 */
export const replyTarget = (
  message: InboundMessage | undefined,
  { sessionId, jid, replyTo }: { sessionId: string; jid: string; replyTo: string },
): Pick<MessageRecord, 'replyTo' | 'quoted'> => {
  if (!message || message.sessionId !== sessionId || (jidOf(message.chat) !== jid && jidOf(message.from) !== jid)) {
    throw new HashsendError(
      'reply_target_not_found',
      404,
      `replyTo "${replyTo.slice(0, 64)}" names no message that ${jid.slice(0, jid.indexOf('@'))} sent to session "${sessionId}"; give an id the inbox lists (GET /api/sessions/${sessionId}/inbox)`,
      { replyTo: replyTo.slice(0, 64) },
    );
  }
  return { replyTo: message.id, quoted: { waMessageId: message.waMessageId, from: message.from, chat: message.chat } };
};

/** `409 opted_out`: says who, since when and why, and the two ways a message can still reach them. */
export const optedOut = ({ sessionId, phone, source, createdAt }: OptOut) =>
  new HashsendError(
    'opted_out',
    409,
    `+${phone} opted out of messages from session "${sessionId}" (${source === 'keyword' ? 'they sent an opt-out keyword' : 'added through the API'}, ${createdAt}). A reply to one of their messages still goes (replyTo); to send anything else, take them off the list first: DELETE /api/sessions/${sessionId}/opt-outs/${phone}`,
    { phone, source, createdAt },
  );
