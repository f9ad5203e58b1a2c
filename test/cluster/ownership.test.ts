import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preferredOwner } from '../../src/cluster/placement.js';
import { createTracker, testCluster } from './harness.ts';

const sessionsNamed = (prefix: string) => Array.from({ length: 20 }, (_, i) => `${prefix}-${i}`);

test('nodes joining take their share and a node leaving hands its sessions over, at once, never two owners at a time', async (t) => {
  const sessions = sessionsNamed('share');
  const tracker = createTracker();
  // No timer fires within this test (passes and heartbeats 10 min apart, leases of an hour): everything below
  // happens on the join, leave and released notices alone.
  const options = { tracker, sessionIds: () => sessions, ttlMs: 3_600_000, tickMs: 600_000 };
  const cluster = await testCluster();
  t.after(() => cluster.close());
  const start = (id: string) => cluster.start(id, options);

  const n1 = await start('share-n1');
  const n2 = await start('share-n2');
  await tracker.placedOver(sessions, ['share-n1', 'share-n2']);
  assert.equal(tracker.owners().size, 20);

  const releasedBefore = tracker.released.length;
  const n3 = await start('share-n3');
  await tracker.placedOver(sessions, ['share-n1', 'share-n2', 'share-n3']);
  // The others released exactly what moved to the newcomer, nothing else.
  const moved = sessions.filter((id) => preferredOwner(id, ['share-n1', 'share-n2', 'share-n3']) === 'share-n3');
  assert.ok(moved.length > 0);
  assert.deepEqual(
    tracker.released
      .slice(releasedBefore)
      .map((r) => r.sessionId)
      .sort(),
    moved.sort(),
  );
  assert.deepEqual(n3.ownership.owned(), moved.sort());

  const n1Had = n1.ownership.owned();
  await n1.ownership.stop();
  assert.deepEqual(n1.ownership.owned(), []);
  await tracker.placedOver(sessions, ['share-n2', 'share-n3']);
  assert.deepEqual([...n2.ownership.owned(), ...n3.ownership.owned()].sort(), [...sessions].sort());
  assert.ok(n1Had.every((id) => tracker.tokens.get(id)!.length >= 2));
  assert.deepEqual(tracker.violations, []);
});

test('a session whose preferred node is live but does not take it is taken by another node after the grace', async (t) => {
  const sessions = sessionsNamed('grace');
  const tracker = createTracker();
  const options = { tracker, sessionIds: () => sessions, ttlMs: 1_500 };
  const cluster = await testCluster();
  t.after(() => cluster.close());
  // A node that heartbeats but never adopts: its share must not stay unowned.
  await cluster.start('grace-stuck', { ...options, tracker: createTracker(), sessionIds: () => [] });
  const worker = await cluster.start('grace-worker', options);
  await tracker.coveredBy(sessions, ['grace-worker']);
  const stuckShare = sessions.filter((id) => preferredOwner(id, ['grace-stuck', 'grace-worker']) === 'grace-stuck');
  assert.ok(stuckShare.length > 0);
  // Taken as a fallback, it is not handed back to the node that left it (no back and forth).
  const adoptions = [...tracker.tokens.values()].flat().length;
  for (let i = 0; i < 3; i++) await worker.ownership.tick();
  assert.equal([...tracker.tokens.values()].flat().length, adoptions);
  assert.deepEqual(worker.ownership.owned(), [...sessions].sort());
  assert.deepEqual(tracker.violations, []);
});

test('a session that is deleted is closed and its lease released; onChange reports adoptions and closings', async (t) => {
  let sessions = sessionsNamed('gone').slice(0, 3);
  const tracker = createTracker();
  const cluster = await testCluster();
  t.after(() => cluster.close());
  const node = await cluster.start('gone-n1', { tracker, sessionIds: () => sessions, ttlMs: 3_600_000, tickMs: 600_000 });
  const changes: string[] = [];
  node.ownership.onChange(({ sessionId, owned }) => changes.push(`${owned ? '+' : '-'}${sessionId}`));
  await tracker.coveredBy(sessions, ['gone-n1']);
  sessions = sessions.slice(1);
  await node.ownership.tick();
  assert.deepEqual(node.ownership.owned(), ['gone-1', 'gone-2']);
  assert.deepEqual(changes, ['-gone-0']);
  assert.equal(await node.redis.client.exists('hs:lease:gone-0'), 0);
  sessions = [...sessions, 'gone-3'];
  await node.ownership.tick();
  assert.deepEqual(changes, ['-gone-0', '+gone-3']);
  assert.deepEqual(tracker.violations, []);
});

test('a session that fails to open is not counted as owned, its lease is freed, and it is tried again', async (t) => {
  const sessions = ['fail-0', 'fail-1'];
  const tracker = createTracker();
  const cluster = await testCluster();
  t.after(() => cluster.close());
  let broken = true;
  const node = await cluster.start('fail-n1', {
    tracker,
    sessionIds: () => sessions,
    ttlMs: 3_600_000,
    tickMs: 600_000,
    failAdopt: (id) => id === 'fail-0' && broken,
  });
  assert.deepEqual(node.ownership.owned(), ['fail-1']);
  assert.equal(await node.redis.client.exists('hs:lease:fail-0'), 0);
  broken = false;
  await node.ownership.tick();
  assert.deepEqual(node.ownership.owned(), ['fail-0', 'fail-1']);
  assert.deepEqual(tracker.violations, []);
});
