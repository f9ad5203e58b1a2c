import '../support/wa-simulator/trust.js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startWaSimulator, type WaSimulator } from '../support/wa-simulator/index.js';
import { connectTestClient, makeAuthDir, removeAuthDir, statusOf, expectPairedThenLogin } from '../support/wa-simulator/test-client.js';

let sim: WaSimulator;
const authDirs: string[] = [];

before(async () => {
  sim = await startWaSimulator();
});

after(async () => {
  await sim.stop();
  for (const dir of authDirs) await removeAuthDir(dir);
});

const newAuthDir = async () => {
  const dir = await makeAuthDir();
  authDirs.push(dir);
  return dir;
};

test('pairing code: the code Baileys shows, typed on the phone, links the device; it logs in with no QR scanned', async () => {
  const authDir = await newAuthDir();
  const first = await connectTestClient(sim, authDir);
  await first.waitForUpdate((u) => !!u.qr);
  const code = await first.sock.requestPairingCode('15550002222');
  assert.match(code, /^[0-9A-Z]{8}$/);

  // typed the way the phone shows it, with a dash
  const linked = await sim.enterPairingCode('15550002222', `${code.slice(0, 4)}-${code.slice(4)}`);
  const second = await expectPairedThenLogin(sim, first, linked, authDir);
  assert.equal(sim.connections('15550002222').length, 1);

  const sent = await second.sock.sendMessage('15557770002@s.whatsapp.net', { text: 'linked by code' });
  const [delivery] = await sim.waitForReceived(1, '15557770002');
  assert.deepEqual(sim.relayCounts('15557770002'), { [sent!.key.id!]: 1 });
  assert.equal(delivery?.text, 'linked by code');
  assert.equal(delivery?.from, '15550002222@s.whatsapp.net');
  await second.end();
});

test('a mistyped code does not link the device; a new code on the same socket does', async () => {
  const authDir = await newAuthDir();
  const client = await connectTestClient(sim, authDir);
  await client.waitForUpdate((u) => !!u.qr);
  const code = await client.sock.requestPairingCode('15550003333');
  const wrong = code.slice(0, 7) + (code.endsWith('A') ? 'B' : 'A');

  await assert.rejects(sim.enterPairingCode('15550003333', wrong), /code typed on the phone is not the one the client showed/);
  assert.equal(client.sock.authState.creds.account, undefined);
  assert.equal(sim.connections('15550003333').length, 0);

  const again = await client.sock.requestPairingCode('15550003333');
  assert.notEqual(again, code);
  await sim.enterPairingCode('15550003333', again);
  assert.equal(statusOf(await client.waitForUpdate((u) => u.connection === 'close')), 515);
  await client.flushCreds();
  assert.ok(client.sock.authState.creds.account, 'linked by the second code');
  await client.end();
});

test('a code for a number no client asked about is refused', async () => {
  await assert.rejects(sim.enterPairingCode('15550004444', 'ABCDEFGH', 200), /no client asked for a pairing code for 15550004444/);
});
