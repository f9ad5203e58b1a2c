import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server.js';
import { createBroadcast, linkedSession, numbers, report, untilStatus } from '../broadcasts/helpers.js';
import { assertSigned, createEndpoint, WEBHOOK_TEST_ENV, serverWithReceiver } from './helpers.js';

// A few refusals on the way, so order and completeness hold through retries too.
const h = serverWithReceiver(WEBHOOK_TEST_ENV, (n) => (n % 17 === 0 ? 500 : 200));

test('status webhooks of a 100-recipient broadcast: message.sent and message.delivered for every recipient, no gaps', async () => {
  await linkedSession(h.server, 'promo');
  const statuses = await createEndpoint(h.server, {
    url: h.receiver.url,
    events: ['message.sent', 'message.delivered'],
    sessionId: 'promo',
  });
  const progress = await createEndpoint(h.server, { url: h.receiver.url, events: ['broadcast.completed'], sessionId: 'promo' });
  const created = await createBroadcast(h.server, 'promo', {
    name: 'promo',
    recipients: numbers(100).map((to) => ({ to })),
    message: { text: 'Spring sale' },
    pace: { perMinute: 0 },
  });
  await untilStatus(h.server, created.id, 'completed', 120_000);
  const rows = await report(h.server, created.id);
  const messageIds = rows.map((r) => r.messageId!);
  assert.equal(new Set(messageIds).size, 100);
  await waitFor('every delivered receipt', async () => {
    const rowsNow = await report(h.server, created.id);
    return rowsNow.every((r) => ['delivered', 'read'].includes(r.status)) ? true : undefined;
  });

  const of = (type: string) =>
    waitFor(`${type} for every recipient`, async () => {
      const got = h.receiver.accepted().filter((r) => r.body.type === type);
      return new Set(got.map((r) => r.body.data.id)).size === 100 ? got : undefined;
    });
  const sent = await of('message.sent');
  const delivered = await of('message.delivered');
  assert.deepEqual(new Set(sent.map((r) => r.body.data.id)), new Set(messageIds));
  assert.deepEqual(new Set(delivered.map((r) => r.body.data.id)), new Set(messageIds));
  // Exactly one each: no event twice, and for each recipient sent before delivered.
  assert.equal(sent.length, 100);
  assert.equal(delivered.length, 100);
  const accepted = h.receiver.accepted();
  for (const id of messageIds) {
    const types = accepted.filter((r) => r.body.data.id === id).map((r) => r.body.type);
    assert.deepEqual(types, ['message.sent', 'message.delivered'], id);
  }
  for (const r of accepted.filter((x) => x.body.type.startsWith('message.'))) {
    assertSigned(r, statuses.secret);
    assert.equal((r.body.data as { sessionId: string }).sessionId, 'promo');
  }
  const completed = await waitFor('broadcast.completed', async () =>
    h.receiver.accepted().find((r) => r.body.type === 'broadcast.completed'),
  );
  assertSigned(completed, progress.secret);
  assert.deepEqual([completed.body.data.id, completed.body.data.status], [created.id, 'completed']);
  // Webhook writes never made the sending side's writes wait out the lock.
  assert.doesNotMatch(h.server.output(), /SQLITE_BUSY|could not be updated|could not keep/);
});
