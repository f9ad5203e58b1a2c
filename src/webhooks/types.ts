/** Every event type an endpoint may ask for; `*` in an endpoint's list means all of them. */
export const WEBHOOK_EVENT_TYPES = [
  'session.state',
  'session.qr',
  'message.queued',
  'message.sent',
  'message.delivered',
  'message.read',
  'message.failed',
  'message.received',
  'broadcast.progress',
  'broadcast.paused',
  'broadcast.completed',
  'optout.added',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Why an endpoint stopped getting attempts. */
export interface DisabledReason {
  /** `failing`: every delivery failed for WEBHOOK_DISABLE_AFTER_MS. */
  code: 'failing';
  message: string;
  at: string;
}

/**
 * A body shape other than hashsend's `{ id, type, createdAt, data }`: the name of a renderer given to the engine
 * (src/webhooks/formats.ts) and what that renderer needs to know of the endpoint.
 */
export interface EndpointFormat {
  name: string;
  /** Headers every attempt carries beside hashsend's own (a surface's own signature header). */
  headers?: Record<string, string>;
  [option: string]: unknown;
}

/** An endpoint as stored: the secrets never leave the service but at creation and rotation. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  /** Event types, or `['*']`. */
  events: string[];
  /** Only this session's events; absent: every session's. */
  sessionId?: string;
  description?: string;
  /** Absent: hashsend's own body. Set by the surface that manages the endpoint (a WASender session's webhook). */
  format?: EndpointFormat;
  enabled: boolean;
  disabledReason?: DisabledReason;
  secret: string;
  /** The secret before the last rotation: it still signs until `previousSecretExpiresAt`. */
  previousSecret?: string;
  previousSecretExpiresAt?: string;
  /** When the run of failed attempts without a success in between began; cleared by a success. */
  failingSince?: string;
  createdAt: string;
  updatedAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface DeliveryError {
  /** `timeout`, `connection_error`, `refused_ssrf`, or `failed_status` with `status`. */
  code?: string;
  /** The receiver's HTTP status. */
  status?: number;
  message: string;
}

/** One event for one endpoint, with the body every attempt sends byte for byte. */
export interface WebhookDelivery {
  id: string;
  endpointId: string;
  event: { id: string; type: WebhookEventType; createdAt: string };
  /** Deliveries of one endpoint with one key go one at a time, in `seq` order. */
  orderingKey: string;
  /** The JSON body, `{ id, type, createdAt, data }`. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  /** Where the retry period starts; cleared by a replay or a re-enable, so each gets a full period. */
  firstAttemptAt?: string;
  lastAttemptAt?: string;
  nextAttemptAt?: string;
  lastError?: DeliveryError;
  deliveredAt?: string;
  createdAt: string;
}

/** A stored delivery with its place in the store's order (newest first lists page on it). */
export interface StoredDelivery extends WebhookDelivery {
  seq: number;
}
