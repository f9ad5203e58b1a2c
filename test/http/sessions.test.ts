import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { openEventStream } from '../support/sse.js';

let server: StartedServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const create = async (id: string) => {
  const res = await server.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } });
  assert.equal(res.status, 201);
  return res.json() as Promise<{ id: string; state: string }>;
};
const link = (id: string, phone = '+4915100000001') =>
  server.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: { phone, name: 'Shop' } });
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe('sessions', () => {
  test('first start made a default session, waiting for its QR', async () => {
    // main creates it right after listening, so it may come a moment after /readyz.
    const body = await waitFor('the default session', async () => {
      const res = await server.api('/api/sessions/default');
      const session = res.status === 200 ? ((await res.json()) as { state: string; driver: string }) : undefined;
      return session && session.state !== 'starting' ? session : undefined;
    });
    assert.equal(body.driver, 'sandbox');
    assert.equal(body.state, 'qr');
    await waitFor('the QR in the terminal', async () =>
      /Scan with WhatsApp[\s\S]*▄[\s\S]*operator page: http:\/\/127\.0\.0\.1:\d+\//.test(server.output()) ? true : undefined,
    );
  });

  test('create, list, get; its folder is owner-only', async () => {
    const created = await create('shop');
    assert.deepEqual([created.id, created.state], ['shop', 'qr']);
    const list = (await (await server.api('/api/sessions')).json()) as { items: { id: string }[] };
    assert.ok(list.items.some((s) => s.id === 'shop'));
    const mode = (await stat(path.join(server.sessionsDir, 'shop'))).mode & 0o777;
    assert.equal(mode, 0o700);
  });

  test('bad input: duplicate id 409, unknown driver 400, bad id 400, unknown session 404', async () => {
    await create('dup');
    const dup = await server.api('/api/sessions', { method: 'POST', json: { id: 'dup' } });
    assert.deepEqual([dup.status, await errorCode(dup)], [409, 'session_exists']);
    const driver = await server.api('/api/sessions', { method: 'POST', json: { driver: 'telegram' } });
    assert.deepEqual([driver.status, await errorCode(driver)], [400, 'unknown_driver']);
    const badId = await server.api('/api/sessions', { method: 'POST', json: { id: '../etc' } });
    assert.deepEqual([badId.status, await errorCode(badId)], [400, 'invalid_request']);
    const extra = await server.api('/api/sessions', { method: 'POST', json: { id: 'x', colour: 'red' } });
    assert.deepEqual([extra.status, await errorCode(extra)], [400, 'invalid_request']);
    const malformed = await server.api('/api/sessions', {
      method: 'POST',
      body: '{"id":',
      headers: { 'content-type': 'application/json' },
    });
    assert.deepEqual([malformed.status, await errorCode(malformed)], [400, 'invalid_request']);
    for (const route of ['/api/sessions/nope', '/api/sessions/nope/qr', '/api/sessions/nope/events', '/api/sessions/nope/messages']) {
      const res = await server.api(route);
      assert.deepEqual([res.status, await errorCode(res)], [404, 'session_not_found'], route);
    }
    const logout = await server.api('/api/sessions/nope/logout', { method: 'POST' });
    assert.deepEqual([logout.status, await errorCode(logout)], [404, 'session_not_found']);
    const del = await server.api('/api/sessions/nope', { method: 'DELETE' });
    assert.deepEqual([del.status, await errorCode(del)], [404, 'session_not_found']);
  });

  test('QR as JSON, PNG, SVG and terminal text by Accept; 409 not_awaiting_qr once linked', async () => {
    await create('qr');
    const asJson = await server.api('/api/sessions/qr/qr');
    assert.equal(asJson.status, 200);
    const qr = (await asJson.json()) as { qr: string; expiresAt: string };
    assert.ok(qr.qr.length > 20);
    assert.ok(Date.parse(qr.expiresAt) > Date.now());

    const png = await server.api('/api/sessions/qr/qr', { headers: { accept: 'image/png' } });
    assert.equal(png.headers.get('content-type'), 'image/png');
    const bytes = Buffer.from(await png.arrayBuffer());
    assert.equal(bytes.subarray(1, 4).toString(), 'PNG');

    const svg = await server.api('/api/sessions/qr/qr', { headers: { accept: 'image/svg+xml' } });
    assert.match(svg.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assert.match(await svg.text(), /<svg[\s\S]*<\/svg>/);

    const text = await server.api('/api/sessions/qr/qr', { headers: { accept: 'text/plain' } });
    assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await text.text(), /[▄▀█]/);

    assert.equal((await link('qr')).status, 200);
    const linked = await server.api('/api/sessions/qr/qr');
    assert.deepEqual([linked.status, await errorCode(linked)], [409, 'not_awaiting_qr']);
  });

  test('events: the current state first, then the QR, then connected after the sandbox link', async () => {
    await create('live');
    const stream = await openEventStream(`${server.url}/api/sessions/live/events`, { authorization: `Bearer ${server.apiKey}` });
    try {
      assert.equal(stream.status, 200);
      assert.match(stream.contentType ?? '', /^text\/event-stream/);
      const first = await stream.next(() => true);
      assert.equal(first.event, 'state');
      assert.equal((first.data as { state: string }).state, 'qr');
      const qr = await stream.next((e) => e.event === 'qr');
      assert.equal(typeof (qr.data as { qr: string }).qr, 'string');
      assert.equal((await link('live', '+4915100000002')).status, 200);
      const connected = await stream.next((e) => e.event === 'state' && (e.data as { state: string }).state === 'connected');
      assert.equal((connected.data as { me: { phone: string } }).me.phone, '4915100000002');
    } finally {
      await stream.close();
    }
  });

  test('get shows own number and name once linked', async () => {
    await create('me');
    await link('me', '+4915100000003');
    const body = (await (await server.api('/api/sessions/me')).json()) as {
      state: string;
      me: { id: string; phone: string; name: string };
    };
    assert.deepEqual([body.state, body.me], ['connected', { id: '4915100000003@s.whatsapp.net', phone: '4915100000003', name: 'Shop' }]);
  });

  test('pairing code: 8 characters while waiting; 409 already_linked once linked; bad phone 400', async () => {
    await create('pair');
    const bad = await server.api('/api/sessions/pair/pairing-code', { method: 'POST', json: { phone: 'abc' } });
    assert.deepEqual([bad.status, await errorCode(bad)], [400, 'invalid_request']);
    const res = await server.api('/api/sessions/pair/pairing-code', { method: 'POST', json: { phone: '+4915100000004' } });
    assert.equal(res.status, 200);
    assert.match(((await res.json()) as { code: string }).code, /^[A-Z0-9]{8}$/);
    await link('pair');
    const linked = await server.api('/api/sessions/pair/pairing-code', { method: 'POST', json: { phone: '+4915100000004' } });
    assert.deepEqual([linked.status, await errorCode(linked)], [409, 'already_linked']);
  });

  test('logout unlinks; asking for the QR again starts a new link', async () => {
    await create('out');
    await link('out');
    const res = await server.api('/api/sessions/out/logout', { method: 'POST' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { state: string; me?: unknown };
    assert.equal(body.state, 'logged_out');
    assert.equal(body.me, undefined);
    const qr = await server.api('/api/sessions/out/qr');
    assert.equal(qr.status, 200);
    assert.equal(((await (await server.api('/api/sessions/out')).json()) as { state: string }).state, 'qr');
  });

  test('delete removes the session and its credentials folder', async () => {
    await create('gone');
    await link('gone');
    const res = await server.api('/api/sessions/gone', { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.equal((await server.api('/api/sessions/gone')).status, 404);
    await assert.rejects(stat(path.join(server.sessionsDir, 'gone')), { code: 'ENOENT' });
  });

  test('sandbox controls: bad failure spec 400, unknown session 404, a second link 409', async () => {
    await create('ctl');
    const bad = await server.api('/api/sessions/ctl/sandbox/failures', { method: 'POST', json: { count: 0 } });
    assert.deepEqual([bad.status, await errorCode(bad)], [400, 'invalid_request']);
    const nope = await server.api('/api/sessions/nope/sandbox/deliveries');
    assert.deepEqual([nope.status, await errorCode(nope)], [404, 'session_not_found']);
    const twice = await link('ctl');
    assert.equal(twice.status, 200);
    const again = await link('ctl');
    assert.deepEqual([again.status, await errorCode(again)], [409, 'already_linked']);
  });
});

test('restart: every session is there at once, and one whose driver start hangs delays no other', async () => {
  const own = await startServer();
  try {
    const state = async (id: string) => ((await (await own.api(`/api/sessions/${id}`)).json()) as { state: string }).state;
    // Created first, so a restore that opens sessions one by one reaches it first.
    for (const id of ['slow', 'fast']) {
      await own.api('/api/sessions', { method: 'POST', json: { id } });
      await own.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: {} });
    }
    await own.kill('SIGTERM');
    // A state file that is a FIFO: reading it blocks until the test writes to it, like a driver whose network never
    // answers. The session's start hangs on it for as long as the test wants.
    const file = path.join(own.sessionsDir, 'slow', 'sandbox.json');
    const saved = await readFile(file);
    await rm(file);
    await promisify(execFile)('mkfifo', ['-m', '600', file]);
    await own.restart();

    const listed = (await (await own.api('/api/sessions')).json()) as { items: { id: string }[] };
    assert.deepEqual(listed.items.map((s) => s.id).sort(), ['default', 'fast', 'slow']);
    assert.equal(await state('slow'), 'starting');
    const stream = await openEventStream(`${own.url}/api/sessions/fast/events`, { authorization: `Bearer ${own.apiKey}` });
    try {
      await stream.next((e) => e.event === 'state' && (e.data as { state: string }).state === 'connected', 15_000);
    } finally {
      await stream.close();
    }
    assert.equal(await state('slow'), 'starting', 'still waiting for its driver');

    // The hang ends: the slow session comes up too.
    await writeFile(file, saved);
    await rm(file);
    await writeFile(file, saved, { mode: 0o600 });
    await waitFor('the slow session', async () => ((await state('slow')) === 'connected' ? true : undefined));
  } finally {
    await own.close();
  }
});

describe('driver names that are Object.prototype keys', () => {
  test('"constructor", "__proto__", "toString": 400 unknown_driver, and no session is stored', async () => {
    for (const driver of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const id = `proto-${driver.replace(/_/g, '')}`;
      const res = await server.api('/api/sessions', { method: 'POST', json: { id, driver } });
      assert.deepEqual([res.status, await errorCode(res)], [400, 'unknown_driver'], driver);
      assert.equal((await server.api(`/api/sessions/${id}`)).status, 404, driver);
    }
  });
});

describe('events: ids and Last-Event-ID', () => {
  test('a client that reconnects with Last-Event-ID gets what it missed, logged_out included, not just the state now', async () => {
    await create('resume');
    await link('resume', '+4915100000011');
    const auth = { authorization: `Bearer ${server.apiKey}` };
    const first = await openEventStream(`${server.url}/api/sessions/resume/events`, auth);
    const connected = await first.next((e) => e.event === 'state' && (e.data as { state: string }).state === 'connected');
    await first.close();
    assert.match(connected.id ?? '', /^\w+-\d+$/);

    // Missed while away: logged out, then a new QR on asking for one.
    assert.equal((await server.api('/api/sessions/resume/logout', { method: 'POST' })).status, 200);
    assert.equal((await server.api('/api/sessions/resume/qr')).status, 200);

    const resumed = await openEventStream(`${server.url}/api/sessions/resume/events`, { ...auth, 'last-event-id': connected.id! });
    try {
      await resumed.next((e) => e.event === 'qr');
      const states = resumed.events.filter((e) => e.event === 'state').map((e) => (e.data as { state: string }).state);
      assert.equal(states[0], 'logged_out');
      assert.equal(states.at(-1), 'qr');
    } finally {
      await resumed.close();
    }
  });
});
