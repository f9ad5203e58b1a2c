import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@redis/client';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { openSqliteWebhookStore } from '../../src/webhooks/store-sqlite.js';
import { openRedisWebhookStore } from '../../src/webhooks/store-redis.js';
import { aDelivery, webhookStoreConformance } from './store-conformance.ts';

let redis: RedisServer;
let raw: ReturnType<typeof createClient>;
const dirs: string[] = [];
before(async () => {
  redis = await startRedis();
  raw = createClient({ url: redis.url });
  await raw.connect();
});
after(async () => {
  await raw.close();
  await redis.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

// The same cases on both stores: the embedded default, and Redis as two nodes share it.
webhookStoreConformance('SQLite', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-webhook-store-'));
  dirs.push(dir);
  const file = path.join(dir, 'hashsend.sqlite');
  // A second connection to the file stands for the store reopened.
  return { store: await openSqliteWebhookStore(file), again: () => openSqliteWebhookStore(file) };
});

webhookStoreConformance('Redis', async () => {
  await raw.flushAll();
  return { store: await openRedisWebhookStore(redis.url), again: () => openRedisWebhookStore(redis.url) };
});

test('Redis: an attempt result written under a lease this node no longer holds is refused; under the lease it holds, written', async () => {
  await raw.flushAll();
  const store = await openRedisWebhookStore(redis.url);
  const seq = await store.addDelivery(aDelivery('whe_1'));
  await raw.set('hs:lease:webhook:whe_1', 'node-b:2');
  const delivered = { patch: { status: 'delivered' as const, attempts: 1 }, nextAttemptAt: null };
  await store.updateDelivery({ seq, ...delivered, fence: { key: 'hs:lease:webhook:whe_1', value: 'node-a:1' } });
  assert.equal((await store.pending('whe_1', { after: 0, limit: 5 })).length, 1);
  await store.updateDelivery({ seq, ...delivered, fence: { key: 'hs:lease:webhook:whe_1', value: 'node-b:2' } });
  assert.deepEqual(await store.pending('whe_1', { after: 0, limit: 5 }), []);
  await store.close();
});
