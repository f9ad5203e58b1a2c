import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasender, WasenderAPIError } from 'wasenderapi';
import { startServer, type StartedServer } from '../support/server.js';
import { wasenderClient } from './support.js';

/** The npm SDK itself, pointed at hashsend by its base URL, as a user would. */
let server: StartedServer;
let base: string;
before(async () => {
  server = await startServer();
  base = `${server.url}/wasender/api`;
});
after(() => server.close());

const refusal = async (call: () => Promise<unknown>) => {
  const err = await call().then(
    () => assert.fail('expected the SDK to throw'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WasenderAPIError, String(err));
  return err;
};

test('the SDK creates a session, connects it, reads its QR and status, and sees it linked', async () => {
  const admin = createWasender(undefined, server.apiKey, base);
  const created = await admin.createWhatsAppSession({
    name: 'SDK shop',
    phone_number: '+4915123456789',
    account_protection: true,
    log_messages: false,
    webhook_url: 'https://hooks.example.com/sdk',
    webhook_enabled: true,
    webhook_events: ['messages.upsert'],
  });
  assert.equal(created.response.success, true);
  // The SDK's type leaves out what its own server answers beside (the key); hashsend answers it too.
  const session = created.response.data as typeof created.response.data & { api_key: string; hashsend_session_id: string };
  assert.ok(Number.isSafeInteger(session.id));
  assert.equal(session.name, 'SDK shop');
  assert.equal(session.webhook_enabled, true);

  const listed = await admin.getAllWhatsAppSessions();
  assert.ok(listed.response.data.some((s) => s.id === session.id));
  assert.equal((await admin.getWhatsAppSessionDetails(session.id)).response.data.name, 'SDK shop');

  const client = createWasender(session.api_key, undefined, base);
  assert.equal((await client.getSessionStatus()).response.status, 'disconnected');
  const connect = await admin.connectWhatsAppSession(session.id);
  assert.equal(connect.response.data.status, 'need_scan');
  assert.ok(connect.response.data.qrCode);
  const asImage = await admin.connectWhatsAppSession(session.id, true);
  assert.match(asImage.response.data.qrCode ?? '', /^data:image\/png;base64,/);
  const qr = await admin.getWhatsAppSessionQRCode(session.id);
  assert.equal(qr.response.data.qrCode, connect.response.data.qrCode);

  assert.equal((await client.getSessionStatus()).response.status, 'need_scan');
  await wasenderClient(server).link(session);
  assert.equal((await client.getSessionStatus()).response.status, 'connected');

  const updated = await admin.updateWhatsAppSession(session.id, { name: 'Renamed by SDK', account_protection: false });
  assert.equal(updated.response.data.name, 'Renamed by SDK');
  assert.equal(updated.response.data.account_protection, false);

  const disconnected = await admin.disconnectWhatsAppSession(session.id);
  assert.equal(disconnected.response.data.status, 'disconnected');
  assert.equal((await client.getSessionStatus()).response.status, 'disconnected');
});

test('a wrong key surfaces as the SDK’s WasenderAPIError with the status and message; a new key works, the old one is refused', async () => {
  const admin = createWasender(undefined, server.apiKey, base);
  const { id, api_key: oldKey } = (
    await admin.createWhatsAppSession({
      name: 'Keys',
      phone_number: '+4915100000002',
      account_protection: false,
      log_messages: false,
    })
  ).response.data as unknown as { id: number; api_key: string };

  const unknown = await refusal(() => createWasender('not-a-key', undefined, base).getSessionStatus());
  assert.equal(unknown.statusCode, 401);
  assert.equal(unknown.apiMessage, 'Invalid API key.');
  // A personal access token where a session key belongs, and the other way round.
  assert.equal((await refusal(() => createWasender(server.apiKey, undefined, base).getSessionStatus())).statusCode, 403);
  assert.equal((await refusal(() => createWasender(undefined, oldKey, base).getAllWhatsAppSessions())).statusCode, 403);

  const regenerated = await admin.regenerateApiKey(id);
  assert.equal(regenerated.response.success, true);
  assert.match(regenerated.response.api_key, /^[0-9a-f]{64}$/);
  assert.equal((await createWasender(regenerated.response.api_key, undefined, base).getSessionStatus()).response.status, 'disconnected');
  assert.equal((await refusal(() => createWasender(oldKey, undefined, base).getSessionStatus())).statusCode, 401);

  const invalid = await refusal(() =>
    admin.createWhatsAppSession({ name: '', phone_number: 'x', account_protection: true, log_messages: true }),
  );
  assert.equal(invalid.statusCode, 422);
  assert.deepEqual(Object.keys(invalid.errorDetails as object).sort(), ['name', 'phone_number']);

  const groups = await refusal(() => createWasender(regenerated.response.api_key, undefined, base).getGroups());
  assert.equal(groups.statusCode, 501);
  assert.match(groups.apiMessage, /GET \/groups/);

  const deleted = await admin.deleteWhatsAppSession(id);
  assert.deepEqual(deleted.response, { success: true, data: null });
  assert.equal((await refusal(() => admin.getWhatsAppSessionDetails(id))).statusCode, 404);
});
