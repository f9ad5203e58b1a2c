import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server.js';
import { createBroadcast, deliveries as sandboxDeliveries, jidOf, report, untilStatus } from '../broadcasts/helpers.js';
import { assertSigned, createEndpoint, linkedSession, WEBHOOK_TEST_ENV, serverWithReceiver } from './helpers.js';

const CONFIRMATION = 'You will get no more messages from us.';
const h = serverWithReceiver({ ...WEBHOOK_TEST_ENV, OPTOUT_CONFIRMATION: CONFIRMATION });

test('an inbound STOP: message.received and optout.added are delivered signed, and the next broadcast skips that number', async () => {
  await linkedSession(h.server, 'shop');
  const hook = await createEndpoint(h.server, { url: h.receiver.url, events: ['message.received', 'optout.added'], sessionId: 'shop' });
  const quitter = '+4915300000001';
  const stays = '+4915300000002';

  const arrived = await h.server.api('/api/sessions/shop/sandbox/inbound', { method: 'POST', json: { from: quitter, text: 'Stop' } });
  assert.equal(arrived.status, 202);
  const { waMessageId } = (await arrived.json()) as { waMessageId: string };
  const [received, optOut] = await waitFor('message.received and optout.added', async () => {
    const got = h.receiver.accepted();
    const r = got.find((d) => d.body.type === 'message.received');
    const o = got.find((d) => d.body.type === 'optout.added');
    return r && o ? [r, o] : undefined;
  });
  for (const d of [received, optOut]) assertSigned(d, hook.secret);
  assert.equal(received.body.data.waMessageId, waMessageId);
  assert.deepEqual(received.body.data.content, { type: 'text', text: 'Stop' });
  assert.deepEqual(
    [optOut.body.data.phone, optOut.body.data.source, optOut.body.data.messageId],
    [quitter.slice(1), 'keyword', received.body.data.id],
  );

  // The confirmation goes to them once, as a reply; the broadcast after it does not.
  const created = await createBroadcast(h.server, 'shop', {
    name: 'after the stop',
    recipients: [{ to: quitter }, { to: stays }],
    message: { text: 'New offers!' },
    pace: { perMinute: 0 },
  });
  await untilStatus(h.server, created.id, 'completed');
  const rows = await report(h.server, created.id);
  assert.deepEqual(
    rows.map((r) => [r.to, r.status === 'skipped' ? 'skipped' : 'sent', r.errorCode]),
    [
      [jidOf(quitter), 'skipped', 'opted_out'],
      [jidOf(stays), 'sent', null],
    ],
  );
  const got = await waitFor('the broadcast delivered to the other number', async () => {
    const items = await sandboxDeliveries(h.server, 'shop');
    return items.some((d) => d.to === jidOf(stays)) ? items : undefined;
  });
  assert.deepEqual(
    got.filter((d) => d.to === jidOf(quitter)).map((d) => d.text),
    [CONFIRMATION],
    'the customer who wrote STOP got the confirmation and nothing else',
  );
  assert.equal(h.receiver.accepted().filter((d) => d.body.type === 'optout.added').length, 1);
});
