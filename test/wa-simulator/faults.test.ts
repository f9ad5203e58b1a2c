import '../support/wa-simulator/trust.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { proto, type WAMessageUpdate } from '@whiskeysockets/baileys';
import { startWaSimulator, type WaSimulator } from '../support/wa-simulator/index.js';
import { connectTestClient, makeAuthDir, removeAuthDir, type TestClient, statusOf } from '../support/wa-simulator/test-client.js';

const PHONE = '15550003333';
let sim: WaSimulator;
let authDir: string;
let client: TestClient;

const connect = async () => {
  client = await connectTestClient(sim, authDir, { keepAliveIntervalMs: 500 });
  await client.waitForUpdate((u) => u.connection === 'open');
  return client;
};

const closedWith = async (c: TestClient) => statusOf(await c.waitForUpdate((u) => u.connection === 'close', 20_000));

before(async () => {
  sim = await startWaSimulator();
  authDir = await makeAuthDir();
  const pairing = await connectTestClient(sim, authDir);
  const { qr } = await pairing.waitForUpdate((u) => !!u.qr);
  await sim.scanQr(qr!, PHONE);
  await pairing.waitForUpdate((u) => u.connection === 'close');
  await pairing.flushCreds();
  await connect();
});

after(async () => {
  await client?.end();
  await sim.stop();
  await removeAuthDir(authDir);
});

/** Statuses Baileys reports for our own messages, from messages.update and from the status of fromMe upserts. */
const watchStatuses = (c: TestClient) => {
  const seen = new Map<string, number[]>();
  const waiters = new Set<() => void>();
  const note = (id: string | null | undefined, status: number | null | undefined) => {
    if (!id || typeof status !== 'number') return;
    seen.set(id, [...(seen.get(id) ?? []), status]);
    for (const w of waiters) w();
  };
  c.sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (m.key.fromMe) note(m.key.id, m.status);
  });
  c.sock.ev.on('messages.update', (updates: WAMessageUpdate[]) => {
    for (const u of updates) note(u.key.id, u.update.status);
  });
  const until = (id: string, status: number) =>
    new Promise<number[]>((resolve, reject) => {
      const check = () => {
        if (!seen.get(id)?.includes(status)) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(seen.get(id)!);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`status ${status} never reported for ${id}; saw ${seen.get(id)}`));
      }, 5_000);
      waiters.add(check);
      check();
    });
  return { until };
};

const { DELIVERY_ACK, READ, PENDING } = proto.WebMessageInfo.Status;

test('receipts from the recipient phone move the message to delivered, then read (messages.update)', async () => {
  const statuses = watchStatuses(client);
  const sent = await client.sock.sendMessage('15557770003@s.whatsapp.net', { text: 'receipt me' });
  const id = sent!.key.id!;
  await sim.waitForReceived(1, '15557770003');
  await statuses.until(id, PENDING);
  sim.sendReceipt(id, 'delivered');
  await statuses.until(id, DELIVERY_ACK);
  sim.sendReceipt(id, 'read');
  assert.deepEqual(await statuses.until(id, READ), [PENDING, DELIVERY_ACK, READ]);
});

test("a receipt right after the send is reported too, even when it beats Baileys' 100 ms event buffer", async () => {
  const statuses = watchStatuses(client);
  const sent = await client.sock.sendMessage('15557770005@s.whatsapp.net', { text: 'fast receipt' });
  const id = sent!.key.id!;
  sim.sendReceipt(id, 'read');
  // when it comes within 100 ms there is no messages.update at all: Baileys folds the update into the
  // still-buffered upsert of our own message, whose status then reads READ
  assert.equal((await statuses.until(id, READ)).at(-1), READ);
});

test('each injected stream error closes the socket with its status code', async () => {
  for (const code of [515, 408, 411, 428, 500, 503, 440] as const) {
    assert.equal(sim.injectStreamError(code, PHONE), 1);
    assert.equal(await closedWith(client), code, `stream error ${code}`);
    await client.end();
    await connect();
  }
});

test('a dropped socket closes with 428 (connection closed)', async () => {
  assert.equal(sim.dropSocket(PHONE), 1);
  assert.equal(await closedWith(client), 428);
  await client.end();
  await connect();
});

test('a silent server is noticed by the keep-alive and closes with 408', async () => {
  sim.silence(true);
  // 408 is the keep-alive's verdict (no pong for keepAliveIntervalMs + 5 s): no other close carries it here
  assert.equal(await closedWith(client), 408);
  sim.silence(false);
  await client.end();
  await connect();
});

test('failed, slow and expired-host uploads fail the send; the next one goes through', async () => {
  const image = randomBytes(2048);
  const send = (opts: { mediaUploadTimeoutMs?: number } = {}) =>
    client.sock.sendMessage(
      '15557770004@s.whatsapp.net',
      { document: image, mimetype: 'application/octet-stream', fileName: 'x.bin' },
      opts,
    );

  sim.failUploads(1);
  await assert.rejects(send(), /Media upload failed on all hosts/);
  sim.slowUploads(1_000);
  await assert.rejects(send({ mediaUploadTimeoutMs: 200 }), /Media upload failed on all hosts/);
  sim.slowUploads(0);
  sim.expireMediaHost();
  await assert.rejects(send(), /Media upload failed on all hosts/);
  const before = sim.received('15557770004').length;
  await send();
  const got = await sim.waitForReceived(before + 1, '15557770004');
  assert.equal(got.at(-1)!.fileName, 'x.bin');
  assert.equal(got.at(-1)!.error, undefined);
  // the refused uploads relayed nothing: one message, relayed once
  assert.deepEqual(Object.values(sim.relayCounts('15557770004')), [1]);
});

test('stream error 401 logs the device out: it closes with 401 and its credentials are refused after', async () => {
  assert.equal(sim.injectStreamError(401, PHONE), 1);
  assert.equal(await closedWith(client), 401);
  await client.end();
  client = await connectTestClient(sim, authDir);
  assert.equal(await closedWith(client), 401);
});
