import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTracker, testCluster } from './harness.ts';

const sessions = Array.from({ length: 20 }, (_, i) => `s-${i}`);

test("a killed node's sessions are taken over by the others once its leases have run out, under higher tokens", async (t) => {
  const tracker = createTracker();
  const cluster = await testCluster();
  t.after(() => cluster.close());
  const options = { tracker, sessionIds: () => sessions, ttlMs: 1_200 };
  await cluster.start('k1', options);
  await cluster.start('k2', options);
  const k3 = await cluster.start('k3', options);
  await tracker.placedOver(sessions, ['k1', 'k2', 'k3']);

  const k3Had = k3.ownership.owned();
  assert.ok(k3Had.length > 0);
  const tokensAtKill = new Map(k3Had.map((id) => [id, tracker.tokens.get(id)!.at(-1)!]));
  k3.ownership.crash();
  tracker.crashed('k3');
  // Its leases outlive it: nobody may open its sessions until they run out in Redis.
  const holders = await Promise.all(k3Had.map((id) => k3.redis.client.get(`hs:lease:${id}`)));
  assert.deepEqual(
    holders,
    k3Had.map((id) => `k3:${tokensAtKill.get(id)}`),
  );

  await tracker.placedOver(sessions, ['k1', 'k2']);
  for (const id of k3Had) assert.ok(tracker.tokens.get(id)!.at(-1)! > tokensAtKill.get(id)!, id);
  assert.deepEqual(tracker.violations, []);
});

test('a node whose lease is taken from it closes that session at once', async (t) => {
  const tracker = createTracker();
  const cluster = await testCluster();
  t.after(() => cluster.close());
  // Passes far apart: the keeper's renewal is what notices.
  const node = await cluster.start('l1', { tracker, sessionIds: () => sessions.slice(0, 2), ttlMs: 900, tickMs: 600_000 });
  await tracker.coveredBy(sessions.slice(0, 2), ['l1']);
  const closed = new Promise<void>((resolve) =>
    node.ownership.onChange(({ sessionId, owned }) => !owned && sessionId === 's-0' && resolve()),
  );
  await node.redis.client.set('hs:lease:s-0', 'intruder:999', { PX: 60_000 });
  await closed;
  assert.deepEqual(node.ownership.owned(), ['s-1']);
  assert.deepEqual(
    tracker.released.map((r) => r.sessionId),
    ['s-0'],
  );
  // Not ours, not touched.
  assert.equal(await node.redis.client.get('hs:lease:s-0'), 'intruder:999');
});

test('a node cut off from Redis closes its sessions (their renewals go unconfirmed), and adopts them again once Redis answers', async (t) => {
  const tracker = createTracker();
  const cluster = await testCluster();
  t.after(() => cluster.close());
  const options = { tracker, sessionIds: () => sessions, ttlMs: 1_500 };
  const a = await cluster.start('c1', options);
  await tracker.coveredBy(sessions, ['c1']);
  // Redis freezes: c1 cannot renew, so it closes everything (the keeper test shows it is before the leases run out).
  const allClosed = new Promise<void>((resolve) => a.ownership.onChange(() => a.ownership.owned().length === 0 && resolve()));
  cluster.server.freeze();
  await allClosed;
  cluster.server.thaw();
  await tracker.coveredBy(sessions, ['c1']);
  assert.deepEqual(tracker.violations, []);
});

test('a graceful stop while Redis is down still closes every session and ends', async (t) => {
  const tracker = createTracker();
  const cluster = await testCluster();
  t.after(() => cluster.close());
  const node = await cluster.start('d1', { tracker, sessionIds: () => sessions.slice(0, 5), ttlMs: 60_000 });
  await tracker.coveredBy(sessions.slice(0, 5), ['d1']);
  await cluster.server.halt();
  await node.ownership.stop();
  assert.deepEqual(node.ownership.owned(), []);
  assert.deepEqual(tracker.owners(), new Map());
  assert.deepEqual(tracker.violations, []);
});
