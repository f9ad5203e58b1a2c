import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { startHarness, type Harness } from './harness.js';

const PHONE = '15550100001';
let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test('login by QR: the QR from the API is scanned, the session connects, credentials are owner-only and survive a restart', async () => {
  const created = await h.server.api('/api/sessions', { method: 'POST', json: { id: 'shop', driver: 'baileys' } });
  assert.equal(created.status, 201);
  const res = await h.server.api('/api/sessions/shop/qr', { headers: { accept: 'application/json' } });
  assert.equal(res.status, 200);
  const { qr, expiresAt } = (await res.json()) as { qr: string; expiresAt: string };
  assert.ok(Date.parse(expiresAt) > Date.now(), 'the QR has not expired yet');
  assert.equal((await h.session('shop')).state, 'qr');

  await h.sim.scanQr(qr, PHONE);
  const linked = await h.waitForState('shop', 'connected');
  assert.equal(linked.me?.phone, PHONE, 'the session names the linked number');

  const dir = path.join(h.server.sessionsDir, 'shop');
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  const files = await readdir(dir);
  assert.ok(
    files.some((f) => f.startsWith('creds')),
    `credentials written: ${files.join(', ')}`,
  );
  // A save may be renaming its temp file over the real one as we look: a vanished name was a temp file.
  for (const file of files) {
    const s = await stat(path.join(dir, file)).catch(() => undefined);
    if (s?.isFile()) assert.equal(s.mode & 0o777, 0o600, `${file} is owner-only`);
  }
  assert.equal(h.sim.connections(PHONE).length, 1);

  await h.server.restart();
  const back = await h.waitForState('shop', 'connected');
  assert.equal(back.me?.phone, PHONE);
  const qrAfter = await h.server.api('/api/sessions/shop/qr', { headers: { accept: 'application/json' } });
  assert.equal(qrAfter.status, 409, 'a linked session shows no QR');
  assert.equal(h.sim.connections(PHONE).length, 1, 'one socket for the number, from the restarted process');

  // and it works: a message goes out on the restored login
  const id = await h.send('shop', { to: '+15557770001', text: 'after the restart' });
  const got = await h.arrivedOnce(id, '15557770001');
  assert.equal(got.text, 'after the restart');
});
