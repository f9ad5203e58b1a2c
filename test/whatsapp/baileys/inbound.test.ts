import '../../support/wa-simulator/trust.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../src/log.js';
import { createBlobStore, type BlobStore } from '../../../src/media/blobs.js';
import { createBaileysDriver } from '../../../src/whatsapp/baileys/index.js';
import type { DriverEvent, DriverSession, InboundDriverMessage } from '../../../src/whatsapp/driver.js';
import { startWaSimulator, type WaSimulator } from '../../support/wa-simulator/index.js';

const LINKED = '15550004444';
const PHONE = '15557790001';
const PHONE_JID = `${PHONE}@s.whatsapp.net`;
/** Small, so a "too large" attachment is cheap to send. */
const MAX_BYTES = 200_000;

let sim: WaSimulator;
let root: string;
let blobs: BlobStore;
let session: DriverSession;
const events: DriverEvent[] = [];
const logLines: { msg?: string; waMessageId?: string; reason?: string }[] = [];
const wakers = new Set<() => void>();

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const waitForEvent = async <T extends DriverEvent>(match: (e: DriverEvent) => e is T, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = events.find(match);
    if (found) return found;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no matching driver event; saw ${JSON.stringify(events.map((e) => e.type))}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      wakers.add(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
};

const inbound = async (waMessageId: string): Promise<InboundDriverMessage> =>
  (await waitForEvent((e): e is Extract<DriverEvent, { type: 'inbound' }> => e.type === 'inbound' && e.message.waMessageId === waMessageId))
    .message;

before(async () => {
  sim = await startWaSimulator();
  root = await mkdtemp(join(tmpdir(), 'hashsend-inbound-'));
  const caFile = join(root, 'media-ca.pem');
  await writeFile(caFile, sim.mediaCa);
  const log = createLogger('warn', { write: (line: string) => void logLines.push(JSON.parse(line)) });
  blobs = createBlobStore({ dir: join(root, 'blobs'), log });
  const driver = createBaileysDriver({
    log,
    uploadCacheTtlMs: 60_000,
    wsUrl: sim.wsUrl,
    mediaCaFile: caFile,
    inboundMediaMaxBytes: MAX_BYTES,
  });
  session = driver.open({
    sessionId: 'inbound',
    dir: join(root, 'session'),
    log,
    blobs,
    onEvent: (e) => {
      events.push(e);
      for (const wake of wakers) wake();
      wakers.clear();
    },
  });
  await session.start();
  const qr = await waitForEvent((e): e is Extract<DriverEvent, { type: 'qr' }> => e.type === 'qr');
  await sim.scanQr(qr.qr, LINKED);
  await waitForEvent((e): e is DriverEvent => e.type === 'state' && e.state === 'connected');
});

after(async () => {
  await session?.stop();
  await sim?.stop();
  await rm(root, { recursive: true, force: true });
});

test('a text arrives as an inbound event from the phone number, whether WhatsApp addresses it by LID or PN', async () => {
  const byLid = await sim.sendText(PHONE, LINKED, 'hello shop', { pushName: 'Ana' });
  const m = await inbound(byLid.id);
  assert.deepEqual(
    { chat: m.chat, from: m.from, pushName: m.pushName, content: m.content, replyTo: m.replyTo },
    { chat: PHONE_JID, from: PHONE_JID, pushName: 'Ana', content: { type: 'text', text: 'hello shop' }, replyTo: undefined },
  );
  assert.ok(Math.abs(Date.parse(m.timestamp) - Date.now()) < 60_000, 'timestamp is the send time');
  const byPn = await sim.sendText(PHONE, LINKED, 'second', { addressing: 'pn' });
  const n = await inbound(byPn.id);
  assert.deepEqual([n.chat, n.from, n.content], [PHONE_JID, PHONE_JID, { type: 'text', text: 'second' }]);
});

test('a send that quotes an inbound message shows as a reply on the phone; the phone replies and reacts to ours', async () => {
  const question = await sim.sendText(PHONE, LINKED, 'is it in stock?');
  const asked = await inbound(question.id);
  await session.send({
    messageId: 'HS0000000000000000000001',
    to: PHONE_JID,
    content: { type: 'text', text: 'yes, 3 left' },
    quoted: { waMessageId: asked.waMessageId, from: asked.from, chat: asked.chat },
  });
  const [shown] = (await sim.waitForReceived(1, PHONE)).filter((d) => d.id === 'HS0000000000000000000001');
  assert.equal(shown?.text, 'yes, 3 left');
  assert.equal(shown?.quotedId, question.id);

  const reply = await sim.sendText(PHONE, LINKED, 'great, ordering', { quotedId: 'HS0000000000000000000001' });
  const r = await inbound(reply.id);
  assert.equal(r.replyTo, 'HS0000000000000000000001');
  assert.deepEqual(r.content, { type: 'text', text: 'great, ordering' });

  const reaction = await sim.sendReaction(PHONE, LINKED, 'HS0000000000000000000001', '❤️');
  assert.deepEqual((await inbound(reaction.id)).content, { type: 'reaction', messageId: 'HS0000000000000000000001', emoji: '❤️' });
  const undone = await sim.sendReaction(PHONE, LINKED, 'HS0000000000000000000001', '');
  assert.deepEqual((await inbound(undone.id)).content, { type: 'reaction', messageId: 'HS0000000000000000000001', emoji: '' });
});

test('image, document and voice note are downloaded, checked against the sender’s fileSha256 and stored under it', async () => {
  const image = randomBytes(30_000);
  const doc = randomBytes(12_345);
  const voice = randomBytes(5_000);
  const sentImage = await sim.sendMedia(PHONE, LINKED, { bytes: image, mimetype: 'image/jpeg', kind: 'image', caption: 'the crack' });
  const sentDoc = await sim.sendMedia(PHONE, LINKED, {
    bytes: doc,
    mimetype: 'application/pdf',
    kind: 'document',
    fileName: 'invoice.pdf',
  });
  const sentVoice = await sim.sendMedia(PHONE, LINKED, { bytes: voice, mimetype: 'audio/ogg; codecs=opus', kind: 'voice' });
  assert.equal(sentImage.sha256, sha(image));

  const i = await inbound(sentImage.id);
  assert.deepEqual(i.content, {
    type: 'media',
    as: 'image',
    sha256: sha(image),
    mimetype: 'image/jpeg',
    size: image.length,
    caption: 'the crack',
  });
  assert.ok((await blobs.read(sha(image))).equals(image), 'the blob holds the bytes the phone sent');

  const d = await inbound(sentDoc.id);
  assert.deepEqual(d.content, {
    type: 'media',
    as: 'document',
    sha256: sha(doc),
    mimetype: 'application/pdf',
    size: doc.length,
    filename: 'invoice.pdf',
  });
  assert.ok((await blobs.read(sha(doc))).equals(doc));

  const v = await inbound(sentVoice.id);
  assert.deepEqual(v.content, { type: 'media', as: 'voice', sha256: sha(voice), mimetype: 'audio/ogg; codecs=opus', size: voice.length });
});

test('media whose bytes do not match the declared fileSha256, or too large, stores nothing and emits nothing', async () => {
  const lying = randomBytes(20_000);
  const big = randomBytes(MAX_BYTES + 1);
  const bad = await sim.sendMedia(PHONE, LINKED, { bytes: lying, mimetype: 'image/png', kind: 'image', corruptSha: true });
  const huge = await sim.sendMedia(PHONE, LINKED, { bytes: big, mimetype: 'application/zip', kind: 'document', fileName: 'big.zip' });
  // inbound messages are handled in order: once this one is reported, the two before it were decided
  const marker = await sim.sendText(PHONE, LINKED, 'after the media');
  await inbound(marker.id);
  const ids = new Set(events.flatMap((e) => (e.type === 'inbound' ? [e.message.waMessageId] : [])));
  assert.equal(ids.has(bad.id), false, 'no event for the mismatched media');
  assert.equal(ids.has(huge.id), false, 'no event for the oversized media');
  assert.equal(await blobs.has(sha(lying)), false);
  assert.equal(await blobs.has(sha(big)), false);
  const dropped = logLines.filter((l) => l.msg === 'inbound media dropped');
  assert.deepEqual(
    dropped.map((l) => [l.waMessageId, l.reason]),
    [
      [bad.id, 'hash_mismatch'],
      [huge.id, 'too_large'],
    ],
  );
});
