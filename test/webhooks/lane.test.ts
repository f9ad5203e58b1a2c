import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { createLane } from '../../src/webhooks/lane.js';
import type { DeliveryUpdate } from '../../src/webhooks/store.js';
import { openSqliteWebhookStore } from '../../src/webhooks/store-sqlite.js';
import type { StoredDelivery, WebhookDelivery } from '../../src/webhooks/types.js';

const KEYS = ['message:a', 'message:b', 'message:c'];

const delivery = (n: number): WebhookDelivery => ({
  id: `whd_${n}`,
  endpointId: 'whe_1',
  event: { id: `evt_${n}`, type: 'message.sent', createdAt: new Date().toISOString() },
  orderingKey: KEYS[n % KEYS.length],
  body: JSON.stringify({ n }),
  status: 'pending',
  attempts: 0,
  createdAt: new Date().toISOString(),
});

/**
 * A lane over the real store whose attempts fail the first time for every fifth delivery; it resolves once `total`
 * deliveries are delivered, with the order they were delivered in and the most requests in flight at once.
 */
const harness = async (maxInMemory: number) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-lane-'));
  const store = await openSqliteWebhookStore(path.join(dir, 'hashsend.sqlite'));
  const delivered: StoredDelivery[] = [];
  const failedOnce = new Set<string>();
  let posting = 0;
  let mostPosting = 0;
  let onDelivered = () => undefined as void;
  const lane = createLane({
    endpointId: 'whe_1',
    store,
    concurrency: 2,
    active: () => true,
    log: createLogger('silent'),
    clock: Date.now,
    maxInMemory,
    async attempt(d, posted) {
      mostPosting = Math.max(mostPosting, ++posting);
      await new Promise((r) => setImmediate(r));
      posting--;
      posted();
      const n = Number(d.id.slice(4));
      const fail = n % 5 === 0 && !failedOnce.has(d.id);
      if (fail) failedOnce.add(d.id);
      const update: DeliveryUpdate = fail
        ? { seq: d.seq, patch: { attempts: d.attempts + 1 }, nextAttemptAt: Date.now() }
        : { seq: d.seq, patch: { attempts: d.attempts + 1, status: 'delivered' }, nextAttemptAt: null };
      await store.updateDelivery(update);
      if (!fail) {
        delivered.push(d);
        onDelivered();
      }
      return update;
    },
  });
  const until = (total: number) =>
    new Promise<void>((resolve) => {
      onDelivered = () => {
        if (delivered.length >= total) resolve();
      };
      onDelivered();
    });
  const close = async () => {
    lane.pause();
    await lane.idle();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { store, lane, delivered, until, mostPosting: () => mostPosting, close };
};

/** Each key's deliveries in the order they were delivered: their numbers must rise. */
const assertOrderPerKey = (delivered: StoredDelivery[], total: number) => {
  assert.deepEqual(delivered.map((d) => d.id).sort(), Array.from({ length: total }, (_, n) => `whd_${n}`).sort());
  for (const key of KEYS) {
    const ns = delivered.filter((d) => d.orderingKey === key).map((d) => Number(d.id.slice(4)));
    assert.deepEqual(
      ns,
      [...ns].sort((a, b) => a - b),
      `order of ${key}`,
    );
  }
};

test('more pending than the lane holds in memory: the rest is read from the store; each delivered once, in order per key', async () => {
  const h = await harness(4);
  try {
    h.lane.wake();
    const total = 40;
    for (let n = 0; n < total; n++) {
      const d = delivery(n);
      void h.store.addDelivery(d).then((seq) => h.lane.add({ ...d, seq }));
    }
    await h.until(total);
    assertOrderPerKey(h.delivered, total);
    assert.ok(h.mostPosting() <= 2, `at most 2 requests in flight, saw ${h.mostPosting()}`);
    assert.deepEqual(await h.store.pending('whe_1', { after: 0, limit: 100 }), []);
  } finally {
    await h.close();
  }
});

test('deliveries pending in the store before the lane starts (a restart) are all delivered, in order per key', async () => {
  const h = await harness(5000);
  try {
    const total = 30;
    await Promise.all(Array.from({ length: total }, (_, n) => h.store.addDelivery(delivery(n))));
    // Added before the start: the lane has not read the store yet, so it must not take them from memory twice.
    h.lane.wake();
    await h.until(total);
    assertOrderPerKey(h.delivered, total);
    assert.equal(new Set(h.delivered.map((d) => d.id)).size, total);
  } finally {
    await h.close();
  }
});
