import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type StartedServer } from '../support/server.js';
import { expectError, SESSION_INPUT, wasenderClient, type WaSession } from './support.js';

let server: StartedServer;
let wa: ReturnType<typeof wasenderClient>;
before(async () => {
  server = await startServer();
  wa = wasenderClient(server);
});
after(() => server.close());

const statusFor = async (apiKey: string, route = '/status') => {
  const res = await wa.call(route, { token: apiKey });
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  // Unwrapped, as WASenderApi answers it and its SDKs read it.
  assert.deepEqual(Object.keys(body), ['status']);
  return body.status;
};
const hashsendState = async (session: WaSession) =>
  ((await (await server.api(`/api/sessions/${session.hashsend_session_id}`)).json()) as { state: string }).state;

describe('/whatsapp-sessions with a personal access token', () => {
  test('create: 201 { success, data } with every field, an integer id, its own key and webhook secret, a hashsend session behind', async () => {
    const res = await wa.call('/whatsapp-sessions', {
      method: 'POST',
      json: { ...SESSION_INPUT, webhook_url: 'https://hooks.example.com/wa', webhook_enabled: true, webhook_events: ['messages.upsert'] },
    });
    assert.equal(res.status, 201);
    const { success, data } = (await res.json()) as { success: boolean; data: WaSession };
    assert.equal(success, true);
    assert.ok(Number.isSafeInteger(data.id) && data.id > 0);
    assert.equal(data.name, 'Shop');
    assert.equal(data.phone_number, '+4915123456789');
    assert.equal(data.account_protection, true);
    assert.equal(data.log_messages, true);
    assert.equal(data.webhook_url, 'https://hooks.example.com/wa');
    assert.equal(data.webhook_enabled, true);
    assert.deepEqual(data.webhook_events, ['messages.upsert']);
    assert.match(data.webhook_secret, /^[0-9a-f]{32}$/);
    assert.match(data.api_key, /^[0-9a-f]{64}$/);
    assert.equal(data.user_id, 1);
    assert.equal(data.session_data, null);
    assert.equal(data.last_active_at, null);
    // WASenderApi's first status: nothing is linked until `connect`.
    assert.equal(data.status, 'disconnected');
    assert.equal(await statusFor(data.api_key), 'disconnected');
    assert.ok(Date.parse(data.created_at) && Date.parse(data.updated_at));
    assert.equal(data.hashsend_session_id, `ws-${data.id}`);
    // On hashsend's own API (and so the operator page) as well.
    const mine = await server.api(`/api/sessions/ws-${data.id}`);
    assert.equal(mine.status, 200);

    const second = await wa.create({ ...SESSION_INPUT, name: 'Second' });
    assert.equal(second.id, data.id + 1);
    assert.notEqual(second.api_key, data.api_key);
    assert.notEqual(second.webhook_secret, data.webhook_secret);
    assert.equal(second.webhook_url, null);
    assert.equal(second.webhook_enabled, false);
    assert.equal(second.webhook_events, null);
  });

  test('creates at the same time get distinct, consecutive ids; a hashsend session already named ws-<id> is left alone', async () => {
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => wa.create({ ...SESSION_INPUT, name: `Parallel ${i}` })));
    const ids = made.map((s) => s.id).sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      Array.from({ length: 8 }, (_, i) => ids[0] + i),
    );
    assert.equal(new Set(made.map((s) => s.api_key)).size, 8);

    const next = ids[7] + 1;
    assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id: `ws-${next}` } })).status, 201);
    const beside = await wa.create();
    assert.equal(beside.id, next);
    assert.match(beside.hashsend_session_id, new RegExp(`^ws-${next}-[0-9a-f]{6}$`));
    assert.equal((await server.api(`/api/sessions/${beside.hashsend_session_id}`)).status, 200);
    assert.equal((await server.api(`/api/sessions/ws-${next}`)).status, 200, 'the other session is untouched');
  });

  test('list and get: { success: true, data }; an unknown or malformed id is 404 in its shape', async () => {
    const created = await wa.create({ ...SESSION_INPUT, name: 'Listed' });
    const list = (await (await wa.call('/whatsapp-sessions')).json()) as { success: boolean; data: WaSession[] };
    assert.equal(list.success, true);
    assert.deepEqual(
      list.data.find((s) => s.id === created.id),
      { ...created, status: list.data.find((s) => s.id === created.id)?.status },
    );
    const got = (await (await wa.call(`/whatsapp-sessions/${created.id}`)).json()) as { success: boolean; data: WaSession };
    assert.equal(got.success, true);
    assert.equal(got.data.name, 'Listed');
    for (const id of ['999999', '0', '-1', 'abc', '1.5', '9'.repeat(40), '__proto__'])
      await expectError(await wa.call(`/whatsapp-sessions/${id}`), 404, 'wasender_session_not_found');
  });

  test('update (PUT and PATCH): fields stored as given, the key and webhook secret kept; bad fields are 422 keyed by field', async () => {
    const s = await wa.create();
    const put = await wa.call(`/whatsapp-sessions/${s.id}`, {
      method: 'PUT',
      json: {
        name: 'Renamed',
        account_protection: false,
        log_messages: '0',
        webhook_url: 'https://hooks.example.com/x',
        webhook_enabled: 1,
        webhook_events: ['session.status', 'messages.upsert'],
      },
    });
    assert.equal(put.status, 200);
    const updated = ((await put.json()) as { success: boolean; data: WaSession }).data;
    assert.equal(updated.name, 'Renamed');
    assert.equal(updated.account_protection, false);
    assert.equal(updated.log_messages, false);
    assert.equal(updated.webhook_enabled, true);
    assert.deepEqual(updated.webhook_events, ['session.status', 'messages.upsert']);
    assert.equal(updated.api_key, s.api_key);
    assert.equal(updated.webhook_secret, s.webhook_secret);
    assert.ok(updated.updated_at >= s.updated_at);
    assert.deepEqual((await wa.get(s.id)).webhook_url, 'https://hooks.example.com/x');

    const patch = await wa.call(`/whatsapp-sessions/${s.id}`, { method: 'PATCH', json: { webhook_url: null } });
    assert.equal(patch.status, 200);
    assert.equal((await wa.get(s.id)).webhook_url, null);
    assert.equal((await wa.get(s.id)).name, 'Renamed');

    const bad = await expectError(
      await wa.call(`/whatsapp-sessions/${s.id}`, { method: 'PUT', json: { webhook_url: 'ftp://x', account_protection: 'maybe' } }),
      422,
      'validation_failed',
    );
    assert.deepEqual(Object.keys(bad.errors ?? {}).sort(), ['account_protection', 'webhook_url']);
    assert.match(bad.message, /\(and 1 more error\)$/);
    await expectError(await wa.call(`/whatsapp-sessions/${s.id}`, { method: 'PUT', json: {} }), 422, 'validation_failed');
    await expectError(
      await wa.call('/whatsapp-sessions/424242', { method: 'PUT', json: { name: 'x' } }),
      404,
      'wasender_session_not_found',
    );
    assert.equal((await wa.get(s.id)).name, 'Renamed', 'a refused update changes nothing');
  });

  test('the options its newer docs add are stored as given (false unless set); a per-session proxy_url is refused, null passes', async () => {
    const s = await wa.create({ ...SESSION_INPUT, read_incoming_messages: true, ignore_groups: 'true', proxy_url: null });
    const stored = (await wa.get(s.id)) as WaSession & Record<string, unknown>;
    assert.equal(stored.read_incoming_messages, true);
    assert.equal(stored.ignore_groups, true);
    for (const flag of ['auto_reject_calls', 'ignore_channels', 'ignore_broadcasts', 'always_online'])
      assert.equal(stored[flag], false, flag);
    assert.equal('proxy_url' in stored, false);
    const put = await wa.call(`/whatsapp-sessions/${s.id}`, { method: 'PUT', json: { always_online: true } });
    assert.equal(((await put.json()) as { data: Record<string, unknown> }).data.always_online, true);
    const proxy = await expectError(
      await wa.call('/whatsapp-sessions', { method: 'POST', json: { ...SESSION_INPUT, proxy_url: 'socks5://proxy.example.com:1080' } }),
      422,
      'validation_failed',
    );
    assert.deepEqual(Object.keys(proxy.errors ?? {}), ['proxy_url']);
    assert.match(proxy.message, /HTTPS_PROXY/);
  });

  test('create without the required fields: 422 with each one under errors', async () => {
    const body = await expectError(await wa.call('/whatsapp-sessions', { method: 'POST', json: {} }), 422, 'validation_failed');
    assert.deepEqual(Object.keys(body.errors ?? {}).sort(), ['account_protection', 'log_messages', 'name', 'phone_number']);
    for (const messages of Object.values(body.errors ?? {})) assert.ok(messages.length > 0 && messages.every((m) => typeof m === 'string'));
    const phone = await expectError(
      await wa.call('/whatsapp-sessions', { method: 'POST', json: { ...SESSION_INPUT, phone_number: 'call me' } }),
      422,
      'validation_failed',
    );
    assert.deepEqual(Object.keys(phone.errors ?? {}), ['phone_number']);
  });
});

