import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebhookStore } from '../../src/webhooks/store.js';
import type { WebhookDelivery, WebhookEndpoint } from '../../src/webhooks/types.js';

/** An empty store, and a second connection to the same state (another node, or the store reopened). */
export type OpenWebhookStore = () => Promise<{ store: WebhookStore; again(): Promise<WebhookStore> }>;

let n = 0;
export const anEndpoint = (id: string, createdAt = new Date().toISOString()): WebhookEndpoint => ({
  id,
  url: 'http://127.0.0.1/hook',
  events: ['*'],
  enabled: true,
  secret: 'whsec_x',
  createdAt,
  updatedAt: createdAt,
});
export const aDelivery = (endpointId: string, orderingKey = 'k', createdAt = new Date().toISOString()): WebhookDelivery => ({
  id: `whd_${++n}_${Math.random().toString(36).slice(2)}`,
  endpointId,
  event: { id: `evt_${n}`, type: 'message.sent', createdAt },
  orderingKey,
  body: JSON.stringify({ n, text: 'ünïcode ✓' }),
  status: 'pending',
  attempts: 0,
  createdAt,
});

const ids = (list: { id: string }[]) => list.map((d) => d.id);
const near = (iso: string | undefined, ms: number) => assert.ok(iso && Math.abs(Date.parse(iso) - ms) < 60_000, `${iso} near now`);

