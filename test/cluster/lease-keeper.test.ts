import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { createClient } from '@redis/client';
import { startRedis } from '../support/redis.ts';
import { openClusterRedis } from '../../src/cluster/redis.js';
import { createLeases, type Leases } from '../../src/cluster/leases.js';
import { createLeaseKeeper } from '../../src/cluster/lease-keeper.js';
import { hub, quiet, redisPerFile } from './helpers.ts';

const ctx = redisPerFile();

/** Listens for Redis expiring `key` (keyspace notifications); listening when it returns. */
const watchExpiry = async (key: string, url = ctx.server.url) => {
  const sub = createClient({ url });
  sub.on('error', () => undefined);
  await sub.connect();
  await sub.configSet('notify-keyspace-events', 'Ex');
  let seen!: () => void;
  const expired = new Promise<void>((resolve) => (seen = resolve));
  await sub.subscribe('__keyevent@0__:expired', (k) => k === key && seen());
  return { expired: expired.finally(() => sub.destroy()) };
};

/** Leases whose renewals are announced as they are answered. */
const observed = (leases: Leases) => {
  const renewals = hub<boolean[]>();
  return {
    renewals,
    leases: {
      ...leases,
      renewMany: async (batch: Parameters<Leases['renewMany']>[0]) => {
        const answer = await leases.renewMany(batch);
        renewals.emit(answer);
        return answer;
      },
    },
  };
};

test('the keeper renews every held lease in one round trip per tick, keeping it far past its ttl', async () => {
  const leases = createLeases({ client: ctx.redis.client, nodeId: 'a', ttlMs: 600 });
  const { renewals, leases: watched } = observed(leases);
  const lost: string[] = [];
  const keeper = createLeaseKeeper({ leases: watched, log: quiet, onLost: (id) => lost.push(id) });
  const since = performance.now();
  const held = await Promise.all(['k1', 'k2', 'k3'].map(async (id) => ({ id, token: (await leases.acquire(id))!.token })));
  for (const { id, token } of held) keeper.hold(id, token, since);
  let batches = 0;
  // Six renewals at ttl/3 apart outlast two ttls: only the renewals can have kept the leases.
  await renewals.next((answer) => {
    assert.deepEqual(answer, [true, true, true], 'one batch carries every lease');
    return ++batches === 6;
  });
  keeper.stop();
  assert.deepEqual(lost, []);
  for (const { id, token } of held) assert.deepEqual(await leases.holder(id), { nodeId: 'a', token });
});

test('a renewal answered "not yours" reports the lease lost at once, not at the give-up deadline', async () => {
  const leases = createLeases({ client: ctx.redis.client, nodeId: 'a', ttlMs: 600 });
  const lostLeases = hub<[string, number]>();
  // A deadline an hour away: only the answer can report the loss.
  const keeper = createLeaseKeeper({ leases, log: quiet, onLost: (...lost) => lostLeases.emit(lost), giveUpAfterMs: 3_600_000 });
  const mine = (await leases.acquire('taken'))!;
  keeper.hold('taken', mine.token, performance.now());
  const other = createLeases({ client: ctx.redis.client, nodeId: 'b', ttlMs: 60_000 });
  const lost = lostLeases.next();
  await ctx.redis.client.del('hs:lease:taken');
  const theirs = (await other.acquire('taken'))!;
  assert.deepEqual(await lost, ['taken', mine.token]);
  assert.deepEqual(keeper.held(), new Map());
  // Nothing of ours touched their lease.
  assert.deepEqual(await other.holder('taken'), { nodeId: 'b', token: theirs.token });
  keeper.stop();
});

test('a dropped lease is no longer renewed or reported', async () => {
  const leases = createLeases({ client: ctx.redis.client, nodeId: 'a', ttlMs: 600 });
  const { renewals, leases: watched } = observed(leases);
  const lost: string[] = [];
  const keeper = createLeaseKeeper({ leases: watched, log: quiet, onLost: (id) => lost.push(id) });
  const { expired } = await watchExpiry('hs:lease:dropped');
  const since = performance.now();
  const kept = (await leases.acquire('kept'))!;
  const dropped = (await leases.acquire('dropped'))!;
  keeper.hold('kept', kept.token, since);
  keeper.hold('dropped', dropped.token, since);
  keeper.drop('dropped');
  await renewals.next();
  // It runs out in Redis (the keeper would have renewed it) and nobody is told: the owner released it itself.
  await expired;
  await renewals.next();
  keeper.stop();
  assert.deepEqual(lost, []);
  assert.deepEqual(keeper.held(), new Map());
  assert.equal(await leases.holder('dropped'), undefined);
});

test('with Redis stopped, the keeper gives the lease up while Redis still holds it, before anyone can take it', async () => {
  const own = await startRedis();
  const node = await openClusterRedis({ url: own.url, log: quiet, pingIntervalMs: 100, commandTimeoutMs: 300 });
  const observer = createClient({ url: own.url });
  observer.on('error', () => undefined);
  try {
    const leases = createLeases({ client: node.client, nodeId: 'a', ttlMs: 5_000 });
    const events: string[] = [];
    const lostLeases = hub<string>();
    const keeper = createLeaseKeeper({
      leases,
      log: quiet,
      onLost: (id) => {
        events.push('lost by a');
        lostLeases.emit(id);
      },
    });
    const since = performance.now();
    const lease = (await leases.acquire('s'))!;
    keeper.hold('s', lease.token, since);
    const lost = lostLeases.next();
    await own.halt();
    await lost;
    await own.restart();
    await observer.connect();
    const { expired } = await watchExpiry('hs:lease:s', own.url);
    // Back from its saved state: the lease is still a's, for a while yet, so nobody else can have had it.
    const pttl = await observer.pTTL('hs:lease:s');
    events.push(pttl > 0 ? 'still held in Redis' : 'already expired in Redis');
    const b = createLeases({ client: observer, nodeId: 'b', ttlMs: 5_000 });
    if (await b.acquire('s')) events.push('taken by b');
    await await expired;
    const taken = await b.acquire('s');
    if (taken) events.push('taken by b');
    keeper.stop();
    assert.deepEqual(events, ['lost by a', 'still held in Redis', 'taken by b']);
    assert.ok(taken!.token > lease.token);
  } finally {
    observer.destroy();
    await node.close();
    await own.stop();
  }
});
