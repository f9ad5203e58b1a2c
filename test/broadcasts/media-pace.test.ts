import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { makeJpeg } from '../support/media-fixtures.js';
import { createBroadcast, deliveries, linkedSession, numbers, report, untilStatus } from './helpers.js';
import { sha } from '../support/media-api.js';

let server: StartedServer;
let origin: Origin;
before(async () => {
  [server, origin] = await Promise.all([startServer({ MEDIA_ALLOW_HOSTS: '127.0.0.1' }), startOrigin()]);
});
after(() => Promise.all([server.close(), origin.close()]));

test('a paced broadcast pinned to the hash at creation: the URL replaced mid-way changes nothing; queue times follow the pace', async () => {
  await linkedSession(server, 'pinned');
  const first = await makeJpeg({ seed: 41 });
  origin.put('offer.jpg', first, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const phones = numbers(8);
  // 600 a minute ±50 %: every gap between 50 and 150 ms.
  const created = await createBroadcast(server, 'pinned', {
    name: 'pinned',
    recipients: phones.map((to, i) => ({ to, vars: { name: `N${i}` } })),
    message: { media: { url: `${origin.url}/offer.jpg` }, caption: 'For {{name}}' },
    pace: { perMinute: 600, jitter: 0.5 },
  });
  assert.equal(created.media?.sha256, sha(first));
  const fetches = origin.requests.length;

  await waitFor('the first delivery', async () => ((await deliveries(server, 'pinned')).length > 0 ? true : undefined));
  origin.put('offer.jpg', await makeJpeg({ seed: 42 }), { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const atReplacement = (await deliveries(server, 'pinned')).length;
  await untilStatus(server, created.id, 'completed');
  assert.ok(atReplacement < phones.length, 'the content was replaced before the broadcast ended');

  const got = await deliveries(server, 'pinned');
  assert.deepEqual(
    got.map((d) => [d.sha256, d.caption]),
    phones.map((_, i) => [sha(first), `For N${i}`]),
  );
  assert.equal(origin.requests.length, fetches, 'one fetch at creation served every recipient');
  const rows = await report(server, created.id);
  assert.deepEqual(new Set(rows.map((r) => r.sha256)), new Set([sha(first)]));

  const queued = rows.map((r) => Date.parse(r.queuedAt!));
  for (let i = 1; i < queued.length; i++) {
    // A timer never fires early by more than the clock's rounding; late is the CPU's business, not the policy's.
    assert.ok(queued[i] - queued[i - 1] >= 50 - 2, `gap ${i} is ${queued[i] - queued[i - 1]} ms`);
  }
});

test('without a pace the default applies (6 a minute, ±30 %): the answer shows it and the end it implies', async () => {
  await linkedSession(server, 'paceless');
  const created = await createBroadcast(server, 'paceless', {
    name: 'slow',
    recipients: numbers(3).map((to) => ({ to })),
    message: { text: 'hi' },
  });
  assert.deepEqual((created as unknown as { pace: unknown }).pace, { perMinute: 6, jitter: 0.3 });
  // Three at 6 a minute: about 30 s from now, as the answer says.
  const end = Date.parse(created.expectedEndAt!) - Date.now();
  assert.ok(end > 20_000 && end < 40_000, `expected end in ${end} ms`);
  const cancelled = (await (await server.api(`/api/broadcasts/${created.id}/cancel`, { method: 'POST' })).json()) as { status: string };
  assert.equal(cancelled.status, 'cancelled');
  const rows = await report(server, created.id);
  // The first went at once; the other two were never handed over.
  assert.deepEqual(rows.map((r) => r.status).slice(1), ['skipped', 'skipped']);
});
