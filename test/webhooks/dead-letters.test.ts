import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import {
  assertSigned,
  createEndpoint,
  deliveries,
  type Delivery,
  json,
  linkedSession,
  MESSAGE_ORDER,
  sendText,
  untilAll,
  WEBHOOK_TEST_ENV,
  serverWithReceiver,
} from './helpers.js';

// A retry period so short that a refused delivery is dead after a few attempts.
const h = serverWithReceiver({ ...WEBHOOK_TEST_ENV, WEBHOOK_RETRY_PERIOD_MS: '300' }, () => 503);

test('retries that run out land in the dead letters; a single replay and a bulk replay deliver them, under their event ids', async () => {
  await linkedSession(h.server, 'dl');
  const hook = await createEndpoint(h.server, { url: h.receiver.url, events: MESSAGE_ORDER, sessionId: 'dl' });
  const ids = [await sendText(h.server, 'dl', 'one'), await sendText(h.server, 'dl', 'two')];
  const dead = await untilAll(h.server, hook.id, 'dead', ids.length * MESSAGE_ORDER.length);
  for (const d of dead) {
    assert.ok(d.attempts >= 1);
    assert.deepEqual([d.lastError?.code, d.lastError?.status], ['failed_status', 503]);
    assert.equal(d.nextAttemptAt, undefined);
  }
  assert.equal((await deliveries(h.server, hook.id, 'dead')).length, dead.length);
  const metrics = await (await h.server.api('/metrics')).text();
  assert.match(metrics, new RegExp(`hashsend_webhook_dead_letters\\{endpoint="${hook.id}"\\} ${dead.length}\\b`));
  assert.match(metrics, new RegExp(`hashsend_webhook_dead_total ${dead.length}\\b`));

  // Across endpoints as well, newest first, each naming its endpoint.
  const across = await json<{ items: Delivery[]; nextCursor: string | null }>(await h.server.api('/api/webhooks/dead-letters?limit=100'));
  assert.deepEqual(
    across.items.map((d) => [d.endpointId, d.id]),
    dead.map((d) => [hook.id, d.id]),
  );

  h.receiver.answer = () => 200;
  const [first, ...rest] = dead;
  const single = await h.server.api(`/api/webhooks/${hook.id}/deliveries/${first.id}/replay`, { method: 'POST' });
  assert.equal(single.status, 202);
  await waitFor('the replayed delivery', async () =>
    (await deliveries(h.server, hook.id, 'delivered')).some((d) => d.id === first.id) ? true : undefined,
  );
  assert.deepEqual(
    h.receiver.accepted().map((r) => r.body.id),
    [first.event.id],
  );

  const bulk = await h.server.api(`/api/webhooks/${hook.id}/deliveries/replay`, { method: 'POST', json: { status: 'dead' } });
  assert.equal(bulk.status, 202);
  assert.deepEqual(await json(bulk), { replayed: rest.length });
  await untilAll(h.server, hook.id, 'delivered', dead.length);
  const accepted = h.receiver.accepted();
  assert.deepEqual(accepted.map((r) => r.body.id).sort(), dead.map((d) => d.event.id).sort());
  for (const r of h.receiver.requests) assertSigned(r, hook.secret);
  // A replayed body is the one first stored: the same event, byte for byte.
  const replayed = accepted.find((r) => r.body.id === first.event.id)!;
  const earlier = h.receiver.requests.find((r) => r.body.id === first.event.id)!;
  assert.equal(replayed.raw, earlier.raw);

  // A delivered one can be replayed too; nothing is left to replay in bulk.
  assert.equal((await h.server.api(`/api/webhooks/${hook.id}/deliveries/${first.id}/replay`, { method: 'POST' })).status, 202);
  await waitFor('the second replay', async () =>
    h.receiver.accepted().filter((r) => r.body.id === first.event.id).length === 2 ? true : undefined,
  );
  assert.deepEqual(
    await json(await h.server.api(`/api/webhooks/${hook.id}/deliveries/replay`, { method: 'POST', json: { status: 'dead' } })),
    {
      replayed: 0,
    },
  );
  const unknown = await h.server.api(`/api/webhooks/${hook.id}/deliveries/whd_nope/replay`, { method: 'POST' });
  assert.deepEqual([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code], [404, 'delivery_not_found']);
});

test('delivered deliveries past WEBHOOK_KEEP_DELIVERED_MS are removed; dead letters stay', async () => {
  const refusing = await startWebhookReceiver(() => 503);
  try {
    h.receiver.answer = () => 200;
    await linkedSession(h.server, 'keep');
    const kept = await createEndpoint(h.server, { url: h.receiver.url, events: ['message.sent'], sessionId: 'keep' });
    const dead = await createEndpoint(h.server, { url: refusing.url, events: ['message.sent'], sessionId: 'keep' });
    await sendText(h.server, 'keep', 'kept for a while');
    await untilAll(h.server, kept.id, 'delivered', 1);
    await untilAll(h.server, dead.id, 'dead', 1);

    await h.server.restart({ WEBHOOK_KEEP_DELIVERED_MS: '1' });
    await waitFor('the delivered one removed', async () => ((await deliveries(h.server, kept.id)).length === 0 ? true : undefined));
    assert.equal((await deliveries(h.server, dead.id, 'dead')).length, 1);
  } finally {
    await refusing.close();
  }
});
