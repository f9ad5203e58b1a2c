import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server.js';
import {
  assertSigned,
  createEndpoint,
  deliveries,
  linkedSession,
  messageStatus,
  sendText,
  untilAll,
  WEBHOOK_TEST_ENV,
  serverWithReceiver,
} from './helpers.js';

// Retries a few seconds apart: the kill comes while every delivery waits for its next attempt.
const h = serverWithReceiver({ ...WEBHOOK_TEST_ENV, WEBHOOK_RETRY_BASE_MS: '2000', WEBHOOK_RETRY_MAX_MS: '2000' }, () => 500);

test('SIGKILL while deliveries are pending: after a restart every one of them is delivered', async () => {
  await linkedSession(h.server, 'k9');
  const hook = await createEndpoint(h.server, { url: h.receiver.url, events: ['*'], sessionId: 'k9' });
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) ids.push(await sendText(h.server, 'k9', `k${i}`, `+4915300000${String(i).padStart(3, '0')}`));
  for (const id of ids) await waitFor(`${id} read`, async () => ((await messageStatus(h.server, id)) === 'read' ? true : undefined));
  // Every message's four events are stored; some have been refused, none accepted.
  const pending = await waitFor('the events stored', async () => {
    const all = await deliveries(h.server, hook.id, 'pending');
    return all.length >= ids.length * 4 ? all : undefined;
  });
  assert.ok(h.receiver.requests.length > 0);
  assert.equal(h.receiver.accepted().length, 0);

  await h.server.kill('SIGKILL');
  h.receiver.answer = () => 200;
  await h.server.restart();

  const delivered = await untilAll(h.server, hook.id, 'delivered', pending.length, 60_000);
  const accepted = h.receiver.accepted().map((r) => r.body.id);
  for (const d of pending) assert.ok(accepted.includes(d.event.id), `${d.event.type} ${d.event.id} never arrived`);
  assert.ok(delivered.length >= pending.length);
  for (const r of h.receiver.requests) assertSigned(r, hook.secret);
  // Per message, still in order after the restart.
  for (const id of ids) {
    const types = h.receiver
      .accepted()
      .filter((r) => r.body.data.id === id)
      .map((r) => r.body.type);
    assert.deepEqual(types, ['message.queued', 'message.sent', 'message.delivered', 'message.read'], id);
  }
});
