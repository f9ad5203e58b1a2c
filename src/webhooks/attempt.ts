import type { DeliveryUpdate } from './store.js';
import type { AttemptResult } from './transport.js';
import { decideRetry, type RetryOptions } from './retry-policy.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';
import type { StoredDelivery, WebhookEndpoint } from './types.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** The secrets that sign now: the current one, and the one before a rotation until its grace period ends. */
export const signingSecrets = (e: WebhookEndpoint, now: number) => [
  e.secret,
  ...(e.previousSecret && e.previousSecretExpiresAt && Date.parse(e.previousSecretExpiresAt) > now ? [e.previousSecret] : []),
];

/** The headers of one attempt: signed at the moment it leaves, so a retry a day later is not stale to the receiver. */
export const attemptHeaders = (e: WebhookEndpoint, d: StoredDelivery, now: number): Record<string, string> => ({
  // A surface's own header (WASender's X-Webhook-Signature) goes beside ours, and cannot replace one of them.
  ...e.format?.headers,
  'content-type': 'application/json',
  'user-agent': 'hashsend-webhooks',
  [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(d.body, signingSecrets(e, now), Math.floor(now / 1000)),
  'x-hashsend-event-id': d.event.id,
  'x-hashsend-event-type': d.event.type,
  'x-hashsend-delivery-id': d.id,
  'x-hashsend-attempt': String(d.attempts + 1),
});

/** What an attempt's result writes: delivered, due again after a backoff, or dead once the retry period is over. */
export const afterAttempt = (
  d: StoredDelivery,
  result: AttemptResult,
  { startedAt, now, retry }: { startedAt: number; now: number; retry: RetryOptions },
): DeliveryUpdate => {
  const firstAttemptAt = d.firstAttemptAt ?? iso(startedAt);
  const common = { attempts: d.attempts + 1, firstAttemptAt, lastAttemptAt: iso(startedAt) };
  if (result.outcome === 'delivered') {
    return { seq: d.seq, patch: { ...common, status: 'delivered', deliveredAt: iso(now) }, nextAttemptAt: null };
  }
  const lastError = { code: result.outcome, status: result.status, message: result.message };
  const decision = decideRetry({ attempts: common.attempts, firstAttemptAt: Date.parse(firstAttemptAt), now }, retry);
  if (decision.action === 'dead') return { seq: d.seq, patch: { ...common, lastError, status: 'dead' }, nextAttemptAt: null };
  return { seq: d.seq, patch: { ...common, lastError }, nextAttemptAt: now + decision.delayMs };
};
