import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type RedisClientType } from '@redis/client';
import { createNodeRedisClient } from 'bullmq';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { openRedisPacing, redisPaceState } from '../../src/broadcasts/pacing-redis.js';
import { localDay } from '../../src/broadcasts/pace-policy.js';
import { createBroadcastTicks, type Tick } from '../../src/broadcasts/ticks.js';
import { createLogger } from '../../src/log.js';
import type { Broadcast } from '../../src/broadcasts/types.js';

let server: RedisServer;
const clients: RedisClientType[] = [];
before(async () => {
  server = await startRedis();
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
});

/** A node's own connection, as each hashsend process has. */
const connect = async () => {
  const client = (await createClient({ url: server.url }).connect()) as RedisClientType;
  clients.push(client);
  return client;
};
const node = async () => redisPaceState({ client: await connect(), random: () => 0.5 });

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1, 12);
let n = 0;
const broadcast = (over: Partial<Broadcast> = {}): Broadcast => ({
  id: `bc_${++n}`,
  sessionId: 's1',
  name: 'b',
  status: 'running',
  content: { type: 'text', text: 'hi' },
  total: 10,
  createdAt: new Date(T0).toISOString(),
  updatedAt: new Date(T0).toISOString(),
  ...over,
});
const r = (...indexes: number[]) => indexes.map((index) => ({ index }));

test('a paced turn: claimed before the handover, held until its message finishes, then one gap from its finish; another node sees the same', async () => {
  const [a, b] = [await node(), await node()];
  const bc = broadcast({ pace: { perMinute: 60, jitter: 0 } });
  assert.equal(await a.claim(bc, r(0), T0, 0), 1);
  assert.deepEqual(await b.state(bc, T0 + 5000), { nextDueAt: T0 + 1000, inflight: 0, sentToday: 0, dayStart: 0 });
  // Another node (the next owner) may not take a turn while the last one's message is not finished, even past its gap.
  assert.equal(await b.claim(bc, r(1), T0 + 5000, 0), 0);
  // The owner hands the same recipient over again (its node died before it could): allowed, and no new turn.
  assert.equal(await b.claim(bc, r(0), T0 + 5000, 0), 1);
  // A finish that is not the turn's moves nothing.
  assert.equal(await a.settle(bc, 7, T0 + 6000), false);
  assert.equal(await b.settle(bc, 0, T0 + 6000), true);
  assert.deepEqual(await a.state(bc, T0 + 6000), { nextDueAt: T0 + 7000, sentToday: 0, dayStart: 0 });
  assert.equal(await a.claim(bc, r(1), T0 + 6999, 0), 0);
  assert.equal(await a.claim(bc, r(1), T0 + 7000, 0), 1);
  // A finish before its gap ran out keeps the gap: the next due time never moves back.
  assert.equal(await a.settle(bc, 1, T0 + 7001), true);
  assert.equal((await b.state(bc, T0 + 7001)).nextDueAt, T0 + 8001);
});

test("the session's daily count is shared by its broadcasts and by every node, counts a recipient once, and starts again on the next local day", async () => {
  const [a, b] = [await node(), await node()];
  const session = 'capped';
  const day = localDay(T0, 'Asia/Tokyo');
  const first = broadcast({ sessionId: session, dailyCap: 3, quietHours: { start: '00:00', end: '00:00', timezone: 'Asia/Tokyo' } });
  const second = broadcast({ sessionId: session, dailyCap: 3, quietHours: first.quietHours });
  const uncapped = broadcast({ sessionId: session });
  // Sends of any broadcast of the session count, capped or not.
  assert.equal(await a.claim(uncapped, r(0), T0, day.start), 1);
  // Unpaced, a batch is granted up to what the cap leaves.
  assert.equal(await a.claim(first, r(0, 1, 2), T0, day.start), 2);
  assert.equal((await b.state(second, T0)).sentToday, 3);
  assert.equal(await b.claim(second, r(0), T0, day.start), 0);
  // The recipient whose place was taken goes again on another node without spending a second one.
  assert.equal(await b.claim(first, r(1), T0, day.start), 1);
  assert.equal((await b.state(first, T0)).sentToday, 3);
  const tomorrow = localDay(day.next, 'Asia/Tokyo');
  assert.equal(tomorrow.start, day.next);
  assert.deepEqual(await b.state(second, day.next), { sentToday: 0, dayStart: day.next });
  assert.equal(await b.claim(second, r(0, 1, 2, 3), day.next, day.next), 3);
  assert.equal((await a.state(first, day.next + DAY / 2)).sentToday, 3);
});

test('a due time set by an owner that is gone fires on the node that owns the session next, not before its time, and never on a node that does not own it', async () => {
  const log = createLogger('silent');
  const fired: { node: string; tick: Tick; at: number }[] = [];
  const ticksOf = async (name: string) => {
    let heard: (() => void) | undefined;
    const ticks = createBroadcastTicks({
      connection: createNodeRedisClient(await connect()),
      log,
      onTick: (tick) => {
        fired.push({ node: name, tick, at: Date.now() });
        heard?.();
      },
    });
    return { ticks, next: () => new Promise<void>((resolve) => (heard = resolve)) };
  };
  const [gone, bystander, heir] = [await ticksOf('gone'), await ticksOf('bystander'), await ticksOf('heir')];
  try {
    await bystander.ticks.own('other-session');
    await gone.ticks.own('s1');
    const at = Date.now() + 400;
    await gone.ticks.schedule('s1', { broadcastId: 'bc_x', at }, 'k1');
    // The owner goes before its due time; the next one takes the session on.
    await gone.ticks.disown('s1');
    const heard = heir.next();
    await heir.ticks.own('s1');
    await heard;
    assert.deepEqual(
      fired.map((f) => [f.node, f.tick]),
      [['heir', { broadcastId: 'bc_x', at }]],
    );
    assert.ok(fired[0]!.at >= at, `fired ${at - fired[0]!.at} ms early`);
  } finally {
    await Promise.all([gone, bystander, heir].map((x) => x.ticks.close()));
  }
});

test("a runner's wait of a second or more is a delayed job: when its node is gone, it wakes the runner of the session's next owner, not before its time", async () => {
  const log = createLogger('silent');
  const [gone, heir] = [await openRedisPacing({ url: server.url, log }), await openRedisPacing({ url: server.url, log })];
  try {
    const bc = broadcast({ sessionId: 'moving', scheduledAt: new Date(Date.now() + 1500).toISOString() });
    const until = Date.parse(bc.scheduledAt!);
    await gone.own('moving');
    // The runner there waits for its schedule (asleep once its job is in), then its node goes away before the time comes.
    let wake: (() => void) | undefined;
    let asleep: () => void;
    const sleeping = new Promise<void>((resolve) => (asleep = resolve));
    const sleep = () => new Promise<void>((resolve) => ((wake = resolve), asleep()));
    const waiting = gone.for(bc, () => wake?.()).wait(until, Date.now(), sleep);
    await sleeping;
    await gone.close();
    wake!();
    await waiting;
    // The next owner's runner for it has not scheduled anything of its own: the job it is woken by is the last owner's.
    const woken = new Promise<number>((resolve) => heir.for(bc, () => resolve(Date.now())));
    await heir.own('moving');
    assert.ok((await woken) >= until, 'woken before its time');
  } finally {
    await heir.close();
  }
});
