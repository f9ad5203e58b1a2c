import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { createClient, type RedisClientType } from '@redis/client';
import { startRedis, type RedisServer } from '../../support/redis.js';
import { startHarness, type Harness } from './harness.js';

/** A Baileys session whose credentials live in Redis (CREDENTIALS_STORE=redis), linked on the protocol simulator. */
const PHONE = '15550100071';
const KEY = randomBytes(32).toString('hex');
const HASH = 'hs:creds:shop';

let redis: RedisServer;
let client: RedisClientType;
let h: Harness;

before(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url }) as RedisClientType;
  await client.connect();
  h = await startHarness({ env: { REDIS_URL: redis.url, CREDENTIALS_STORE: 'redis', CREDENTIALS_KEY: KEY } });
});
after(async () => {
  await h.close();
  await client.close();
  await redis.stop();
});

const deviceJids = () => h.sim.connections(PHONE).map((c) => c.jid);

test('linked once, the session restarts from the credentials in Redis with no new QR, and none are on disk', async () => {
  await h.link('shop', PHONE);
  const device = deviceJids();
  assert.equal(device.length, 1);
  const stored = await client.hGetAll(HASH);
  assert.ok('creds' in stored && Object.keys(stored).length > 1, `creds and Signal keys in Redis: ${Object.keys(stored).join(', ')}`);
  assert.ok(!Object.values(stored).join('\n').includes(PHONE), 'the linked number is not readable in Redis');
  const onDisk = await readdir(path.join(h.server.sessionsDir, 'shop')).catch(() => []);
  assert.deepEqual(
    onDisk.filter((f) => f.endsWith('.json')),
    [],
    'no credential files in SESSIONS_DIR',
  );

  await h.server.restart();
  const back = await h.waitForState('shop', 'connected');
  assert.equal(back.me?.phone, PHONE);
  assert.deepEqual(deviceJids(), device, 'the same linked device logged in again, one socket');
  const qr = await h.server.api('/api/sessions/shop/qr', { headers: { accept: 'application/json' } });
  assert.equal(qr.status, 409, 'a linked session shows no QR');
  const id = await h.send('shop', { to: '+15557770071', text: 'from credentials kept in Redis' });
  assert.equal((await h.arrivedOnce(id, '15557770071')).text, 'from credentials kept in Redis');
});

test('started with another CREDENTIALS_KEY the session is needs_relink, no fresh login, Redis untouched; the right key brings it back', async () => {
  await h.server.restart({ CREDENTIALS_KEY: randomBytes(32).toString('hex') });
  const stuck = await h.waitForState('shop', 'needs_relink');
  assert.match(stuck.lastError?.message ?? '', /sealed with key \w{8}, but CREDENTIALS_KEY is \w{8}/);
  // Taken right after the restart: any write the old process made before it stopped is in.
  const held = await client.hGetAll(HASH);
  assert.deepEqual(deviceJids(), [], 'no socket: neither the old login nor a new registration');
  const qr = await h.server.api('/api/sessions/shop/qr', { headers: { accept: 'application/json' } });
  assert.notEqual(qr.status, 200, 'no QR for a new login is offered in its place');
  assert.deepEqual(await client.hGetAll(HASH), held, 'nothing in Redis was changed or reset');

  await h.server.restart({ CREDENTIALS_KEY: KEY });
  const back = await h.waitForState('shop', 'connected');
  assert.equal(back.me?.phone, PHONE);
});
