import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient, type RedisClientType } from '@redis/client';
import { startServer, waitFor, type StartedServer } from '../../support/server.js';
import { startRedis, type RedisServer } from '../../support/redis.js';
import { startFakeGraph, type FakeGraph } from '../../support/fake-graph/index.js';

/**
 * A Cloud API session's options (its access token and app secret) on a server with CREDENTIALS_STORE=redis: kept
 * sealed in Redis, never in SESSIONS_DIR, used after a restart, and refused, not lost, under another key.
 */
const PNID = '106540352242922';
const TOKEN = 'EAAG-redis-access-token-0123456789';
const SECRET = 'app-secret-redis-77a1';
const KEY = randomBytes(32).toString('hex');
const HASH = 'hs:creds:cloud';

let redis: RedisServer;
let client: RedisClientType;
let graph: FakeGraph;
let server: StartedServer;

type Session = { state: string; lastError?: { message: string } };
const session = async () => (await (await server.api('/api/sessions/cloud')).json()) as Session;
const waitForState = (state: string) =>
  waitFor(`cloud ${state}`, async () => ((await session()).state === state ? session() : undefined), 15_000);

/** Every file under the folder, with its content. */
const filesUnder = async (dir: string): Promise<{ file: string; text: string }[]> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return Promise.all(
    entries.filter((e) => e.isFile()).map(async (e) => ({ file: e.name, text: await readFile(path.join(e.parentPath, e.name), 'utf8') })),
  );
};

const sendAndDeliver = async (text: string) => {
  const res = await server.api('/api/sessions/cloud/messages', { method: 'POST', json: { to: '+15550001001', text } });
  assert.equal(res.status, 202, await res.clone().text());
  await graph.waitFor((g) => g.messages().find((m) => JSON.stringify(m).includes(text)));
};

before(async () => {
  [redis, graph] = await Promise.all([startRedis(), startFakeGraph()]);
  client = createClient({ url: redis.url }) as RedisClientType;
  await client.connect();
  graph.addNumber({ phoneNumberId: PNID, accessToken: TOKEN, appSecret: SECRET, displayPhoneNumber: '+1 555-0100', verifiedName: 'Shop' });
  server = await startServer({ CLOUD_GRAPH_URL: graph.url, REDIS_URL: redis.url, CREDENTIALS_STORE: 'redis', CREDENTIALS_KEY: KEY });
});
after(async () => {
  await server.close();
  await client.close();
  await Promise.all([redis.stop(), graph.close()]);
});

test('the options go to Redis sealed, not to SESSIONS_DIR, and serve the session across a restart', async () => {
  const res = await server.api('/api/sessions', {
    method: 'POST',
    json: {
      id: 'cloud',
      driver: 'cloud',
      options: { phoneNumberId: PNID, accessToken: TOKEN, appSecret: SECRET, verifyToken: 'verify-me-please' },
    },
  });
  assert.equal(res.status, 201, await res.clone().text());
  graph.setCallback(PNID, `${server.url}/hooks/cloud`);
  await waitForState('connected');
  await sendAndDeliver('sent with the token from Redis');

  for (const { file, text } of await filesUnder(server.sessionsDir)) {
    assert.notEqual(file, 'driver-options.json');
    assert.ok(!text.includes(TOKEN) && !text.includes(SECRET), `${file} holds a secret`);
  }
  const stored = await client.hGetAll(HASH);
  assert.deepEqual(Object.keys(stored), ['driver-options']);
  assert.ok(!stored['driver-options'].includes(TOKEN) && !stored['driver-options'].includes(SECRET));
  assert.ok(!Buffer.from(stored['driver-options'].split(':')[2], 'base64').includes(TOKEN), 'not merely encoded');
  assert.ok(!server.output().includes(KEY), 'the key is never logged');

  await server.restart();
  await waitForState('connected');
  await sendAndDeliver('sent after a restart');
});

test('another CREDENTIALS_KEY at start: needs_relink saying so, the stored options untouched and good again under the right key', async () => {
  const before = await client.hGetAll(HASH);
  const otherKey = randomBytes(32).toString('base64');
  await server.restart({ CREDENTIALS_KEY: otherKey });
  const stuck = await waitForState('needs_relink');
  assert.match(stuck.lastError?.message ?? '', /cannot be opened: .*sealed with key \w{8}, but CREDENTIALS_KEY is \w{8}/);
  assert.deepEqual(await client.hGetAll(HASH), before, 'nothing in Redis was changed or reset');
  assert.ok(!server.output().includes(otherKey));

  await server.restart({ CREDENTIALS_KEY: KEY });
  await waitForState('connected');
  await sendAndDeliver('sent under the right key again');
});

test('a start with redis credentials and a malformed key stops with a clear message that does not repeat it', async () => {
  const bad = 'my-secret-passphrase';
  await assert.rejects(server.restart({ CREDENTIALS_KEY: bad }), /CREDENTIALS_KEY must be 32 bytes as 64 hex digits or base64/);
  assert.ok(!server.output().includes(bad));
  await server.restart({ CREDENTIALS_KEY: KEY });
});

test('deleting the session removes its credentials from Redis', async () => {
  const res = await server.api('/api/sessions/cloud', { method: 'DELETE' });
  assert.ok(res.ok, String(res.status));
  assert.equal(await client.exists(HASH), 0);
});
