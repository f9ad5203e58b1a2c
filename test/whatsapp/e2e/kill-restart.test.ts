import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../support/server.js';
import { SENT, startHarness, type Harness } from './harness.js';

const PHONE = '15550600001';
const FIRST = '15557778001';
const SECOND = '15557778002';

let h: Harness;
before(async () => {
  // Acks are withheld until the kill: no ack timeout may end the socket first and relay the message again.
  h = await startHarness({ env: { WHATSAPP_ACK_TIMEOUT_MS: '120000' } });
  await h.link('shop', PHONE);
});
after(() => h.close());

const statusOf = async (id: string) => (await h.message(id)).status;

test('kill -9 with a message acked, one in flight and two queued: after the restart each phone counts one relay per id, two only for the one in flight', async () => {
  const acked = await h.send('shop', { to: `+${FIRST}`, text: 'acked before the kill' });
  await h.arrivedOnce(acked, FIRST);

  // From here WhatsApp takes messages but never acks them: the first one stays in flight, the rest queued.
  h.sim.dropAcks(Infinity);
  const inFlight = await h.send('shop', { to: `+${SECOND}`, text: 'in flight at the kill' });
  const queued = [
    await h.send('shop', { to: `+${FIRST}`, text: 'queued one' }),
    await h.send('shop', { to: `+${SECOND}`, text: 'queued two' }),
  ];
  await waitFor('the in-flight message on the phone', async () => h.sim.received(SECOND).find((d) => d.id === inFlight));
  assert.equal(await statusOf(inFlight), 'sending', 'relayed, its ack not come');
  assert.deepEqual(await Promise.all(queued.map(statusOf)), ['queued', 'queued']);

  await h.server.kill('SIGKILL');
  h.sim.dropAcks(0);
  await h.server.restart();
  await h.waitForState('shop', 'connected');
  const records = await Promise.all([acked, inFlight, ...queued].map((id) => h.waitForStatus(id, SENT)));

  // Relays per id, as each phone counted them: the acked message never again, the in-flight one again under
  // the same id, each queued one once.
  assert.deepEqual(h.sim.relayCounts(FIRST), { [acked]: 1, [queued[0]]: 1 });
  assert.deepEqual(h.sim.relayCounts(SECOND), { [inFlight]: 2, [queued[1]]: 1 });
  // What each phone shows: every message once, decrypted.
  const shown = (phone: string) => h.sim.received(phone).map((d) => [d.id, d.text, d.error]);
  assert.deepEqual(shown(FIRST), [
    [acked, 'acked before the kill', undefined],
    [queued[0], 'queued one', undefined],
  ]);
  assert.deepEqual(shown(SECOND), [
    [inFlight, 'in flight at the kill', undefined],
    [queued[1], 'queued two', undefined],
  ]);
  // Every record went out under its own id; only the in-flight one needed a second attempt.
  assert.deepEqual(
    records.map((m) => [m.id === m.waMessageId, m.attempts]),
    [
      [true, 1],
      [true, 2],
      [true, 1],
      [true, 1],
    ],
  );
});
