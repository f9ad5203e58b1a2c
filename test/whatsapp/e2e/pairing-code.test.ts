import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const requestCode = async (id: string, phone: string) => {
  const res = await h.server.api(`/api/sessions/${id}/pairing-code`, { method: 'POST', json: { phone } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text) as { code: string }).code;
};

test('login by pairing code: the code from the API, typed on the phone, links the session; it sends', async () => {
  const PHONE = '15550200001';
  const created = await h.server.api('/api/sessions', { method: 'POST', json: { id: 'bycode', driver: 'baileys' } });
  assert.equal(created.status, 201);

  const code = await requestCode('bycode', `+${PHONE}`);
  assert.match(code, /^[0-9A-Z]{4}-?[0-9A-Z]{4}$/, 'an 8-character code a user can type');
  await h.sim.enterPairingCode(PHONE, code);

  const linked = await h.waitForState('bycode', 'connected');
  assert.equal(linked.me?.phone, PHONE, 'the session names the linked number');
  assert.equal(h.sim.connections(PHONE).length, 1);
  const qr = await h.server.api('/api/sessions/bycode/qr', { headers: { accept: 'application/json' } });
  assert.equal(qr.status, 409, 'a linked session shows no QR');

  const id = await h.send('bycode', { to: '+15557770011', text: 'linked by code' });
  const got = await h.arrivedOnce(id, '15557770011');
  assert.equal(got.text, 'linked by code');
  assert.equal(got.from, `${PHONE}@s.whatsapp.net`);
});

test('a mistyped code does not link the session; it keeps waiting, and a new code links it', async () => {
  const PHONE = '15550200002';
  const created = await h.server.api('/api/sessions', { method: 'POST', json: { id: 'typo', driver: 'baileys' } });
  assert.equal(created.status, 201);

  const code = await requestCode('typo', PHONE);
  const last = code.at(-1) === 'A' ? 'B' : 'A';
  await assert.rejects(h.sim.enterPairingCode(PHONE, code.slice(0, -1) + last), /not the one the client showed/);
  const waiting = await h.session('typo');
  assert.equal(waiting.state, 'qr', 'still waiting to be linked');
  assert.equal(h.sim.connections(PHONE).length, 0);

  await h.sim.enterPairingCode(PHONE, await requestCode('typo', PHONE));
  const linked = await h.waitForState('typo', 'connected');
  assert.equal(linked.me?.phone, PHONE);
});
