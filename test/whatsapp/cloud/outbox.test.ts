import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MessageEvent } from '../../../src/events/types.ts';
import { createLogger } from '../../../src/log.ts';
import { createOutbox } from '../../../src/outbox/index.ts';
import type { MessageRecord } from '../../../src/outbox/types.ts';
import { createStoreFactory } from '../../../src/store/index.ts';
import type { SessionEvent } from '../../../src/whatsapp/session-types.ts';
import { CUSTOMER_JID, PHONE_NUMBER_ID, SESSION_ID, startHarness, type Harness } from './harness.ts';

/** The outbox on a Cloud session, as the session manager wires it: sends through the driver, its receipts back in. */
const outboxOn = async (h: Harness, t: { after(fn: () => Promise<void>): void }) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-cloud-outbox-'));
  const factory = await createStoreFactory({ dataDir: dir });
  const records: MessageRecord[] = [];
  const waiters = new Set<() => void>();
  const outbox = createOutbox({
    store: factory.namespace('outbox'),
    sessions: {
      list: () => [{ id: SESSION_ID }],
      get: () => ({ state: 'connected' }),
      has: () => true,
      send: (_id, request) => h.session.send(request),
      subscribe: (listener: (e: SessionEvent) => void) =>
        h.listen((e) => {
          if (e.type === 'receipt') listener({ ...e, sessionId: SESSION_ID } as SessionEvent);
        }),
    },
    log: createLogger('silent'),
    maxAgeMs: 60_000,
    retryBaseMs: 1,
    maxAttempts: 5,
    events: {
      publish: (e: MessageEvent) => {
        records.push(e.message);
        for (const w of [...waiters]) w();
      },
    },
  });
  outbox.start();
  t.after(async () => {
    await outbox.stop();
    await factory.close();
    await rm(dir, { recursive: true, force: true });
  });
  const reaches = (id: string, status: MessageRecord['status']) =>
    new Promise<MessageRecord>((resolve) => {
      const check = () => {
        const found = records.find((r) => r.id === id && r.status === status);
        if (found) (waiters.delete(check), resolve(found));
      };
      waiters.add(check);
      check();
    });
  return { outbox, reaches };
};

test("Meta's rate limit (130429) is retried by the outbox with backoff, and the message goes once", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const { outbox, reaches } = await outboxOn(h, t);
  h.graph.failNext(PHONE_NUMBER_ID, { code: 130429, times: 2 });
  const queued = await outbox.enqueue({ sessionId: SESSION_ID, to: CUSTOMER_JID, content: { type: 'text', text: 'patience' } });
  const sent = await reaches(queued.id, 'sent');
  assert.equal(sent.attempts, 3);
  assert.equal(h.graph.messages().length, 1);
  assert.equal(sent.waMessageId, h.graph.messages()[0].id);
});

test("receipts for Meta's message ids move the message's status: delivered, read; a failed status fails it with the mapped code", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const { outbox, reaches } = await outboxOn(h, t);
  const first = await outbox.enqueue({ sessionId: SESSION_ID, to: CUSTOMER_JID, content: { type: 'text', text: 'hello' } });
  const read = await reaches(first.id, 'read');
  assert.equal(read.waMessageId, h.graph.messages()[0].id);
  h.graph.failNext(PHONE_NUMBER_ID, { code: 131026, async: true });
  h.graph.failNext(PHONE_NUMBER_ID, { code: 131030 });
  const second = await outbox.enqueue({ sessionId: SESSION_ID, to: CUSTOMER_JID, content: { type: 'text', text: 'later fails' } });
  const third = await outbox.enqueue({ sessionId: SESSION_ID, to: CUSTOMER_JID, content: { type: 'text', text: 'refused' } });
  assert.equal((await reaches(second.id, 'failed')).error?.code, 'cloud_api_error');
  const refused = await reaches(third.id, 'failed');
  assert.deepEqual([refused.error?.code, refused.attempts], ['recipient_not_allowed', 1], 'a 422 is not retried');
});
