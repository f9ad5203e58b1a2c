import type { MessageRecord } from '../outbox/types.js';

/** A message as the API shows it (`GET /api/messages/:id`) and as the `message.*` webhooks carry it. */
export const messageView = (m: MessageRecord) => ({
  id: m.id,
  sessionId: m.sessionId,
  to: m.to,
  type: m.type,
  status: m.status,
  ...(m.status === 'failed' && m.error ? { error: m.error } : {}),
  ...((m.status === 'queued' || m.status === 'sending') && m.error ? { lastError: m.error } : {}),
  waMessageId: m.waMessageId ?? null,
  attempts: m.attempts,
  createdAt: m.createdAt,
  updatedAt: m.updatedAt,
  sentAt: m.sentAt ?? null,
  deliveredAt: m.deliveredAt ?? null,
  readAt: m.readAt ?? null,
  ...(m.media ? { media: m.media } : {}),
  ...(m.replyTo ? { replyTo: m.replyTo } : {}),
});

export type MessageView = ReturnType<typeof messageView>;
