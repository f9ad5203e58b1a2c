import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { createBullOutbox, type BullOutbox } from '../../src/outbox/bullmq/index.js';
import type { MessageRecord, OutboxSessions } from '../../src/outbox/index.js';
import { createStoreFactory, type StoreFactory } from '../../src/store/index.js';
import type { SessionEvent } from '../../src/whatsapp/sessions.js';
import type { SessionState } from '../../src/whatsapp/driver.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { waitFor } from '../support/server.js';

/**
 * Two outboxes in this process on one Redis stand for two nodes: each has its own store connection, queues and
 * workers, as another process would.
 */
let redis: RedisServer;
let dir: string;
const factories: StoreFactory[] = [];
before(async () => {
  redis = await startRedis();
  dir = await mkdtemp(path.join(tmpdir(), 'hashsend-bullmq-nodes-'));
});
after(async () => {
  await Promise.all(factories.map((f) => f.close()));
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A session manager with one session per id, whose state the test sets; its sends are counted. */
const fakeSessions = () => {
  const states = new Map<string, SessionState>();
  const listeners = new Set<(event: SessionEvent) => void>();
  const sent: string[] = [];
  let onSent: (() => void) | undefined;
  const sessions: OutboxSessions = {
    list: () => [...states.keys()].map((id) => ({ id })),
    get: (id) => ({ state: states.get(id) ?? 'stopped' }),
    has: (id) => states.has(id),
    async send(_id, request) {
      sent.push(request.messageId);
      onSent?.();
      return { waMessageId: request.messageId };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    sessions,
    sent,
    setState(id: string, state: SessionState) {
      states.set(id, state);
      const now = new Date().toISOString();
      for (const l of listeners) l({ type: 'state', session: { id, driver: 'fake', state, createdAt: now, updatedAt: now } });
    },
    /** Resolves once `n` sends have been made. */
    sends: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => sent.length >= n && resolve();
        onSent = check;
        check();
      }),
  };
};

const node = async (sessions: OutboxSessions): Promise<BullOutbox> => {
  const factory = await createStoreFactory({ dataDir: dir, redisUrl: redis.url });
  factories.push(factory);
  return createBullOutbox({
    store: factory.namespace('outbox'),
    sessions,
    log: createLogger('silent'),
    maxAgeMs: 60_000,
    retryBaseMs: 10,
    maxAttempts: 3,
    redisUrl: redis.url,
  });
};
const text = (t: string) => ({ type: 'text' as const, text: t });

test('two nodes racing on one Idempotency-Key queue one message, sent once', async () => {
  const fake = fakeSessions();
  fake.setState('race', 'connected');
  const [a, b] = [await node(fake.sessions), await node(fake.sessions)];
  try {
    await a.own('race');
    const keys = Array.from({ length: 20 }, (_, i) => `order-${i}`);
    const pairs = await Promise.all(
      keys.map((key) =>
        Promise.all(
          [a, b].map((outbox) =>
            outbox.enqueue({ sessionId: 'race', to: 'x@s.whatsapp.net', content: text(key), idempotency: { key, fingerprint: 'f' } }),
          ),
        ),
      ),
    );
    for (const [first, second] of pairs) assert.equal(first.id, second.id, 'both nodes answer with one message');
    await fake.sends(20);
    // Every job done: none left to send anything twice.
    await waitFor('the queue to drain', async () =>
      (await b.backlog()).find((s) => s.sessionId === 'race')?.depth === 0 ? true : undefined,
    );
    const { items } = await b.list('race', { limit: 100 });
    assert.deepEqual(items.map((m) => m.id).sort(), pairs.map(([m]) => m.id).sort(), 'one message per key in the session');
    assert.deepEqual([...fake.sent].sort(), pairs.map(([m]) => m.id).sort(), 'each sent once');
    // A later request with a key a node reserved gets that message from the other node too.
    assert.equal((await b.replay({ key: 'order-3', fingerprint: 'f' }))?.id, pairs[3][0].id);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a disowned session hands its waiting messages back, in order, to the next owner; the old one sends nothing', async () => {
  const oldNode = fakeSessions();
  const newNode = fakeSessions();
  oldNode.setState('moving', 'reconnecting');
  newNode.setState('moving', 'connected');
  const [a, b] = [await node(oldNode.sessions), await node(newNode.sessions)];
  try {
    await a.own('moving');
    const queued: MessageRecord[] = [];
    for (const t of ['one', 'two', 'three'])
      queued.push(await b.enqueue({ sessionId: 'moving', to: 'x@s.whatsapp.net', content: text(t) }));
    // The first is taken on by the old owner and waits there for the session; the rest wait behind it.
    assert.equal((await a.backlog()).find((s) => s.sessionId === 'moving')?.depth, 3);
    await a.disown('moving');
    assert.deepEqual(a.owned(), []);
    await b.own('moving');
    await newNode.sends(3);
    assert.deepEqual(
      newNode.sent,
      queued.map((m) => m.id),
    );
    assert.deepEqual(oldNode.sent, []);
    const settled = await waitFor('the last send to be recorded', async () => {
      const records = await Promise.all(queued.map((m) => b.get(m.id)));
      return records.every((m) => m?.status === 'sent') ? records : undefined;
    });
    assert.deepEqual(
      settled.map((m) => [m?.status, m?.attempts]),
      queued.map(() => ['sent', 1]),
    );
  } finally {
    await a.stop();
    await b.stop();
  }
});
