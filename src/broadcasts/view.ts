import type { MessageRecord } from '../outbox/types.js';
import type { Broadcast, BroadcastRecipient, RecipientCounts, RecipientStatus } from './types.js';

/** A broadcast as the API and the event stream show it: the stored record with its counts and progress. */
export interface BroadcastView extends Omit<Broadcast, 'content'> {
  message: { type: 'text' | 'media' | 'template'; text?: string; caption?: string; as?: string; filename?: string; template?: string };
  counts: RecipientCounts;
  /** Recipients done with (sent, delivered, read, failed or skipped) out of `total`. */
  progress: { done: number; total: number; percent: number };
  /** When the last recipient should be sent, at the pace and rate so far; null when paused or unknown. */
  expectedEndAt: string | null;
}

const MINUTE_MS = 60_000;

/** The end to expect: at the set pace, or at the rate seen since it started when it has none. */
const expectedEnd = (b: Broadcast, remaining: number, done: number, now: number): string | null => {
  if (b.status === 'completed' || b.status === 'cancelled') return b.finishedAt ?? null;
  if (b.status === 'paused') return null;
  const from = Math.max(now, b.scheduledAt ? Date.parse(b.scheduledAt) : now);
  if (remaining === 0) return new Date(from).toISOString();
  if (b.pace) return new Date(from + (remaining * MINUTE_MS) / b.pace.perMinute).toISOString();
  if (!b.startedAt || done === 0) return null;
  const perRecipient = (now - Date.parse(b.startedAt)) / done;
  return new Date(now + perRecipient * remaining).toISOString();
};

export const broadcastView = (b: Broadcast, counts: RecipientCounts, now = Date.now()): BroadcastView => {
  const { content, ...rest } = b;
  const remaining = counts.pending + counts.queued;
  const done = b.total - remaining;
  return {
    ...rest,
    message:
      content.type === 'text'
        ? { type: 'text', text: content.text }
        : content.type === 'template'
          ? { type: 'template', template: content.name }
          : {
              type: 'media',
              as: content.as,
              ...(content.caption ? { caption: content.caption } : {}),
              ...(content.filename ? { filename: content.filename } : {}),
            },
    counts,
    progress: { done, total: b.total, percent: b.total ? Math.floor((done / b.total) * 1000) / 10 : 100 },
    expectedEndAt: expectedEnd(b, remaining, done, now),
  };
};

const RECIPIENT_STATUS: Record<MessageRecord['status'], RecipientStatus> = {
  queued: 'queued',
  sending: 'queued',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
};
export const RECIPIENT_RANK: Record<RecipientStatus, number> = {
  pending: 0,
  queued: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  failed: 5,
  skipped: 5,
};

/** What a recipient's row says once its message is in this state: every field from the message's own record. */
export const recipientPatch = (m: MessageRecord): Partial<BroadcastRecipient> => ({
  status: RECIPIENT_STATUS[m.status],
  messageId: m.id,
  queuedAt: m.createdAt,
  ...(m.sentAt ? { sentAt: m.sentAt } : {}),
  ...(m.deliveredAt ? { deliveredAt: m.deliveredAt } : {}),
  ...(m.readAt ? { readAt: m.readAt } : {}),
  ...(m.media?.sentSha256 ? { sentSha256: m.media.sentSha256 } : {}),
  ...(m.status === 'failed' && m.error ? { error: m.error } : {}),
});
