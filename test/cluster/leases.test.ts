import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { openClusterRedis, type ClusterRedis } from '../../src/cluster/redis.js';
import { createLeases, type Leases } from '../../src/cluster/leases.js';
import { quiet } from './helpers.ts';

let server: RedisServer;
let a: ClusterRedis;
let b: ClusterRedis;
let onA: Leases;
let onB: Leases;
before(async () => {
  server = await startRedis();
  [a, b] = await Promise.all([server.url, server.url].map((url) => openClusterRedis({ url, log: quiet })));
  // Two nodes, each on its own connection; a long ttl so nothing expires by itself here.
  onA = createLeases({ client: a.client, nodeId: 'node:a', ttlMs: 60_000 });
  onB = createLeases({ client: b.client, nodeId: 'node-b', ttlMs: 60_000 });
});
after(async () => {
  await Promise.all([a.close(), b.close()]);
  await server.stop();
});

test('of two nodes asking for one lease at once, exactly one gets it, and holder() names it', async () => {
  for (let i = 0; i < 50; i++) {
    const sessionId = `race-${i}`;
    const [fromA, fromB] = await Promise.all([onA.acquire(sessionId), onB.acquire(sessionId)]);
    assert.equal([fromA, fromB].filter(Boolean).length, 1, `session ${sessionId}`);
    const winner = fromA ? { nodeId: 'node:a', token: fromA.token } : { nodeId: 'node-b', token: fromB!.token };
    assert.deepEqual(await onB.holder(sessionId), winner);
  }
});

test('tokens strictly increase across acquisitions of one session, whoever takes it, and are never reused', async () => {
  const tokens: number[] = [];
  for (let i = 0; i < 6; i++) {
    const leases = i % 2 ? onB : onA;
    const lease = await leases.acquire('fenced');
    assert.ok(lease);
    tokens.push(lease.token);
    assert.equal(await leases.release('fenced', lease.token), true);
  }
  // Deleted by hand too (as an expiry would): the counter is not, so the next token is still higher.
  const lease = await onA.acquire('fenced');
  await a.client.del('hs:lease:fenced');
  tokens.push(lease!.token, (await onB.acquire('fenced'))!.token);
  assert.deepEqual(
    tokens,
    [...tokens].sort((x, y) => x - y),
  );
  assert.equal(new Set(tokens).size, tokens.length);
});

test('renew and release by a stale token, or by another node, fail and change nothing', async () => {
  const first = (await onA.acquire('stale'))!;
  assert.equal(await onA.renew('stale', first.token), true);
  assert.equal(await onA.release('stale', first.token), true);
  const second = (await onB.acquire('stale'))!;
  assert.ok(second.token > first.token);
  // A's old token, and B's token presented by A: neither is A's lease.
  assert.equal(await onA.renew('stale', first.token), false);
  assert.equal(await onA.release('stale', first.token), false);
  assert.equal(await onA.renew('stale', second.token), false);
  assert.equal(await onA.release('stale', second.token), false);
  assert.deepEqual(await onA.holder('stale'), { nodeId: 'node-b', token: second.token });
  assert.equal(await onA.acquire('stale'), undefined);
});

test('renew extends the lease; renewMany answers per lease in order; a released lease can be taken again', async () => {
  const short = createLeases({ client: a.client, nodeId: 'node:a', ttlMs: 5_000 });
  const x = (await short.acquire('r-x'))!;
  const y = (await short.acquire('r-y'))!;
  await a.client.pExpire('hs:lease:r-x', 100);
  assert.deepEqual(
    await short.renewMany([
      { sessionId: 'r-x', token: x.token },
      { sessionId: 'r-y', token: y.token + 1 },
      { sessionId: 'r-y', token: y.token },
    ]),
    [true, false, true],
  );
  assert.ok((await a.client.pTTL('hs:lease:r-x')) > 1_000);
  assert.equal(await short.release('r-x', x.token), true);
  assert.equal(await short.holder('r-x'), undefined);
  assert.ok((await onB.acquire('r-x'))!.token > x.token);
});

test('a lease runs out after its ttl in Redis unless renewed', async () => {
  const brief = createLeases({ client: a.client, nodeId: 'node:a', ttlMs: 60_000 });
  const lease = (await brief.acquire('ttl'))!;
  const pttl = await a.client.pTTL('hs:lease:ttl');
  assert.ok(pttl > 50_000 && pttl <= 60_000, `PTTL ${pttl}`);
  await a.client.pExpire('hs:lease:ttl', 1);
  // Once it has run out in Redis, renewing cannot bring it back.
  while ((await a.client.exists('hs:lease:ttl')) === 1);
  assert.equal(await brief.renew('ttl', lease.token), false);
  assert.ok((await onB.acquire('ttl'))!.token > lease.token);
});
