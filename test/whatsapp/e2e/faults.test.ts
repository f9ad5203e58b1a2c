import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../../support/server.js';
import { FAST_WHATSAPP, SENT, startHarness, type Harness, type StateWatch } from './harness.js';

const MAIN = '15550400001';
const LOGGED_OUT = '15550400002';
const REPLACED = '15550400003';
const MISMATCH = '15550400004';
const KEEPALIVE_MS = Number(FAST_WHATSAPP.WHATSAPP_KEEPALIVE_MS);
// Baileys drops a socket that answered nothing for keepAliveIntervalMs + 5 s, checked once per interval.
const SILENCE_DETECTED_WITHIN_MS = 2 * KEEPALIVE_MS + 5000 + 1000;
const ACK_TIMEOUT_MS = Number(FAST_WHATSAPP.WHATSAPP_ACK_TIMEOUT_MS);

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

/** After an uncertain first relay: sent by a second attempt under the same id, relayed twice, shown once. */
const relayedTwiceShownOnce = async (id: string, to: string, text: string) => {
  const m = await h.waitForStatus(id, SENT);
  assert.deepEqual([m.waMessageId, m.attempts], [id, 2], 'a second attempt, under the same WhatsApp id');
  // the simulator acks a message once its phones have it: every relay of a sent message is counted by now
  assert.deepEqual(h.sim.relayCounts(to), { [id]: 2 }, 'relayed twice');
  assert.deepEqual(
    h.sim.received(to).map((d) => [d.id, d.text, d.error]),
    [[id, text, undefined]],
    'the phone shows it once',
  );
};

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

test('silence is detected by the keep-alive and the session reconnects', async () => {
  main.mark();
  h.sim.silence(true);
  try {
    // 408 with no send in flight is the keep-alive's verdict (the ack timeout needs a send to start)
    const reconnecting = await main.next('reconnecting', 3 * SILENCE_DETECTED_WITHIN_MS);
    assert.equal(reconnecting.lastError?.code, 408);
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
    await main.next('reconnecting', ACK_TIMEOUT_MS + 3000);
    const m = await h.message(id);
    assert.ok(['queued', 'sending'].includes(m.status), `not sent while the socket was dead (${m.status})`);
    assert.notEqual((await h.session('main')).state, 'connected');
  } finally {
    h.sim.silence(false);
  }
  await main.next('connected');
  const m = await h.waitForStatus(id, SENT);
  assert.deepEqual([m.waMessageId, m.attempts], [id, 2], 'sent by the second attempt, under our id');
  // the first attempt never got its key queries answered, so it relayed nothing: one relay in all
  const got = await h.arrivedOnce(id, '15557775001');
  assert.equal(got.text, 'through the dead socket');
});

test('an ack lost after the relay: hashsend relays again under the same id; the phone shows the message once and counts two relays', async () => {
  main.mark();
  h.sim.dropAcks(1);
  const id = await h.send('main', { to: '+15557775002', text: 'ack lost' });
  // the phone has it, hashsend cannot know: after the ack timeout the connection counts as dead
  const reconnecting = await main.next('reconnecting', ACK_TIMEOUT_MS + 3000);
  assert.equal(reconnecting.lastError?.code, 408);
  await main.next('connected');
  await relayedTwiceShownOnce(id, '15557775002', 'ack lost');
});

test('411 multidevice mismatch: needs_relink with the reason, credentials kept, no new QR until the operator relinks', async () => {
  const linked = await h.link('mismatch', MISMATCH);
  const credsFile = path.join(h.server.sessionsDir, 'mismatch', 'creds.json');
  const device = async () => {
    const creds = JSON.parse(await readFile(credsFile, 'utf8')) as { me?: { id: string }; account?: object; noiseKey: unknown };
    return { me: creds.me?.id, linked: Boolean(creds.account), noiseKey: creds.noiseKey };
  };
  const before = await device();
  assert.deepEqual([before.me, before.linked], [linked.me?.id, true]);
  const watch = await h.watchStates('mismatch');
  try {
    watch.mark();
    assert.equal(h.sim.injectStreamError(411, MISMATCH), 1);
    const relink = await watch.next('needs_relink');
    assert.equal(relink.lastError?.code, 411);
    assert.match(relink.lastError?.message ?? '', /multidevice mismatch.*link it again/);
    const s = await h.session('mismatch');
    assert.deepEqual([s.state, s.me?.phone], ['needs_relink', MISMATCH], 'still names the linked number');
    assert.deepEqual(await device(), before, 'the same linked device in the credentials');
    assert.equal(h.sim.connections(MISMATCH).length, 0, 'not logged in again');

    // the operator relinks explicitly: log out, then a new QR
    const out = await h.server.api('/api/sessions/mismatch/logout', { method: 'POST' });
    assert.equal(out.status, 200);
    await watch.next('logged_out');
    const qr = await h.server.api('/api/sessions/mismatch/qr', { headers: { accept: 'application/json' } });
    assert.equal(qr.status, 200);
    await h.sim.scanQr(((await qr.json()) as { qr: string }).qr, MISMATCH);
    await watch.next('connected');
    // nothing between the 411 and the operator's logout: no silent restart, no QR of its own
    const states = watch.states;
    const after411 = states.slice(states.lastIndexOf('needs_relink'));
    assert.deepEqual(after411.slice(0, 2), ['needs_relink', 'logged_out']);
  } finally {
    await watch.close();
  }
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
