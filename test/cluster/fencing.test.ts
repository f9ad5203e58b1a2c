import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openClusterRedis, type ClusterRedis } from '../../src/cluster/redis.js';
import { createNodeRegistry } from '../../src/cluster/nodes.js';
import { createLeases, leaseFences } from '../../src/cluster/leases.js';
import { createOwnership, type Ownership } from '../../src/cluster/ownership.js';
import { SealingKey } from '../../src/lib/sealed-value.js';
import { openAuthStore, type AuthStore } from '../../src/whatsapp/baileys/auth-store.js';
import { createCredentialStore, FencedWriteError } from '../../src/whatsapp/credentials/index.js';
import { credentialsKey } from '../../src/whatsapp/credentials/redis-records.js';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { quiet, waitFor } from './helpers.ts';

const SESSION = 'fenced';
const key = new SealingKey(randomBytes(32));
let redis: RedisServer;
let sessionsDir: string;
const open: ClusterRedis[] = [];
const loops: Ownership[] = [];
before(async () => {
  redis = await startRedis();
  sessionsDir = await mkdtemp(path.join(tmpdir(), 'hashsend-fencing-'));
});
after(async () => {
  for (const o of loops) o.crash();
  await Promise.all(open.map((r) => r.close()));
  await redis.stop();
  await rm(sessionsDir, { recursive: true, force: true });
});

interface Node {
  ownership: Ownership;
  /** The session's credentials as this node's Baileys driver holds them while it owns the session. */
  auth(): AuthStore;
  fenced: FencedWriteError[];
}

/**
 * A node as app.ts wires one: the ownership loop's lease tokens fence the owner's credential store, and adopting
 * the session opens its credentials (as the Baileys driver does) from that store.
 */
const startNode = async (nodeId: string, store: 'redis' | 'files', session: string): Promise<Node> => {
  const client = await openClusterRedis({ url: redis.url, log: quiet, pingIntervalMs: 100, commandTimeoutMs: 500 });
  open.push(client);
  const ttlMs = 1000;
  const leases = createLeases({ client: client.client, nodeId, ttlMs });
  let ownership: Ownership | undefined;
  const credentials = createCredentialStore({
    config: { sessionsDir, credentials: { store, key } },
    redis: client.client,
    log: quiet,
    fence: leaseFences(nodeId, (id) => ownership?.token(id)),
  });
  const fenced: FencedWriteError[] = [];
  let auth: AuthStore | undefined;
  ownership = createOwnership({
    nodes: createNodeRegistry({ redis: client, log: quiet, nodeId, ttlMs }),
    leases,
    log: quiet,
    tickMs: 100,
    sessionIds: async () => [session],
    adopt: async (id) => {
      auth = await openAuthStore({ records: credentials.session(id), log: quiet, onFenced: (e) => fenced.push(e) });
      auth.state.creds.me = { id: '15550001111@s.whatsapp.net', name: nodeId };
      await auth.saveCreds();
    },
    release: async () => auth?.flush(),
  });
  loops.push(ownership);
  const adopted = waitFor(ownership.onChange, (c) => c.owned && c.sessionId === session);
  await ownership.start();
  await adopted;
  return { ownership, auth: () => auth!, fenced };
};

/** The credentials as they are stored now, read without any fence. */
const storedName = async (store: 'redis' | 'files', session: string) => {
  const client = open[0]!.client;
  const records = createCredentialStore({ config: { sessionsDir, credentials: { store, key } }, redis: client, log: quiet });
  return (await openAuthStore({ records: records.session(session), log: quiet })).state.creds.me?.name;
};

for (const store of ['redis', 'files'] as const) {
  test(`CREDENTIALS_STORE=${store}: after a takeover, the old owner's writes under its superseded token are refused and change nothing`, async () => {
    const session = `${SESSION}-${store}`;
    const a = await startNode(`a-${store}`, store, session);
    assert.equal(await storedName(store, session), `a-${store}`);
    // Paused past its lease: no renewals, no heartbeats, its socket and credentials still open in memory.
    a.ownership.crash();
    const b = await startNode(`b-${store}`, store, session);
    assert.equal(await storedName(store, session), `b-${store}`);
    const newer =
      store === 'redis'
        ? await open[0]!.client.hGetAll(credentialsKey(session))
        : await readFile(path.join(sessionsDir, session, 'creds.json'), 'utf8');

    // The old owner wakes and writes: its creds, a Signal key, a logout's wipe.
    const stale = a.auth();
    stale.state.creds.me = { id: '15550001111@s.whatsapp.net', name: 'stale' };
    await assert.rejects(stale.saveCreds(), FencedWriteError);
    await assert.rejects(async () => stale.state.keys.set({ session: { peer: Buffer.from('stale') } }), FencedWriteError);
    await assert.rejects(stale.wipe(), FencedWriteError);
    assert.ok(a.fenced.length >= 2, 'the driver is told, to close its socket');

    assert.equal(await storedName(store, session), `b-${store}`);
    assert.deepEqual(
      store === 'redis'
        ? await open[0]!.client.hGetAll(credentialsKey(session))
        : await readFile(path.join(sessionsDir, session, 'creds.json'), 'utf8'),
      newer,
    );
    // The new owner still writes.
    b.auth().state.creds.me = { id: '15550001111@s.whatsapp.net', name: 'b again' };
    await b.auth().saveCreds();
    assert.equal(await storedName(store, session), 'b again');
  });
}
