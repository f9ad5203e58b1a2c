import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { QueueEvents } from 'bullmq';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startServer, waitFor, type StartedServer } from '../support/server.js';

interface Message {
  id: string;
  status: string;
  attempts: number;
  waMessageId: string | null;
}
interface Delivery {
  messageId: string;
  text?: string;
  sendAttempts: number;
  /** When a send of it was answered: m1's first send never was. */
  acknowledgedAt?: string;
}

let redis: RedisServer;
let server: StartedServer;
before(async () => {
  redis = await startRedis();
  server = await startServer({ REDIS_URL: redis.url });
});
after(async () => {
  await server?.close();
  await redis?.stop();
});

const json = async <T>(res: Response) => (await res.json()) as T;
const send = async (session: string, text: string, headers?: Record<string, string>) =>
  (
    await json<{ id: string }>(
      await server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: { to: '+4915123456789', text }, headers }),
    )
  ).id;
const message = async (id: string) => json<Message>(await server.api(`/api/messages/${id}`));
const deliveries = async (session: string) =>
  (await json<{ items: Delivery[] }>(await server.api(`/api/sessions/${session}/sandbox/deliveries`))).items;
const link = (session: string) => server.api(`/api/sessions/${session}/sandbox/link`, { method: 'POST', json: {} });
const until = (id: string, ok: (m: Message) => boolean, what: string, timeoutMs?: number) =>
  waitFor(
    what,
    async () => {
      const m = await message(id);
      return ok(m) ? m : undefined;
    },
    timeoutMs,
  );
const done = (m: Message) => m.status === 'delivered' || m.status === 'read';

test('SIGKILL mid-send: the stalled job comes back, its message goes again under the same id, then the ones after it, each once', async () => {
  await server.api('/api/sessions', { method: 'POST', json: { id: 'midsend' } });
  await link('midsend');
  const acked = await send('midsend', 'm0');
  await until(acked, done, 'the acknowledged send');
  // The recipient gets m1, the answer never comes: it is `sending`, its job active, when the process dies.
  await server.api('/api/sessions/midsend/sandbox/failures', { method: 'POST', json: { count: 1, mode: 'hang_after_delivery' } });
  const midsend = await send('midsend', 'm1');
  await waitFor('the delivery', async () => ((await deliveries('midsend')).length === 2 ? true : undefined));
  const after = [await send('midsend', 'm2'), await send('midsend', 'm3')];
  assert.equal((await message(midsend)).status, 'sending');

  // The test reads BullMQ's own events: the job's `stalled` is what says the dead worker's job was given back.
  const events = new QueueEvents('hs-outbox-midsend', { connection: createClient({ url: redis.url }), prefix: 'hs:bull' });
  const redisClient = createClient({ url: redis.url });
  try {
    await redisClient.connect();
    await events.waitUntilReady();
    const stalled = new Promise<string>((resolve) => events.on('stalled', ({ jobId }) => resolve(jobId)));

    await server.kill('SIGKILL');
    // The dead worker's lock outlives the restart, as it may when another node takes over at once: the job is still
    // active, not yet given back, when the new owner starts taking the jobs after it.
    assert.ok(await redisClient.pExpire(`hs:bull:hs-outbox-midsend:${midsend}:lock`, 8000));
    await server.restart();

    // BullMQ gives the dead worker's job back (never failed for it), and it completes.
    assert.equal(await stalled, midsend);
    for (const id of [midsend, ...after]) await until(id, done, `delivery of ${id}`, 20_000);
    await waitFor('the queue to empty', async () => {
      const keys = await redisClient.keys('hs:bull:hs-outbox-midsend:*');
      const lists = await Promise.all(['wait', 'active', 'failed'].map((l) => redisClient.lLen(`hs:bull:hs-outbox-midsend:${l}`)));
      const failed = await redisClient.zCard('hs:bull:hs-outbox-midsend:failed');
      return lists.every((n) => n === 0) && failed === 0 && keys.length > 0 ? true : undefined;
    });
  } finally {
    await events.close();
    await redisClient.close();
  }

  // Only the message in flight at the kill went out again, under the same id, and before the ones after it.
  assert.deepEqual(
    (await deliveries('midsend')).map((d) => [d.messageId, d.text, d.sendAttempts]),
    [
      [acked, 'm0', 1],
      [midsend, 'm1', 2],
      [after[0], 'm2', 1],
      [after[1], 'm3', 1],
    ],
  );
  const m = await message(midsend);
  assert.deepEqual([m.waMessageId, m.attempts], [midsend, 2]);
  // The resend of m1 was answered before m2 and m3 were: they waited for it.
  const acks = (await deliveries('midsend')).slice(1).map((d) => d.acknowledgedAt ?? '');
  assert.deepEqual(acks, [...acks].sort(), `answered in order: ${acks.join(', ')}`);
});

test('killed right after the message is stored, before its job: the retry with the same key gets that message, sent once', async () => {
  await server.api('/api/sessions', { method: 'POST', json: { id: 'shop' } });
  await link('shop');
  await server.restart({ HASHSEND_TEST_CRASH_AFTER: 'message-stored' });
  const headers = { 'idempotency-key': 'crash-window-1' };
  const first = await send('shop', 'exactly once', headers).catch((err: Error) => err);
  assert.ok(first instanceof Error, 'the process died before it could answer');
  await server.restart({ HASHSEND_TEST_CRASH_AFTER: '' });

  const id = await send('shop', 'exactly once', headers);
  await until(id, done, 'the delivery');
  assert.deepEqual(
    (await deliveries('shop')).map((d) => [d.messageId, d.sendAttempts]),
    [[id, 1]],
  );
});
