import { HashsendError, isHashsendError } from '../errors.js';
import type { WebhookService } from '../webhooks/service.js';
import type { WasenderSession } from './accounts.js';
import { hashsendEventsOf, WASENDER_FORMAT, type WasenderFormatOptions } from './webhook-format.js';

/** The header WASenderApi's SDKs read the session's webhook secret from, compared as it is. */
export const WASENDER_SIGNATURE_HEADER = 'X-Webhook-Signature';

export interface WasenderWebhooks {
  /** Refuses a webhook URL no delivery could go to (private, unresolvable): 422 on `webhook_url`. */
  check(url: string | null | undefined): Promise<void>;
  /**
   * Makes the session's endpoint match its webhook fields: there while `webhook_url` and `webhook_enabled` are.
   * `enable: false` leaves an endpoint disabled for failing as it is (a reconcile, not the owner asking).
   */
  sync(session: WasenderSession, options?: { enable?: boolean }): Promise<void>;
  drop(id: number): Promise<void>;
}

/** One endpoint per session, named after its integer id, so finding it needs no index of its own. */
const endpointId = (id: number) => `whe_wasender_${id}`;

/**
 * A WASender session's webhook as one of hashsend's endpoints (persisted, retried, SSRF-guarded, on the operator
 * page), scoped to its hashsend session, rendered in WASenderApi's format and signed twice with the session's
 * `webhook_secret`: as WASenderApi does (the secret itself in `X-Webhook-Signature`) and as hashsend does (HMAC).
 * A disabled webhook has no endpoint: nothing is stored for it, so enabling it again sends nothing old.
 */
export const createWasenderWebhooks = ({ webhooks }: { webhooks: Pick<WebhookService, 'putManaged' | 'checkUrl'> }): WasenderWebhooks => ({
  async check(url) {
    if (!url) return;
    try {
      await webhooks.checkUrl(url);
    } catch (err) {
      if (!isHashsendError(err)) throw err;
      throw new HashsendError(err.code, 422, err.message, { ...err.details, issues: [{ path: 'webhook_url', message: err.message }] });
    }
  },
  sync(s, options) {
    if (!s.webhook_enabled || !s.webhook_url) return webhooks.putManaged(endpointId(s.id), null);
    const format: WasenderFormatOptions = {
      name: WASENDER_FORMAT,
      events: s.webhook_events,
      sessionKey: s.api_key,
      headers: { [WASENDER_SIGNATURE_HEADER.toLowerCase()]: s.webhook_secret },
    };
    return webhooks.putManaged(
      endpointId(s.id),
      {
        url: s.webhook_url,
        events: hashsendEventsOf(s.webhook_events),
        sessionId: s.hashsend_session_id,
        description: `WASender session ${s.id} (${s.name})`,
        format,
        secret: s.webhook_secret,
      },
      options,
    );
  },
  drop: (id) => webhooks.putManaged(endpointId(id), null),
});
