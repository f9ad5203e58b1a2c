import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createClient, type RedisClientType } from '@redis/client';
import { createLogger } from '../../../src/log.js';
import { SealingKey } from '../../../src/lib/sealed-value.js';
import { openAuthStore } from '../../../src/whatsapp/baileys/auth-store.js';
import { NeedsRelinkError } from '../../../src/whatsapp/baileys/needs-relink-error.js';
import { credentialsKey, redisCredentials } from '../../../src/whatsapp/credentials/redis-records.js';
import { readDriverOptions, writeDriverOptions } from '../../../src/whatsapp/session-options.js';
import { startRedis, type RedisServer } from '../../support/redis.js';
import { z } from 'zod';
import type { Driver } from '../../../src/whatsapp/driver.js';

const log = createLogger('silent');
let redis: RedisServer;
let client: RedisClientType;
const key = new SealingKey(randomBytes(32));
const store = () => redisCredentials({ client, key });

before(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url }) as RedisClientType;
  // The outage test stops Redis under this connection too.
  client.on('error', () => undefined);
  await client.connect();
});
after(async () => {
  await client.close();
  await redis.stop();
});

const relink = (reason: string, says?: RegExp) => (e: unknown) =>
  e instanceof NeedsRelinkError && e.reason === reason && (!says || says.test(e.message));

