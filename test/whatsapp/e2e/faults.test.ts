import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../../support/server.js';
import { FAST_WHATSAPP, startHarness, type Harness, type StateWatch } from './harness.js';

const MAIN = '15550400001';
const LOGGED_OUT = '15550400002';
const REPLACED = '15550400003';
const KEEPALIVE_MS = Number(FAST_WHATSAPP.WHATSAPP_KEEPALIVE_MS);
// Baileys drops a socket that answered nothing for keepAliveIntervalMs + 5 s, checked once per interval.
const SILENCE_DETECTED_WITHIN_MS = 2 * KEEPALIVE_MS + 5000 + 1000;

let h: Harness;
let main: StateWatch;
before(async () => {
  h = await startHarness();
  await h.link('main', MAIN);
  main = await h.watchStates('main');
});
after(async () => {
  await main.close();
  await h.close();
});

/** Checks `holds` every 50 ms for `ms`: for what must not happen, such as a reconnect after a conflict. */
const holdsFor = async (ms: number, holds: () => Promise<boolean>) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await holds())) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
};

test('515 restart required: reconnects at once, no backoff, connected again', async () => {
  main.mark();
  assert.equal(h.sim.injectStreamError(515, MAIN), 1);
  await main.next('starting');
  await main.next('connected');
  const s = await h.session('main');
  assert.equal(s.state, 'connected');
  assert.ok(!main.states.slice(-2).includes('reconnecting'));
});

for (const code of [408, 428, 500, 503] as const) {
  test(`${code}: reconnecting with backoff, then connected again`, async () => {
    main.mark();
    assert.equal(h.sim.injectStreamError(code, MAIN), 1);
    const reconnecting = await main.next('reconnecting');
    assert.equal(reconnecting.lastError?.code, code, 'the session says why');
    await main.next('connected');
    assert.equal(h.sim.connections(MAIN).length, 1);
  });
}

test('a dropped socket (no close frame) reconnects', async () => {
  main.mark();
  assert.equal(h.sim.dropSocket(MAIN), 1);
  const reconnecting = await main.next('reconnecting');
  assert.equal(reconnecting.lastError?.code, 428);
  await main.next('connected');
});

test('silence is detected within the keep-alive window and the session reconnects', async () => {
  main.mark();
  const started = Date.now();
  h.sim.silence(true);
  try {
    await main.next('reconnecting', SILENCE_DETECTED_WITHIN_MS + 2000);
    const took = Date.now() - started;
    assert.ok(took <= SILENCE_DETECTED_WITHIN_MS, `silence noticed after ${took} ms`);
    assert.equal((await h.session('main')).lastError?.code, 408);
  } finally {
    h.sim.silence(false);
  }
  await main.next('connected');
});

test('a connected but dead socket is not reported connected: the send is not marked sent, and goes once after the reconnect', async () => {
  main.mark();
  h.sim.silence(true);
  let id: string;
  try {
    id = await h.send('main', { to: '+15557775001', text: 'through the dead socket' });
    // WhatsApp's ack never comes: within the ack timeout the session stops saying it is connected.
    await main.next('reconnecting', Number(FAST_WHATSAPP.WHATSAPP_ACK_TIMEOUT_MS) + 3000);
    const m = await h.message(id);
    assert.ok(['queued', 'sending'].includes(m.status), `not sent while the socket was dead (${m.status})`);
    assert.notEqual((await h.session('main')).state, 'connected');
  } finally {
    h.sim.silence(false);
  }
  await main.next('connected');
  await h.waitForStatus(id, ['sent', 'delivered', 'read']);
  const got = await h.sim.waitForReceived(1, '15557775001');
  assert.deepEqual(new Set(got.map((d) => d.id)), new Set([id]), 'one message, under our id, however often it was relayed');
  assert.deepEqual(new Set(got.map((d) => d.text)), new Set(['through the dead socket']));
});

test('401 logged out from the phone: state logged_out, credentials wiped, no reconnect', async () => {
  await h.link('gone', LOGGED_OUT);
  const watch = await h.watchStates('gone');
  try {
    watch.mark();
    assert.equal(h.sim.injectStreamError(401, LOGGED_OUT), 1);
    await watch.next('logged_out');
    const files = await readdir(path.join(h.server.sessionsDir, 'gone')).catch(() => []);
    assert.ok(!files.some((f) => f.startsWith('creds')), `credentials removed (left: ${files.join(', ')})`);
    const s = await h.session('gone');
    assert.equal(s.me, undefined, 'no linked number any more');
    assert.ok(
      await holdsFor(1000, async () => (await h.session('gone')).state === 'logged_out' && h.sim.connections(LOGGED_OUT).length === 0),
    );
  } finally {
    await watch.close();
  }
});

test('440 replaced by another connection: state conflict, stopped, no reconnect', async () => {
  await h.link('twin', REPLACED);
  const watch = await h.watchStates('twin');
  try {
    watch.mark();
    assert.equal(h.sim.injectStreamError(440, REPLACED), 1);
    const conflict = await watch.next('conflict');
    assert.equal(conflict.lastError?.code, 440);
    assert.ok(await holdsFor(1000, async () => (await h.session('twin')).state === 'conflict' && h.sim.connections(REPLACED).length === 0));
    const files = await readdir(path.join(h.server.sessionsDir, 'twin'));
    assert.ok(
      files.some((f) => f.startsWith('creds')),
      'credentials kept: the operator decides',
    );
  } finally {
    await watch.close();
  }
  // the other session was never disturbed
  await waitFor('main still connected', async () => ((await h.session('main')).state === 'connected' ? true : undefined));
});
