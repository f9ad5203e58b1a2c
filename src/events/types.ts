import type { BroadcastView } from '../broadcasts/view.js';
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

/**
 * A broadcast's progress: its status moved, or its counts did (published at most a few times a second per
 * broadcast, and at once on a change of status).
 */
export interface BroadcastEvent {
  type: 'broadcast';
  broadcast: BroadcastView;
}

export type HashsendEvent = SessionEvent | MessageEvent | BroadcastEvent;
