import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/log.js';
import type { DriverEvent } from '../../../src/whatsapp/driver.js';
import { createBaileysDriver } from '../../../src/whatsapp/baileys/index.js';

const log = createLogger('silent');

/** A loopback port with nothing listening: every connect is refused, as when the network is down. */
const closedPort = async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

const waitFor = async (events: DriverEvent[], match: (e: DriverEvent) => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = events.find(match);
    if (found) return found;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`no matching event in ${JSON.stringify(events)}`);
};

const setup = async () => {
  const root = await mkdtemp(join(tmpdir(), 'hashsend-driver-'));
  const port = await closedPort();
  const driver = createBaileysDriver({
    log,
    uploadCacheTtlMs: 60_000,
    socketOptions: { waWebSocketUrl: `ws://127.0.0.1:${port}`, connectTimeoutMs: 2000 },
    backoff: { baseMs: 50, maxMs: 200 },
  });
  const events: DriverEvent[] = [];
  const session = driver.open({
    sessionId: 'default',
    dir: join(root, 'default'),
    log,
    blobs: { read: async () => Buffer.alloc(0), write: async () => undefined },
    onEvent: (e) => events.push(e),
  });
  return { root, session, events, cleanup: () => rm(root, { recursive: true, force: true }) };
};

test('network loss: the session reconnects with backoff, and stop() ends it', async () => {
  const { session, events, cleanup } = await setup();
  try {
    await session.start();
    await waitFor(events, (e) => e.type === 'state' && e.state === 'reconnecting');
    // Backoff keeps trying: a second failed attempt shows up too.
    await waitFor(
      events,
      (e) =>
        e.type === 'state' &&
        e.state === 'reconnecting' &&
        events.filter((x) => x.type === 'state' && x.state === 'reconnecting').length >= 2,
    );
    await session.stop();
    assert.deepEqual(events.at(-1), { type: 'state', state: 'stopped' });
  } finally {
    await cleanup();
  }
});

test('a send while not connected is session_not_connected (503)', async () => {
  const { session, cleanup } = await setup();
  try {
    await assert.rejects(session.send({ messageId: 'ABC', to: '4915123456789@s.whatsapp.net', content: { type: 'text', text: 'hi' } }), {
      code: 'session_not_connected',
      status: 503,
    });
  } finally {
    await cleanup();
  }
});

test('pairing code: digits only, and only while a QR is awaited', async () => {
  const { session, cleanup } = await setup();
  try {
    await assert.rejects(session.requestPairingCode('+49 151 2345'), { code: 'invalid_request', status: 400 });
    await assert.rejects(session.requestPairingCode('4915123456789'), { code: 'not_awaiting_qr', status: 409 });
  } finally {
    await cleanup();
  }
});

test('a corrupt credentials file turns the session needs_relink without connecting; logout clears it', async () => {
  const { root, session, events, cleanup } = await setup();
  try {
    await mkdir(join(root, 'default'), { recursive: true });
    await writeFile(join(root, 'default', 'creds.json'), '{"noiseKey":');
    await session.start();
    const state = events.find((e) => e.type === 'state' && e.state === 'needs_relink');
    assert.ok(state && state.type === 'state' && /not valid JSON/.test(state.reason ?? ''));
    await session.logout();
    assert.deepEqual(events.at(-1), { type: 'state', state: 'logged_out', reason: 'logged out by the operator' });
    await session.start();
    await waitFor(events, (e) => e.type === 'state' && e.state === 'reconnecting');
    await session.stop();
  } finally {
    await cleanup();
  }
});
