import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { freePort } from '../support/free-port.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { openBroadcastStore } from '../../src/broadcasts/open-store.js';
import { openRedisBroadcastStore } from '../../src/broadcasts/store-redis.js';
import { aBroadcast, conformance, recipientsOf } from './store-conformance.ts';

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

// Through the composition root's chooser, as the server opens it when REDIS_URL is set.
conformance('Redis', () => openBroadcastStore({ kind: 'redis', url: redis.url }));

describe('BroadcastStore on Redis', () => {
  // A Redis of its own: what is left in it after the test is what the store left.
  let own: RedisServer;
  let raw: ReturnType<typeof createClient>;
  before(async () => {
    own = await startRedis();
    raw = createClient({ url: own.url });
    await raw.connect();
  });
  after(async () => {
    await raw.close();
    await own.stop();
  });

  test('removing every broadcast leaves no key behind: no index, set or message entry still points at one', async () => {
    const store = await openRedisBroadcastStore(own.url);
    const made = [aBroadcast({ total: 40 }), aBroadcast({ total: 3, status: 'paused' })];
    for (const b of made) await store.create(b, recipientsOf(b));
    const [b] = made;
    await Promise.all(
      recipientsOf(b).map(({ index }) =>
        store.updateRecipient(b.id, index, { status: 'sent', messageId: `m${index}`, queuedAt: new Date(index * 1000).toISOString() }),
      ),
    );
    await store.updateRecipient(made[1].id, 1, {
      status: 'failed',
      messageId: 'x',
      queuedAt: new Date().toISOString(),
      error: { code: 'e', message: 'm' },
    });
    await store.update(made[1].id, { status: 'cancelled' });
    assert.ok((await raw.keys('*')).length > 0);
    for (const x of made) await store.remove(x.id);
    assert.deepEqual(await raw.keys('*'), []);
    await store.close();
  });

  test('a Redis nobody answers on is a clear error at start, naming where it was looked for', async () => {
    const port = await freePort();
    await assert.rejects(openRedisBroadcastStore(`redis://user:secret@127.0.0.1:${port}`), (err: Error) => {
      assert.match(err.message, new RegExp(`Redis at 127\\.0\\.0\\.1:${port} cannot be reached`));
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  });

  test('a connection dropped after start is made again, and the store goes on', async () => {
    const store = await openRedisBroadcastStore(own.url);
    const b = aBroadcast({ total: 2 });
    await store.create(b, recipientsOf(b));
    const mine = await raw.clientId();
    const list = (await raw.sendCommand(['CLIENT', 'LIST', 'TYPE', 'normal'])) as string;
    const others = [...list.matchAll(/^id=(\d+) /gm)].map((m) => m[1]).filter((id) => id !== String(mine));
    assert.equal(others.length, 1);
    await raw.sendCommand(['CLIENT', 'KILL', 'ID', others[0]]);
    // A write on the wire when the connection dropped fails (it may or may not have landed); later ones go through.
    await store.updateRecipient(b.id, 0, { status: 'sent' }).catch((err: Error) => assert.match(err.message, /Socket closed/));
    await store.updateRecipient(b.id, 0, { status: 'sent' });
    assert.deepEqual((await store.counts(b.id)).sent, 1);
    await store.remove(b.id);
    await store.close();
  });

  test('a Redis that forgot the scripts (restarted, SCRIPT FLUSH) is given them again', async () => {
    const store = await openRedisBroadcastStore(own.url);
    const b = aBroadcast({ total: 2 });
    await store.create(b, recipientsOf(b));
    await raw.sendCommand(['SCRIPT', 'FLUSH']);
    await store.updateRecipient(b.id, 1, { status: 'queued' });
    assert.deepEqual((await store.counts(b.id)).queued, 1);
    await store.remove(b.id);
    await store.close();
  });
});
