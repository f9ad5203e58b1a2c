import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server.js';
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
  serverWithReceiver,
} from './helpers.js';

// Attempts would wait a minute for an answer; the default concurrency (8) bounds how many hang at once.
const h = serverWithReceiver({ ...WEBHOOK_TEST_ENV, WEBHOOK_TIMEOUT_MS: '60000' }, () => 'hang');

test('a receiver that never answers does not hold up sends: every message is sent while its deliveries hang', async () => {
  await linkedSession(h.server, 'busy');
  const hook = await createEndpoint(h.server, { url: h.receiver.url, events: ['*'], sessionId: 'busy' });
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(await sendText(h.server, 'busy', `m${i}`, `+4915200000${String(i).padStart(3, '0')}`));
  for (const id of ids) {
    await waitFor(`${id} sent`, async () => (['sent', 'delivered', 'read'].includes(await messageStatus(h.server, id)) ? true : undefined));
  }
  await waitFor('eight attempts hanging', async () => (h.receiver.requests.length === 8 ? true : undefined));
  // Every event is kept for later, none answered; no more attempts than the concurrency allows.
  const { stats } = await endpoint(h.server, hook.id);
  assert.ok((stats?.pending ?? 0) >= ids.length * 2, JSON.stringify(stats));
  assert.equal(stats?.delivered, 0);
  assert.equal(h.receiver.requests.length, 8);
  assert.equal(h.receiver.accepted().length, 0);
});

test('SIGTERM with attempts hanging: a clean exit, the cut attempts are not counted, and after a restart every event is delivered', async () => {
  const [hook] = (await json<{ items: { id: string }[] }>(await h.server.api('/api/webhooks'))).items;
  const before = await deliveries(h.server, hook.id);
  assert.equal(await h.server.kill('SIGTERM'), 0);
  h.receiver.answer = () => 200;
  await h.server.restart();
  const after = await untilAll(h.server, hook.id, 'delivered', before.length, 60_000);
  // Each went in one attempt: the ones cut at the shutdown were not counted as failures.
  assert.deepEqual(
    after.map((d) => d.attempts),
    after.map(() => 1),
  );
  // Every event from before the stop, beside the session's own states of the stop and the restart.
  const accepted = new Set(h.receiver.accepted().map((r) => r.body.id));
  for (const d of before) assert.ok(accepted.has(d.event.id), `${d.event.type} ${d.event.id} never arrived`);
});
