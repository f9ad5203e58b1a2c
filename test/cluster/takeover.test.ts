import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { waitFor, type StartedServer } from '../support/server.js';
import { assertEachOnceAfterCrash, createBroadcast, numbers } from '../broadcasts/helpers.js';
import { adopted, adoptions, twoNodes, untilState } from './two-nodes.js';

const { ownerOf } = twoNodes({ CLUSTER_LEASE_TTL_MS: '2000' });
const SESSION = 'bulk';

/** How many the sandbox delivered, asked of `node`; undefined (and why, logged) while no node can answer. */
const delivered = async (node: StartedServer) => {
  const res = await node.api(`/api/sessions/${SESSION}/sandbox/deliveries`);
  const body = (await res.json()) as { items?: unknown[]; error?: { code: string } };
  if (!res.ok) console.log(`deliveries: ${res.status} ${body.error?.code}`);
  return body.items?.length;
};

test('kill -9 of the owner in the middle of a 1,000-recipient broadcast: the other node takes the session over from the same credentials and finishes; every recipient exactly once, the report agrees', async (t) => {
  const { owner, other } = ownerOf(SESSION);
  assert.equal((await other.api('/api/sessions', { method: 'POST', json: { id: SESSION, driver: 'sandbox' } })).status, 201);
  await untilState(other, SESSION, 'qr');
  const linked = await other.api(`/api/sessions/${SESSION}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } });
  assert.equal(linked.status, 200);

  const phones = numbers(1000);
  // Created through the node that does not own the session: the owner runs it.
  const created = await createBroadcast(other, SESSION, {
    name: 'bulk',
    recipients: phones.map((to, i) => ({ to, vars: { n: String(i) } })),
    message: { text: 'Offer {{n}}' },
    // Unpaced (a paced takeover is test/cluster/broadcast-pacing.test.ts's): two seconds or more for the other four
    // fifths, far more than a kill takes.
    pace: { perMinute: 0 },
  });
  await waitFor('a fifth of the list delivered', async () => (((await delivered(other)) ?? 0) >= 200 ? true : undefined), 60_000);
  const atKill = (await delivered(other)) ?? 0;
  await owner.kill('SIGKILL');
  const killedAt = performance.now();
  const killedAtMs = Date.now();
  assert.ok(atKill < 1000, `the broadcast had finished before the kill (${atKill})`);

  // The survivor opens the session from the shared folder once the dead owner's lease has run out.
  await waitFor('a delivery by the new owner', async () => ((await delivered(other)) ?? 0) > atKill || undefined, 60_000);
  const [adoptedAt] = adoptions(other, SESSION);
  t.diagnostic(
    `takeover (lease TTL 2000 ms): adopted ${adoptedAt! - killedAtMs} ms after the kill; a new delivery seen ${Math.round(performance.now() - killedAt)} ms after it`,
  );
  assert.equal(adopted(owner, SESSION), 1);
  assert.equal(adopted(other, SESSION), 1);

  await assertEachOnceAfterCrash(other, SESSION, created.id, phones);
  await untilState(other, SESSION, 'connected');
});
