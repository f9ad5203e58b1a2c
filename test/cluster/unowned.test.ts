import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type RedisClientType } from '@redis/client';
import { createLeases } from '../../src/cluster/leases.js';
import { messageApi, reached } from '../support/message-api.js';
import type { StartedServer } from '../support/server.js';
import { openEventStream } from '../support/sse.js';
import { adopted, twoNodes, untilState } from './two-nodes.js';

const TTL_MS = 2000;
const { ctx, ownerOf } = twoNodes({ CLUSTER_LEASE_TTL_MS: String(TTL_MS) });

const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error?: { code: string } }).error?.code] as const;

/** A node that died holding the session's lease: it is in no node list, and its lease has not run out yet. */
const deadOwnerLease = async (sessionId: string) => {
  const client = createClient({ url: ctx.redis.url }) as RedisClientType;
  await client.connect();
  const leases = createLeases({ client, nodeId: 'node-gone', ttlMs: 120_000 });
  const lease = await leases.acquire(sessionId);
  assert.ok(lease, 'the lease was free');
  return {
    /** It runs out, as it would after its TTL. */
    async expire() {
      assert.equal(await leases.release(sessionId, lease.token), true);
      await client.close();
    },
  };
};

test('a session whose owner died before anyone took it over: owner-only calls on any node are 503 session_unowned, sends are accepted; after the takeover all of it works', async () => {
  const id = 'orphan';
  const dead = await deadOwnerLease(id);
  const [a, b] = ctx.nodes as [StartedServer, StartedServer];
  assert.equal((await a.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);

  // Accepted and kept in Redis until some node holds the session.
  const queued = await messageApi(b).send(id, 'waits for an owner');

  // Every node waits a while for an owner, then says what is going on: retry later, not a 500 nor a hang.
  const answers = await Promise.all([
    a.api(`/api/sessions/${id}/qr`),
    b.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: {} }),
    b.api(`/api/sessions/${id}/pairing-code`, { method: 'POST', json: { phone: '+4915100000001' } }),
    a.api(`/api/sessions/${id}/logout`, { method: 'POST' }),
  ]);
  for (const res of answers) assert.deepEqual(await errorOf(res), [503, 'session_unowned']);
  for (const n of ctx.nodes) {
    const res = await n.api(`/api/sessions/${id}`);
    assert.equal(res.status, 200);
    assert.notEqual(((await res.json()) as { state: string }).state, 'connected');
    assert.equal(adopted(n, id), 0);
  }

  await dead.expire();
  // The next holder opens it: the same calls now work through either node.
  const qr = await b.api(`/api/sessions/${id}/qr`);
  assert.equal(qr.status, 200);
  assert.ok(((await qr.json()) as { qr?: string }).qr);
  assert.equal((await a.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } })).status, 200);
  await messageApi(a).until(queued, reached, 'the message queued while unowned, delivered');
  await untilState(a, id, 'connected');
  await untilState(b, id, 'connected');
  assert.equal(adopted(a, id) + adopted(b, id), 1);
});

test("a client following a session on the node that does not own it sees the owner's new state even when the event between the nodes was lost", async () => {
  const id = 'followed';
  const { owner, other } = ownerOf(id);
  assert.equal((await owner.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);
  await untilState(other, id, 'qr');
  const stream = await openEventStream(`${other.url}/api/sessions/${id}/events`, { authorization: `Bearer ${other.apiKey}` });
  await stream.next((e) => e.event === 'state');

  // Every node's subscription dropped, and kept from coming back while the owner links (a network blip): pub/sub
  // keeps nothing for a node that is not subscribed.
  const client = createClient({ url: ctx.redis.url }) as RedisClientType;
  await client.connect();
  const maxClients = (await client.configGet('maxclients')).maxclients!;
  await client.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
  const connected = Number(/connected_clients:(\d+)/.exec(await client.info('clients'))![1]);
  await client.configSet('maxclients', String(connected));
  assert.equal((await owner.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: {} })).status, 200);
  await client.configSet('maxclients', maxClients);
  await client.close();

  const shown = await stream.next((e) => e.event === 'state' && (e.data as { state: string }).state === 'connected', 10_000);
  assert.equal((shown.data as { id: string }).id, id);
  await stream.close();
});
