import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageRecord, OutboxSessions } from '../../src/outbox/index.js';
import { fakeSessions, outboxesOnRedis, text } from './bullmq-fakes.js';
import { waitFor } from '../support/server.js';

const ctx = outboxesOnRedis();
const node = (sessions: OutboxSessions) => ctx.nodes.node(sessions);

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
