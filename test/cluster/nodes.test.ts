import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { openClusterRedis, type ClusterRedis } from '../../src/cluster/redis.js';
import { createNodeRegistry, defaultNodeId, type ClusterEvent, type NodeRegistry } from '../../src/cluster/nodes.js';
import { quiet, waitFor } from './helpers.ts';

let server: RedisServer;
const opened: ClusterRedis[] = [];
before(async () => {
  server = await startRedis();
});
after(async () => {
  await Promise.all(opened.map((r) => r.close()));
  await server.stop();
});

/** A node of its own: its own connections, as a separate process would have. */
const node = async (nodeId: string, ttlMs: number, heartbeatMs?: number) => {
  const redis = await openClusterRedis({ url: server.url, log: quiet });
  opened.push(redis);
  return createNodeRegistry({ redis, log: quiet, nodeId, ttlMs, heartbeatMs });
};
// No heartbeat within a test's time: only the notices can tell a node of a change.
const SILENT = 600_000;
const liveBecomes = (registry: NodeRegistry, ids: string[]) =>
  waitFor<string[]>(registry.onChange, (live) => live.join() === [...ids].sort().join());

test('a node joining and one leaving gracefully are seen by the others at once, from the notices', async () => {
  const a = await node('join-a', 60_000, SILENT);
  await a.start();
  assert.deepEqual(await a.live(), ['join-a']);
  const b = await node('join-b', 60_000, SILENT);
  const events: ClusterEvent[] = [];
  a.onEvent((e) => events.push(e));
  const seesB = liveBecomes(a, ['join-a', 'join-b']);
  await b.start();
  await seesB;
  assert.deepEqual(await b.live(), ['join-a', 'join-b']);
  const seesBGone = liveBecomes(a, ['join-a']);
  await b.leave();
  await seesBGone;
  assert.deepEqual(await a.live(), ['join-a']);
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.nodeId}`),
    ['join join-b', 'leave join-b'],
  );
  await a.leave();
});

test('a node that stops without a word drops out when its heartbeat runs out, seen by the others on their tick', async () => {
  const a = await node('crash-a', 600);
  const b = await node('crash-b', 600);
  await a.start();
  const seesB = liveBecomes(a, ['crash-a', 'crash-b']);
  await b.start();
  await seesB;
  const seesBGone = liveBecomes(a, ['crash-a']);
  b.crash();
  await seesBGone;
  assert.deepEqual(await a.live(), ['crash-a']);
  await a.leave();
});

test('a node back from a Redis outage that outlasted its heartbeat announces itself again', async () => {
  const a = await node('outage-a', 60_000, SILENT);
  const b = await node('outage-b', 600);
  await a.start();
  const seesB = liveBecomes(a, ['outage-a', 'outage-b']);
  await b.start();
  await seesB;
  // As if b's heartbeat ran out while b could not reach Redis; its next heartbeat re-adds it and says so.
  const rejoined = waitFor<ClusterEvent>(a.onEvent, (e) => e.type === 'join' && e.nodeId === 'outage-b');
  await opened.at(-1)!.client.zRem('hs:nodes', 'outage-b');
  await rejoined;
  assert.deepEqual(await a.live(), ['outage-a', 'outage-b']);
  await Promise.all([a.leave(), b.leave()]);
});

test('default node ids are the host name with a random suffix, different per start', () => {
  const [x, y] = [defaultNodeId(), defaultNodeId()];
  assert.ok(x.startsWith(`${hostname()}-`));
  assert.notEqual(x, y);
});
