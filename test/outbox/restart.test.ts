import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { refuseWrites } from '../support/sqlite-faults.js';

interface Message {
  id: string;
  status: string;
  attempts: number;
  waMessageId: string | null;
  error?: { code: string };
}
interface Delivery {
  messageId: string;
  text?: string;
  sendAttempts: number;
}

let server: StartedServer;
// A slow first retry, so a message is still waiting for it when the process is killed.
before(async () => {
  server = await startServer({ QUEUE_RETRY_BASE_MS: '3000' });
});
after(() => server.close());

const json = async <T>(res: Response) => (await res.json()) as T;
const send = async (session: string, text: string) =>
  (
    await json<{ id: string }>(
      await server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: { to: '+4915123456789', text } }),
    )
  ).id;
const message = async (id: string) => json<Message>(await server.api(`/api/messages/${id}`));
const deliveries = async (session: string) =>
  (await json<{ items: Delivery[] }>(await server.api(`/api/sessions/${session}/sandbox/deliveries`))).items;
const link = (session: string) => server.api(`/api/sessions/${session}/sandbox/link`, { method: 'POST', json: {} });
const until = (id: string, ok: (m: Message) => boolean, what: string) =>
  waitFor(what, async () => {
    const m = await message(id);
    return ok(m) ? m : undefined;
  });
const done = (m: Message) => m.status === 'delivered' || m.status === 'read';

test('SIGKILL with messages waiting, retrying and mid-send: after a restart each is delivered exactly once', async () => {
  // Waiting: a session never linked.
  await server.api('/api/sessions', { method: 'POST', json: { id: 'unlinked' } });
  const waiting = [await send('unlinked', 'w1'), await send('unlinked', 'w2'), await send('unlinked', 'w3')];

  // Retrying: the first attempt fails transiently; the retry is 3 s away when the process dies.
  await server.api('/api/sessions', { method: 'POST', json: { id: 'flaky' } });
  await link('flaky');
  await server.api('/api/sessions/flaky/sandbox/failures', {
    method: 'POST',
    json: { count: 1, code: 'upstream_unavailable', status: 503 },
  });
  const retrying = [await send('flaky', 'r1'), await send('flaky', 'r2')];
  await until(retrying[0], (m) => m.status === 'queued' && m.attempts === 1, 'the first failed attempt');

  // Mid-send: the recipient got it, the answer never came; the message is `sending` at the kill. One before it was
  // acknowledged: that one must never go out again.
  await server.api('/api/sessions', { method: 'POST', json: { id: 'midsend' } });
  await link('midsend');
  const acked = await send('midsend', 'm0');
  await until(acked, (m) => m.status === 'sent' || done(m), 'the acknowledged send');
  await server.api('/api/sessions/midsend/sandbox/failures', { method: 'POST', json: { count: 1, mode: 'hang_after_delivery' } });
  const midsend = await send('midsend', 'm1');
  await waitFor('the delivery', async () => ((await deliveries('midsend')).length === 2 ? true : undefined));
  assert.equal((await message(midsend)).status, 'sending');

  await server.kill('SIGKILL');
  await server.restart();

  for (const id of waiting) assert.equal((await message(id)).status, 'queued');
  // Sessions are opened side by side after a restart; a linked one comes back connected without a new link.
  await waitFor('flaky connected again', async () =>
    (await json<{ state: string }>(await server.api('/api/sessions/flaky'))).state === 'connected' ? true : undefined,
  );
  await link('unlinked');

  // Counted once every queue has drained: a duplicate shows as a second transport send of the same id.
  for (const id of [...waiting, ...retrying, acked, midsend]) await until(id, done, `delivery of ${id}`);

  const unlinked = await deliveries('unlinked');
  assert.deepEqual(
    unlinked.map((d) => [d.text, d.sendAttempts]),
    [
      ['w1', 1],
      ['w2', 1],
      ['w3', 1],
    ],
  );
  const flaky = await deliveries('flaky');
  assert.deepEqual(
    flaky.map((d) => [d.messageId, d.text, d.sendAttempts]),
    [
      [retrying[0], 'r1', 1],
      [retrying[1], 'r2', 1],
    ],
  );
  // Only the message in flight at the kill went out again, under the same id.
  assert.deepEqual(
    (await deliveries('midsend')).map((d) => [d.messageId, d.sendAttempts]),
    [
      [acked, 1],
      [midsend, 2],
    ],
  );
  const m = await message(midsend);
  assert.deepEqual([m.waMessageId, m.attempts], [midsend, 2]);
});

test('a message being sent at a crash and past QUEUE_MAX_AGE_MS at the restart is sent again with its id, not expired', async () => {
  await server.api('/api/sessions', { method: 'POST', json: { id: 'late' } });
  await link('late');
  await server.api('/api/sessions/late/sandbox/failures', { method: 'POST', json: { count: 1, mode: 'hang_after_delivery' } });
  const id = await send('late', 'maybe delivered');
  await waitFor('the delivery', async () => ((await deliveries('late')).length === 1 ? true : undefined));
  assert.equal((await message(id)).status, 'sending');

  await server.kill('SIGKILL');
  // A maximum age the message is past as soon as the process is back.
  await server.restart({ QUEUE_MAX_AGE_MS: '1' });
  try {
    const m = await until(id, (r) => r.status === 'failed' || done(r), 'the message to settle');
    assert.deepEqual([m.status === 'failed' ? m.error?.code : 'delivered', m.attempts], ['delivered', 2]);
    assert.deepEqual(
      (await deliveries('late')).map((d) => [d.messageId, d.sendAttempts]),
      [[id, 2]],
    );
  } finally {
    await server.restart({ QUEUE_MAX_AGE_MS: '' });
  }
});

test('a store write that fails after the send does not fail the delivered message', async () => {
  // One attempt allowed: a bookkeeping failure mistaken for a failed send would fail the message at once.
  await server.restart({ QUEUE_MAX_ATTEMPTS: '1' });
  await server.api('/api/sessions', { method: 'POST', json: { id: 'disk' } });
  await link('disk');
  const lift = await refuseWrites(server.dataDir, 'sent', `NEW.value LIKE '%"status":"sent"%'`);
  let id: string;
  try {
    id = await send('disk', 'the disk is full');
    // Receipts still get written: the message ends `read` while the `sent` record never could be.
    const m = await until(id, (r) => r.status === 'failed' || r.status === 'read', 'the message to settle');
    assert.deepEqual([m.status, m.error?.code, m.attempts], ['read', undefined, 1]);
  } finally {
    await lift();
  }
  assert.deepEqual(
    (await deliveries('disk')).map((d) => [d.messageId, d.sendAttempts]),
    [[id, 1]],
  );
  await server.restart({ QUEUE_MAX_ATTEMPTS: '' });
});

test('a message older than QUEUE_MAX_AGE_MS fails as expired', async () => {
  await server.kill('SIGTERM');
  const short = await startServer({ QUEUE_MAX_AGE_MS: '300' });
  try {
    await short.api('/api/sessions', { method: 'POST', json: { id: 'idle' } });
    const res = await short.api('/api/sessions/idle/messages', { method: 'POST', json: { to: '+4915123456789', text: 'too late' } });
    const { id } = (await res.json()) as { id: string };
    const m = await waitFor('expiry', async () => {
      const r = (await (await short.api(`/api/messages/${id}`)).json()) as Message;
      return r.status === 'failed' ? r : undefined;
    });
    assert.equal(m.error?.code, 'expired');
  } finally {
    await short.close();
  }
});
