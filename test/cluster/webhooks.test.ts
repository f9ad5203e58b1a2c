import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { waitFor } from '../support/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { createEndpoint, deliveries, linkedSession, sendText, WEBHOOK_TEST_ENV } from '../webhooks/helpers.js';
import { NODE_IDS, twoNodes } from './two-nodes.js';

const { ctx } = twoNodes({ ...WEBHOOK_TEST_ENV, LOG_LEVEL: 'info' });
const SESSION = 'hooks';
let receiver: WebhookReceiver;
let client: ReturnType<typeof createClient> | undefined;
before(async () => {
  receiver = await startWebhookReceiver();
});
after(async () => {
  await client?.close();
  await receiver?.close();
});
/** A connection of the test's own to the nodes' Redis (opened once they run). */
const redis = async () => {
  if (!client) {
    client = createClient({ url: ctx.redis.url });
    // Redis is stopped with the nodes, maybe before this connection is closed.
    client.on('error', () => undefined);
    await client.connect();
  }
  return client;
};

const node = (id: string) => ctx.nodes[NODE_IDS.indexOf(id as (typeof NODE_IDS)[number])]!;

/** The node working the endpoint's deliveries: the holder of its lease in Redis, once there is one. */
const worker = (endpointId: string) =>
  waitFor(`a node working ${endpointId}`, async () => {
    const value = await (await redis()).get(`hs:lease:webhook:${endpointId}`);
    return value ? node(value.slice(0, value.lastIndexOf(':'))) : undefined;
  });

test('kill -9 of the node working an endpoint while its receiver is down: once the receiver is up, the survivor delivers every pending delivery', async () => {
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
