import type { BroadcastView } from '../broadcasts/view.js';
import type { MessageRecord, MessageStatus } from '../outbox/types.js';
import type { SessionEvent } from '../whatsapp/sessions.js';
import type { InboundDriverMessage } from '../whatsapp/driver.js';

export type { SessionEvent };

/** A message was queued, or its status moved (`sending`, `sent`, `delivered`, `read`, `failed`). */
export interface MessageEvent {
  type: 'message';
  message: MessageRecord;
  /** The status before this change; absent when the message was just queued. */
  previousStatus?: MessageStatus;
}

/**
 * A broadcast's progress: its status moved, or its counts did (published at most a few times a second per
 * broadcast, and at once on a change of status).
 */
export interface BroadcastEvent {
  type: 'broadcast';
  broadcast: BroadcastView;
}

/** An inbound message as the inbox stored it: `GET /api/sessions/:id/inbox` lists these. */
export interface InboundMessage extends InboundDriverMessage {
  /** Ours, unique across sessions. */
  id: string;
  sessionId: string;
  /** When hashsend stored it (ISO 8601). */
  receivedAt: string;
}

/** An inbound message was stored (published once per message, however often the driver delivered it). */
export interface ReceivedEvent {
  type: 'received';
  message: InboundMessage;
}

/** A number on a session's suppression list: it gets no broadcast and no send that is not a reply. */
export interface OptOut {
  sessionId: string;
  /** Digits only, in international form (`4915123456789`). */
  phone: string;
  jid: string;
  /** `keyword`: the customer wrote one of OPTOUT_KEYWORDS; `api`: added through the API. */
  source: 'keyword' | 'api';
  /** The inbound message that opted out, for `keyword`. */
  messageId?: string;
  createdAt: string;
}

/** A number was added to a session's suppression list (not published again for a number already on it). */
export interface OptOutEvent {
  type: 'optout';
  optOut: OptOut;
}

export type HashsendEvent = SessionEvent | MessageEvent | BroadcastEvent | ReceivedEvent | OptOutEvent;
