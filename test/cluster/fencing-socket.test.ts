import '../support/wa-simulator/trust.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, type RedisClientType } from '@redis/client';
import { leaseFences } from '../../src/cluster/leases.js';
import { SealingKey } from '../../src/lib/sealed-value.js';
import { createLogger } from '../../src/log.js';
import { createBaileysDriver } from '../../src/whatsapp/baileys/index.js';
import { createCredentialStore } from '../../src/whatsapp/credentials/index.js';
import { credentialsKey } from '../../src/whatsapp/credentials/redis-records.js';
import type { DriverEvent, DriverSession } from '../../src/whatsapp/driver.js';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { startWaSimulator, type WaSimulator } from '../support/wa-simulator/index.js';
import { waitFor } from '../support/server.js';

const LINKED = '15550007777';
const SESSION = 'stale';
const LEASE = `hs:lease:${SESSION}`;
let sim: WaSimulator;
let redis: RedisServer;
let client: RedisClientType;
let root: string;
let session: DriverSession;
const events: DriverEvent[] = [];
const logLines: { msg?: string }[] = [];

before(async () => {
  [sim, redis] = await Promise.all([startWaSimulator(), startRedis()]);
  client = createClient({ url: redis.url }) as RedisClientType;
  await client.connect();
  root = await mkdtemp(join(tmpdir(), 'hashsend-fencing-socket-'));
  const caFile = join(root, 'media-ca.pem');
  await writeFile(caFile, sim.mediaCa);
  const log = createLogger('warn', { write: (line: string) => void logLines.push(JSON.parse(line)) });
  // This node (node-a) opened the session under token 1 of its lease, as the ownership loop hands it over.
  await client.set(LEASE, 'node-a:1');
  const credentials = createCredentialStore({
    config: { sessionsDir: join(root, 'sessions'), credentials: { store: 'redis', key: new SealingKey(randomBytes(32)) } },
    redis: client,
    log,
    fence: leaseFences('node-a', (id) => (id === SESSION ? 1 : undefined)),
  });
  const driver = createBaileysDriver({ log, uploadCacheTtlMs: 60_000, wsUrl: sim.wsUrl, mediaCaFile: caFile, credentials });
  session = driver.open({
    sessionId: SESSION,
    dir: join(root, 'sessions', SESSION),
    log,
    blobs: { read: async () => Buffer.alloc(0), write: async () => undefined },
    onEvent: (e) => void events.push(e),
  });
  await session.start();
  const qr = await waitFor('a QR', async () => events.find((e): e is Extract<DriverEvent, { type: 'qr' }> => e.type === 'qr'));
  await sim.scanQr(qr.qr, LINKED);
  await waitFor('connected', async () => events.find((e) => e.type === 'state' && e.state === 'connected'), 15_000);
});
after(async () => {
  await session?.stop();
  await sim?.stop();
  await client?.close();
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

test('a Baileys session whose credential write is refused (another node holds the lease now) logs it and closes its socket, and Redis keeps the new owner’s credentials', async () => {
  const linkedCreds = await client.hGet(credentialsKey(SESSION), 'creds');
  assert.ok(linkedCreds, 'the login was written under this node’s token');
  // Taken over while this process was paused: node-b holds the lease under a newer token.
  await client.set(LEASE, 'node-b:2');
  const held = await client.hGetAll(credentialsKey(SESSION));
  const starts = () => events.filter((e) => e.type === 'state' && e.state === 'starting').length;
  const startsBefore = starts();

  // A send to a new contact stores Signal keys: the first write this socket makes after waking.
  session
    .send({ messageId: 'STALE0001', to: '15557770001@s.whatsapp.net', content: { type: 'text', text: 'from a stale owner' } })
    .catch(() => undefined);
  await waitFor('the session stopped', async () =>
    events.find((e) => e.type === 'state' && e.state === 'stopped' && e.reason === 'another node owns this session now'),
  );
  await waitFor('its socket closed', async () => (sim.connections(LINKED).every((c) => c.closed) ? true : undefined));
  assert.ok(logLines.some((l) => l.msg?.includes('credentials write refused')));
  assert.deepEqual(await client.hGetAll(credentialsKey(SESSION)), held);
  // Closed for good: no reconnect follows.
  assert.equal(starts(), startsBefore);
});
