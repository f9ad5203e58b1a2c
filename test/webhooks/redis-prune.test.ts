import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type RedisClientType } from '@redis/client';
import { createLogger } from '../../src/log.js';
import { startPruning } from '../../src/webhooks/retention.js';
import { shareWebhooks, type WebhookCluster } from '../../src/webhooks/cluster.js';
import { openRedisWebhookStore } from '../../src/webhooks/store-redis.js';
import type { WebhookStore } from '../../src/webhooks/store.js';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { waitFor } from '../support/server.js';
import { aDelivery } from './store-conformance.ts';

let redis: RedisServer;
const clients: RedisClientType[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of clients) await c.close();
  await redis.stop();
});

const log = createLogger('silent');

/** What pruning needs of a node on Redis: its id and its connection (nothing is owned or heard here). */
const node = async (nodeId: string) => {
  const client = createClient({ url: redis.url }) as RedisClientType;
  await client.connect();
  clients.push(client);
  const cluster = { nodeId, leaseTtlMs: 2000, redis: { client } } as unknown as WebhookCluster;
  return shareWebhooks({ cluster, log });
};

test('two nodes on one Redis: retention pruning runs on one of them, and removes every delivered delivery past the keep period', async () => {
  const setup = await openRedisWebhookStore(redis.url);
  const total = 30;
  for (let i = 0; i < total; i++) {
    const seq = await setup.addDelivery(aDelivery('whe_1', `k${i}`, '2020-01-01T00:00:00.000Z'));
    await setup.updateDelivery({ seq, patch: { status: 'delivered', attempts: 1 }, nextAttemptAt: null });
  }
  const kept = await setup.addDelivery(aDelivery('whe_1', 'pending'));

  const prunes: string[] = [];
  const claims: Promise<boolean>[] = [];
  const running = await Promise.all(
    ['node-a', 'node-b'].map(async (id) => {
      const share = await node(id);
      const store = await openRedisWebhookStore(redis.url);
      const counted: Pick<WebhookStore, 'prune'> = { prune: (before, limit) => (prunes.push(id), store.prune(before, limit)) };
      const pruning = startPruning({
        store: counted,
        keepMs: 24 * 3600_000,
        log,
        claim: (periodMs) => {
          const claim = share.claimPrune(periodMs);
          claims.push(claim);
          return claim;
        },
      });
      return { store, pruning };
    }),
  );
  await waitFor('both nodes asked to prune', async () => (claims.length === 2 ? true : undefined));
  assert.deepEqual((await Promise.all(claims)).filter(Boolean).length, 1);
  await waitFor('the delivered deliveries removed', async () =>
    (await setup.counts()).some((c) => c.status === 'delivered') ? undefined : true,
  );
  for (const { pruning, store } of running) {
    await pruning.stop();
    await store.close();
  }
  assert.equal(new Set(prunes).size, 1, `pruned by ${[...new Set(prunes)].join(', ')}`);
  assert.deepEqual(await setup.counts(), [{ endpointId: 'whe_1', status: 'pending', count: 1 }]);
  assert.equal((await setup.pending('whe_1', { after: 0, limit: 5 }))[0]?.seq, kept);
  await setup.close();
});
