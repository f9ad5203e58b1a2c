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
import type { DriverEvent, DriverSession, InboundDriverMessage, SendAs } from '../../../src/whatsapp/driver.js';
import { startWaSimulator, type PhoneMedia, type WaSimulator } from '../../support/wa-simulator/index.js';

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

test('a text arrives as an inbound event from the phone number, whether WhatsApp addresses it by LID, PN or LID alone', async () => {
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
  // the LID alone: Baileys' mapping learnt the number from the first envelope
  const lidOnly = await sim.sendText(PHONE, LINKED, 'third', { addressing: 'lid-only' });
  const o = await inbound(lidOnly.id);
  assert.deepEqual([o.chat, o.from], [PHONE_JID, PHONE_JID]);
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

test('every media kind is downloaded, checked against the sender’s fileSha256 and stored under it', async () => {
  const cases: { media: PhoneMedia; as: SendAs; extra?: { caption?: string; filename?: string } }[] = [
    {
      media: { bytes: randomBytes(30_000), mimetype: 'image/jpeg', kind: 'image', caption: 'the crack' },
      as: 'image',
      extra: { caption: 'the crack' },
    },
    {
      media: { bytes: randomBytes(12_345), mimetype: 'application/pdf', kind: 'document', fileName: 'invoice.pdf' },
      as: 'document',
      extra: { filename: 'invoice.pdf' },
    },
    { media: { bytes: randomBytes(5_000), mimetype: 'audio/ogg; codecs=opus', kind: 'voice' }, as: 'voice' },
    { media: { bytes: randomBytes(6_000), mimetype: 'audio/mpeg', kind: 'audio' }, as: 'audio' },
    {
      media: { bytes: randomBytes(50_000), mimetype: 'video/mp4', kind: 'video', caption: 'unboxing' },
      as: 'video',
      extra: { caption: 'unboxing' },
    },
    { media: { bytes: randomBytes(3_000), mimetype: 'image/webp', kind: 'sticker' }, as: 'sticker' },
  ];
  const sent = [];
  for (const c of cases) sent.push(await sim.sendMedia(PHONE, LINKED, c.media));
  for (const [n, { media, as, extra }] of cases.entries()) {
    assert.equal(sent[n]!.sha256, sha(media.bytes));
    const m = await inbound(sent[n]!.id);
    assert.deepEqual(m.content, {
      type: 'media',
      as,
      sha256: sha(media.bytes),
      mimetype: media.mimetype,
      size: media.bytes.length,
      ...extra,
    });
    assert.ok((await blobs.read(sha(media.bytes))).equals(media.bytes), `the ${as} blob holds the bytes the phone sent`);
  }
});

test('media whose bytes do not match the declared fileSha256, or too large (declared or found), stores nothing and emits nothing', async () => {
  const lying = randomBytes(20_000);
  const big = randomBytes(MAX_BYTES + 1);
  const bad = await sim.sendMedia(PHONE, LINKED, { bytes: lying, mimetype: 'image/png', kind: 'image', corruptSha: true });
  const huge = await sim.sendMedia(PHONE, LINKED, { bytes: big, mimetype: 'application/zip', kind: 'document', fileName: 'big.zip' });
  // inbound messages are handled in order: once this one is reported, the two before it were decided
  const understated = await sim.sendMedia(PHONE, LINKED, {
    bytes: big,
    mimetype: 'application/zip',
    kind: 'document',
    declaredLength: 1000,
  });
  const marker = await sim.sendText(PHONE, LINKED, 'after the media');
  await inbound(marker.id);
  const ids = new Set(events.flatMap((e) => (e.type === 'inbound' ? [e.message.waMessageId] : [])));
  assert.equal(ids.has(bad.id), false, 'no event for the mismatched media');
  assert.equal(ids.has(huge.id), false, 'no event for the oversized media');
  assert.equal(ids.has(understated.id), false, 'no event for media larger than it said');
  assert.equal(await blobs.has(sha(lying)), false);
  assert.equal(await blobs.has(sha(big)), false);
  const dropped = logLines.filter((l) => l.msg === 'inbound media dropped');
  assert.deepEqual(
    dropped.map((l) => [l.waMessageId, l.reason]),
    [
      [bad.id, 'hash_mismatch'],
      [huge.id, 'too_large'],
      [understated.id, 'too_large'],
    ],
  );
});

test('a URL naming another host is not fetched: the media comes from the host WhatsApp named', async () => {
  const bytes = randomBytes(8_000);
  // nothing listens on port 1: fetched as the message says, the download would fail
  const sent = await sim.sendMedia(PHONE, LINKED, {
    bytes,
    mimetype: 'image/png',
    kind: 'image',
    url: 'https://127.0.0.1:1/v/t62.image/x.enc',
  });
  const m = await inbound(sent.id);
  assert.equal(m.content.type === 'media' && m.content.sha256, sha(bytes));
});
