import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import {
  assertSigned,
  createEndpoint,
  linkedSession,
  MESSAGE_ORDER,
  messageStatus,
  sendText,
  untilAll,
  WEBHOOK_TEST_ENV,
  serverWithReceiver,
} from './helpers.js';

// The first 15 requests get 500, whatever they carry; then every one is accepted.
const h = serverWithReceiver(WEBHOOK_TEST_ENV, (n) => (n <= 15 ? 500 : 200));

test('a receiver that refuses its first deliveries: every event arrives once per id, in order per message, each signature verifies', async () => {
  await linkedSession(h.server, 'shop');
  const hook = await createEndpoint(h.server, { url: h.receiver.url, events: ['*'], sessionId: 'shop', description: 'CRM' });
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push(await sendText(h.server, 'shop', `order ${i}`, `+49151000000${10 + i}`));
  for (const id of ids) await waitFor(`${id} read`, async () => ((await messageStatus(h.server, id)) === 'read' ? true : undefined));
  const all = await untilAll(h.server, hook.id, 'delivered', ids.length * MESSAGE_ORDER.length);

  const accepted = h.receiver.accepted();
  assert.ok(h.receiver.requests.length > accepted.length, 'some requests were refused');
  // Once per event id, and every event the endpoint lists as delivered.
  const eventIds = accepted.map((r) => r.body.id);
  assert.equal(new Set(eventIds).size, eventIds.length, 'an event was accepted twice');
  assert.deepEqual(new Set(eventIds), new Set(all.map((d) => d.event.id)));
  for (const r of h.receiver.requests) assertSigned(r, hook.secret);

  // Per message, the statuses in the order they happened: none missing, none out of order.
  for (const id of ids) {
    const types = accepted.filter((r) => r.body.data.id === id).map((r) => r.body.type);
    assert.deepEqual(types, MESSAGE_ORDER, id);
  }
  // `data` is the message as GET /api/messages/:id shows it.
  const read = accepted.find((r) => r.body.type === 'message.read' && r.body.data.id === ids[0])!;
  assert.deepEqual(read.body.data, await (await h.server.api(`/api/messages/${ids[0]}`)).json());
  // Another session's events are not this endpoint's.
  assert.ok(accepted.every((r) => !r.body.type.startsWith('session.') || (r.body.data as { id?: string }).id === 'shop'));

  const retried = all.filter((d) => d.attempts > 1);
  assert.ok(retried.length > 0);
  for (const d of retried) assert.deepEqual([d.lastError?.code, d.lastError?.status], ['failed_status', 500]);
  const metrics = await (await h.server.api('/metrics')).text();
  assert.match(metrics, /hashsend_webhook_attempts_total\{outcome="failed_status"\} 15\b/);
  assert.match(metrics, new RegExp(`hashsend_webhook_backlog\\{endpoint="${hook.id}"\\} 0\\b`));
});

test('an endpoint for some event types gets only those; bad input is refused with a stable code', async () => {
  const only = await startWebhookReceiver();
  try {
    await linkedSession(h.server, 'narrow');
    const hook = await createEndpoint(h.server, { url: only.url, events: ['message.delivered'], sessionId: 'narrow' });
    const id = await sendText(h.server, 'narrow', 'just delivered');
    await untilAll(h.server, hook.id, 'delivered', 1);
    await waitFor('read', async () => ((await messageStatus(h.server, id)) === 'read' ? true : undefined));
    assert.deepEqual(
      only.accepted().map((r) => [r.body.type, r.body.data.id]),
      [['message.delivered', id]],
    );
  } finally {
    await only.close();
  }

  const refused = async (body: unknown, status: number, code: string) => {
    const res = await h.server.api('/api/webhooks', { method: 'POST', json: body });
    assert.deepEqual([res.status, ((await res.json()) as { error: { code: string } }).error.code], [status, code], JSON.stringify(body));
  };
  await refused({ url: 'http://127.0.0.1:9/x', events: ['message.sending'] }, 400, 'invalid_request');
  await refused({ url: 'http://127.0.0.1:9/x', events: [] }, 400, 'invalid_request');
  await refused({ url: 'ftp://127.0.0.1/x', events: ['*'] }, 400, 'invalid_request');
  await refused({ url: 'http://127.0.0.1:9/x', events: ['*'], sessionId: 'nobody' }, 404, 'session_not_found');
  const missing = await h.server.api('/api/webhooks/whe_missing');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'webhook_not_found');
});

test('CRUD: the secret is shown only at creation; PATCH changes the events; DELETE removes the endpoint and its deliveries', async () => {
  const hook = await createEndpoint(h.server, { url: 'http://127.0.0.1:9/x', events: ['message.sent', 'message.sent'] });
  assert.deepEqual(hook.events, ['message.sent']);
  const listed = (await (await h.server.api('/api/webhooks')).json()) as { items: Record<string, unknown>[] };
  const mine = listed.items.find((e) => e.id === hook.id)!;
  assert.equal(mine.secret, undefined);
  assert.deepEqual(mine.stats, { pending: 0, delivered: 0, dead: 0 });
  const patched = await h.server.api(`/api/webhooks/${hook.id}`, { method: 'PATCH', json: { events: ['*'], description: 'all' } });
  assert.equal(patched.status, 200);
  const body = (await patched.json()) as Record<string, unknown>;
  assert.deepEqual([body.events, body.description, body.secret], [['*'], 'all', undefined]);
  assert.equal((await h.server.api(`/api/webhooks/${hook.id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await h.server.api(`/api/webhooks/${hook.id}`)).status, 404);
  assert.equal((await h.server.api(`/api/webhooks/${hook.id}/deliveries`)).status, 404);
});
