import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createStoreFactory, type StoreFactory } from '../../src/store/index.ts';
import { startRedis } from '../support/redis.ts';

/** The same behaviour is owed by both backends: namespaces keep their keys apart and values survive a reopen. */
const conformance = (name: string, open: () => Promise<{ factory: () => Promise<StoreFactory>; cleanup(): Promise<void> }>) =>
  test(`${name}: namespaces are separate and values survive reopening`, async () => {
    const { factory, cleanup } = await open();
    try {
      const first = await factory();
      await first.namespace('media').set('k', { sha256: 'a' });
      await first.namespace('messages').set('k', { id: 'm1' });
      assert.deepEqual(await first.namespace('media').get('k'), { sha256: 'a' });
      await first.close();

      const again = await factory();
      assert.deepEqual(await again.namespace('media').get('k'), { sha256: 'a' });
      assert.deepEqual(await again.namespace('messages').get('k'), { id: 'm1' });
      assert.equal(await again.namespace('outbox').get('k'), undefined);
      await again.close();
    } finally {
      await cleanup();
    }
  });

conformance('SQLite (the embedded default)', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hashsend-store-'));
  return {
    factory: () => createStoreFactory({ dataDir }),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

conformance('Redis (REDIS_URL)', async () => {
  const redis = await startRedis();
  return {
    factory: () => createStoreFactory({ dataDir: '/nonexistent', redisUrl: redis.url }),
    cleanup: () => redis.stop(),
  };
});
