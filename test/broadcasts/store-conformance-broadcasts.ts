import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Broadcast } from '../../src/broadcasts/types.js';
import { aBroadcast, at, counts, ids, inStore, indexes, recipientsOf, sorted, unique, type OpenStore } from './store-fixtures.ts';

/** The contract's broadcast side: create, get, list, withStatus, update, remove, and state kept across a reopen. */
export const broadcastCases = (open: OpenStore) => {
  const withStore = inStore(open);

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
};
