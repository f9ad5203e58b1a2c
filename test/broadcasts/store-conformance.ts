import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BroadcastStore } from '../../src/broadcasts/store.js';
import type { Broadcast, BroadcastRecipient } from '../../src/broadcasts/types.js';

/** Opens a store on empty state (each call a fresh one, or one whose earlier contents do not matter). */
export type OpenStore = () => Promise<BroadcastStore>;

let n = 0;
export const aBroadcast = (over: Partial<Broadcast> = {}): Broadcast => {
  const id = `b${Date.now().toString(36)}${(n++).toString(36)}`;
  const at = new Date(Date.UTC(2025, 0, 1, 10, 0, n)).toISOString();
  return {
    id,
    sessionId: 'shop',
    name: 'offer',
    status: 'running',
    content: { type: 'text', text: 'Hello {{name}}' },
    total: 3,
    createdAt: at,
    updatedAt: at,
    ...over,
  };
};
export const recipientsOf = (b: Broadcast, count = b.total): BroadcastRecipient[] =>
  Array.from({ length: count }, (_, index) => ({
    broadcastId: b.id,
    index,
    to: `49151000${String(index).padStart(5, '0')}@s.whatsapp.net`,
    vars: { name: `n${index}` },
    status: 'pending',
  }));

/**
 * What every BroadcastStore does, whatever it stores in: run by test/broadcasts/store.test.ts against SQLite, and
 * against Redis where that store lives. Each test opens its own store and closes it.
 */
