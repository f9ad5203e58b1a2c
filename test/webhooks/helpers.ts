import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { json, linkedSession } from '../broadcasts/helpers.js';
import { startWebhookReceiver, type Answer, type ReceivedDelivery, type WebhookReceiver } from '../support/webhook-receiver.js';

export interface Endpoint {
  id: string;
  url: string;
  events: string[];
  sessionId?: string;
  enabled: boolean;
  disabledReason?: { code: string; message: string; at: string };
  stats?: { pending: number; delivered: number; dead: number };
  secret?: string;
}
export interface Delivery {
  id: string;
  endpointId: string;
  event: { id: string; type: string; createdAt: string };
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  nextAttemptAt?: string;
  lastError?: { code?: string; status?: number; message: string };
  deliveredAt?: string;
}

/** Settings every webhook test server shares: receivers on loopback are allowed, retries come fast. */
export const WEBHOOK_TEST_ENV = {
  LOG_LEVEL: 'warn',
  WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
  WEBHOOK_RETRY_BASE_MS: '20',
  WEBHOOK_RETRY_MAX_MS: '100',
};

export { json, linkedSession };

export const createEndpoint = async (server: StartedServer, body: Record<string, unknown>) => {
  const res = await server.api('/api/webhooks', { method: 'POST', json: body });
  const answer = await json<Endpoint & { error?: unknown }>(res);
  assert.equal(res.status, 201, JSON.stringify(answer));
  assert.match(answer.secret ?? '', /^whsec_/);
  return answer as Endpoint & { secret: string };
};

export const endpoint = async (server: StartedServer, id: string) => json<Endpoint>(await server.api(`/api/webhooks/${id}`));

/** Every delivery of the endpoint (newest first), page by page; `status` filters. */
export const deliveries = async (server: StartedServer, id: string, status?: string) => {
  const all: Delivery[] = [];
  for (let before: string | null | undefined; before !== null;) {
    const query = new URLSearchParams({ limit: '100', ...(status ? { status } : {}), ...(before ? { before } : {}) });
    const page = await json<{ items: Delivery[]; nextCursor: string | null }>(await server.api(`/api/webhooks/${id}/deliveries?${query}`));
    all.push(...page.items);
    before = page.nextCursor;
  }
  return all;
};

export const sendText = async (server: StartedServer, session: string, text: string, to = '+4915100000010') => {
  const res = await server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: { to, text } });
  assert.equal(res.status, 202);
  return (await json<{ id: string }>(res)).id;
};

export const messageStatus = async (server: StartedServer, id: string) =>
  (await json<{ status: string }>(await server.api(`/api/messages/${id}`))).status;

/** Waits until every delivery of the endpoint is `status` (and there is at least `min` of them). */
export const untilAll = (server: StartedServer, id: string, status: Delivery['status'], min = 1, timeoutMs = 30_000) =>
  waitFor(
    `every delivery of ${id} ${status}`,
    async () => {
      const all = await deliveries(server, id);
      return all.length >= min && all.every((d) => d.status === status) ? all : undefined;
    },
    timeoutMs,
  );

/** The signature check a receiver runs, with the documented function. */
export const assertSigned = (r: ReceivedDelivery, secret: string) => {
  const header = r.headers['x-hashsend-signature'] as string | undefined;
  const result = verifyWebhookSignature({ payload: r.raw, header, secret });
  assert.deepEqual(result.ok, true, `${r.body.type} ${r.body.id}: ${JSON.stringify(result)} (${header})`);
  assert.equal(r.headers['x-hashsend-event-id'], r.body.id);
  assert.equal(r.headers['x-hashsend-event-type'], r.body.type);
  assert.equal(r.headers['user-agent'], 'hashsend-webhooks');
  assert.match(String(r.headers['content-type']), /^application\/json/);
};

export const MESSAGE_ORDER = ['message.queued', 'message.sent', 'message.delivered', 'message.read'];

export interface Harness {
  server: StartedServer;
  receiver: WebhookReceiver;
}

/** A hashsend server (sandbox driver) and a webhook receiver for the tests of one file, stopped after them. */
export const serverWithReceiver = (env: Record<string, string>, answer?: Answer): Harness => {
  const h = {} as Harness;
  before(async () => {
    h.server = await startServer(env);
    h.receiver = await startWebhookReceiver(answer);
  });
  after(async () => {
    await h.receiver?.close();
    await h.server?.close();
  });
  return h;
};