describe('linking: connect, the QR, status, disconnect', () => {
  test('connect answers the QR to scan (text, or a PNG data URL with qr_as_image); qrcode and qr-code give the same QR', async () => {
    const s = await wa.create();
    const res = await wa.call(`/whatsapp-sessions/${s.id}/connect`, { method: 'POST' });
    assert.equal(res.status, 200);
    const { success, data } = (await res.json()) as { success: boolean; data: { status: string; qrCode: string } };
    assert.equal(success, true);
    assert.equal(data.status, 'need_scan');
    // The very QR hashsend shows for the session.
    const ours = (await (await server.api(`/api/sessions/${s.hashsend_session_id}/qr`)).json()) as { qr: string };
    assert.equal(data.qrCode, ours.qr);
    for (const path of ['qrcode', 'qr-code']) {
      const qr = await wa.call(`/whatsapp-sessions/${s.id}/${path}`);
      assert.equal(qr.status, 200);
      assert.deepEqual(await qr.json(), { success: true, data: { qrCode: ours.qr } });
    }
    const image = (await (await wa.call(`/whatsapp-sessions/${s.id}/connect`, { method: 'POST', json: { qr_as_image: true } })).json()) as {
      data: { status: string; qrCode: string };
    };
    assert.equal(image.data.status, 'need_scan');
    const png = Buffer.from(image.data.qrCode.replace(/^data:image\/png;base64,/, ''), 'base64');
    assert.match(image.data.qrCode, /^data:image\/png;base64,/);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(await statusFor(s.api_key), 'need_scan');
  });

  test('once scanned: status connected for its key (/status and /sessions/{id}/status), connect says so, no QR (409)', async () => {
    const s = await wa.create();
    await wa.link(s, '+4915100000042');
    assert.equal(await statusFor(s.api_key), 'connected');
    assert.equal(await statusFor(s.api_key, `/sessions/${s.id}/status`), 'connected');
    const viaPat = await wa.call(`/whatsapp-sessions/${s.id}/status`);
    assert.deepEqual(await viaPat.json(), { status: 'connected' });
    const got = await wa.get(s.id);
    assert.equal(got.status, 'connected');
    assert.equal(got.phone_number, '+4915100000042', 'the linked number');
    const connect = (await (await wa.call(`/whatsapp-sessions/${s.id}/connect`, { method: 'POST' })).json()) as {
      success: boolean;
      data: { status: string; qrCode?: string; message: string };
    };
    assert.equal(connect.success, true);
    assert.equal(connect.data.status, 'connected');
    assert.equal(connect.data.qrCode, undefined);
    await expectError(await wa.call(`/whatsapp-sessions/${s.id}/qrcode`), 409, 'not_awaiting_qr');

    // Another session's id with this key: refused, not answered for the other session.
    const other = await wa.create();
    await expectError(await wa.call(`/sessions/${other.id}/status`, { token: s.api_key }), 403, 'forbidden');
  });

  test('disconnect: { status: disconnected } and it stays so; the hashsend session is logged out; connect shows a new QR', async () => {
    const s = await wa.create();
    await wa.link(s);
    const res = await wa.call(`/whatsapp-sessions/${s.id}/disconnect`, { method: 'POST' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { success: boolean; data: { status: string; message: string } };
    assert.equal(body.success, true);
    assert.equal(body.data.status, 'disconnected');
    assert.equal(body.data.message, 'WhatsApp session disconnected successfully');
    assert.equal(await statusFor(s.api_key), 'disconnected');
    assert.equal((await wa.get(s.id)).status, 'disconnected');
    assert.equal(await hashsendState(s), 'logged_out');

    const again = (await (await wa.call(`/whatsapp-sessions/${s.id}/connect`, { method: 'POST' })).json()) as {
      data: { status: string; qrCode: string };
    };
    assert.equal(again.data.status, 'need_scan');
    assert.ok(again.data.qrCode.length > 10);
    assert.equal(await statusFor(s.api_key), 'need_scan');
  });

  test('a hashsend session deleted through our own API: the WASender session reads disconnected, and connect makes it again', async () => {
    const s = await wa.create();
    assert.equal((await server.api(`/api/sessions/${s.hashsend_session_id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await wa.get(s.id)).status, 'disconnected');
    const connect = (await (await wa.call(`/whatsapp-sessions/${s.id}/connect`, { method: 'POST' })).json()) as {
      data: { status: string };
    };
    assert.equal(connect.data.status, 'need_scan');
    assert.equal((await server.api(`/api/sessions/${s.hashsend_session_id}`)).status, 200);
  });
});

describe('keys and removal', () => {
  for (const path of ['regenerate-key', 'regenerate-api-key', 'regenerate-key (as its docs spell the path)'])
    test(`${path}: { success: true, api_key } unwrapped; the old key is refused at once, the new one works`, async () => {
      const s = await wa.create();
      assert.equal(await statusFor(s.api_key), 'disconnected');
      const route = path.includes('docs') ? `/whatsapp-sessionsv/${s.id}/regenerate-key` : `/whatsapp-sessions/${s.id}/${path}`;
      const res = await wa.call(route, { method: 'POST' });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { success: boolean; api_key: string };
      assert.deepEqual(Object.keys(body).sort(), ['api_key', 'success']);
      assert.equal(body.success, true);
      assert.match(body.api_key, /^[0-9a-f]{64}$/);
      assert.notEqual(body.api_key, s.api_key);
      await expectError(await wa.call('/status', { token: s.api_key }), 401, 'unauthorized');
      assert.equal(await statusFor(body.api_key), 'disconnected');
      assert.equal((await wa.get(s.id)).api_key, body.api_key);
    });

  test('delete: { success: true, data: null }; the session, its key and its hashsend session are gone; ids are not reused', async () => {
    const s = await wa.create();
    const res = await wa.call(`/whatsapp-sessions/${s.id}`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { success: true, data: null });
    await expectError(await wa.call(`/whatsapp-sessions/${s.id}`), 404, 'wasender_session_not_found');
    await expectError(await wa.call('/status', { token: s.api_key }), 401, 'unauthorized');
    assert.equal((await server.api(`/api/sessions/${s.hashsend_session_id}`)).status, 404);
    await expectError(await wa.call(`/whatsapp-sessions/${s.id}`, { method: 'DELETE' }), 404, 'wasender_session_not_found');
    const next = await wa.create();
    assert.equal(next.id, s.id + 1);
  });

  test('after a restart: the same sessions, keys, settings and statuses; the next id follows on', async () => {
    const s = await wa.create({ ...SESSION_INPUT, name: 'Durable', webhook_url: 'https://hooks.example.com/d' });
    await wa.link(s);
    const before = (await (await wa.call('/whatsapp-sessions')).json()) as { data: WaSession[] };
    await server.restart();
    const after = (await (await wa.call('/whatsapp-sessions')).json()) as { data: WaSession[] };
    assert.deepEqual(
      after.data.map(({ status: _s, ...rest }) => rest),
      before.data.map(({ status: _s, ...rest }) => rest),
    );
    const durable = await wa.get(s.id);
    assert.equal(durable.webhook_url, 'https://hooks.example.com/d');
    assert.equal(await statusFor(s.api_key), 'connected');
    assert.equal((await wa.create()).id, Math.max(...after.data.map((x) => x.id)) + 1);
  });
});
