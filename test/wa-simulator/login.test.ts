import '../support/wa-simulator/trust.js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startWaSimulator, type WaSimulator } from '../support/wa-simulator/index.js';
import { connectTestClient, makeAuthDir, removeAuthDir, statusOf, expectPairedThenLogin } from '../support/wa-simulator/test-client.js';

let sim: WaSimulator;
let authDir: string;

before(async () => {
  sim = await startWaSimulator();
  authDir = await makeAuthDir();
});

after(async () => {
  await sim.stop();
  await removeAuthDir(authDir);
});

test('QR login: scan, restart 515, log in with the new credentials, connection open', async () => {
  const first = await connectTestClient(sim, authDir);
  const { qr } = await first.waitForUpdate((u) => !!u.qr);
  assert.match(qr!, /^https:\/\/wa\.me\/settings\/linked_devices#/);
  const linked = await sim.scanQr(qr!, '15550001111');
  const second = await expectPairedThenLogin(sim, first, linked, authDir);
  await second.end();
});

test('restart with saved credentials reconnects with no QR', async () => {
  const client = await connectTestClient(sim, authDir);
  await client.waitForUpdate((u) => u.connection === 'open');
  assert.ok(client.updates.every((u) => !u.qr));
  assert.equal(sim.connections('15550001111').length, 1);
  await client.end();
});

test('logging in again from elsewhere replaces the older socket, which closes with 440', async () => {
  const older = await connectTestClient(sim, authDir);
  await older.waitForUpdate((u) => u.connection === 'open');
  const newer = await connectTestClient(sim, authDir);
  await newer.waitForUpdate((u) => u.connection === 'open');
  assert.equal(statusOf(await older.waitForUpdate((u) => u.connection === 'close')), 440);
  await older.end();
  await newer.end();
});
