import { createHmac, randomInt } from 'node:crypto';
import { fetch, type Agent } from 'undici';
import type { FakeNumber, GraphState, MessageStatus, WebhookPost } from './state.ts';

/** `sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>`, Meta's X-Hub-Signature-256. */
export const signature = (appSecret: string, raw: string): string => `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;

export interface PostMeta {
  kind: WebhookPost['kind'];
  messageId?: string;
  status?: MessageStatus;
}

/**
 * Posts a number's webhooks one at a time in order (a later status never overtakes an earlier one), signs each
 * body, retries a refused or failed post up to `attempts` times in all, and records every try.
 */
export class WebhookSender {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly state: GraphState,
    private readonly agent: Agent,
    private readonly signal: AbortSignal,
    private readonly attempts: number,
  ) {}

  /** Runs `job` after the number's earlier webhook work; the returned promise settles when `job` has. */
  enqueue(phoneNumberId: string, job: () => Promise<void>): Promise<void> {
    const run = (this.chains.get(phoneNumberId) ?? Promise.resolve()).then(() => (this.signal.aborted ? undefined : job()));
    const tail = run.catch(() => undefined);
    this.chains.set(phoneNumberId, tail);
    return run;
  }

  /** Resolves once every webhook queued so far (and any queued meanwhile) has been posted. */
  async settled(): Promise<void> {
    for (;;) {
      const tails = [...this.chains.values()];
      await Promise.all(tails);
      if ([...this.chains.values()].every((t, i) => t === tails[i]) && this.chains.size === tails.length) return;
    }
  }

  /** Posts one webhook body, with retries; answers the last HTTP status (0: never answered, or no callback). */
  async post(n: FakeNumber, payload: Record<string, unknown>, meta: PostMeta): Promise<number> {
    const url = n.callbackUrl;
    if (!url) return 0;
    const raw = JSON.stringify(payload);
    const sig = signature(n.appSecret, raw);
    let answered = 0;
    for (let attempt = 1; attempt <= this.attempts && !this.signal.aborted; attempt++) {
      const record: WebhookPost = {
        phoneNumberId: n.phoneNumberId,
        url,
        body: payload,
        raw,
        signature: sig,
        attempt,
        answered: 0,
        ...meta,
      };
      try {
        const res = await fetch(url, {
          method: 'POST',
          body: raw,
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig, 'user-agent': 'facebookexternalua' },
          dispatcher: this.agent,
          signal: this.signal,
        });
        await res.arrayBuffer().catch(() => undefined);
        answered = record.answered = res.status;
      } catch (err) {
        record.error = (err as Error).message;
      }
      this.state.webhookPosts.push(record);
      this.state.changed();
      if (answered >= 200 && answered < 300) break;
    }
    return answered;
  }

  /** Meta's subscription handshake: GET the callback with hub.* and expect the challenge echoed with a 200. */
  async verify(n: FakeNumber, verifyToken: string): Promise<{ ok: boolean; status: number; body: string }> {
    if (!n.callbackUrl) return { ok: false, status: 0, body: '' };
    const challenge = String(randomInt(1_000_000_000, 2_000_000_000));
    const url = new URL(n.callbackUrl);
    url.searchParams.set('hub.mode', 'subscribe');
    url.searchParams.set('hub.challenge', challenge);
    url.searchParams.set('hub.verify_token', verifyToken);
    try {
      const res = await fetch(url, { dispatcher: this.agent, signal: this.signal, headers: { 'user-agent': 'facebookplatform/1.0' } });
      const body = await res.text();
      return { ok: res.status === 200 && body.trim() === challenge, status: res.status, body };
    } catch (err) {
      return { ok: false, status: 0, body: (err as Error).message };
    }
  }
}
