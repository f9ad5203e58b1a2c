import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planOwnership, type PlanInput } from '../../src/cluster/ownership-plan.js';
import { preferredOwner } from '../../src/cluster/placement.js';

const live = ['a', 'b'];
const ids = Array.from({ length: 40 }, (_, i) => `p-${i}`);
const mine = ids.filter((id) => preferredOwner(id, live) === 'a');
const theirs = ids.filter((id) => preferredOwner(id, live) === 'b');

const input = (over: Partial<PlanInput>): PlanInput => ({
  self: 'a',
  live,
  sessions: ids,
  held: new Map(),
  busy: new Set(),
  holders: new Map(),
  freeSince: new Map(),
  now: 1_000,
  graceMs: 100,
  ...over,
});

test("free leases: this node takes its own share at once, and another node's only after the grace", () => {
  const first = planOwnership(input({}));
  assert.deepEqual(
    first.acquire,
    mine.map((sessionId) => ({ sessionId })),
  );
  assert.deepEqual([...first.freeSince.keys()], theirs);
  const early = planOwnership(input({ freeSince: first.freeSince, now: 1_099 }));
  assert.deepEqual(early.acquire.length, mine.length);
  const late = planOwnership(input({ freeSince: first.freeSince, now: 1_100 }));
  assert.deepEqual(
    late.acquire.filter((a) => a.fallbackFor),
    theirs.map((sessionId) => ({ sessionId, fallbackFor: 'b' })),
  );
});

test('a lease seen held by another node resets its wait; busy sessions are left alone', () => {
  const [x] = theirs;
  const waited = planOwnership(input({ freeSince: new Map([[x!, 0]]), holders: new Map([[x!, { nodeId: 'b', token: 3 }]]) }));
  assert.equal(waited.freeSince.has(x!), false);
  assert.equal(
    waited.acquire.some((a) => a.sessionId === x),
    false,
  );
  const [y] = mine;
  assert.equal(
    planOwnership(input({ busy: new Set([y!]) })).acquire.some((a) => a.sessionId === y),
    false,
  );
});

test('held sessions: kept when still preferred, handed back when a joined node is, lost when Redis says not ours', () => {
  const [keep, lost] = mine;
  const [handBack] = theirs;
  const held = new Map([keep!, lost!, handBack!].map((id, i) => [id, { token: i + 1 }]));
  const holders = new Map([
    [keep!, { nodeId: 'a', token: 1 }],
    [lost!, { nodeId: 'a', token: 99 }],
    [handBack!, { nodeId: 'a', token: 3 }],
  ]);
  const plan = planOwnership(input({ held, holders }));
  assert.deepEqual(plan.handBack, [handBack]);
  assert.deepEqual(plan.lost, [lost]);
  assert.equal(
    plan.acquire.some((a) => [keep, lost, handBack].includes(a.sessionId)),
    false,
  );
});

test('a fallback is kept while its preferred node is the one that left it, settled when it becomes ours', () => {
  const [x] = theirs;
  const held = new Map([[x!, { token: 1, fallbackFor: 'b' }]]);
  const holders = new Map([[x!, { nodeId: 'a', token: 1 }]]);
  const kept = planOwnership(input({ held, holders }));
  assert.deepEqual([kept.handBack, kept.settled], [[], []]);
  // b is gone: x is a's own now.
  const settled = planOwnership(input({ held, holders, live: ['a'] }));
  assert.deepEqual([settled.handBack, settled.settled], [[], [x]]);
  // A third node now prefers it: handed to that one.
  const moved = ids.find((id) => preferredOwner(id, ['a', 'b']) === 'b' && preferredOwner(id, ['a', 'b', 'c']) === 'c')!;
  const plan = planOwnership(
    input({
      live: ['a', 'b', 'c'],
      held: new Map([[moved, { token: 1, fallbackFor: 'b' }]]),
      holders: new Map([[moved, { nodeId: 'a', token: 1 }]]),
    }),
  );
  assert.deepEqual(plan.handBack, [moved]);
});

test('a held session that no longer exists is handed back', () => {
  const [x] = mine;
  const plan = planOwnership(
    input({
      sessions: ids.filter((id) => id !== x),
      held: new Map([[x!, { token: 1 }]]),
      holders: new Map([[x!, { nodeId: 'a', token: 1 }]]),
    }),
  );
  assert.deepEqual(plan.handBack, [x]);
});
