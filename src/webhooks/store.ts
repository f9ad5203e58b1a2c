import type { DeliveryStatus, StoredDelivery, WebhookDelivery, WebhookEndpoint } from './types.js';

/** What an attempt changed: the delivery's fields, and when it is due next (null: not due, it is done). */
export interface DeliveryUpdate {
  seq: number;
  patch: Partial<Pick<WebhookDelivery, 'status' | 'attempts' | 'firstAttemptAt' | 'lastAttemptAt' | 'lastError' | 'deliveredAt'>>;
  /** Null once it is delivered or dead: then the next one of its key becomes due, in the same write. */
  nextAttemptAt: number | null;
  /**
   * Written only while `key` holds `value` (the endpoint's lease, still this node's): an attempt that outlived its
   * node's lease leaves no trace over the new owner's. Checked by the Redis store; one process needs none.
   */
  fence?: { key: string; value: string };
}

/**
 * Endpoints and their deliveries: the embedded SQLite database (a table beside the broadcasts', in DATA_DIR's
 * file), or Redis when REDIS_URL is set (store-redis.ts: shared by every node). Writes made while
 * one runs are committed together; each promise resolves once its write is durable.
 *
 * Per endpoint and ordering key, only the oldest pending delivery is due (has a `nextAttemptAt`); the next one
 * becomes due, in the same commit, when it is delivered or dead.
 */
export interface WebhookStore {
  endpoints(): Promise<WebhookEndpoint[]>;
  putEndpoint(endpoint: WebhookEndpoint): Promise<void>;
  /** Removes the endpoint and every delivery of it. */
  removeEndpoint(id: string): Promise<void>;
  /** Stores a new pending delivery, due at once unless an earlier one of its key is pending; resolves with its seq. */
  addDelivery(delivery: WebhookDelivery): Promise<number>;
  updateDelivery(update: DeliveryUpdate): Promise<void>;
  /** Pending deliveries of an endpoint with a seq above `after`, in seq order (`nextAttemptAt` on each key's oldest). */
  pending(endpointId: string, page: { after: number; limit: number }): Promise<StoredDelivery[]>;
  getDelivery(endpointId: string, id: string): Promise<StoredDelivery | undefined>;
  /** Newest first; `before` is a `seq` from the previous page. */
  listDeliveries(endpointId: string, page: { status?: DeliveryStatus; limit: number; before?: number }): Promise<StoredDelivery[]>;
  /** Dead deliveries of every endpoint, newest first; `before` is a `seq` from the previous page. */
  deadLetters(page: { limit: number; before?: number }): Promise<StoredDelivery[]>;
  /**
   * Makes deliveries pending and due at `now` again, with a new retry period: one by id, or all of a status.
   * Resolves with how many changed (a delivery already pending is left as it is).
   */
  requeue(endpointId: string, which: { id: string } | { status: DeliveryStatus }, now: number): Promise<number>;
  /** A re-enabled endpoint: its due deliveries are due now, each with a new retry period. */
  resume(endpointId: string, now: number): Promise<void>;
  /** Removes up to `limit` delivered deliveries created before `before` (ISO time); resolves with how many. */
  prune(before: string, limit: number): Promise<number>;
  /** Deliveries per endpoint and status, for metrics and endpoint stats. */
  counts(): Promise<{ endpointId: string; status: DeliveryStatus; count: number }[]>;
  close(): Promise<void>;
}
