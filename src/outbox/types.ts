import type { OutboundContent, SendRequest } from '../whatsapp/driver.js';

export type MessageStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed';

/** A status only moves forward; receipts that arrive out of order never take one back. */
export const STATUS_RANK: Record<MessageStatus, number> = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, failed: 5 };

export interface MessageRecord {
  /** Ours, and the WhatsApp message id we ask for: a retry after a crash reuses it. */
  id: string;
  sessionId: string;
  /** The recipient's JID. */
  to: string;
  type: OutboundContent['type'];
  content: OutboundContent;
  status: MessageStatus;
  error?: { code: string; message: string };
  /** WhatsApp's id, once sent. */
  waMessageId?: string;
  attempts: number;
  /** The message's place in its session's queue; sends leave in this order. */
  position: number;
  createdAt: string;
  updatedAt: string;
  sentAt?: string;
  deliveredAt?: string;
  readAt?: string;
  /** `sha256` is the blob queued for sending, `sentSha256` what the driver's hash guard saw leave. */
  media?: { sha256: string; sentSha256?: string; sourceSha256?: string };
  /** The broadcast recipient this message is for, so its status events update that recipient. */
  broadcast?: { id: string; index: number };
  /** Our id of the inbound message this one answers (as the inbox lists it). */
  replyTo?: string;
  /** That message as the driver quotes it. */
  quoted?: SendRequest['quoted'];
}

export const isFinished = (status: MessageStatus) => status !== 'queued' && status !== 'sending';
