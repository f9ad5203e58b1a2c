import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { createOutbox } from '../../src/outbox/index.js';
import { createStoreFactory, type StoreFactory } from '../../src/store/index.js';

let dir: string;
let factory: StoreFactory;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hashsend-outbox-order-'));
  factory = await createStoreFactory({ dataDir: dir });
});
after(async () => {
  await factory.close();
  await rm(dir, { recursive: true, force: true });
});

test('messages enqueued together take their places in call order, even when a reserved key makes a later one quicker', async () => {
  const store = factory.namespace('outbox');
  // A key reserved by a run that died before its message was stored: its enqueue skips the reservation write.
  await store.set('idem:k1', { fingerprint: 'f', messageId: '3EB0RESERVED' });
  const outbox = createOutbox({
    store,
    sessions: {
      list: () => [],
      get: () => ({ state: 'stopped' }),
      has: () => true,
      send: async (_id, request) => ({ waMessageId: request.messageId }),
      subscribe: () => () => undefined,
    },
    log: createLogger('silent'),
    maxAgeMs: 60_000,
    retryBaseMs: 10,
    maxAttempts: 1,
  });
  const text = (t: string) => ({ type: 'text' as const, text: t });
  const records = await Promise.all([
    outbox.enqueue({ sessionId: 's', to: 'a@s.whatsapp.net', content: text('first'), idempotency: { key: 'k0', fingerprint: 'f' } }),
    outbox.enqueue({ sessionId: 's', to: 'b@s.whatsapp.net', content: text('second'), idempotency: { key: 'k1', fingerprint: 'f' } }),
    outbox.enqueue({ sessionId: 's', to: 'c@s.whatsapp.net', content: text('third') }),
  ]);
  assert.deepEqual(
    records.map((r) => r.position),
    [0, 1, 2],
  );
  assert.equal(records[1].id, '3EB0RESERVED');
  const { items } = await outbox.list('s', { limit: 10 });
  assert.deepEqual(
    items.map((r) => (r.content as { text: string }).text),
    ['third', 'second', 'first'],
  );
  await outbox.stop();
});