/** A linked login with a session key, written through the Redis store. */
const linked = async (sessionId: string) => {
  const auth = await openAuthStore({ records: store().session(sessionId), log });
  auth.state.creds.account = {
    details: Buffer.from('details'),
    accountSignatureKey: Buffer.alloc(32, 7),
    accountSignature: Buffer.alloc(64, 8),
    deviceSignature: Buffer.alloc(64, 9),
  };
  auth.state.creds.me = { id: '4915123456789:3@s.whatsapp.net', name: 'Shop' };
  await auth.saveCreds();
  await auth.state.keys.set({
    session: { '4915123456789.0': Buffer.from('ratchet-state') },
    'pre-key': { '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) } },
  });
  await auth.flush();
  return auth;
};

const waitForReady = async (c: RedisClientType) => {
  if (!c.isReady) await once(c, 'ready');
};

const commandCalls = async (command: string) => {
  const stats = await client.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
};

test('Baileys creds and keys round-trip through Redis, Buffers included; a fresh hash is a fresh login', async () => {
  const fresh = await openAuthStore({ records: store().session('rt'), log });
  assert.equal(fresh.isLinked(), false);
  const first = await linked('rt');
  const again = await openAuthStore({ records: store().session('rt'), log });
  assert.equal(again.isLinked(), true);
  assert.deepEqual(again.state.creds.me, first.state.creds.me);
  assert.ok(Buffer.from(again.state.creds.noiseKey.private).equals(Buffer.from(first.state.creds.noiseKey.private)));
  const got = await again.state.keys.get('session', ['4915123456789.0', 'absent']);
  assert.equal(Buffer.from(got['4915123456789.0']).toString(), 'ratchet-state');
  assert.equal('absent' in got, false);
  await again.state.keys.set({ session: { '4915123456789.0': null } });
  const gone = await openAuthStore({ records: store().session('rt'), log });
  assert.deepEqual(await gone.state.keys.get('session', ['4915123456789.0']), {});
  assert.deepEqual((await client.hKeys(credentialsKey('rt'))).sort(), ['creds', 'pre-key-1']);
});

test('what Redis holds is unreadable without the key: no key material, name or token in clear', async () => {
  const auth = await linked('clear');
  const records = store().session('clear');
  await writeDriverOptions(records, { accessToken: 'EAAG-secret-token-123', appSecret: 'app-secret-456' });
  const all = await client.hGetAll(credentialsKey('clear'));
  assert.deepEqual(Object.keys(all).sort(), ['creds', 'driver-options', 'pre-key-1', 'session-4915123456789.0']);
  // As stored, and with the payload's base64 undone: a value merely encoded would show its JSON there.
  const payloads = Object.values(all).map((v) => Buffer.from(v.split(':')[2] ?? '', 'base64').toString('latin1'));
  const dump = [...Object.values(all), ...payloads].join('\n');
  const secrets = [
    Buffer.from(auth.state.creds.noiseKey.private),
    Buffer.from(auth.state.creds.signedIdentityKey.private),
    Buffer.alloc(32, 2),
    Buffer.from('ratchet-state'),
  ];
  for (const secret of secrets) {
    for (const form of [secret.toString('base64'), secret.toString('hex')]) assert.ok(!dump.includes(form), `${form} is in Redis in clear`);
  }
  for (const word of ['EAAG-secret-token-123', 'app-secret-456', 'noiseKey', 'Buffer', 'Shop', '4915123456789', 'ratchet']) {
    assert.ok(!dump.includes(word), `${word} is in Redis in clear`);
  }
  for (const value of Object.values(all)) assert.match(value, new RegExp(`^v1:${key.id}:[A-Za-z0-9+/=]+$`));
});

test('a value altered in Redis, or copied from another session, is needs_relink and left as it was', async () => {
  await linked('victim');
  await linked('other');
  const hash = credentialsKey('victim');
  const original = await client.hGet(hash, 'creds');
  const raw = Buffer.from(original!.split(':')[2], 'base64');
  raw[20] ^= 0xff;
  const altered = `v1:${key.id}:${raw.toString('base64')}`;
  await client.hSet(hash, 'creds', altered);
  await assert.rejects(openAuthStore({ records: store().session('victim'), log }), relink('creds_undecryptable', /altered, or copied/));
  assert.equal(await client.hGet(hash, 'creds'), altered, 'nothing was reset');

  await client.hSet(hash, 'creds', (await client.hGet(credentialsKey('other'), 'creds'))!);
  await assert.rejects(openAuthStore({ records: store().session('victim'), log }), relink('creds_undecryptable'));
  // A Signal key moved in is found at open too, before the login is used.
  await client.hSet(hash, 'creds', original!);
  await openAuthStore({ records: store().session('victim'), log });
  await client.hSet(hash, 'pre-key-1', (await client.hGet(credentialsKey('other'), 'pre-key-1'))!);
  await assert.rejects(openAuthStore({ records: store().session('victim'), log }), relink('creds_undecryptable', /pre-key-1/));
  // Nor can one record stand in for another of the same session.
  await client.hSet(hash, 'pre-key-1', original!);
  await assert.rejects(openAuthStore({ records: store().session('victim'), log }), relink('creds_undecryptable'));
  assert.equal(await client.hLen(hash), 3, 'no record was removed or added');
});

test('another CREDENTIALS_KEY is needs_relink naming both key ids, and the values stay for the right key', async () => {
  await linked('rekey');
  const before = await client.hGetAll(credentialsKey('rekey'));
  const other = new SealingKey(randomBytes(32));
  await assert.rejects(
    openAuthStore({ records: redisCredentials({ client, key: other }).session('rekey'), log }),
    relink('creds_undecryptable', new RegExp(`sealed with key ${key.id}, but CREDENTIALS_KEY is ${other.id}`)),
  );
  assert.deepEqual(await client.hGetAll(credentialsKey('rekey')), before);
  assert.equal((await openAuthStore({ records: store().session('rekey'), log })).isLinked(), true);
});

test('one keys.set is one Redis write, sets and removals together; wipe deletes the hash and drops later writes', async () => {
  const auth = await linked('batch');
  const hset = await commandCalls('hset');
  const hdel = await commandCalls('hdel');
  const exec = await commandCalls('exec');
  const many = Object.fromEntries(
    Array.from({ length: 50 }, (_, i) => [String(i + 10), { public: Buffer.alloc(32, i), private: Buffer.alloc(32, i) }]),
  );
  await auth.state.keys.set({ 'pre-key': many });
  assert.equal((await commandCalls('hset')) - hset, 1);
  await auth.state.keys.set({ 'pre-key': { '10': null, '11': null }, session: { x: Buffer.from('s') } });
  assert.equal((await commandCalls('hset')) - hset, 2);
  assert.equal((await commandCalls('hdel')) - hdel, 1);
  assert.equal((await commandCalls('exec')) - exec, 1, 'the mixed batch in one MULTI');
  assert.equal(await client.hLen(credentialsKey('batch')), 3 + 50 - 2 + 1, 'creds and two keys, 50 added, 2 removed, 1 added');

  const pending = auth.saveCreds();
  await auth.wipe();
  await pending;
  await auth.saveCreds();
  await auth.state.keys.set({ session: { y: Buffer.from('late') } });
  assert.equal(await client.exists(credentialsKey('batch')), 0);
});

test('driver options round-trip sealed; one that does not open is a problem to relink, not an empty session', async () => {
  const spec = z.object({ accessToken: z.string() });
  const driver = { name: 'cloud', options: { schema: spec, view: () => ({}) } } as unknown as Driver;
  const records = store().session('opts');
  await writeDriverOptions(records, { accessToken: 'tok' });
  assert.deepEqual(await readDriverOptions(records, driver), { options: { accessToken: 'tok' } });
  const other = redisCredentials({ client, key: new SealingKey(randomBytes(32)) }).session('opts');
  const { options, problem } = await readDriverOptions(other, driver);
  assert.equal(options, undefined);
  assert.match(problem ?? '', /cannot be opened: .*CREDENTIALS_KEY/);
  assert.deepEqual(await readDriverOptions(store().session('none'), driver), {
    problem: 'the session has no options (its credentials were removed)',
  });
});

test('fenced: credentials are written only while this node holds the lease; a replaced owner changes nothing', async () => {
  const lease = 'hs:lease:fenced';
  const fenced = redisCredentials({ client, key, fence: () => ({ key: lease, value: 'node-a:7' }) });
  await client.set(lease, 'node-a:7');
  const auth = await openAuthStore({ records: fenced.session('fenced'), log });
  await auth.saveCreds();
  await auth.state.keys.set({ 'pre-key': { '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) } } });
  await auth.state.keys.set({ 'pre-key': { '1': null }, session: { a: Buffer.from('s') } });
  assert.deepEqual((await client.hKeys(credentialsKey('fenced'))).sort(), ['creds', 'session-a']);

  // Paused past its lease: another node took the session over under a newer token.
  await client.set(lease, 'node-b:8');
  const before = await client.hGetAll(credentialsKey('fenced'));
  auth.state.creds.nextPreKeyId = 999;
  await assert.rejects(auth.saveCreds(), { name: 'FencedWriteError' });
  await assert.rejects(async () => auth.state.keys.set({ session: { a: Buffer.from('stale') } }), { name: 'FencedWriteError' });
  await assert.rejects(auth.wipe(), { name: 'FencedWriteError' });
  assert.deepEqual(await client.hGetAll(credentialsKey('fenced')), before, 'the new owner’s credentials are untouched');
  const none = redisCredentials({ client, key, fence: () => undefined }).session('fenced');
  await assert.rejects(none.write([['creds', '{}']]), { name: 'FencedWriteError' });
});

test('Redis not answering at open is an error to retry, never needs_relink, and the login is there once it is back', async () => {
  await linked('outage');
  const failFast = createClient({ url: redis.url, disableOfflineQueue: true, socket: { reconnectStrategy: 50 } }) as RedisClientType;
  failFast.on('error', () => undefined);
  await failFast.connect();
  try {
    await redis.halt();
    const records = redisCredentials({ client: failFast, key }).session('outage');
    await assert.rejects(
      openAuthStore({ records, log }),
      (e: unknown) => !(e instanceof NeedsRelinkError) && (e as Error).name === 'StoreUnavailableError',
    );
    await redis.restart();
    await waitForReady(failFast);
    assert.equal((await openAuthStore({ records, log })).isLinked(), true);
  } finally {
    await failFast.close();
  }
});
