import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { assertSigned, createEndpoint, deliveries, linkedSession, messageStatus, sendText, untilAll, WEBHOOK_TEST_ENV } from './helpers.js';

let server: StartedServer;
let receiver: WebhookReceiver;
before(async () => {
  // Retries a few seconds apart: the kill comes while every delivery waits for its next attempt.
  server = await startServer({ ...WEBHOOK_TEST_ENV, WEBHOOK_RETRY_BASE_MS: '2000', WEBHOOK_RETRY_MAX_MS: '2000' });
  receiver = await startWebhookReceiver(() => 500);
});
after(async () => {
  await receiver.close();
  await server.close();
});

test('SIGKILL while deliveries are pending: after a restart every one of them is delivered', async () => {
  await linkedSession(server, 'k9');
  const hook = await createEndpoint(server, { url: receiver.url, events: ['*'], sessionId: 'k9' });
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) ids.push(await sendText(server, 'k9', `k${i}`, `+4915300000${String(i).padStart(3, '0')}`));
  for (const id of ids) await waitFor(`${id} read`, async () => ((await messageStatus(server, id)) === 'read' ? true : undefined));
  // Every message's four events are stored; some have been refused, none accepted.
  const pending = await waitFor('the events stored', async () => {
    const all = await deliveries(server, hook.id, 'pending');
    return all.length >= ids.length * 4 ? all : undefined;
  });
  assert.ok(receiver.requests.length > 0);
  assert.equal(receiver.accepted().length, 0);

  await server.kill('SIGKILL');
  receiver.answer = () => 200;
  await server.restart();

  const delivered = await untilAll(server, hook.id, 'delivered', pending.length, 60_000);
  const accepted = receiver.accepted().map((r) => r.body.id);
  for (const d of pending) assert.ok(accepted.includes(d.event.id), `${d.event.type} ${d.event.id} never arrived`);
  assert.ok(delivered.length >= pending.length);
  for (const r of receiver.requests) assertSigned(r, hook.secret);
  // Per message, still in order after the restart.
  for (const id of ids) {
    const types = receiver
      .accepted()
      .filter((r) => r.body.data.id === id)
      .map((r) => r.body.type);
    assert.deepEqual(types, ['message.queued', 'message.sent', 'message.delivered', 'message.read'], id);
  }
});
