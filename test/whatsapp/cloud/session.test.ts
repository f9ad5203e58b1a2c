import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/log.ts';
import { parseDriverOptions } from '../../../src/whatsapp/session-options.ts';
import { ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, SESSION_ID, VERIFY_TOKEN, startHarness, textTo } from './harness.ts';

const stateOf = (e: { type: string }) => e.type === 'state';

test("a good token connects the session and names the number; pairing codes are not the Cloud API's", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  assert.deepEqual(
    h.events.filter(stateOf).map((e) => (e as { state: string }).state),
    ['starting', 'connected'],
  );
  assert.deepEqual(
    h.events.find((e) => e.type === 'me'),
    { type: 'me', id: '15550100199@s.whatsapp.net', name: 'Hashsend Test Shop' },
  );
  const check = h.graph.requests().find((r) => r.path === `/v23.0/${PHONE_NUMBER_ID}`);
  assert.equal(check?.status, 200);
  await assert.rejects(h.session.requestPairingCode('4915123456789'), { code: 'unsupported_by_driver', status: 422 });
});

test('an expired token puts the session in needs_relink with what to do', async (t) => {
  const h = await startHarness({ start: false });
  t.after(() => h.close());
  h.graph.expireToken(ACCESS_TOKEN);
  await h.session.start();
  const last = h.events.filter(stateOf).at(-1) as { state: string; reason?: string; code?: number };
  assert.equal(last.state, 'needs_relink');
  assert.equal(last.code, 190);
  assert.match(last.reason ?? '', /access token is invalid or expired: give a new one with PATCH \/api\/sessions\/biz/);
  assert.ok(!last.reason?.includes(ACCESS_TOKEN), 'the token is never in a reason');
  await assert.rejects(h.session.send(textTo('hello')), { code: 'session_not_connected', status: 503 });
});

test('a token that expires under a send fails it with token_expired and the session goes needs_relink', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  h.graph.expireToken(ACCESS_TOKEN);
  const err = await h.session.send(textTo('hello')).then(
    () => assert.fail('sent with an expired token'),
    (e: { code: string; status: number; message: string; details: Record<string, unknown> }) => e,
  );
  assert.equal(err.code, 'token_expired');
  assert.equal(err.status, 503, 'the outbox keeps the message for when the token is renewed');
  assert.equal(err.details.metaCode, 190);
  assert.ok(!JSON.stringify(err).includes(ACCESS_TOKEN) && !err.message.includes(ACCESS_TOKEN));
  assert.equal((h.events.filter(stateOf).at(-1) as { state: string }).state, 'needs_relink');
});

test('Graph API unreachable: reconnecting, retried with backoff until it answers', async (t) => {
  const h = await startHarness({ start: false });
  t.after(() => h.close());
  h.hop.setDown(true);
  await h.session.start();
  assert.equal((h.events.filter(stateOf).at(-1) as { state: string }).state, 'reconnecting');
  // Two failed checks in a row: the session keeps trying, not once and done.
  await h.nextEvent(
    (e) =>
      e.type === 'state' &&
      e.state === 'reconnecting' &&
      h.events.filter((x) => x.type === 'state' && x.state === 'reconnecting').length >= 2,
  );
  h.hop.setDown(false);
  await h.nextEvent((e) => e.type === 'state' && e.state === 'connected');
  const sent = await h.session.send(textTo('back'));
  assert.match(sent.waMessageId, /^wamid\./);
});

test('stop() while reconnecting clears the retry timer', async (t) => {
  // A retry a minute away: if stop() left it, it would still be pending after stop.
  const h = await startHarness({ start: false, driver: { backoff: { baseMs: 60_000, maxMs: 60_000, random: () => 0.5 } } });
  t.after(() => h.close());
  h.hop.setDown(true);
  await h.session.start();
  assert.equal((h.events.filter(stateOf).at(-1) as { state: string }).state, 'reconnecting');
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  await h.session.stop();
  assert.equal(timers(), before - 1);
  await assert.rejects(h.session.send(textTo('x')), { code: 'session_not_connected' });
});

test('options: digits for the number id, a verify token of 8+, upload by default; the view shows no secret', async (t) => {
  const h = await startHarness({ start: false });
  t.after(() => h.close());
  const spec = h.driver.options!;
  const parsed = spec.schema.parse({
    phoneNumberId: PHONE_NUMBER_ID,
    accessToken: ACCESS_TOKEN,
    appSecret: APP_SECRET,
    verifyToken: VERIFY_TOKEN,
  });
  assert.equal(parsed.mediaMode, 'upload');
  const view = spec.view(parsed, SESSION_ID);
  assert.deepEqual(view, { phoneNumberId: PHONE_NUMBER_ID, mediaMode: 'upload', verifyToken: VERIFY_TOKEN, webhookPath: '/hooks/biz' });
  assert.ok(!JSON.stringify(view).includes(ACCESS_TOKEN) && !JSON.stringify(view).includes(APP_SECRET));
  assert.throws(() => parseDriverOptions(h.driver as never, { ...parsed, phoneNumberId: '+1 555 0100' }), {
    code: 'invalid_request',
    status: 400,
  });
  assert.throws(() => parseDriverOptions(h.driver as never, { ...parsed, verifyToken: 'short' }), { code: 'invalid_request' });
  assert.throws(() => parseDriverOptions(h.driver as never, { ...parsed, accessToken: undefined }), { code: 'invalid_request' });
  // Link mode needs a public address this server serves /m/ at: refused when the session is made, not at its first send.
  assert.throws(() => parseDriverOptions(h.driver as never, { ...parsed, mediaMode: 'link' }), {
    code: 'public_media_required',
    status: 422,
  });
});

test('tokens and app secrets never reach the log', () => {
  const lines: string[] = [];
  const log = createLogger('info', new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  log.info({ options: { accessToken: ACCESS_TOKEN, appSecret: APP_SECRET }, accessToken: ACCESS_TOKEN }, 'creating a session');
  log.info({ session: { options: { accessToken: ACCESS_TOKEN, appSecret: APP_SECRET } } }, 'nested');
  const out = lines.join('');
  assert.ok(!out.includes(ACCESS_TOKEN) && !out.includes(APP_SECRET), out);
});
