import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../../src/log.ts';
import type { DriverEvent } from '../../../src/whatsapp/driver.ts';
import { createSandboxDriver, isSandboxSession, type SandboxSession } from '../../../src/whatsapp/sandbox/driver.ts';

const withSession = async (run: (session: SandboxSession, file: string) => Promise<void>) => {
  const root = await mkdtemp(path.join(tmpdir(), 'hashsend-sandbox-'));
  const dir = path.join(root, 'session');
  const events: DriverEvent[] = [];
  const session = createSandboxDriver({ receiptDelayMs: 1 }).open({
    sessionId: 'shop',
    dir,
    log: createLogger('silent'),
    blobs: { read: () => Promise.reject(new Error('no blobs here')), write: () => Promise.reject(new Error('no blobs here')) },
    onEvent: (e) => events.push(e),
  });
  assert.ok(isSandboxSession(session));
  try {
    await session.start();
    await session.link('+4915100000001');
    await run(session, path.join(dir, 'sandbox.json'));
  } finally {
    await session.stop();
    await rm(root, { recursive: true, force: true });
  }
};
const text = (n: number) => ({
  messageId: `3EB0${String(n).padStart(16, '0')}`,
  to: '4915100000002@s.whatsapp.net',
  content: { type: 'text' as const, text: `m${n}` },
});
const size = async (file: string) => (await stat(file)).size;

test('injected failures are journalled as what changed: using or adding one costs a line, not the pending list', () =>
  withSession(async (session, file) => {
    assert.equal(await session.injectFailures(1000, { code: 'upstream_unavailable', status: 503, mode: 'error' }), 1000);
    const before = await size(file);
    for (let i = 0; i < 10; i++) await assert.rejects(session.send(text(i)), { code: 'upstream_unavailable' });
    assert.equal(await session.injectFailures(1, { code: 'recipient_blocked', status: 422, mode: 'error' }), 991);
    // Eleven changes; today's journal wrote the ~1000 pending failures out with each of them (~60 KB a change).
    assert.ok((await size(file)) - before < 11 * 200, `the journal grew by ${(await size(file)) - before} bytes`);
  }));

test('injected failures survive a restart, in order', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'hashsend-sandbox-'));
  const open = () =>
    createSandboxDriver().open({
      sessionId: 'shop',
      dir: root,
      log: createLogger('silent'),
      blobs: { read: () => Promise.reject(new Error('no blobs here')), write: () => Promise.reject(new Error('no blobs here')) },
      onEvent: () => undefined,
    }) as SandboxSession;
  try {
    const first = open();
    await first.start();
    await first.link();
    await first.injectFailures(2, { code: 'upstream_unavailable', status: 503, mode: 'error' });
    await first.injectFailures(1, { code: 'recipient_blocked', status: 422, mode: 'error' });
    await assert.rejects(first.send(text(1)), { code: 'upstream_unavailable' });
    await first.stop();
    const second = open();
    await second.start();
    await assert.rejects(second.send(text(2)), { code: 'upstream_unavailable' });
    await assert.rejects(second.send(text(3)), { code: 'recipient_blocked' });
    assert.deepEqual(await second.send(text(4)), { waMessageId: text(4).messageId });
    await second.stop();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a message sent twice is one delivery with two transport sends', () =>
  withSession(async (session) => {
    await session.send(text(1));
    await session.send(text(1));
    await session.send(text(2));
    assert.deepEqual(
      session.deliveries().map((d) => [d.messageId, d.sendAttempts]),
      [
        [text(1).messageId, 2],
        [text(2).messageId, 1],
      ],
    );
  }));
