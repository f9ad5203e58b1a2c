import type { HashsendEvent } from '../events/types.js';
import { inboundView } from '../messages/inbound-view.js';
import { messageView } from '../messages/view.js';
import type { WebhookEventType } from './types.js';

/** A bus event as webhooks carry it: its type, the record as our API shows it, its session and ordering key. */
export interface WebhookEventSource {
  type: WebhookEventType;
  data: unknown;
  sessionId: string;
  /** Events sharing a key reach an endpoint one at a time, in order: the message, broadcast or session. */
  orderingKey: string;
}

const MESSAGE_TYPES: Partial<Record<string, WebhookEventType>> = {
  queued: 'message.queued',
  sent: 'message.sent',
  delivered: 'message.delivered',
  read: 'message.read',
  failed: 'message.failed',
};

/** The webhook event a bus event makes, or undefined for those no webhook reports (`sending`, receipts, …). */
export const toWebhookEvent = (event: HashsendEvent): WebhookEventSource | undefined => {
  switch (event.type) {
    case 'message': {
      const type = MESSAGE_TYPES[event.message.status];
      const m = event.message;
      return type && { type, data: messageView(m), sessionId: m.sessionId, orderingKey: `message:${m.id}` };
    }
    case 'received': {
      const m = event.message;
      return { type: 'message.received', data: inboundView(m), sessionId: m.sessionId, orderingKey: `received:${m.id}` };
    }
    case 'state':
      return { type: 'session.state', data: event.session, sessionId: event.session.id, orderingKey: `session:${event.session.id}` };
    case 'qr': {
      const { sessionId, qr, expiresAt } = event;
      return { type: 'session.qr', data: { sessionId, qr, expiresAt }, sessionId, orderingKey: `session:${sessionId}` };
    }
    case 'broadcast': {
      const b = event.broadcast;
      const type = b.status === 'paused' ? 'broadcast.paused' : b.status === 'completed' ? 'broadcast.completed' : 'broadcast.progress';
      return { type, data: b, sessionId: b.sessionId, orderingKey: `broadcast:${b.id}` };
    }
    case 'optout': {
      const o = event.optOut;
      return { type: 'optout.added', data: o, sessionId: o.sessionId, orderingKey: `optout:${o.sessionId}:${o.phone}` };
    }
    default:
      return undefined;
  }
};
