import '../support/wa-simulator/trust.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { downloadMediaMessage, type BinaryNode, type WAMessage } from '@whiskeysockets/baileys';
import { Agent } from 'undici';
import { startWaSimulator, type WaSimulator } from '../support/wa-simulator/index.js';
import { connectTestClient, makeAuthDir, removeAuthDir, type TestClient } from '../support/wa-simulator/test-client.js';

const LINKED = '15550003333';
const PHONE = '15557780001';

let sim: WaSimulator;
let authDir: string;
let client: TestClient;
const upserts: WAMessage[] = [];
const arrivals = new Set<() => void>();
/** The Signal message type the server relayed each message id as. */
const encTypes = new Map<string, string>();

before(async () => {
  sim = await startWaSimulator({
    trace: (direction, node) => {
      if (direction !== 'out' || node.tag !== 'message') return;
      const enc = (node.content as BinaryNode[]).find((c) => c.tag === 'enc');
      if (enc) encTypes.set(node.attrs.id!, enc.attrs.type!);
    },
  });
  authDir = await makeAuthDir();
  const pairing = await connectTestClient(sim, authDir);
  const { qr } = await pairing.waitForUpdate((u) => !!u.qr);
  await sim.scanQr(qr!, LINKED);
  await pairing.waitForUpdate((u) => u.connection === 'close');
  await pairing.flushCreds();
  client = await connectTestClient(sim, authDir);
  client.sock.ev.on('messages.upsert', ({ messages, type }) => {
    if (type === 'notify') upserts.push(...messages);
    for (const wake of arrivals) wake();
    arrivals.clear();
  });
  await client.waitForUpdate((u) => u.connection === 'open');
});

after(async () => {
  await client?.end();
  await sim.stop();
  await removeAuthDir(authDir);
});

/** The upsert of message `id`: Baileys receipts a message before it upserts it, so it may still be on its way. */
const upserted = async (id: string) => {
  for (;;) {
    const found = upserts.find((m) => m.key.id === id);
    if (found) return found;
    await new Promise<void>((resolve) => arrivals.add(resolve));
  }
};

test('a phone sends texts: a session from the uploaded prekeys (pkmsg), LID-addressed with the PN beside it, or PN-addressed', async () => {
  const first = await sim.sendText(PHONE, LINKED, 'hello gateway', { pushName: 'Ana' });
  const second = await sim.sendText(PHONE, LINKED, 'and again', { addressing: 'pn' });
  // Signal keeps sending prekey messages until the other side has answered on the session
  assert.deepEqual([encTypes.get(first.id), encTypes.get(second.id)], ['pkmsg', 'pkmsg']);
  const a = await upserted(first.id);
  assert.equal(a.message?.conversation, 'hello gateway');
  assert.equal(a.key.fromMe, false);
  assert.equal(a.key.remoteJid, `${sim.user(PHONE).lid}@lid`);
  assert.equal(a.key.remoteJidAlt, `${PHONE}@s.whatsapp.net`);
  assert.equal(a.pushName, 'Ana');
  const b = await upserted(second.id);
  assert.equal(b.message?.conversation, 'and again');
  assert.equal(b.key.remoteJid, `${PHONE}@s.whatsapp.net`);
});

test('a reply carries the quoted id; a reaction names the message it reacts to', async () => {
  const sent = await client.sock.sendMessage(`${PHONE}@s.whatsapp.net`, { text: 'your order shipped' });
  await sim.waitForReceived(1, PHONE);
  const reply = await sim.sendText(PHONE, LINKED, 'thanks!', { quotedId: sent!.key.id! });
  assert.equal(encTypes.get(reply.id), 'msg', 'once the client answered, the session is established');
  const r = await upserted(reply.id);
  assert.equal(r.message?.extendedTextMessage?.text, 'thanks!');
  assert.equal(r.message?.extendedTextMessage?.contextInfo?.stanzaId, sent!.key.id);
  const reaction = await sim.sendReaction(PHONE, LINKED, sent!.key.id!, '👍');
  const m = await upserted(reaction.id);
  assert.equal(m.message?.reactionMessage?.key?.id, sent!.key.id);
  assert.equal(m.message?.reactionMessage?.text, '👍');
});

test('an image downloads through Baileys from the media host and decrypts to the bytes the phone sent', async () => {
  const bytes = randomBytes(40_000);
  const { id, sha256 } = await sim.sendMedia(PHONE, LINKED, { bytes, mimetype: 'image/jpeg', kind: 'image', caption: 'look' });
  assert.equal(sha256, createHash('sha256').update(bytes).digest('hex'));
  const m = await upserted(id);
  assert.equal(m.message?.imageMessage?.caption, 'look');
  assert.equal(Buffer.from(m.message!.imageMessage!.fileSha256!).toString('hex'), sha256);
  const dispatcher = new Agent({ connect: { ca: sim.mediaCa } });
  try {
    // rc14 downloads with the global fetch and this dispatcher (not the https.Agent it uploads with)
    const options: RequestInit & { dispatcher: Agent } = { dispatcher };
    const got = await downloadMediaMessage(m, 'buffer', { options });
    assert.ok(got.equals(bytes));
  } finally {
    await dispatcher.close();
  }
});

test('corruptSha: the message declares a fileSha256 that is not the hash of its bytes', async () => {
  const bytes = randomBytes(1000);
  const { id, sha256 } = await sim.sendMedia(PHONE, LINKED, {
    bytes,
    mimetype: 'application/pdf',
    kind: 'document',
    fileName: 'a.pdf',
    corruptSha: true,
  });
  const m = await upserted(id);
  assert.equal(m.message?.documentMessage?.fileName, 'a.pdf');
  assert.notEqual(Buffer.from(m.message!.documentMessage!.fileSha256!).toString('hex'), sha256);
});

test('a phone cannot send to an account with no linked device online', async () => {
  await assert.rejects(sim.sendText(PHONE, '15550009999', 'anyone?'), /no linked device of 15550009999 is connected/);
});
