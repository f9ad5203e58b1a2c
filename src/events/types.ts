import type { MessageRecord, MessageStatus } from '../outbox/types.js';
import type { SessionEvent } from '../whatsapp/sessions.js';

export type { SessionEvent };

/** A message was queued, or its status moved (`sending`, `sent`, `delivered`, `read`, `failed`). */
export interface MessageEvent {
  type: 'message';
  message: MessageRecord;
  /** The status before this change; absent when the message was just queued. */
  previousStatus?: MessageStatus;
}

export type HashsendEvent = SessionEvent | MessageEvent;
