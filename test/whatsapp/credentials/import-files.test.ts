import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, type RedisClientType } from '@redis/client';
import { createLogger } from '../../../src/log.js';
import { SealingKey } from '../../../src/lib/sealed-value.js';
import { openAuthStore } from '../../../src/whatsapp/baileys/auth-store.js';
import { createCredentialStore } from '../../../src/whatsapp/credentials/index.js';
import { fileRecords } from '../../../src/whatsapp/credentials/file-records.js';
import { writeDriverOptions } from '../../../src/whatsapp/session-options.js';
import { startRedis, type RedisServer } from '../../support/redis.js';

const log = createLogger('silent');
let redis: RedisServer;
let client: RedisClientType;
let sessionsDir: string;
const KEY = randomBytes(32);

before(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url }) as RedisClientType;
  await client.connect();
  sessionsDir = await mkdtemp(path.join(tmpdir(), 'hashsend-import-'));
});
after(async () => {
  await client.close();
  await redis.stop();
  await rm(sessionsDir, { recursive: true, force: true });
});

const redisStore = () =>
  createCredentialStore({ config: { sessionsDir, credentials: { store: 'redis', key: new SealingKey(KEY) } }, redis: client, log });

test('switching from files to redis moves a linked login into Redis (no new QR) and leaves no credential file behind', async () => {
  const dir = path.join(sessionsDir, 'moved');
  const onFiles = await openAuthStore({ dir, log });
  onFiles.state.creds.me = { id: '4915123456789:3@s.whatsapp.net' };
  onFiles.state.creds.account = {
    details: Buffer.from('d'),
    accountSignatureKey: Buffer.alloc(32, 1),
    accountSignature: Buffer.alloc(64, 2),
    deviceSignature: Buffer.alloc(64, 3),
  };
  await onFiles.saveCreds();
  await onFiles.state.keys.set({ session: { '4915123456789.0': Buffer.from('ratchet') } });
  await writeDriverOptions(fileRecords(dir), { note: 'kept' });

  const store = redisStore();
  const onRedis = await openAuthStore({ records: store.session('moved'), log });
  assert.equal(onRedis.isLinked(), true);
  assert.deepEqual(onRedis.state.creds.me, onFiles.state.creds.me);
  assert.equal(Buffer.from((await onRedis.state.keys.get('session', ['4915123456789.0']))['4915123456789.0']).toString(), 'ratchet');
  assert.deepEqual((await client.hKeys('hs:creds:moved')).sort(), ['creds', 'driver-options', 'session-4915123456789.0']);
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.endsWith('.json')),
    [],
    'the plaintext files are gone',
  );

  // Once Redis holds the session, files that show up again are not taken over it.
  await writeDriverOptions(fileRecords(dir), { note: 'stale' });
  const [options] = await redisStore().session('moved').read(['driver-options']);
  assert.equal(options, JSON.stringify({ note: 'kept' }));
});

test('a session with neither files nor Redis records is a fresh login, and nothing is written for it', async () => {
  const fresh = await openAuthStore({ records: redisStore().session('new'), log });
  assert.equal(fresh.isLinked(), false);
  assert.equal(await client.exists('hs:creds:new'), 0);
});
