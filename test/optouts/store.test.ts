import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { OptOut } from '../../src/events/types.js';
import { createOptOutStore, type OptOutStore } from '../../src/optouts/store.js';
import { createStoreFactory, type StoreFactory } from '../../src/store/index.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const optOut = (sessionId: string, phone: string, extra: Partial<OptOut> = {}): OptOut => ({
  sessionId,
  phone,
  jid: `${phone}@s.whatsapp.net`,
  source: 'api',
  createdAt: '2026-01-01T10:00:00.000Z',
  ...extra,
});

/** The same contract on each backend: the SQLite file by default, Redis with REDIS_URL. */
const contract = (name: string, open: () => Promise<{ factory: StoreFactory; close(): Promise<void> }>) =>
  describe(name, () => {
    let opened: Awaited<ReturnType<typeof open>>;
    let store: OptOutStore;
    before(async () => {
      opened = await open();
      store = createOptOutStore(opened.factory.namespace('optouts'));
    });
    after(() => opened.close());

    test('add keeps the first record; a repeat (even many at once) is not added again', async () => {
      const first = optOut('a', '4915100000001', { source: 'keyword', messageId: 'in_1' });
      const results = await Promise.all([
        store.add(first),
        ...Array.from({ length: 5 }, () => store.add(optOut('a', '4915100000001', { createdAt: '2026-02-02T00:00:00.000Z' }))),
      ]);
      assert.deepEqual(
        results.map((r) => r.added),
        [true, false, false, false, false, false],
      );
      assert.ok(results.every((r) => JSON.stringify(r.optOut) === JSON.stringify(first)));
      assert.deepEqual(await store.get('a', first.jid), first);
      assert.equal(await store.get('b', first.jid), undefined, 'lists are per session');
    });

    test('remove takes a number off (false when it was not there); list pages in number order and agrees', async () => {
      const phones = Array.from({ length: 25 }, (_, i) => `49152${String((i * 7919) % 1000).padStart(7, '0')}`);
      await Promise.all(phones.map((p) => store.add(optOut('p', p))));
      assert.equal(await store.remove('p', `${phones[3]}@s.whatsapp.net`), true);
      assert.equal(await store.remove('p', `${phones[3]}@s.whatsapp.net`), false);
      assert.equal(await store.get('p', `${phones[3]}@s.whatsapp.net`), undefined);
      const seen: string[] = [];
      for (let after: string | undefined, pages = 0; ; pages++) {
        const page = await store.list('p', { limit: 10, ...(after ? { after } : {}) });
        seen.push(...page.items.map((o) => o.phone));
        if (page.nextCursor === null) {
          assert.equal(pages, 2);
          break;
        }
        after = page.nextCursor;
      }
      const expected = phones.filter((_, i) => i !== 3).sort();
      assert.deepEqual(seen, expected);
      assert.deepEqual(
        [...(await store.jids('p'))].sort(),
        expected.map((p) => `${p}@s.whatsapp.net`),
      );
      assert.deepEqual(await store.list('nobody', { limit: 10 }), { items: [], nextCursor: null });
      // A cursor naming a number since removed still goes on from its place.
      const afterRemoved = await store.list('p', { limit: 1, after: phones[3] + '@s.whatsapp.net' });
      assert.deepEqual(
        afterRemoved.items.map((o) => o.phone),
        [expected.find((p) => `${p}@s.whatsapp.net` > `${phones[3]}@s.whatsapp.net`)],
      );
    });

    test('a number added again after removal is a new entry', async () => {
      const jid = '4915100000099@s.whatsapp.net';
      await store.add(optOut('r', '4915100000099'));
      await store.remove('r', jid);
      const again = await store.add(optOut('r', '4915100000099', { source: 'keyword' }));
      assert.equal(again.added, true);
      assert.equal((await store.get('r', jid))?.source, 'keyword');
    });
  });

contract('on the SQLite store', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-optout-store-'));
  const factory = await createStoreFactory({ dataDir: dir });
  return { factory, close: async () => (await factory.close(), await rm(dir, { recursive: true, force: true })) };
});

contract('on Redis', async () => {
  const redis: RedisServer = await startRedis();
  const factory = await createStoreFactory({ dataDir: '/nonexistent', redisUrl: redis.url });
  return { factory, close: async () => (await factory.close(), await redis.stop()) };
});
