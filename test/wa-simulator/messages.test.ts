import '../support/wa-simulator/trust.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import type { BinaryNode } from '@whiskeysockets/baileys';
import sharp from 'sharp';
import { startWaSimulator, type WaSimulator } from '../support/wa-simulator/index.js';
import { connectTestClient, makeAuthDir, removeAuthDir, type TestClient } from '../support/wa-simulator/test-client.js';

let sim: WaSimulator;
let authDir: string;
let client: TestClient;

before(async () => {
  sim = await startWaSimulator();
  authDir = await makeAuthDir();
  const pairing = await connectTestClient(sim, authDir);
  const { qr } = await pairing.waitForUpdate((u) => !!u.qr);
  await sim.scanQr(qr!, '15550002222');
  await pairing.waitForUpdate((u) => u.connection === 'close');
  await pairing.flushCreds();
  client = await connectTestClient(sim, authDir);
  await client.waitForUpdate((u) => u.connection === 'open');
});

/** Every relay to `jid` once there are `count` of them: the same id relayed twice is there twice. */
const waitForRelays = async (jid: string, count: number) => {
  while (sim.relays(jid).length < count) await once(sim, 'delivery', { signal: AbortSignal.timeout(10_000) });
  return sim.relays(jid);
};

const waitForAck = async (acked: string[], id: string) => {
  while (!acked.includes(id)) await once(client.sock.ws, 'CB:ack,class:message', { signal: AbortSignal.timeout(10_000) });
};

after(async () => {
  await client?.end();
  await sim.stop();
  await removeAuthDir(authDir);
});

test('a text message arrives decrypted, with its text, at the recipient phone', async () => {
  const sent = await client.sock.sendMessage('15557770001@s.whatsapp.net', { text: 'hello from hashsend' });
  const [got] = await sim.waitForReceived(1, '15557770001');
  assert.deepEqual(sim.relayCounts('15557770001'), { [sent!.key.id!]: 1 }, 'relayed once');
  assert.equal(got!.type, 'text');
  assert.equal(got!.text, 'hello from hashsend');
  assert.equal(got!.id, sent!.key.id);
  assert.equal(got!.from, '15550002222@s.whatsapp.net');
  assert.equal(got!.error, undefined);
  // the sender's own phone gets its copy too, as on WhatsApp
  assert.ok(sim.ownDeviceCopies().some((c) => c.id === sent!.key.id && c.text === 'hello from hashsend'));

  const second = await client.sock.sendMessage('15557770001@s.whatsapp.net', { text: 'second, on the open session' });
  const all = await sim.waitForReceived(2, '15557770001');
  assert.deepEqual(
    all.map((d) => [d.id, d.text]),
    [
      [sent!.key.id, 'hello from hashsend'],
      [second!.key.id, 'second, on the open session'],
    ],
  );
  assert.deepEqual(sim.relayCounts('15557770001'), { [sent!.key.id!]: 1, [second!.key.id!]: 1 });
});

test('a phone keeps messages by id: a second relay under the same id is counted, not shown twice', async () => {
  const to = '15557770006@s.whatsapp.net';
  const sent = await client.sock.sendMessage(to, { text: 'relayed twice' });
  const id = sent!.key.id!;
  await sim.waitForReceived(1, to);
  // what a sender does when it cannot know whether the first relay arrived: the same message, the same id
  await client.sock.relayMessage(to, sent!.message!, { messageId: id });
  const relays = await waitForRelays(to, 2);
  assert.deepEqual(
    relays.map((d) => [d.id, d.text, d.error]),
    [
      [id, 'relayed twice', undefined],
      [id, 'relayed twice', undefined],
    ],
    'both copies decrypted',
  );
  assert.deepEqual(sim.relayCounts(to), { [id]: 2 });
  assert.deepEqual(
    sim.received(to).map((d) => [d.id, d.text]),
    [[id, 'relayed twice']],
    'the phone shows it once',
  );
});

test('dropAcks: the message reaches the phone but its sender never gets the server ack', async () => {
  const to = '15557770007@s.whatsapp.net';
  const acked: string[] = [];
  const onAck = (node: BinaryNode) => acked.push(node.attrs.id);
  client.sock.ws.on('CB:ack,class:message', onAck);
  try {
    sim.dropAcks(1);
    const lost = await client.sock.sendMessage(to, { text: 'ack lost' });
    const next = await client.sock.sendMessage(to, { text: 'ack comes' });
    await sim.waitForReceived(2, to);
    // acks go out in the order the messages came in: once the second one's is here, the first one's never will be
    await waitForAck(acked, next!.key.id!);
    assert.deepEqual(acked, [next!.key.id]);
    assert.deepEqual(sim.relayCounts(to), { [lost!.key.id!]: 1, [next!.key.id!]: 1 });
  } finally {
    client.sock.ws.off('CB:ack,class:message', onAck);
  }
});

test('an image arrives; the recipient downloads, checks and decrypts it to the bytes that were sent', async () => {
  const image = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 90 } } })
    .jpeg()
    .composite([{ input: randomBytes(64 * 48 * 3), raw: { width: 64, height: 48, channels: 3 } }])
    .toBuffer();
  const sha256 = createHash('sha256').update(image).digest('hex');
  const uploadsBefore = sim.uploads;
  await client.sock.sendMessage('15557770002@s.whatsapp.net', { image, caption: 'fresh', mimetype: 'image/jpeg' });
  const [got] = await sim.waitForReceived(1, '15557770002');
  assert.deepEqual(Object.values(sim.relayCounts('15557770002')), [1], 'relayed once');
  assert.equal(got!.error, undefined);
  assert.equal(got!.type, 'image');
  assert.equal(got!.caption, 'fresh');
  assert.equal(got!.mimetype, 'image/jpeg');
  assert.equal(got!.sha256, sha256);
  assert.equal(sim.uploads, uploadsBefore + 1);
  assert.ok(sim.downloads >= 1);
});
