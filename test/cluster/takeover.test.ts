import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { waitFor, type StartedServer } from '../support/server.js';
import { broadcast, createBroadcast, deliveries, jidOf, numbers, report, untilStatus } from '../broadcasts/helpers.js';
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
    // About 10 s in all (the fastest pace): long enough to be killed in the middle.
    pace: { perMinute: 6000 },
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

  const done = await untilStatus(other, created.id, 'completed', 120_000);
  assert.equal(done.total, 1000);
  const got = await deliveries(other, SESSION);
  assert.equal(got.length, 1000);
  assert.deepEqual(new Set(got.map((d) => d.to)), new Set(phones.map(jidOf)));
  const byTo = new Map(got.map((d) => [d.to, d]));
  phones.forEach((p, i) => assert.equal(byTo.get(jidOf(p))?.text, `Offer ${i}`));
  // A second send of one id is the message in flight at the kill, sent again under its id: WhatsApp shows it once.
  const resent = got.filter((d) => d.sendAttempts !== 1);
  assert.ok(resent.length <= 1 && resent.every((d) => d.sendAttempts === 2), JSON.stringify(resent));

  const rows = await report(other, created.id);
  assert.equal(rows.length, 1000);
  for (const r of rows) {
    assert.ok(['sent', 'delivered', 'read'].includes(r.status), `${r.index} is ${r.status}`);
    assert.equal(r.messageId, byTo.get(r.to)?.messageId);
  }
  const counts = (await broadcast(other, created.id)).counts;
  assert.equal(counts.sent + counts.delivered + counts.read, 1000);
  await untilState(other, SESSION, 'connected');
});
