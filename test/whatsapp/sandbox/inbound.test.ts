import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../../src/log.ts';
import { createBlobStore, type BlobStore } from '../../../src/media/blobs.ts';
import type { DriverEvent, InboundDriverMessage } from '../../../src/whatsapp/driver.ts';
import { createSandboxDriver, type SandboxSession } from '../../../src/whatsapp/sandbox/driver.ts';

const CUSTOMER = '4915100000002@s.whatsapp.net';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const withSession = async (
  run: (session: SandboxSession, blobs: BlobStore, events: DriverEvent[]) => Promise<void>,
  { link = true } = {},
) => {
  const root = await mkdtemp(path.join(tmpdir(), 'hashsend-sandbox-in-'));
  const log = createLogger('silent');
  const blobs = createBlobStore({ dir: path.join(root, 'blobs'), log });
  const events: DriverEvent[] = [];
  const session = createSandboxDriver().open({
    sessionId: 'shop',
    dir: path.join(root, 'session'),
    log,
    blobs,
    onEvent: (e) => events.push(e),
  });
  try {
    await session.start();
    if (link) await (session as SandboxSession).link('+4915100000001');
    await run(session as SandboxSession, blobs, events);
  } finally {
    await session.stop();
    await rm(root, { recursive: true, force: true });
  }
};
const inbound = (events: DriverEvent[]) =>
  events.filter((e): e is { type: 'inbound'; message: InboundDriverMessage } => e.type === 'inbound').map((e) => e.message);

test('a text from a customer is emitted as inbound: a direct chat, a fresh WhatsApp id each time, sent now', () =>
  withSession(async (session, _blobs, events) => {
    const before = Date.now();
    const first = await session.receive({ from: CUSTOMER, pushName: 'Ada', content: { type: 'text', text: 'hi' } });
    const second = await session.receive({ from: CUSTOMER, replyTo: first.waMessageId, content: { type: 'text', text: 'hi again' } });
    assert.deepEqual(inbound(events), [first, second]);
    assert.deepEqual(
      { ...first, waMessageId: undefined, timestamp: undefined },
      {
        waMessageId: undefined,
        chat: CUSTOMER,
        from: CUSTOMER,
        pushName: 'Ada',
        timestamp: undefined,
        content: { type: 'text', text: 'hi' },
      },
    );
    assert.notEqual(first.waMessageId, second.waMessageId);
    assert.match(first.waMessageId, /^[0-9A-F]{20}$/);
    assert.ok(Date.parse(first.timestamp) >= before - 1000);
    assert.equal(second.replyTo, first.waMessageId);
    assert.equal('replyTo' in first, false);
  }));

test('media bytes that arrive are stored through DriverBlobs.write under their hash; media named by hash is read back for its size', () =>
  withSession(async (session, blobs, events) => {
    const bytes = Buffer.from('%PDF-1.4 an invoice');
    const sent = await session.receive({
      from: CUSTOMER,
      content: { type: 'media', as: 'document', mimetype: 'application/pdf', filename: 'invoice.pdf', bytes },
    });
    assert.deepEqual(sent.content, {
      type: 'media',
      as: 'document',
      sha256: sha(bytes),
      mimetype: 'application/pdf',
      size: bytes.length,
      filename: 'invoice.pdf',
    });
    assert.deepEqual(await blobs.read(sha(bytes)), bytes);
    const again = await session.receive({
      from: CUSTOMER,
      content: { type: 'media', as: 'document', mimetype: 'application/pdf', caption: 'same one', sha256: sha(bytes) },
    });
    assert.deepEqual(again.content, {
      type: 'media',
      as: 'document',
      sha256: sha(bytes),
      mimetype: 'application/pdf',
      size: bytes.length,
      caption: 'same one',
    });
    assert.equal(inbound(events).length, 2);
  }));

test('nothing arrives at a session that is not linked, or for a blob that is not there', async () => {
  await withSession(
    async (session, _blobs, events) => {
      await assert.rejects(session.receive({ from: CUSTOMER, content: { type: 'text', text: 'hi' } }), { code: 'session_not_connected' });
      assert.deepEqual(inbound(events), []);
    },
    { link: false },
  );
  await withSession(async (session, _blobs, events) => {
    await assert.rejects(
      session.receive({
        from: CUSTOMER,
        content: { type: 'media', as: 'image', mimetype: 'image/jpeg', sha256: sha(Buffer.from('gone')) },
      }),
      { code: 'not_found' },
    );
    assert.deepEqual(inbound(events), []);
  });
});