/** What every WebhookStore does, exactly, whatever it stores in. */
export const webhookStoreConformance = (name: string, open: OpenWebhookStore) =>
  describe(`WebhookStore conformance: ${name}`, () => {
    test('endpoints are listed oldest first, replaced whole by a put, and removed with every delivery of theirs', async () => {
      const { store, again } = await open();
      await store.putEndpoint(anEndpoint('whe_b', '2026-01-02T00:00:00.000Z'));
      await store.putEndpoint(anEndpoint('whe_a', '2026-01-03T00:00:00.000Z'));
      await store.putEndpoint({ ...anEndpoint('whe_b', '2026-01-02T00:00:00.000Z'), url: 'http://127.0.0.1/other', enabled: false });
      const d = aDelivery('whe_b');
      await store.addDelivery(d);
      await store.addDelivery(aDelivery('whe_a'));
      const other = await again();
      assert.deepEqual(ids(await other.endpoints()), ['whe_b', 'whe_a']);
      assert.equal((await other.endpoints())[0].url, 'http://127.0.0.1/other');
      assert.equal((await other.endpoints())[0].enabled, false);
      await other.removeEndpoint('whe_b');
      assert.deepEqual(ids(await store.endpoints()), ['whe_a']);
      assert.equal(await store.getDelivery('whe_b', d.id), undefined);
      assert.deepEqual(await store.listDeliveries('whe_b', { limit: 10 }), []);
      assert.deepEqual(
        (await store.counts()).map((c) => [c.endpointId, c.status, c.count]),
        [['whe_a', 'pending', 1]],
      );
      await other.close();
      await store.close();
    });

    test('only the oldest pending delivery of an endpoint and key is due; the next one becomes due when it is delivered or dead', async () => {
      const { store, again } = await open();
      const [a1, a2, b1, a3] = [aDelivery('whe_1', 'a'), aDelivery('whe_1', 'a'), aDelivery('whe_1', 'b'), aDelivery('whe_1', 'a')];
      const seqs = await Promise.all([a1, a2, b1, a3].map((d) => store.addDelivery(d)));
      assert.deepEqual(
        [...seqs].sort((x, y) => x - y),
        seqs,
      );
      const other = await again();
      const pending = await other.pending('whe_1', { after: 0, limit: 10 });
      assert.deepEqual(ids(pending), ids([a1, a2, b1, a3]));
      assert.deepEqual(
        pending.map((d) => d.nextAttemptAt !== undefined),
        [true, false, true, false],
      );
      near(pending[0].nextAttemptAt, Date.now());
      assert.equal(pending[0].body, a1.body);
      // A retry: due later, the rest of its key still waits.
      const later = Date.now() + 3_600_000;
      await store.updateDelivery({
        seq: seqs[0],
        patch: { attempts: 1, firstAttemptAt: '2026-01-01T00:00:00.000Z', lastError: { code: 'timeout', message: 'slow' } },
        nextAttemptAt: later,
      });
      let now = await other.pending('whe_1', { after: 0, limit: 10 });
      assert.equal(now[0].nextAttemptAt, new Date(later).toISOString());
      assert.deepEqual(now[0].lastError, { code: 'timeout', message: 'slow' });
      assert.equal(now[1].nextAttemptAt, undefined);
      // Delivered: gone from pending, the next of its key due in the same write; the error cleared by the patch.
      await store.updateDelivery({
        seq: seqs[0],
        patch: { status: 'delivered', attempts: 2, deliveredAt: '2026-01-01T00:01:00.000Z', lastError: undefined },
        nextAttemptAt: null,
      });
      now = await other.pending('whe_1', { after: 0, limit: 10 });
      assert.deepEqual(ids(now), ids([a2, b1, a3]));
      near(now[0].nextAttemptAt, Date.now());
      assert.equal(now[2].nextAttemptAt, undefined);
      const done = await other.getDelivery('whe_1', a1.id);
      assert.equal(done?.status, 'delivered');
      assert.equal(done?.attempts, 2);
      assert.equal(done?.lastError, undefined);
      assert.equal(done?.nextAttemptAt, undefined);
      assert.equal(done?.seq, seqs[0]);
      // Dead works the same; paging over pending starts after a seq.
      await store.updateDelivery({ seq: seqs[1], patch: { status: 'dead', attempts: 1 }, nextAttemptAt: null });
      now = await other.pending('whe_1', { after: seqs[1], limit: 1 });
      assert.deepEqual(ids(now), [b1.id]);
      near((await other.pending('whe_1', { after: seqs[2], limit: 5 }))[0].nextAttemptAt, Date.now());
      assert.equal(await other.getDelivery('whe_2', a1.id), undefined);
      await other.close();
      await store.close();
    });

    test('deliveries list newest first by status and page on seq; dead letters span endpoints; counts per status', async () => {
      const { store } = await open();
      const made = [];
      for (let i = 0; i < 5; i++) {
        const d = aDelivery(i % 2 ? 'whe_odd' : 'whe_even', `k${i}`);
        made.push({ d, seq: await store.addDelivery(d) });
      }
      await store.updateDelivery({ seq: made[0].seq, patch: { status: 'dead', attempts: 3 }, nextAttemptAt: null });
      await store.updateDelivery({ seq: made[1].seq, patch: { status: 'dead', attempts: 3 }, nextAttemptAt: null });
      await store.updateDelivery({ seq: made[2].seq, patch: { status: 'delivered', attempts: 1 }, nextAttemptAt: null });
      const even = await store.listDeliveries('whe_even', { limit: 2 });
      assert.deepEqual(ids(even), [made[4].d.id, made[2].d.id]);
      assert.deepEqual(ids(await store.listDeliveries('whe_even', { limit: 2, before: even[1].seq })), [made[0].d.id]);
      assert.deepEqual(ids(await store.listDeliveries('whe_even', { status: 'delivered', limit: 10 })), [made[2].d.id]);
      assert.deepEqual(ids(await store.deadLetters({ limit: 10 })), [made[1].d.id, made[0].d.id]);
      assert.deepEqual(ids(await store.deadLetters({ limit: 10, before: made[1].seq })), [made[0].d.id]);
      const counts = (await store.counts()).map((c) => `${c.endpointId} ${c.status} ${c.count}`).sort();
      assert.deepEqual(counts, ['whe_even dead 1', 'whe_even delivered 1', 'whe_even pending 1', 'whe_odd dead 1', 'whe_odd pending 1']);
      await store.close();
    });

    test('requeue makes delivered or dead deliveries pending and due now with a new retry period; resume makes the due ones due now', async () => {
      const { store, again } = await open();
      const [x, y, z] = [aDelivery('whe_1', 'x'), aDelivery('whe_1', 'y'), aDelivery('whe_1', 'z')];
      const [sx, sy, sz] = [await store.addDelivery(x), await store.addDelivery(y), await store.addDelivery(z)];
      const patch = { attempts: 1, firstAttemptAt: '2026-01-01T00:00:00.000Z', deliveredAt: '2026-01-01T00:00:01.000Z' };
      await store.updateDelivery({ seq: sx, patch: { ...patch, status: 'delivered' }, nextAttemptAt: null });
      await store.updateDelivery({ seq: sy, patch: { ...patch, status: 'dead', deliveredAt: undefined }, nextAttemptAt: null });
      await store.updateDelivery({
        seq: sz,
        patch: { attempts: 1, firstAttemptAt: '2026-01-01T00:00:00.000Z' },
        nextAttemptAt: Date.now() + 3_600_000,
      });
      const other = await again();
      const now = Date.now();
      assert.equal(await other.requeue('whe_1', { id: x.id }, now), 1);
      assert.equal(await other.requeue('whe_1', { id: x.id }, now), 0);
      assert.equal(await other.requeue('whe_2', { id: y.id }, now), 0);
      assert.equal(await other.requeue('whe_1', { status: 'dead' }, now), 1);
      const rx = await store.getDelivery('whe_1', x.id);
      assert.equal(rx?.status, 'pending');
      assert.equal(rx?.nextAttemptAt, new Date(now).toISOString());
      assert.equal(rx?.firstAttemptAt, undefined);
      assert.equal(rx?.deliveredAt, undefined);
      assert.equal(rx?.attempts, 1);
      assert.deepEqual(ids(await store.deadLetters({ limit: 10 })), []);
      assert.deepEqual(ids(await store.pending('whe_1', { after: 0, limit: 10 })), [x.id, y.id, z.id]);
      const resumed = now + 1000;
      await other.resume('whe_1', resumed);
      const after = await store.pending('whe_1', { after: 0, limit: 10 });
      assert.deepEqual(
        after.map((d) => [d.nextAttemptAt, d.firstAttemptAt]),
        after.map(() => [new Date(resumed).toISOString(), undefined]),
      );
      await other.close();
      await store.close();
    });

    test('prune removes delivered deliveries created before a time, up to a limit, and nothing pending or dead', async () => {
      const { store } = await open();
      const old = '2020-01-01T00:00:00.000Z';
      const made = [];
      for (const [status, createdAt] of [
        ['delivered', old],
        ['delivered', old],
        ['delivered', old],
        ['dead', old],
        ['pending', old],
        ['delivered', new Date().toISOString()],
      ] as const) {
        const d = aDelivery('whe_1', `k${made.length}`, createdAt);
        const seq = await store.addDelivery(d);
        if (status !== 'pending') await store.updateDelivery({ seq, patch: { status }, nextAttemptAt: null });
        made.push(d);
      }
      const cut = '2021-01-01T00:00:00.000Z';
      assert.equal(await store.prune(cut, 2), 2);
      assert.equal(await store.prune(cut, 2), 1);
      assert.equal(await store.prune(cut, 2), 0);
      assert.deepEqual(ids(await store.listDeliveries('whe_1', { limit: 10 })), ids([made[5], made[4], made[3]]));
      await store.close();
    });
  });
