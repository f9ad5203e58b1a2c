import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BroadcastRecipient, RecipientCounts } from '../../src/broadcasts/types.js';
import { aBroadcast, at, counts, inStore, indexes, recipientsOf, report, unique, type OpenStore } from './store-fixtures.ts';

/** The contract's recipient side: updates and the counts, pending, pages, message lookup and queue times they feed. */
export const recipientCases = (open: OpenStore) => {
  const withStore = inStore(open);

  test(
    'updateRecipient merges its patch and moves the counts one status at a time; an unknown recipient is left alone',
    withStore(async (store) => {
      const b = aBroadcast({ total: 3 });
      await store.create(b, recipientsOf(b));
      const steps: [Partial<BroadcastRecipient>, Partial<RecipientCounts>][] = [
        [
          { status: 'queued', messageId: 'q1', queuedAt: at(1) },
          { pending: 2, queued: 1 },
        ],
        [
          { status: 'sent', sentAt: at(2), sentSha256: 'c'.repeat(64) },
          { pending: 2, sent: 1 },
        ],
        [
          { status: 'delivered', deliveredAt: at(3) },
          { pending: 2, delivered: 1 },
        ],
        [
          { status: 'read', readAt: at(4) },
          { pending: 2, read: 1 },
        ],
        [{ status: 'read' }, { pending: 2, read: 1 }],
      ];
      for (const [patch, expected] of steps) {
        await store.updateRecipient(b.id, 1, patch);
        assert.deepEqual(await store.counts(b.id), counts(expected));
      }
      const [one] = await store.recipients(b.id, { from: 1, limit: 1 });
      assert.deepEqual(one, {
        ...recipientsOf(b)[1],
        status: 'read',
        messageId: 'q1',
        queuedAt: at(1),
        sentAt: at(2),
        sentSha256: 'c'.repeat(64),
        deliveredAt: at(3),
        readAt: at(4),
      });
      await store.updateRecipient(b.id, 2, { status: 'failed', error: { code: 'send_failed', message: 'no' } });
      assert.deepEqual((await store.recipients(b.id, { from: 2, limit: 1 }))[0].error, { code: 'send_failed', message: 'no' });
      // A retried recipient: back to pending, the error cleared.
      await store.updateRecipient(b.id, 2, { status: 'pending', error: undefined });
      const [retried] = await store.recipients(b.id, { from: 2, limit: 1 });
      assert.deepEqual(retried, recipientsOf(b)[2]);
      assert.deepEqual(await store.counts(b.id), counts({ pending: 2, read: 1 }));

      await store.updateRecipient(b.id, 3, { status: 'sent' });
      await store.updateRecipient('nope', 0, { status: 'sent' });
      assert.deepEqual(await store.counts(b.id), counts({ pending: 2, read: 1 }));
      assert.deepEqual(indexes(await store.recipients(b.id, { from: 0, limit: 10 })), [0, 1, 2]);
      assert.deepEqual(await store.recipients('nope', { from: 0, limit: 10 }), []);
    }),
  );

  test(
    'pending gives pending recipients lowest index first, at most limit, and a recipient put back is due again',
    withStore(async (store) => {
      const b = aBroadcast({ total: 8 });
      await store.create(b, recipientsOf(b));
      assert.deepEqual(await store.pending(b.id, 3), recipientsOf(b).slice(0, 3));
      for (const i of [0, 1, 2, 5]) await store.updateRecipient(b.id, i, { status: 'queued' });
      assert.deepEqual(indexes(await store.pending(b.id, 3)), [3, 4, 6]);
      assert.deepEqual(indexes(await store.pending(b.id, 100)), [3, 4, 6, 7]);
      await store.updateRecipient(b.id, 1, { status: 'pending' });
      assert.deepEqual(indexes(await store.pending(b.id, 2)), [1, 3]);
      for (const i of [1, 3, 4, 6, 7]) await store.updateRecipient(b.id, i, { status: 'skipped' });
      assert.deepEqual(await store.pending(b.id, 10), []);
    }),
  );

  test(
    'recipients pages in list order from an index; pages cover everyone exactly once',
    withStore(async (store) => {
      const b = aBroadcast({ total: 23 });
      await store.create(b, recipientsOf(b));
      assert.deepEqual(await store.recipients(b.id, { from: 5, limit: 3 }), recipientsOf(b).slice(5, 8));
      assert.deepEqual(indexes(await store.recipients(b.id, { from: 20, limit: 10 })), [20, 21, 22]);
      assert.deepEqual(await store.recipients(b.id, { from: 23, limit: 10 }), []);
      assert.deepEqual(await report(store, b.id), recipientsOf(b));
    }),
  );

  test(
    'recipientOfMessage finds the recipient a message is, and follows a new message id',
    withStore(async (store) => {
      const b = aBroadcast({ total: 3 });
      await store.create(b, recipientsOf(b));
      const m1 = unique('m');
      const m2 = unique('m');
      await store.updateRecipient(b.id, 2, { status: 'queued', messageId: m1 });
      assert.deepEqual(await store.recipientOfMessage(m1), { broadcastId: b.id, index: 2 });
      await store.updateRecipient(b.id, 2, { status: 'queued', messageId: m2 });
      assert.deepEqual(await store.recipientOfMessage(m2), { broadcastId: b.id, index: 2 });
      assert.equal(await store.recipientOfMessage(m1), undefined);
      assert.equal(await store.recipientOfMessage('nope'), undefined);
    }),
  );

  test(
    "queuedSince counts a session's recipients handed to the outbox at or after a time, across its broadcasts",
    withStore(async (store) => {
      const session = unique('q');
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
      assert.equal(await store.queuedSince(session, '2025-01-02T08:00:00.001Z'), 0);
      assert.equal(await store.queuedSince(unique('none'), '2025-01-01T00:00:00.000Z'), 0);
      // Moving a recipient's queue time moves it in the count; clearing it takes it out.
      await store.updateRecipient(a.id, 0, { queuedAt: '2025-01-02T09:00:00.000Z' });
      assert.equal(await store.queuedSince(session, '2025-01-02T00:00:00.000Z'), 3);
      await store.updateRecipient(a.id, 1, { status: 'pending', queuedAt: undefined });
      assert.equal(await store.queuedSince(session, '2025-01-01T00:00:00.000Z'), 2);
    }),
  );

  test(
    'updates made at once all land: many recipients, several fields of one recipient; the later patch of a field wins',
    withStore(async (store) => {
      const session = unique('c');
      const b = aBroadcast({ sessionId: session, total: 1500 });
      await store.create(b, recipientsOf(b));
      const mid = (i: number) => `${b.id}-m${i}`;
      // Each recipient's life as the outbox reports it (queued, sent, delivered), every recipient at once.
      await Promise.all(
        recipientsOf(b).flatMap(({ index: i }) => [
          store.updateRecipient(b.id, i, { status: 'queued', messageId: mid(i), queuedAt: at(i % 60) }),
          store.updateRecipient(b.id, i, { status: 'sent', sentAt: at(61) }),
          store.updateRecipient(b.id, i, { status: i % 3 ? 'delivered' : 'failed', deliveredAt: at(62) }),
        ]),
      );
      assert.deepEqual(await store.counts(b.id), counts({ delivered: 1000, failed: 500 }));
      const all = await report(store, b.id, 400);
      assert.equal(all.length, 1500);
      for (const r of all) {
        assert.deepEqual([r.messageId, r.queuedAt, r.sentAt, r.deliveredAt], [mid(r.index), at(r.index % 60), at(61), at(62)]);
        assert.equal(r.status, r.index % 3 ? 'delivered' : 'failed');
      }
      const lookups = await Promise.all(all.map((r) => store.recipientOfMessage(mid(r.index))));
      assert.deepEqual(
        lookups,
        all.map((r) => ({ broadcastId: b.id, index: r.index })),
      );
      assert.equal(await store.queuedSince(session, at(0)), 1500);
      assert.deepEqual(await store.pending(b.id, 10), []);
    }),
  );

  test(
    'a pending recipient skipped at its turn (opted out) keeps its reason, leaves pending, counts as skipped and not as queued',
    withStore(async (store) => {
      const session = unique('s');
      const b = aBroadcast({ sessionId: session, total: 3 });
      await store.create(b, recipientsOf(b));
      const reason = { code: 'opted_out', message: '+4915100000001 opted out (by keyword, 2025-01-01T10:00:00.000Z); not sent' };
      await Promise.all([
        store.updateRecipient(b.id, 1, { status: 'skipped', error: reason }),
        store.updateRecipient(b.id, 0, { status: 'queued', messageId: 'm0', queuedAt: at(5) }),
      ]);
      assert.deepEqual(await store.counts(b.id), counts({ pending: 1, queued: 1, skipped: 1 }));
      assert.deepEqual(indexes(await store.pending(b.id, 10)), [2]);
      assert.deepEqual((await store.recipients(b.id, { from: 1, limit: 1 }))[0], {
        ...recipientsOf(b)[1],
        status: 'skipped',
        error: reason,
      });
      assert.equal(await store.queuedSince(session, at(0)), 1, 'a skipped recipient counts toward no daily cap');
    }),
  );

  test(
    "counts always agree with the recipients' own statuses, after a storm of moves back and forth",
    withStore(async (store) => {
      const b = aBroadcast({ total: 300 });
      await store.create(b, recipientsOf(b));
      const statuses = ['pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped'] as const;
      await Promise.all(
        Array.from({ length: 2000 }, (_, k) => store.updateRecipient(b.id, (k * 7919) % 300, { status: statuses[(k * 31) % 7] })),
      );
      const tally = counts();
      for (const r of await report(store, b.id, 50)) tally[r.status]++;
      assert.deepEqual(await store.counts(b.id), tally);
      assert.deepEqual(
        indexes(await store.pending(b.id, 300)),
        (await report(store, b.id)).filter((r) => r.status === 'pending').map((r) => r.index),
      );
    }),
  );

  test(
    'text a store cannot encode as is (a lone UTF-16 surrogate in an error) does not stop later updates',
    withStore(async (store) => {
      const b = aBroadcast({ total: 1 });
      await store.create(b, recipientsOf(b));
      await store.updateRecipient(b.id, 0, { status: 'failed', error: { code: 'x', message: 'cut \ud83d' } });
      await store.updateRecipient(b.id, 0, { status: 'skipped' });
      assert.deepEqual(await store.counts(b.id), counts({ skipped: 1 }));
      assert.equal((await store.recipients(b.id, { from: 0, limit: 1 }))[0].error?.code, 'x');
    }),
  );

  test(
    '10,000 recipients are created at once and read back; their updates, made together, are all kept',
    withStore(async (store) => {
      const b = aBroadcast({ total: 10_000 });
      await store.create(b, recipientsOf(b));
      assert.deepEqual(await store.counts(b.id), counts({ pending: 10_000 }));
      assert.deepEqual(indexes(await store.recipients(b.id, { from: 9_998, limit: 5 })), [9_998, 9_999]);
      await Promise.all(
        Array.from({ length: 10_000 }, (_, i) =>
          store.updateRecipient(b.id, i, { status: i % 2 ? 'sent' : 'queued', messageId: `${b.id}-${i}` }),
        ),
      );
      assert.deepEqual(await store.counts(b.id), counts({ queued: 5000, sent: 5000 }));
      assert.deepEqual(await store.recipientOfMessage(`${b.id}-9999`), { broadcastId: b.id, index: 9999 });
    }),
  );
};
