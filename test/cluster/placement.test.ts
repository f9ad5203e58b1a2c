import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preferredOwner } from '../../src/cluster/placement.js';

const sessions = Array.from({ length: 1000 }, (_, i) => `session-${i}`);
const share = (nodes: string[]) => {
  const counts = new Map(nodes.map((n) => [n, 0]));
  for (const id of sessions) {
    const owner = preferredOwner(id, nodes)!;
    counts.set(owner, counts.get(owner)! + 1);
  }
  return counts;
};

test('1,000 sessions over 3 nodes: each node gets between 20 % and 45 %', () => {
  for (const nodes of [
    ['a', 'b', 'c'],
    ['node-1', 'node-2', 'node-3'],
    ['host-4f1c2a', 'host-9b07de', 'host-00a1ff'],
  ]) {
    for (const [node, count] of share(nodes)) assert.ok(count >= 200 && count <= 450, `${node} got ${count} of ${nodes.join(', ')}`);
  }
});

test('a 4th node joining takes about a quarter, and only moves sessions to itself', () => {
  const before = new Map(sessions.map((id) => [id, preferredOwner(id, ['a', 'b', 'c'])]));
  let moved = 0;
  for (const id of sessions) {
    const after = preferredOwner(id, ['a', 'b', 'c', 'd']);
    if (after === before.get(id)) continue;
    assert.equal(after, 'd', `${id} moved from ${before.get(id)} to ${after}, not to the new node`);
    moved++;
  }
  assert.ok(moved >= 150 && moved <= 350, `${moved} of 1,000 moved`);
});

test('a node leaving moves only its own sessions', () => {
  for (const id of sessions) {
    const before = preferredOwner(id, ['a', 'b', 'c', 'd']);
    if (before !== 'b') assert.equal(preferredOwner(id, ['a', 'c', 'd']), before, id);
  }
});

test('the answer is the same whatever the order of the live list, and none without live nodes', () => {
  for (const id of sessions.slice(0, 200)) {
    assert.equal(preferredOwner(id, ['a', 'b', 'c', 'd']), preferredOwner(id, ['d', 'c', 'b', 'a']));
  }
  assert.equal(preferredOwner('x', []), undefined);
  // Pinned: nodes of one cluster (and of two versions, during an upgrade) must compute the same placement.
  assert.deepEqual(
    ['s1', 's2', 's3', 's4', 's5', 's6'].map((id) => preferredOwner(id, ['a', 'b', 'c'])),
    ['a', 'a', 'c', 'b', 'a', 'b'],
  );
});
