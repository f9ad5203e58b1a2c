import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server.js';
import { createEndpoint, deliveries, linkedSession, sendText } from '../webhooks/helpers.js';
import { webhookNodes } from './webhooks-nodes.js';

const { ctx, receiver: theReceiver, worker } = webhookNodes();
const SESSION = 'hooks';

test('kill -9 of the node working an endpoint while its receiver is down: once the receiver is up, the survivor delivers every pending delivery', async () => {
  const receiver = theReceiver();
  await linkedSession(ctx.nodes[0]!, SESSION);
  const endpoint = await createEndpoint(ctx.nodes[1]!, { url: receiver.url, events: ['message.sent'], sessionId: SESSION });
  const working = await worker(endpoint.id);
  // Down: every attempt fails, and is retried.
  receiver.answer = () => 503;
  const total = 40;
  for (let i = 0; i < total; i++) await sendText(ctx.nodes[i % 2]!, SESSION, `while down ${i}`, `+49151000${String(i).padStart(5, '0')}`);
  const pending = await waitFor(`${total} pending deliveries`, async () => {
    const all = await deliveries(working, endpoint.id);
    return all.length === total && all.every((d) => d.status === 'pending') ? all : undefined;
  });
  await waitFor('an attempt refused by the receiver', async () => receiver.requests.find((r) => r.answered === 503));
  await working.kill('SIGKILL');
  const survivor = ctx.nodes.find((n) => n !== working)!;
  receiver.answer = () => 200;

  await waitFor(
    'every delivery delivered, through the survivor',
    async () => {
      const all = await deliveries(survivor, endpoint.id);
      return all.length === total && all.every((d) => d.status === 'delivered') ? all : undefined;
    },
    30_000,
  );
  // None lost: every delivery id that was pending arrived (once or more: webhooks are at least once).
  const arrived = new Set(receiver.accepted().map((r) => String(r.headers['x-hashsend-delivery-id'])));
  assert.deepEqual(
    pending.map((d) => d.id).filter((id) => !arrived.has(id)),
    [],
  );
  assert.equal(await worker(endpoint.id), survivor);
});
