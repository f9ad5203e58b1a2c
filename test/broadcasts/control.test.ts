import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { openEventStream } from '../support/sse.js';
import {
  broadcast,
  createBroadcast,
  deliveries,
  json,
  linkedSession,
  numbers,
  report,
  untilStatus,
  type BroadcastBody,
} from './helpers.js';

let server: StartedServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const post = async (route: string) => json<BroadcastBody>(await server.api(route, { method: 'POST' }));
const inject = (session: string, failure: object) =>
  server.api(`/api/sessions/${session}/sandbox/failures`, { method: 'POST', json: failure });

test('a run of failed sends pauses the broadcast with a reason; resumed, it completes', async () => {
  await linkedSession(server, 'blocked');
  // Refused for good, as a blocked number's sends are: each fails at once, with no retry.
  await inject('blocked', { count: 5, code: 'send_refused', status: 400 });
  const phones = numbers(20);
  const created = await createBroadcast(server, 'blocked', {
    name: 'blocked',
    recipients: phones.map((to) => ({ to })),
    message: { text: 'hi' },
    pace: { perMinute: 6000 },
  });
  const paused = await untilStatus(server, created.id, 'paused');
  assert.equal(paused.pausedReason?.code, 'too_many_failures');
  await waitFor('the failures counted', async () => ((await broadcast(server, created.id)).counts.failed === 5 ? true : undefined));
  const held = await broadcast(server, created.id);
  assert.ok(held.counts.pending > 0, 'the rest waits');

  const resumed = await post(`/api/broadcasts/${created.id}/resume`);
  assert.equal(resumed.status, 'running');
  assert.equal(resumed.pausedReason, undefined);
  const done = await untilStatus(server, created.id, 'completed');
  assert.equal(done.counts.failed, 5);
  assert.equal(done.counts.sent + done.counts.delivered + done.counts.read, 15);
  const rows = await report(server, created.id);
  assert.deepEqual(
    rows.slice(0, 5).map((r) => [r.status, r.errorCode]),
    Array(5).fill(['failed', 'send_refused']),
  );
  assert.equal((await deliveries(server, 'blocked')).length, 15);
});

test('a rate-limit error pauses at once; pause and resume by hand; progress on the session stream', async () => {
  await linkedSession(server, 'limited');
  const stream = await openEventStream(`${server.url}/api/sessions/limited/events`, { authorization: `Bearer ${server.apiKey}` });
  await inject('limited', { count: 1, code: 'rate_overlimit', status: 429 });
  const created = await createBroadcast(server, 'limited', {
    name: 'limited',
    recipients: numbers(6).map((to) => ({ to })),
    message: { text: 'hi' },
    pace: { perMinute: 6000 },
  });
  const paused = await untilStatus(server, created.id, 'paused');
  assert.equal(paused.pausedReason?.code, 'rate_limited');
  const frame = await stream.next((e) => e.event === 'broadcast' && (e.data as BroadcastBody).status === 'paused');
  assert.equal((frame.data as BroadcastBody).id, created.id);

  assert.equal((await post(`/api/broadcasts/${created.id}/resume`)).status, 'running');
  assert.equal((await post(`/api/broadcasts/${created.id}/pause`)).pausedReason?.code, 'paused');
  assert.equal((await post(`/api/broadcasts/${created.id}/resume`)).status, 'running');
  await untilStatus(server, created.id, 'completed');
  const last = await stream.next((e) => e.event === 'broadcast' && (e.data as BroadcastBody).status === 'completed');
  assert.equal((last.data as BroadcastBody).progress.percent, 100);
  stream.close();
  // The message that met the rate limit was retried by the outbox: every recipient got it once.
  assert.deepEqual(
    (await deliveries(server, 'limited')).map((d) => d.sendAttempts),
    Array(6).fill(1),
  );
});

test('unknown broadcasts are 404 broadcast_not_found, also under another session', async () => {
  await linkedSession(server, 'other');
  const created = await createBroadcast(server, 'other', {
    name: 'x',
    recipients: [{ to: '+4915200000001' }],
    message: { text: 'x' },
    pace: { perMinute: 0 },
  });
  for (const route of ['/api/broadcasts/nope', `/api/sessions/blocked/broadcasts/${created.id}`, '/api/broadcasts/nope/report']) {
    const res = await server.api(route);
    assert.deepEqual([res.status, ((await res.json()) as { error: { code: string } }).error.code], [404, 'broadcast_not_found'], route);
  }
  const list = await json<{ items: BroadcastBody[] }>(await server.api('/api/sessions/other/broadcasts'));
  assert.deepEqual(
    list.items.map((b) => b.id),
    [created.id],
  );
  assert.equal((await server.api(`/api/sessions/other/broadcasts/${created.id}`)).status, 200);
});
