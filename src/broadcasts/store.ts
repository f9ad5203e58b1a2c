import type { Broadcast, BroadcastRecipient, BroadcastStatus, RecipientCounts } from './types.js';

/**
 * Broadcasts and their recipients, where queries are needed (counts by status, the report, who is due): the
 * embedded SQLite database by default, Redis structures with REDIS_URL. Both pass test/broadcasts/store.test.ts.
 * Writes made while one runs may be committed together; each promise resolves once its write is durable.
 */
export interface BroadcastStore {
  /** Stores the broadcast and all its recipients (status `pending`) at once: none or all of them. */
  create(broadcast: Broadcast, recipients: BroadcastRecipient[]): Promise<void>;
  get(id: string): Promise<Broadcast | undefined>;
  /** A session's broadcasts, newest first; `before` is a `createdAt` from the previous page. */
  list(sessionId: string, page: { limit: number; before?: string }): Promise<Broadcast[]>;
  /** Broadcasts in any of these states (at start-up: the scheduled, running and paused ones to pick up again). */
  withStatus(statuses: BroadcastStatus[]): Promise<Broadcast[]>;
  /** Applies a change to the broadcast; `updatedAt` is set by the caller. */
  update(id: string, patch: Partial<Omit<Broadcast, 'id' | 'sessionId'>>): Promise<void>;
  updateRecipient(broadcastId: string, index: number, patch: Partial<Omit<BroadcastRecipient, 'broadcastId' | 'index'>>): Promise<void>;
  /** Recipients with status `pending`, lowest index first. */
  pending(broadcastId: string, limit: number): Promise<BroadcastRecipient[]>;
  /** Recipients in list order from index `from`, for the report and for picking up after a crash. */
  recipients(broadcastId: string, page: { from: number; limit: number }): Promise<BroadcastRecipient[]>;
  /** Which broadcast recipient a message is, if any. */
  recipientOfMessage(messageId: string): Promise<{ broadcastId: string; index: number } | undefined>;
  counts(broadcastId: string): Promise<RecipientCounts>;
  /** Messages of the session's broadcasts handed to the outbox at or after `since` (ISO time): the daily cap. */
  queuedSince(sessionId: string, since: string): Promise<number>;
  remove(broadcastId: string): Promise<void>;
  close(): Promise<void>;
}
