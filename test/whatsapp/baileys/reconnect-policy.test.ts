import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../../src/lib/backoff.js';
import { decideReconnect } from '../../../src/whatsapp/baileys/reconnect-policy.js';

const pinned = (r: number) => ({ random: () => r });

test('515 restart required reconnects at once, linked or not', () => {
  for (const linked of [true, false]) {
    assert.deepEqual(decideReconnect({ statusCode: 515, linked, qrShown: false, attempt: 1 }), { action: 'restart-now' });
  }
});

test('401 logged out stops with the credentials wiped', () => {
  const a = decideReconnect({ statusCode: 401, linked: true, qrShown: false, attempt: 1 });
  assert.equal(a.action, 'stop');
  assert.ok(a.action === 'stop' && a.state === 'logged_out' && a.wipe);
});

test('403 forbidden stops as logged_out with the reason, keeping credentials', () => {
  const a = decideReconnect({ statusCode: 403, linked: true, qrShown: false, attempt: 1 });
  assert.ok(a.action === 'stop' && a.state === 'logged_out' && !a.wipe);
  assert.match(a.reason, /forbidden/);
});

test('440 connection replaced stops in conflict, keeping credentials', () => {
  const a = decideReconnect({ statusCode: 440, linked: true, qrShown: false, attempt: 1 });
  assert.ok(a.action === 'stop' && a.state === 'conflict' && !a.wipe);
});

test('411 multidevice mismatch stops as needs_relink with the reason, keeping the credentials: no silent new login', () => {
  const a = decideReconnect({ statusCode: 411, linked: true, qrShown: false, attempt: 1 });
  assert.ok(a.action === 'stop' && a.state === 'needs_relink' && !a.wipe, JSON.stringify(a));
  assert.match(a.reason, /multidevice mismatch/);
  assert.match(a.reason, /link it again/);
});

test('408 while not linked (QR refs exhausted) waits for the operator', () => {
  assert.deepEqual(decideReconnect({ statusCode: 408, linked: false, qrShown: true, attempt: 1 }), { action: 'wait-for-operator' });
});

test('408 before any QR was shown is a network failure: backoff, not a wait', () => {
  assert.deepEqual(decideReconnect({ statusCode: 408, linked: false, qrShown: false, attempt: 2 }, pinned(0)), {
    action: 'retry',
    delayMs: 1000,
  });
});

test('408 while linked, 428, 500, 503 and network loss back off', () => {
  for (const statusCode of [408, 428, 500, 503, undefined]) {
    const a = decideReconnect({ statusCode, linked: true, qrShown: false, attempt: 3 }, pinned(0));
    assert.deepEqual(a, { action: 'retry', delayMs: 2000 }, `code ${statusCode}`);
  }
  for (const statusCode of [428, 500, 503, undefined]) {
    const a = decideReconnect({ statusCode, linked: false, qrShown: true, attempt: 1 }, pinned(0));
    assert.equal(a.action, 'retry', `unlinked, code ${statusCode}`);
  }
});

test('backoff doubles per attempt and never exceeds the cap', () => {
  const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 20, 1000].map((n) => backoffDelay(n, { baseMs: 1000, maxMs: 60_000, ...pinned(0.999999) }));
  assert.deepEqual(ceilings.slice(0, 6), [1000, 2000, 4000, 8000, 16000, 32000]);
  for (const d of ceilings) assert.ok(d <= 60_000, `${d} within cap`);
  assert.equal(ceilings.at(-1), 60_000);
});

test('jitter stays within [ceiling / 2, ceiling]', () => {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
    for (const r of [0, 0.25, 0.5, 0.75, 0.999999]) {
      const d = backoffDelay(attempt, { baseMs: 500, maxMs: 30_000, random: () => r });
      assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}, r ${r}: ${d}`);
    }
  }
  assert.equal(backoffDelay(4, { baseMs: 500, maxMs: 30_000, random: () => 0 }), 2000);
  assert.equal(backoffDelay(4, { baseMs: 500, maxMs: 30_000, random: () => 0.5 }), 3000);
});

test('default random spreads delays across the window', () => {
  const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5)));
  assert.ok(delays.size > 1);
  for (const d of delays) assert.ok(d >= 8000 && d <= 16000);
});

test('a server that keeps asking for restarts gets backoff after three', () => {
  assert.equal(decideReconnect({ statusCode: 515, linked: true, qrShown: false, attempt: 3 }).action, 'restart-now');
  assert.deepEqual(decideReconnect({ statusCode: 515, linked: true, qrShown: false, attempt: 4 }, pinned(0)), {
    action: 'retry',
    delayMs: 4000,
  });
});
