import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { createBroadcast, linkedSession, numbers, report, untilStatus } from '../broadcasts/helpers.js';
import { assertSigned, createEndpoint, WEBHOOK_TEST_ENV } from './helpers.js';

let server: StartedServer;
let receiver: WebhookReceiver;
before(async () => {
  server = await startServer(WEBHOOK_TEST_ENV);
  // A few refusals on the way, so order and completeness hold through retries too.
  receiver = await startWebhookReceiver((n) => (n % 17 === 0 ? 500 : 200));
});
after(async () => {
  await receiver.close();
  await server.close();
});

test('status webhooks of a 100-recipient broadcast: message.sent and message.delivered for every recipient, no gaps', async () => {
  await linkedSession(server, 'promo');
  const statuses = await createEndpoint(server, { url: receiver.url, events: ['message.sent', 'message.delivered'], sessionId: 'promo' });
  const progress = await createEndpoint(server, { url: receiver.url, events: ['broadcast.completed'], sessionId: 'promo' });
  const created = await createBroadcast(server, 'promo', {
    name: 'promo',
    recipients: numbers(100).map((to) => ({ to })),
    message: { text: 'Spring sale' },
    pace: { perMinute: 0 },
  });
  await untilStatus(server, created.id, 'completed', 120_000);
  const rows = await report(server, created.id);
  const messageIds = rows.map((r) => r.messageId!);
  assert.equal(new Set(messageIds).size, 100);
  await waitFor('every delivered receipt', async () => {
    const rowsNow = await report(server, created.id);
    return rowsNow.every((r) => ['delivered', 'read'].includes(r.status)) ? true : undefined;
  });

  const of = (type: string) =>
    waitFor(`${type} for every recipient`, async () => {
      const got = receiver.accepted().filter((r) => r.body.type === type);
      return new Set(got.map((r) => r.body.data.id)).size === 100 ? got : undefined;
    });
  const sent = await of('message.sent');
  const delivered = await of('message.delivered');
  assert.deepEqual(new Set(sent.map((r) => r.body.data.id)), new Set(messageIds));
  assert.deepEqual(new Set(delivered.map((r) => r.body.data.id)), new Set(messageIds));
  // Exactly one each: no event twice, and for each recipient sent before delivered.
  assert.equal(sent.length, 100);
  assert.equal(delivered.length, 100);
  const accepted = receiver.accepted();
  for (const id of messageIds) {
    const types = accepted.filter((r) => r.body.data.id === id).map((r) => r.body.type);
    assert.deepEqual(types, ['message.sent', 'message.delivered'], id);
  }
  for (const r of accepted.filter((x) => x.body.type.startsWith('message.'))) {
    assertSigned(r, statuses.secret);
    assert.equal((r.body.data as { sessionId: string }).sessionId, 'promo');
  }
  const completed = await waitFor('broadcast.completed', async () =>
    receiver.accepted().find((r) => r.body.type === 'broadcast.completed'),
  );
  assertSigned(completed, progress.secret);
  assert.deepEqual([completed.body.data.id, completed.body.data.status], [created.id, 'completed']);
  // Webhook writes never made the sending side's writes wait out the lock.
  assert.doesNotMatch(server.output(), /SQLITE_BUSY|could not be updated|could not keep/);
});
