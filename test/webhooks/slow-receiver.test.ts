import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import {
  createEndpoint,
  deliveries,
  endpoint,
  json,
  linkedSession,
  messageStatus,
  sendText,
  untilAll,
  WEBHOOK_TEST_ENV,
} from './helpers.js';

let server: StartedServer;
let receiver: WebhookReceiver;
before(async () => {
  // Attempts would wait a minute for an answer; the default concurrency (8) bounds how many hang at once.
  server = await startServer({ ...WEBHOOK_TEST_ENV, WEBHOOK_TIMEOUT_MS: '60000' });
  receiver = await startWebhookReceiver(() => 'hang');
});
after(async () => {
  await receiver.close();
  await server.close();
});

test('a receiver that never answers does not hold up sends: every message is sent while its deliveries hang', async () => {
  await linkedSession(server, 'busy');
  const hook = await createEndpoint(server, { url: receiver.url, events: ['*'], sessionId: 'busy' });
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(await sendText(server, 'busy', `m${i}`, `+4915200000${String(i).padStart(3, '0')}`));
  for (const id of ids) {
    await waitFor(`${id} sent`, async () => (['sent', 'delivered', 'read'].includes(await messageStatus(server, id)) ? true : undefined));
  }
  await waitFor('eight attempts hanging', async () => (receiver.requests.length === 8 ? true : undefined));
  // Every event is kept for later, none answered; no more attempts than the concurrency allows.
  const { stats } = await endpoint(server, hook.id);
  assert.ok((stats?.pending ?? 0) >= ids.length * 2, JSON.stringify(stats));
  assert.equal(stats?.delivered, 0);
  assert.equal(receiver.requests.length, 8);
  assert.equal(receiver.accepted().length, 0);
});

test('SIGTERM with attempts hanging: a clean exit, the cut attempts are not counted, and after a restart every event is delivered', async () => {
  const [hook] = (await json<{ items: { id: string }[] }>(await server.api('/api/webhooks'))).items;
  const before = await deliveries(server, hook.id);
  assert.equal(await server.kill('SIGTERM'), 0);
  receiver.answer = () => 200;
  await server.restart();
  const after = await untilAll(server, hook.id, 'delivered', before.length, 60_000);
  // Each went in one attempt: the ones cut at the shutdown were not counted as failures.
  assert.deepEqual(
    after.map((d) => d.attempts),
    after.map(() => 1),
  );
  // Every event from before the stop, beside the session's own states of the stop and the restart.
  const accepted = new Set(receiver.accepted().map((r) => r.body.id));
  for (const d of before) assert.ok(accepted.has(d.event.id), `${d.event.type} ${d.event.id} never arrived`);
});
