import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer, waitFor, type StartedServer } from '../support/server.js';

let server: StartedServer;
before(async () => {
  server = await startServer({ DEFAULT_DRIVER: 'sandbox' });
});
after(() => server.close());

const session = async (id: string) =>
  (await (await server.api(`/api/sessions/${id}`)).json()) as { state: string; lastError?: { message: string } };

test('credentials are owner-only files in an owner-only folder, and survive a restart', async () => {
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id: 'till' } })).status, 201);
  assert.equal((await server.api('/api/sessions/till/sandbox/link', { method: 'POST', json: { phone: '+4915100000009' } })).status, 200);
  const dir = path.join(server.sessionsDir, 'till');
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  const files = await readdir(dir);
  assert.ok(files.length > 0, 'the session wrote its credentials');
  for (const file of files) {
    if ((await stat(path.join(dir, file))).isFile())
      assert.equal((await stat(path.join(dir, file))).mode & 0o777, 0o600, `${file} is owner-only`);
  }
  await server.restart();
  await waitFor('till connected again without a QR', async () => ((await session('till')).state === 'connected' ? true : undefined));
});

test('a corrupt credentials file is a clear needs_relink state, never a silent new login', async () => {
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id: 'kiosk' } })).status, 201);
  assert.equal((await server.api('/api/sessions/kiosk/sandbox/link', { method: 'POST', json: { phone: '+4915100000010' } })).status, 200);
  await server.kill('SIGTERM');
  const dir = path.join(server.sessionsDir, 'kiosk');
  for (const file of await readdir(dir)) if (file.endsWith('.json')) await writeFile(path.join(dir, file), '{"half a fi');
  await server.restart();
  const state = await waitFor('kiosk needs relinking', async () => {
    const s = await session('kiosk');
    return s.state === 'needs_relink' ? s : undefined;
  });
  assert.ok(state.lastError?.message, 'the session says why');
  assert.match(server.output(), /needs_relink|corrupt|cannot be read/i, 'and the log says so');
  // Waiting for a QR that cannot come would end in 504 qr_timeout; the answer is a refusal that says why.
  const qr = await server.api('/api/sessions/kiosk/qr');
  assert.deepEqual([qr.status, ((await qr.json()) as { error: { code: string } }).error.code], [409, 'not_awaiting_qr']);
});
