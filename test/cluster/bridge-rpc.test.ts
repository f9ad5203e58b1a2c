import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { pino } from 'pino';
import { createEventBus } from '../../src/events/bus.js';
import { HashsendError } from '../../src/errors.js';
import { bridgeEvents } from '../../src/cluster/event-bridge.js';
import { createRpc, type Handler } from '../../src/cluster/rpc.js';
import { startRedis, type RedisServer } from '../support/redis.js';

type Event = { type: 'state' | 'message'; n: number };
const log = pino({ level: 'silent' });
let redis: RedisServer;
const clients: { quit(): Promise<unknown> }[] = [];

/** A node as the cluster code sees one: a bus, and a publishing and a subscribed connection to Redis. */
const node = async (id: string) => {
  const publisher = createClient({ url: redis.url });
  const subscriber = publisher.duplicate();
  clients.push(publisher, subscriber);
  await Promise.all([publisher.connect(), subscriber.connect()]);
  return { id, bus: createEventBus<Event>({ log }), publisher, subscriber };
};

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await redis.stop();
});

test("another node's events reach only the listeners that show state, and each node acts on its own events once", async () => {
  const [a, b] = await Promise.all([node('a'), node('b')]);
  const types = new Set(['state']);
  const bridges = await Promise.all([a, b].map((n) => bridgeEvents({ ...n, nodeId: n.id, types, log })));
  const seen = { bAll: [] as Event[], bLocal: [] as Event[], aAll: [] as Event[] };
  b.bus.subscribe((e) => seen.bAll.push(e), { from: 'all' });
  b.bus.subscribe((e) => seen.bLocal.push(e));
  a.bus.subscribe((e) => seen.aAll.push(e), { from: 'all' });
  const arrived = new Promise<void>((resolve) => b.bus.subscribe((e) => e.n === 3 && resolve(), { from: 'remote' }));

  a.bus.publish({ type: 'message', n: 1 });
  a.bus.publish({ type: 'state', n: 2 });
  a.bus.publish({ type: 'state', n: 3 });
  await arrived;
  assert.deepEqual(
    seen.bAll,
    [
      { type: 'state', n: 2 },
      { type: 'state', n: 3 },
    ],
    'only the bridged type crossed, in order',
  );
  assert.deepEqual(seen.bLocal, [], "b's own listeners never act on a's events");
  assert.deepEqual(
    seen.aAll.map((e) => e.n),
    [1, 2, 3],
    'a heard its own events once, no echo',
  );
  await Promise.all(bridges.map((x) => x.close()));
});

test('a call runs on the other node: its answer, Buffers included, and its HashsendError come back as they were', async () => {
  const [a, b] = await Promise.all([node('ca'), node('cb')]);
  const handlers: Record<string, Handler> = {
    async echo(...args) {
      return { args, at: 'cb' };
    },
    async refuse() {
      throw new HashsendError('unsupported_by_driver', 422, 'the cloud driver cannot link by QR code', { driver: 'cloud' });
    },
    async crash() {
      throw new Error('boom');
    },
  };
  const [rpcA, rpcB] = await Promise.all([
    createRpc({ ...a, nodeId: a.id, handlers: {}, log, timeoutMs: 2000 }),
    createRpc({ ...b, nodeId: b.id, handlers, log }),
  ]);
  const bytes = Buffer.from([0, 1, 2, 250]);
  assert.deepEqual(await rpcA.call('cb', 'echo', 'x', { body: bytes }), { args: ['x', { body: bytes }], at: 'cb' });
  await assert.rejects(rpcA.call('cb', 'refuse'), (err: HashsendError) => {
    assert.deepEqual([err.code, err.status, err.details], ['unsupported_by_driver', 422, { driver: 'cloud' }]);
    return true;
  });
  await assert.rejects(rpcA.call('cb', 'crash'), { code: 'owner_failed', status: 502 });
  await assert.rejects(rpcA.call('cb', 'nothing'), { status: 500 });
  await assert.rejects(rpcA.call('gone', 'echo'), { code: 'owner_unreachable', status: 503 });
  await Promise.all([rpcA.close(), rpcB.close()]);
});
