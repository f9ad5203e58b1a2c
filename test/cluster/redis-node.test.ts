import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server.js';
import { reached, serverOnRedis } from '../support/message-api.js';

const ctx = serverOnRedis({ AUTH_MAX_FAILURES: '3' });
const readyz = async () => {
  const res = await fetch(`${ctx.server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string } };
};

test('Redis stopped for a while and started again: /readyz says so, sends are refused meanwhile, nothing accepted with 202 is lost', async () => {
  const { server, redis, api } = ctx;
  assert.equal((await api.createSession('outage')).status, 201);
  const accepted: string[] = [];
  for (let i = 0; i < 20; i++) accepted.push(await api.send('outage', `before ${i}`));

  await redis.halt();
  const down = await waitFor('readyz to say the store is unreachable', async () => {
    const r = await readyz();
    return r.status === 503 ? r : undefined;
  });
  assert.equal(down.body.status, 'store_unreachable');
  const refused = await server.api('/api/sessions/outage/messages', { method: 'POST', json: { to: '+4915123456789', text: 'while down' } });
  assert.equal(refused.status, 503);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'store_unavailable');

  await redis.restart();
  await waitFor('readyz to be 200 again', async () => ((await readyz()).status === 200 ? true : undefined), 20_000);
  for (let i = 0; i < 5; i++) accepted.push(await api.send('outage', `after ${i}`));

  // The session links only now: every message accepted before, during or after the outage waited in Redis.
  assert.equal((await api.link('outage')).status, 200);
  for (const id of accepted) await api.until(id, reached, `message ${id} delivered`, 30_000);
  const deliveries = await api.deliveries('outage');
  assert.deepEqual(
    deliveries.map((d) => [d.text, d.sendAttempts]),
    [...Array.from({ length: 20 }, (_, i) => [`before ${i}`, 1]), ...Array.from({ length: 5 }, (_, i) => [`after ${i}`, 1])],
  );
  assert.doesNotMatch(server.output(), /unhandled|uncaught/i);
});

test('the failed-key allowance is kept in Redis: a restarted node (as any other node) still refuses the guesser', async () => {
  const { server } = ctx;
  const guess = () => fetch(`${server.url}/api/sessions`, { headers: { authorization: 'Bearer wrong-key' } });
  for (let i = 0; i < 3; i++) assert.equal((await guess()).status, 403);
  assert.equal((await guess()).status, 429);
  await server.restart();
  const after = await guess();
  assert.equal(after.status, 429);
  assert.ok(Number(after.headers.get('retry-after')) > 0);
  assert.equal((await server.api('/api/sessions')).status, 200, 'the right key is never refused');
});
