import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { createMessageStore } from '../../src/outbox/message-store.js';
import { createSessionWorker } from '../../src/outbox/worker.js';
import { createStoreFactory } from '../../src/store/index.js';
import type { SendRequest } from '../../src/whatsapp/driver.js';

test("the outbox hands a reply's quoted message to the driver with the send, and nothing for a plain message", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-quoted-'));
  const stores = await createStoreFactory({ dataDir: dir });
  try {
    const messages = createMessageStore(stores.namespace('outbox'));
    const requests: SendRequest[] = [];
    let done!: () => void;
    const both = new Promise<void>((resolve) => (done = resolve));
    const worker = createSessionWorker({
      sessionId: 'shop',
      messages,
      // The driver as the outbox meets it: whatever it is handed is what it would put on the wire.
      async send(_session, request) {
        requests.push(request);
        if (requests.length === 2) done();
        return { waMessageId: request.messageId };
      },
      state: () => 'connected',
      log: createLogger('silent'),
      maxAgeMs: 60_000,
      retryBaseMs: 50,
      maxAttempts: 3,
    });
    const now = new Date().toISOString();
    const base = { sessionId: 'shop', to: '4915200000100@s.whatsapp.net', type: 'text' as const, status: 'queued' as const, attempts: 0 };
    const quoted = { waMessageId: '3A0123456789ABCDEF01', from: '4915200000100@s.whatsapp.net', chat: '4915200000100@s.whatsapp.net' };
    const reply = await messages.append({
      ...base,
      id: '3EB0REPLY',
      content: { type: 'text', text: 'It ships today.' },
      replyTo: 'in_abc',
      quoted,
      createdAt: now,
      updatedAt: now,
    });
    const plain = await messages.append({
      ...base,
      id: '3EB0PLAIN',
      content: { type: 'text', text: 'Hi' },
      createdAt: now,
      updatedAt: now,
    });
    worker.push(reply.id);
    worker.push(plain.id);
    await both;
    await worker.stop();
    assert.deepEqual(requests, [
      { messageId: '3EB0REPLY', to: base.to, content: { type: 'text', text: 'It ships today.' }, quoted },
      { messageId: '3EB0PLAIN', to: base.to, content: { type: 'text', text: 'Hi' } },
    ]);
  } finally {
    await stores.close();
    await rm(dir, { recursive: true, force: true });
  }
});
