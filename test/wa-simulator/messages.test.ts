import '../support/wa-simulator/trust.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
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

after(async () => {
  await client?.end();
  await sim.stop();
  await removeAuthDir(authDir);
});

test('a text message arrives decrypted, with its text, at the recipient phone', async () => {
  const sent = await client.sock.sendMessage('15557770001@s.whatsapp.net', { text: 'hello from hashsend' });
  const [got] = await sim.waitForReceived(1, '15557770001');
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
  assert.equal(got!.error, undefined);
  assert.equal(got!.type, 'image');
  assert.equal(got!.caption, 'fresh');
  assert.equal(got!.mimetype, 'image/jpeg');
  assert.equal(got!.sha256, sha256);
  assert.equal(sim.uploads, uploadsBefore + 1);
  assert.ok(sim.downloads >= 1);
});
