import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BroadcastStore } from '../../src/broadcasts/store.js';
import type { Broadcast, BroadcastRecipient, RecipientCounts } from '../../src/broadcasts/types.js';

/** Opens a store on the same state every time (one file, one Redis): each test uses its own ids and sessions. */
export type OpenStore = () => Promise<BroadcastStore>;

let n = 0;
const unique = (tag: string) => `${tag}${Date.now().toString(36)}${(n++).toString(36)}`;
const at = (second: number) => new Date(Date.UTC(2025, 0, 1, 10, 0, second)).toISOString();

export const aBroadcast = (over: Partial<Broadcast> = {}): Broadcast => {
  const created = at(n);
  return {
    id: unique('b'),
    sessionId: 'shop',
    name: 'offer',
    status: 'running',
    content: { type: 'text', text: 'Hello {{name}}' },
    total: 3,
    createdAt: created,
    updatedAt: created,
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

const counts = (over: Partial<RecipientCounts> = {}): RecipientCounts => ({
  ...{ pending: 0, queued: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0 },
  ...over,
});
const ids = (list: { id: string }[]) => list.map((b) => b.id);
const indexes = (list: BroadcastRecipient[]) => list.map((r) => r.index);
const sorted = (list: string[]) => [...list].sort();

/** Every recipient, page after page from the last index seen, as the report reads them. */
const report = async (store: BroadcastStore, id: string, limit = 7) => {
  const out: BroadcastRecipient[] = [];
  for (;;) {
    const page = await store.recipients(id, { from: out.length ? out[out.length - 1].index + 1 : 0, limit });
    if (page.length === 0) return out;
    assert.ok(page.length <= limit);
    out.push(...page);
  }
};

/**
 * What every BroadcastStore does, whatever it stores in: exact results for every method of the contract. Each test
 * opens its own store and closes it.
 */
export const conformance = (name: string, open: OpenStore) =>
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
      'create stores the broadcast and its recipients as given; get and recipients read them back exactly',
      withStore(async (store) => {
        const b = aBroadcast({
          total: 4,
          content: { type: 'media', as: 'image', sha256: 'a'.repeat(64), mimetype: 'image/jpeg', size: 48_213, caption: 'Hi {{name}} /' },
          media: { sha256: 'a'.repeat(64), sourceSha256: 'b'.repeat(64) },
          scheduledAt: at(3600),
          pace: { perMinute: 6, jitter: 0.3 },
          dailyCap: 200,
          quietHours: { start: '22:00', end: '07:30', timezone: 'Europe/Berlin' },
          status: 'scheduled',
        });
        const list = recipientsOf(b);
        delete list[1].vars;
        list[2].vars = { name: 'Zoë 👋', 'first name': 'a"b\\c', empty: '' };
        await store.create(b, list);
        assert.deepEqual(await store.get(b.id), b);
        assert.deepEqual(await store.recipients(b.id, { from: 0, limit: 10 }), list);
        assert.deepEqual(await store.counts(b.id), counts({ pending: 4 }));
        assert.equal(await store.get('nope'), undefined);
        assert.deepEqual(await store.recipients('nope', { from: 0, limit: 10 }), []);
        assert.deepEqual(await store.pending('nope', 10), []);
        assert.deepEqual(await store.counts('nope'), counts());
      }),
    );

    test(
      "create keeps each recipient's given status: one skipped at creation is counted, and never pending",
      withStore(async (store) => {
        const b = aBroadcast({ total: 3 });
        const list = recipientsOf(b);
        list[1] = { ...list[1], status: 'skipped', error: { code: 'opted_out', message: 'asked not to be sent to' } };
        await store.create(b, list);
        assert.deepEqual(await store.counts(b.id), counts({ pending: 2, skipped: 1 }));
        assert.deepEqual(indexes(await store.pending(b.id, 10)), [0, 2]);
        assert.deepEqual((await store.recipients(b.id, { from: 1, limit: 1 }))[0], list[1]);
      }),
    );

    test(
      'create is all or nothing: a repeated index stores nothing, a taken id leaves the first broadcast as it was',
      withStore(async (store) => {
        const session = unique('s');
        const bad = aBroadcast({ sessionId: session, total: 3 });
        const list = recipientsOf(bad);
        list[2] = { ...list[2], index: 0 };
        await assert.rejects(store.create(bad, list));
        assert.equal(await store.get(bad.id), undefined);
        assert.deepEqual(await store.list(session, { limit: 10 }), []);
        assert.deepEqual(await store.counts(bad.id), counts());
        assert.deepEqual(await store.recipients(bad.id, { from: 0, limit: 10 }), []);

        const first = aBroadcast({ sessionId: session, total: 2 });
        await store.create(first, recipientsOf(first));
        const again = { ...first, name: 'other', total: 3 };
        await assert.rejects(store.create(again, recipientsOf(again)));
        assert.deepEqual(await store.get(first.id), first);
        assert.deepEqual(await store.recipients(first.id, { from: 0, limit: 10 }), recipientsOf(first));
        assert.deepEqual(await store.counts(first.id), counts({ pending: 2 }));
        assert.deepEqual(ids(await store.list(session, { limit: 10 })), [first.id]);
      }),
    );

    test(
      "list gives a session's broadcasts newest first, paged by createdAt (before is exclusive); other sessions stay out",
      withStore(async (store) => {
        const session = unique('s');
        const made: Broadcast[] = [];
        // Created out of order: the order is createdAt's, not the order of writing.
        for (const second of [30, 10, 50, 20, 40]) {
          const b = aBroadcast({ sessionId: session, createdAt: at(second), total: 1 });
          await store.create(b, recipientsOf(b));
          made[second / 10 - 1] = b;
        }
        const other = aBroadcast({ sessionId: `${session}x`, createdAt: at(60), total: 1 });
        await store.create(other, recipientsOf(other));
        const first = await store.list(session, { limit: 2 });
        assert.deepEqual(first, [made[4], made[3]]);
        assert.deepEqual(ids(await store.list(session, { limit: 2, before: first[1].createdAt })), ids([made[2], made[1]]));
        assert.deepEqual(ids(await store.list(session, { limit: 2, before: made[1].createdAt })), ids([made[0]]));
        assert.deepEqual(await store.list(session, { limit: 2, before: made[0].createdAt }), []);
        assert.deepEqual(ids(await store.list(session, { limit: 10 })), ids([...made].reverse()));
        assert.deepEqual(await store.list(unique('none'), { limit: 10 }), []);
      }),
    );

    test(
      'withStatus finds broadcasts in any of the given states, and follows their status as it changes',
      withStore(async (store) => {
        const made: Broadcast[] = [];
        for (const status of ['scheduled', 'running', 'paused', 'completed', 'cancelled'] as const) {
          const b = aBroadcast({ status, total: 1 });
          await store.create(b, recipientsOf(b));
          made.push(b);
        }
        const mine = async (...statuses: Broadcast['status'][]) =>
          sorted(ids(await store.withStatus(statuses)).filter((id) => made.some((b) => b.id === id)));
        assert.deepEqual(await mine('scheduled', 'running', 'paused'), sorted(ids(made.slice(0, 3))));
        assert.deepEqual(await mine('completed'), [made[3].id]);
        assert.deepEqual(await mine(), []);
        await store.update(made[1].id, { status: 'completed', finishedAt: at(99) });
        assert.deepEqual(await mine('running'), []);
        assert.deepEqual(await mine('completed'), sorted([made[1].id, made[3].id]));
        const [found] = (await store.withStatus(['completed'])).filter((b) => b.id === made[1].id);
        assert.deepEqual(found, { ...made[1], status: 'completed', finishedAt: at(99) });
      }),
    );

    test(
      'update merges a patch; a field given as undefined is removed; an unknown broadcast stays unknown',
      withStore(async (store) => {
        const b = aBroadcast();
        await store.create(b, recipientsOf(b));
        const reason = { code: 'failures', message: '5 failures in a row' };
        await store.update(b.id, { status: 'paused', pausedReason: reason, updatedAt: at(70), startedAt: at(65) });
        assert.deepEqual(await store.get(b.id), { ...b, status: 'paused', pausedReason: reason, updatedAt: at(70), startedAt: at(65) });
        await store.update(b.id, { status: 'running', pausedReason: undefined, updatedAt: at(80) });
        const after = await store.get(b.id);
        assert.deepEqual(after, { ...b, status: 'running', updatedAt: at(80), startedAt: at(65) });
        assert.equal('pausedReason' in (after ?? {}), false);
        await store.update('nope', { status: 'cancelled', name: 'ghost' });
        assert.equal(await store.get('nope'), undefined);
        assert.deepEqual(ids(await store.withStatus(['cancelled'])).includes('nope'), false);
      }),
    );

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

    test(
      'remove leaves nothing of the broadcast behind, and touches no other; its id can be used again afresh',
      withStore(async (store) => {
        const session = unique('r');
        const b = aBroadcast({ sessionId: session, status: 'paused' });
        const kept = aBroadcast({ sessionId: session, status: 'paused', total: 1 });
        for (const x of [b, kept]) await store.create(x, recipientsOf(x));
        const gone = unique('m');
        await store.updateRecipient(b.id, 0, { status: 'queued', messageId: gone, queuedAt: at(5) });
        await store.updateRecipient(kept.id, 0, { status: 'sent', messageId: `${gone}k`, queuedAt: at(5) });
        await store.remove(b.id);
        assert.equal(await store.get(b.id), undefined);
        assert.deepEqual(ids(await store.list(session, { limit: 10 })), [kept.id]);
        assert.deepEqual(ids(await store.withStatus(['paused'])).includes(b.id), false);
        assert.deepEqual(await store.counts(b.id), counts());
        assert.deepEqual(await store.pending(b.id, 10), []);
        assert.deepEqual(await store.recipients(b.id, { from: 0, limit: 10 }), []);
        assert.equal(await store.recipientOfMessage(gone), undefined);
        assert.equal(await store.queuedSince(session, at(0)), 1);
        assert.deepEqual(await store.recipientOfMessage(`${gone}k`), { broadcastId: kept.id, index: 0 });
        await store.remove(b.id);
        await store.remove('nope');

        const fresh = { ...b, total: 1 };
        await store.create(fresh, recipientsOf(fresh));
        assert.deepEqual(await store.recipients(b.id, { from: 0, limit: 10 }), recipientsOf(fresh));
        assert.deepEqual(await store.counts(b.id), counts({ pending: 1 }));
      }),
    );

    test('what was written is all there after the store is closed and opened again', async () => {
      const session = unique('k');
      const store = await open();
      const b = aBroadcast({ sessionId: session, pausedReason: { code: 'logged_out', message: 'relink' }, status: 'paused' });
      await store.create(b, recipientsOf(b));
      const kept = unique('m');
      // Not awaited one by one: close waits for writes still in flight.
      void store.updateRecipient(b.id, 2, { status: 'delivered', messageId: kept, queuedAt: at(7) });
      void store.updateRecipient(b.id, 0, { status: 'skipped' });
      await store.close();
      const again = await open();
      try {
        assert.deepEqual(await again.get(b.id), b);
        assert.deepEqual(await again.list(session, { limit: 1 }), [b]);
        assert.deepEqual(await again.counts(b.id), counts({ pending: 1, delivered: 1, skipped: 1 }));
        assert.deepEqual(indexes(await again.pending(b.id, 10)), [1]);
        assert.deepEqual(await again.recipientOfMessage(kept), { broadcastId: b.id, index: 2 });
        assert.equal(await again.queuedSince(session, at(7)), 1);
      } finally {
        await again.close();
      }
    });
  });

/** The name test/broadcasts/store.test.ts knows it by. */
export const broadcastStoreConformance = conformance;