export const broadcastStoreConformance = (name: string, open: OpenStore) =>
  describe(`BroadcastStore conformance: ${name}`, () => {
    const withStore = (fn: (store: BroadcastStore) => Promise<void>) => async () => {
      const store = await open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };

    test(
      'create stores the broadcast and every recipient as pending; get and recipients read them back in order',
      withStore(async (store) => {
        const b = aBroadcast({ total: 5, pace: { perMinute: 6, jitter: 0.3 }, media: { sha256: 'a'.repeat(64) } });
        await store.create(b, recipientsOf(b));
        assert.deepEqual(await store.get(b.id), b);
        const page = await store.recipients(b.id, { from: 1, limit: 3 });
        assert.deepEqual(
          page.map((r) => [r.index, r.to, r.vars?.name, r.status]),
          [
            [1, '4915100000001@s.whatsapp.net', 'n1', 'pending'],
            [2, '4915100000002@s.whatsapp.net', 'n2', 'pending'],
            [3, '4915100000003@s.whatsapp.net', 'n3', 'pending'],
          ],
        );
        assert.equal(page[0].broadcastId, b.id);
        assert.equal(await store.get('nope'), undefined);
        assert.deepEqual(await store.recipients('nope', { from: 0, limit: 10 }), []);
      }),
    );

    test(
      'update merges a patch; a field given as undefined is removed',
      withStore(async (store) => {
        const b = aBroadcast();
        await store.create(b, recipientsOf(b));
        await store.update(b.id, { status: 'paused', pausedReason: { code: 'paused', message: 'by the operator' }, updatedAt: 'x' });
        assert.deepEqual(await store.get(b.id), {
          ...b,
          status: 'paused',
          pausedReason: { code: 'paused', message: 'by the operator' },
          updatedAt: 'x',
        });
        await store.update(b.id, { status: 'running', pausedReason: undefined });
        const after = await store.get(b.id);
        assert.equal(after?.status, 'running');
        assert.equal('pausedReason' in (after ?? {}), false);
      }),
    );

    test(
      'recipient updates made at once all land; later patches of one recipient win; counts, pending and message lookup follow',
      withStore(async (store) => {
        const b = aBroadcast({ total: 6 });
        await store.create(b, recipientsOf(b));
        const at = '2025-01-01T10:00:00.000Z';
        await Promise.all([
          store.updateRecipient(b.id, 0, { status: 'queued', messageId: 'm0', queuedAt: at }),
          store.updateRecipient(b.id, 0, { status: 'sent', sentAt: at }),
          store.updateRecipient(b.id, 1, { status: 'queued', messageId: 'm1', queuedAt: at }),
          store.updateRecipient(b.id, 1, { status: 'failed', error: { code: 'send_failed', message: 'no' } }),
          store.updateRecipient(b.id, 2, { status: 'skipped' }),
          store.updateRecipient(b.id, 4, { status: 'queued', messageId: 'm4', queuedAt: at }),
        ]);
        assert.deepEqual(await store.counts(b.id), { pending: 2, queued: 1, sent: 1, delivered: 0, read: 0, failed: 1, skipped: 1 });
        assert.deepEqual(
          (await store.pending(b.id, 10)).map((r) => r.index),
          [3, 5],
        );
        assert.deepEqual(
          (await store.pending(b.id, 1)).map((r) => r.index),
          [3],
        );
        const [first] = await store.recipients(b.id, { from: 0, limit: 1 });
        assert.deepEqual([first.status, first.messageId, first.queuedAt, first.sentAt], ['sent', 'm0', at, at]);
        assert.deepEqual(await store.recipientOfMessage('m4'), { broadcastId: b.id, index: 4 });
        assert.equal(await store.recipientOfMessage('nope'), undefined);
        // Clearing an error (a retried recipient) removes it.
        await store.updateRecipient(b.id, 1, { status: 'pending', error: undefined });
        const [second] = await store.recipients(b.id, { from: 1, limit: 1 });
        assert.deepEqual([second.status, 'error' in second], ['pending', false]);
      }),
    );

    test(
      "list gives a session's broadcasts newest first, paged by createdAt; withStatus finds them by status",
      withStore(async (store) => {
        const session = `s${n++}`;
        const made = [];
        for (let i = 0; i < 5; i++) {
          const b = aBroadcast({ sessionId: session, status: i % 2 ? 'paused' : 'completed', total: 1 });
          await store.create(b, recipientsOf(b));
          made.push(b);
        }
        const other = aBroadcast({ sessionId: `${session}x`, status: 'scheduled', total: 1 });
        await store.create(other, recipientsOf(other));
        const first = await store.list(session, { limit: 2 });
        assert.deepEqual(
          first.map((b) => b.id),
          [made[4].id, made[3].id],
        );
        const next = await store.list(session, { limit: 10, before: first[1].createdAt });
        assert.deepEqual(
          next.map((b) => b.id),
          [made[2].id, made[1].id, made[0].id],
        );
        const ids = (await store.withStatus(['paused', 'scheduled'])).map((b) => b.id);
        for (const b of [made[1], made[3], other]) assert.ok(ids.includes(b.id));
        for (const b of [made[0], made[2], made[4]]) assert.ok(!ids.includes(b.id));
      }),
    );

    test(
      "queuedSince counts a session's recipients handed to the outbox at or after a time, across its broadcasts",
      withStore(async (store) => {
        const session = `q${n++}`;
        const a = aBroadcast({ sessionId: session, total: 3 });
        const b = aBroadcast({ sessionId: session, total: 2 });
        const other = aBroadcast({ sessionId: `${session}x`, total: 1 });
        for (const x of [a, b, other]) await store.create(x, recipientsOf(x));
        await Promise.all([
          store.updateRecipient(a.id, 0, { status: 'queued', queuedAt: '2025-01-01T23:59:59.999Z' }),
          store.updateRecipient(a.id, 1, { status: 'sent', queuedAt: '2025-01-02T00:00:00.000Z' }),
          store.updateRecipient(b.id, 0, { status: 'read', queuedAt: '2025-01-02T08:00:00.000Z' }),
          store.updateRecipient(other.id, 0, { status: 'queued', queuedAt: '2025-01-02T08:00:00.000Z' }),
        ]);
        assert.equal(await store.queuedSince(session, '2025-01-02T00:00:00.000Z'), 2);
        assert.equal(await store.queuedSince(session, '2025-01-01T00:00:00.000Z'), 3);
        assert.equal(await store.queuedSince(session, '2025-01-03T00:00:00.000Z'), 0);
      }),
    );

    test(
      '10,000 recipients are created at once and their updates, made together, are all kept',
      withStore(async (store) => {
        const b = aBroadcast({ total: 10_000 });
        await store.create(b, recipientsOf(b));
        await Promise.all(
          Array.from({ length: 10_000 }, (_, i) =>
            store.updateRecipient(b.id, i, { status: i % 2 ? 'sent' : 'queued', messageId: `m${i}` }),
          ),
        );
        const counts = await store.counts(b.id);
        assert.deepEqual([counts.pending, counts.queued, counts.sent], [0, 5000, 5000]);
        assert.deepEqual(await store.recipientOfMessage('m9999'), { broadcastId: b.id, index: 9999 });
      }),
    );

    test(
      'remove drops the broadcast and its recipients',
      withStore(async (store) => {
        const b = aBroadcast();
        await store.create(b, recipientsOf(b));
        await store.updateRecipient(b.id, 0, { status: 'queued', messageId: `gone${b.id}` });
        await store.remove(b.id);
        assert.equal(await store.get(b.id), undefined);
        assert.deepEqual(await store.recipients(b.id, { from: 0, limit: 10 }), []);
        assert.equal(await store.recipientOfMessage(`gone${b.id}`), undefined);
      }),
    );

    test('what was written is there after the store is closed and opened again', async () => {
      const store = await open();
      const b = aBroadcast();
      await store.create(b, recipientsOf(b));
      await store.updateRecipient(b.id, 2, { status: 'delivered', messageId: 'kept' });
      await store.close();
      const again = await open();
      try {
        assert.equal((await again.get(b.id))?.id, b.id);
        assert.equal((await again.counts(b.id)).delivered, 1);
      } finally {
        await again.close();
      }
    });
  });
