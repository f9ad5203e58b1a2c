import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openClusterRedis } from '../../src/cluster/redis.js';
import { hub, quiet, redisPerFile, waitFor } from './helpers.ts';

const ctx = redisPerFile();

const health = (up: boolean) => waitFor<boolean>(ctx.redis.onHealth, (v) => v === up);

test('a stopped Redis reads as down, commands fail instead of waiting for it, and all resumes when it is back', async () => {
  assert.equal(ctx.redis.isUp(), true);
  await ctx.redis.client.set('hs:test:k', 'v');
  const down = health(false);
  await ctx.server.halt();
  await down;
  assert.equal(ctx.redis.isUp(), false);
  // No offline queue: a caller learns at once (and can answer 503), not after a timeout or when Redis returns.
  await assert.rejects(ctx.redis.client.get('hs:test:k'), /client is offline/);
  const up = health(true);
  await ctx.server.restart();
  await up;
  assert.equal(ctx.redis.isUp(), true);
  assert.equal(await ctx.redis.client.get('hs:test:k'), 'v');
});

test('a frozen Redis (connection open, no answers) reads as down by its unanswered PING; a command in flight fails', async () => {
  const down = health(false);
  ctx.server.freeze();
  try {
    // Already written to the frozen server: it fails when the unanswered PING drops the connection.
    await assert.rejects(ctx.redis.client.get('hs:test:k'));
    await down;
    assert.equal(ctx.redis.isUp(), false);
  } finally {
    ctx.server.thaw();
  }
  await health(true);
  assert.equal(await ctx.redis.client.get('hs:test:k'), 'v');
});

test('a subscriber copy hears what the client publishes, and again once Redis has restarted', async () => {
  const sub = await ctx.redis.subscriber();
  const heard = hub<string>();
  await sub.subscribe('hs:test:ch', heard.emit);
  let got = heard.next();
  await ctx.redis.client.publish('hs:test:ch', 'one');
  assert.equal(await got, 'one');
  // node-redis subscribes again before it reports the connection ready.
  const ready = Promise.all([new Promise((resolve) => sub.once('ready', resolve)), health(true)]);
  await ctx.server.restart();
  await ready;
  got = heard.next();
  await ctx.redis.client.publish('hs:test:ch', 'two');
  assert.equal(await got, 'two');
});

test('close() ends even while Redis is down', async () => {
  const other = await openClusterRedis({ url: ctx.server.url, log: quiet, pingIntervalMs: 100, commandTimeoutMs: 300 });
  await other.subscriber();
  const down = waitFor<boolean>(other.onHealth, (v) => !v);
  await ctx.server.halt();
  await down;
  await other.close();
  const up = health(true);
  await ctx.server.restart();
  await up;
});
