import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { createLane } from '../../src/webhooks/lane.js';
import { openRedisWebhookStore } from '../../src/webhooks/store-redis.js';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { waitFor } from '../support/server.js';
import { aDelivery } from './store-conformance.ts';

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

test('a lane told that another node stored deliveries from a seq on reads them, though it has read past that seq since', async () => {
  const here = await openRedisWebhookStore(redis.url);
  const there = await openRedisWebhookStore(redis.url);
  const delivered: string[] = [];
  const lane = createLane({
    endpointId: 'whe_1',
    store: here,
    concurrency: 2,
    active: () => true,
    log: createLogger('silent'),
    clock: Date.now,
    async attempt(d, posted) {
      posted();
      const update = { seq: d.seq, patch: { status: 'delivered' as const, attempts: 1 }, nextAttemptAt: null };
      await here.updateDelivery(update);
      delivered.push(d.id);
      return update;
    },
  });
  const first = aDelivery('whe_1', 'a');
  await here.addDelivery(first);
  lane.wake();
  await waitFor('the first delivery', async () => (delivered.includes(first.id) ? true : undefined));

  // Another node's delivery gets the lower seq; this node's own, told to the lane at once, the higher one.
  const theirs = aDelivery('whe_1', 'b');
  const theirSeq = await there.addDelivery(theirs);
  const ours = aDelivery('whe_1', 'c');
  lane.add({ ...ours, seq: await here.addDelivery(ours) });
  await waitFor('this node’s delivery', async () => (delivered.includes(ours.id) ? true : undefined));
  assert.ok(!delivered.includes(theirs.id));

  lane.wakeFrom(theirSeq);
  await waitFor('the other node’s delivery', async () => (delivered.includes(theirs.id) ? true : undefined));
  await lane.idle();
  assert.deepEqual(delivered, [first.id, ours.id, theirs.id]);
  lane.pause();
  await Promise.all([here.close(), there.close()]);
});
