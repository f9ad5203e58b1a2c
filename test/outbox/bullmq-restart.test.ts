import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { QueueEvents } from 'bullmq';
import { reached, serverOnRedis } from '../support/message-api.js';
import { waitFor } from '../support/server.js';

const ctx = serverOnRedis();
const done = reached;

test('SIGKILL mid-send: the restarted owner resumes from the cursor (the message in hand again under its id, then the ones after it, each once); the stalled wake-up comes back and completes', async () => {
  await ctx.api.createSession('midsend');
  await ctx.api.link('midsend');
  const acked = await ctx.api.send('midsend', 'm0');
  await ctx.api.until(acked, done, 'the acknowledged send');
  // The recipient gets m1, the answer never comes: it is `sending`, its job active, when the process dies.
  await ctx.api.failNext('midsend', { count: 1, mode: 'hang_after_delivery' });
  const midsend = await ctx.api.send('midsend', 'm1');
  await waitFor('the delivery', async () => ((await ctx.api.deliveries('midsend')).length === 2 ? true : undefined));
  const after = [await ctx.api.send('midsend', 'm2'), await ctx.api.send('midsend', 'm3')];
  assert.equal((await ctx.api.message(midsend)).status, 'sending');

  // The test reads BullMQ's own events: the job's `stalled` is what says the dead worker's job was given back. The
  // job in hand is the wake-up named in the session's wake flag (set by m1's acceptance; m2 and m3 found it set).
  const events = new QueueEvents('hs-outbox-midsend', { connection: createClient({ url: ctx.redis.url }), prefix: 'hs:bull' });
  const redisClient = createClient({ url: ctx.redis.url });
  try {
    await redisClient.connect();
    await events.waitUntilReady();
    const wakeUp = await redisClient.get('hs:outbox:{midsend}:wake');
    assert.equal(wakeUp, `wake-${midsend}`);
    const stalled = new Promise<string>((resolve) => events.on('stalled', ({ jobId }) => resolve(jobId)));

    await ctx.server.kill('SIGKILL');
    // The dead worker's lock outlives the restart, as it may when another node takes over at once: the job is still
    // active, not yet given back, when the new owner starts; it does not wait for it.
    assert.ok(await redisClient.pExpire(`hs:bull:hs-outbox-midsend:${wakeUp}:lock`, 8000));
    await ctx.server.restart();

    for (const id of [midsend, ...after]) await ctx.api.until(id, done, `delivery of ${id}`, 20_000);
    // BullMQ gives the dead worker's job back (never failed for it), and it completes.
    assert.equal(await stalled, wakeUp);
    await waitFor('the queue to empty', async () => {
      const keys = await redisClient.keys('hs:bull:hs-outbox-midsend:*');
      const lists = await Promise.all(['wait', 'active', 'failed'].map((l) => redisClient.lLen(`hs:bull:hs-outbox-midsend:${l}`)));
      const failed = await redisClient.zCard('hs:bull:hs-outbox-midsend:failed');
      const flag = await redisClient.exists('hs:outbox:{midsend}:wake');
      return lists.every((n) => n === 0) && failed === 0 && flag === 0 && keys.length > 0 ? true : undefined;
    });
  } finally {
    await events.close();
    await redisClient.close();
  }

  // Only the message in flight at the kill went out again, under the same id, and before the ones after it.
  assert.deepEqual(
    (await ctx.api.deliveries('midsend')).map((d) => [d.messageId, d.text, d.sendAttempts]),
    [
      [acked, 'm0', 1],
      [midsend, 'm1', 2],
      [after[0], 'm2', 1],
      [after[1], 'm3', 1],
    ],
  );
  const m = await ctx.api.message(midsend);
  assert.deepEqual([m.waMessageId, m.attempts], [midsend, 2]);
  // The resend of m1 was answered before m2 and m3 were: they waited for it.
  const acks = (await ctx.api.deliveries('midsend')).slice(1).map((d) => d.acknowledgedAt ?? '');
  assert.deepEqual(acks, [...acks].sort(), `answered in order: ${acks.join(', ')}`);
});

test('killed right after the message is stored, before its job: the retry with the same key gets that message, sent once', async () => {
  await ctx.api.createSession('shop');
  await ctx.api.link('shop');
  await ctx.server.restart({ HASHSEND_TEST_CRASH_AFTER: 'message-stored' });
  const headers = { 'idempotency-key': 'crash-window-1' };
  const first = await ctx.api.send('shop', 'exactly once', headers).catch((err: Error) => err);
  assert.ok(first instanceof Error, 'the process died before it could answer');
  await ctx.server.restart({ HASHSEND_TEST_CRASH_AFTER: '' });

  const id = await ctx.api.send('shop', 'exactly once', headers);
  await ctx.api.until(id, done, 'the delivery');
  assert.deepEqual(
    (await ctx.api.deliveries('shop')).map((d) => [d.messageId, d.sendAttempts]),
    [[id, 1]],
  );
});

test('a message being sent at a crash and past QUEUE_MAX_AGE_MS at the restart goes again under its id, not expired', async () => {
  await ctx.api.createSession('late');
  await ctx.api.link('late');
  await ctx.api.failNext('late', { count: 1, mode: 'hang_after_delivery' });
  const id = await ctx.api.send('late', 'maybe delivered');
  await waitFor('the delivery', async () => ((await ctx.api.deliveries('late')).length === 1 ? true : undefined));
  assert.equal((await ctx.api.message(id)).status, 'sending');

  await ctx.server.kill('SIGKILL');
  // A maximum age the message is past as soon as the process is back.
  await ctx.server.restart({ QUEUE_MAX_AGE_MS: '1' });
  try {
    const m = await ctx.api.until(id, (r) => r.status === 'failed' || done(r), 'the message to settle', 20_000);
    assert.deepEqual([m.status === 'failed' ? m.error?.code : 'delivered', m.attempts], ['delivered', 2]);
    assert.deepEqual(
      (await ctx.api.deliveries('late')).map((d) => [d.messageId, d.sendAttempts]),
      [[id, 2]],
    );
  } finally {
    await ctx.server.restart({ QUEUE_MAX_AGE_MS: '' });
  }
});
