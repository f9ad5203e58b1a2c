import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { startRedis } from '../support/redis.js';
import { startServer, type StartedServer } from '../support/server.js';
import { createBroadcast, deliveries, jidOf, linkedSession, numbers, report, untilStatus } from './helpers.js';

let server: StartedServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const textBroadcastReachesEachOnce = async (server: StartedServer) => {
  await linkedSession(server, 'shop');
  const phones = numbers(20);
  const created = await createBroadcast(server, 'shop', {
    name: 'hello',
    recipients: [
      ...phones.map((to, i) => ({ to, vars: { name: `N${i}` } })),
      { to: phones[3], vars: { name: 'again' } },
      { to: 'nope', vars: { name: 'x' } },
    ],
    message: { text: 'Hello {{ name }}!' },
    pace: { perMinute: 0 },
  });
  assert.deepEqual(
    [created.total, created.duplicates.map((d) => [d.row, d.firstRow]), created.invalid.map((d) => [d.row, d.to])],
    [20, [[21, 4]], [[22, 'nope']]],
  );
  const done = await untilStatus(server, created.id, 'completed');
  assert.equal(done.counts.pending + done.counts.queued, 0);
  const got = await deliveries(server, 'shop');
  assert.deepEqual(
    got.map((d) => [d.to, d.text, d.sendAttempts]),
    phones.map((p, i) => [jidOf(p), `Hello N${i}!`, 1]),
  );
  const rows = await report(server, created.id);
  assert.deepEqual(
    rows.map((r) => [r.to, r.messageId]),
    got.map((d) => [d.to, d.messageId]),
  );
};

test('a text broadcast with placeholders reaches each recipient once with its own text; the report agrees', () =>
  textBroadcastReachesEachOnce(server));

test('the same on Redis (REDIS_URL): state and broadcasts live there, with the same results', async () => {
  const redis = await startRedis();
  const onRedis = await startServer({ REDIS_URL: redis.url });
  try {
    await textBroadcastReachesEachOnce(onRedis);
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      assert.ok((await client.keys('hs:bc:*')).length > 0, 'the broadcast is kept in Redis');
    } finally {
      await client.close();
    }
  } finally {
    await onRedis.close();
    await redis.stop();
  }
});
