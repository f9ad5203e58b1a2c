import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, type StartedServer } from '../support/server.js';
import { createEndpoint, deliveries, linkedSession, sendText, type Endpoint } from '../webhooks/helpers.js';
import { webhookNodes } from './webhooks-nodes.js';

// Leases of 30 s: their periodic sweep never comes within a test, so what arrives came through the notes (pub/sub).
const { ctx, receiver: theReceiver, worker } = webhookNodes({ CLUSTER_LEASE_TTL_MS: '30000' });
const SESSION = 'hooks';

test('an endpoint created on one node is listed on the other; a message sent through the other node produces its webhook; any node shows its deliveries, replays them, disables and enables the endpoint', async () => {
  const receiver = theReceiver();
  const [a, b] = ctx.nodes as [StartedServer, StartedServer];
  await linkedSession(a, SESSION);
  const created = await createEndpoint(a, { url: receiver.url, events: ['message.sent'], sessionId: SESSION });
  const listed = (await (await b.api('/api/webhooks')).json()) as { items: Endpoint[] };
  assert.deepEqual(
    listed.items.map((e) => e.id),
    [created.id],
  );
  assert.equal(((await (await b.api(`/api/webhooks/${created.id}`)).json()) as Endpoint).url, receiver.url);

  const messageId = await sendText(b, SESSION, 'through the other node');
  const got = await waitFor('the webhook of the message', async () =>
    receiver.accepted().find((d) => (d.body.data as { id?: string }).id === messageId),
  );
  assert.equal(got.body.type, 'message.sent');
  // Both nodes show the same delivery, delivered, and the same stats: once its answer is recorded, a moment after
  // the receiver had the request.
  for (const n of ctx.nodes) {
    const all = await waitFor('the delivery recorded as delivered', async () => {
      const found = await deliveries(n, created.id);
      return found.every((d) => d.status !== 'pending') ? found : undefined;
    });
    assert.deepEqual(
      all.map((d) => [d.id, d.status]),
      [[String(got.headers['x-hashsend-delivery-id']), 'delivered']],
    );
    assert.deepEqual(((await (await n.api(`/api/webhooks/${created.id}`)).json()) as Endpoint).stats, {
      pending: 0,
      delivered: 1,
      dead: 0,
    });
  }
  // A replay asked of the node that does not work the endpoint is made by the one that does: the same delivery again.
  const working = await worker(created.id);
  const other = ctx.nodes.find((n) => n !== working)!;
  const deliveryId = String(got.headers['x-hashsend-delivery-id']);
  const before = receiver.requests.length;
  const replayed = await other.api(`/api/webhooks/${created.id}/deliveries/${deliveryId}/replay`, { method: 'POST' });
  assert.equal(replayed.status, 202, await replayed.clone().text());
  await waitFor('the replayed delivery', async () =>
    receiver.requests.slice(before).find((d) => d.headers['x-hashsend-delivery-id'] === deliveryId && d.answered === 200),
  );

  // Disabled through the node that does not work it: the worker stops; enabled there again: the worker delivers.
  const patch = (enabled: boolean) => other.api(`/api/webhooks/${created.id}`, { method: 'PATCH', json: { enabled } });
  assert.equal((await patch(false)).status, 200);
  const held = await sendText(other, SESSION, 'while disabled');
  const waiting = await waitFor('the delivery of the message sent while disabled', async () =>
    (await deliveries(working, created.id)).find((d) => d.status === 'pending'),
  );
  assert.equal(waiting.attempts, 0);
  const enabledAt = receiver.requests.length;
  assert.equal((await patch(true)).status, 200);
  const late = await waitFor('the delivery once enabled', async () =>
    receiver.accepted().find((d) => (d.body.data as { id?: string }).id === held),
  );
  assert.ok(receiver.requests.indexOf(late) >= enabledAt);
  assert.equal(String(late.headers['x-hashsend-delivery-id']), waiting.id);

  await other.api(`/api/webhooks/${created.id}`, { method: 'DELETE' });
  for (const n of ctx.nodes) assert.equal((await n.api(`/api/webhooks/${created.id}`)).status, 404);
});
