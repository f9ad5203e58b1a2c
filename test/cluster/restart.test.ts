import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { messageApi, reached } from '../support/message-api.js';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { startServer, type StartedServer } from '../support/server.js';
import { adopted, untilState } from './two-nodes.js';

// A lease that outlives a dead owner by a minute: a session open again well within that was not waited for.
const SETTINGS = { CLUSTER_NODE_ID: 'fixed-node', CLUSTER_LEASE_TTL_MS: '60000' };
const SESSION = 'again';
let redis: RedisServer;
let node: StartedServer;
before(async () => {
  redis = await startRedis();
  node = await startServer({ ...SETTINGS, REDIS_URL: redis.url });
});
after(async () => {
  await node?.close();
  await redis?.stop();
});

test('a second process started under the CLUSTER_NODE_ID of a live one is refused, saying why', async () => {
  await assert.rejects(
    startServer({ ...SETTINGS, REDIS_URL: redis.url }),
    (err: Error) =>
      /exited during start-up/.test(err.message) && /CLUSTER_NODE_ID=fixed-node is in use by another live process/.test(err.message),
  );
  // The live one is untouched.
  assert.equal((await fetch(`${node.url}/readyz`)).status, 200);
});

test('killed and restarted under the same CLUSTER_NODE_ID, a node takes its dead process leases at once instead of waiting them out', async () => {
  assert.equal((await node.api('/api/sessions', { method: 'POST', json: { id: SESSION, driver: 'sandbox' } })).status, 201);
  assert.equal((await node.api(`/api/sessions/${SESSION}/sandbox/link`, { method: 'POST', json: {} })).status, 200);
  await untilState(node, SESSION, 'connected');
  assert.equal(adopted(node, SESSION), 1);

  await node.kill('SIGKILL');
  await node.restart();
  // Well within the minute the dead process's lease would still run.
  await untilState(node, SESSION, 'connected', 20_000);
  assert.equal(adopted(node, SESSION), 2);
  assert.match(node.output(), /the leases of this node id's previous process were freed/);
  const api = messageApi(node);
  const id = await api.send(SESSION, 'after the restart');
  await api.until(id, reached, 'the send after the restart', 20_000);
});
