import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SENT, startHarness, type Harness } from '../whatsapp/e2e/harness.js';
import { answer, wasender } from './messages-rig.js';

/**
 * on-whatsapp and presence through the Baileys driver, against the WhatsApp protocol simulator (where every phone
 * number has an account): the driver asks WhatsApp (a usync contact query), and a presence leaves without harm.
 */
const PHONE = '15550300001';
let h: Harness;
let apiKey: string;
let sessionId: string;
let call: ReturnType<typeof wasender>;
before(async () => {
  h = await startHarness();
  call = wasender(h.server);
  const created = await call(h.server.apiKey, '/whatsapp-sessions', {
    method: 'POST',
    json: { name: 'Shop', phone_number: `+${PHONE}`, account_protection: false, log_messages: true },
  });
  const data = (await answer(created)).data as { id: number; api_key: string; hashsend_session_id: string };
  [apiKey, sessionId] = [data.api_key, data.hashsend_session_id];
  const connect = (await answer(await call(h.server.apiKey, `/whatsapp-sessions/${data.id}/connect`, { method: 'POST', json: {} })))
    .data as { qrCode: string };
  await h.sim.scanQr(connect.qrCode, PHONE);
  await h.waitForState(sessionId, 'connected');
});
after(() => h.close());

test('on-whatsapp asks WhatsApp through the Baileys driver', async () => {
  const res = await call(apiKey, '/on-whatsapp/+15557772000');
  assert.equal(res.status, 200);
  assert.deepEqual(await answer(res), { success: true, data: { exists: true, jid: '15557772000@s.whatsapp.net' } });
});

test('send-presence-update leaves through the Baileys driver; the session keeps sending', async () => {
  for (const type of ['available', 'composing', 'paused']) {
    const res = await call(apiKey, '/send-presence-update', { method: 'POST', json: { jid: '+15557772001', type } });
    assert.equal(res.status, 200, type);
  }
  const sent = await call(apiKey, '/send-message', { method: 'POST', json: { to: '+15557772001', text: 'typed it' } });
  assert.equal(sent.status, 200);
  const { msgId } = (await answer(sent)).data as { msgId: number };
  const info = (await answer(await call(apiKey, `/messages/${msgId}/info`))).data as { hashsend: { id: string } };
  await h.waitForStatus(info.hashsend.id, SENT);
  assert.equal((await h.arrivedOnce(info.hashsend.id, '15557772001')).text, 'typed it');
});

test('a contact card and a location leave through the Baileys driver and arrive once', async () => {
  for (const body of [
    { contact: { name: 'Ann', phone: '+15557772003' } },
    { location: { latitude: 52.52, longitude: 13.405, name: 'Shop' } },
  ]) {
    const sent = await call(apiKey, '/send-message', { method: 'POST', json: { to: '+15557772002', ...body } });
    assert.equal(sent.status, 200);
    const { msgId } = (await answer(sent)).data as { msgId: number };
    const info = (await answer(await call(apiKey, `/messages/${msgId}/info`))).data as { hashsend: { id: string } };
    await h.waitForStatus(info.hashsend.id, SENT);
    // The simulated phone shows neither kind itself ("other"), but decrypts it: WhatsApp took a well-formed message.
    assert.equal((await h.arrivedOnce(info.hashsend.id, '15557772002')).type, 'other');
  }
});
