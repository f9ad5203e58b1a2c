import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { DriverEvent } from '../../../src/whatsapp/driver.ts';
import { signature } from '../../support/fake-graph/index.ts';
import {
  APP_SECRET,
  CUSTOMER,
  CUSTOMER_JID,
  PHONE_NUMBER_ID,
  VERIFY_TOKEN,
  notification,
  sha256,
  startHarness,
  textTo,
} from './harness.ts';

const receipts = (events: DriverEvent[], id?: string) =>
  events.filter((e): e is Extract<DriverEvent, { type: 'receipt' }> => e.type === 'receipt' && (!id || e.waMessageId === id));
const inbound = (events: DriverEvent[]) => events.filter((e): e is Extract<DriverEvent, { type: 'inbound' }> => e.type === 'inbound');
const statusBody = (id: string, status = 'delivered', phoneNumberId = PHONE_NUMBER_ID) =>
  notification({ statuses: [{ id, status, timestamp: '1764590000', recipient_id: CUSTOMER }] }, phoneNumberId);

test("Meta's webhook handshake: the challenge comes back for the session's verify token, 403 for another", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const ok = await h.graph.verifyCallback(PHONE_NUMBER_ID, VERIFY_TOKEN);
  assert.equal(ok.ok, true);
  const wrong = await h.graph.verifyCallback(PHONE_NUMBER_ID, 'not-the-token');
  assert.deepEqual([wrong.ok, wrong.status, JSON.parse(wrong.body).error.code], [false, 403, 'verify_token_mismatch']);
  const res = await fetch(`${h.hookUrl}?hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`);
  assert.equal(res.status, 403);
});

test('a POST without a valid X-Hub-Signature-256 is refused with 401 and nothing in it is read', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const { waMessageId } = await h.session.send(textTo('x'));
  await h.nextEvent((e) => e.type === 'receipt' && e.status === 'read');
  const before = h.events.length;
  const body = statusBody(waMessageId, 'failed');
  for (const sig of [null, 'sha256=' + '0'.repeat(64), signature('another-app-secret', body), 'garbage']) {
    const res = await h.postHook(body, sig);
    assert.equal(res.status, 401, String(sig));
    assert.equal(JSON.parse(res.body).error.code, 'invalid_signature');
  }
  const tampered = await h.postHook(body.replace('failed', 'read'), signature(APP_SECRET, body));
  assert.equal(tampered.status, 401, 'the signature covers the exact bytes');
  assert.equal((await h.postHook('{not json')).status, 400);
  assert.equal(h.events.length, before, 'no event from any of them');
});

test('a notification for another phone number id is answered 200 and ignored', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const before = h.events.length;
  const res = await h.postHook(statusBody('wamid.OTHER', 'delivered', '999999999999999'));
  assert.equal(res.status, 200);
  assert.equal(h.events.length, before);
  // The same, for this number, is a receipt.
  assert.equal((await h.postHook(statusBody('wamid.OTHER'))).status, 200);
  assert.deepEqual(
    receipts(h.events).map((r) => [r.waMessageId, r.status]),
    [['wamid.OTHER', 'delivered']],
  );
});

test("Meta's statuses become receipts in order: sent, delivered, read", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const { waMessageId } = await h.session.send(textTo('in order'));
  await h.nextEvent((e) => e.type === 'receipt' && e.status === 'read');
  assert.deepEqual(
    receipts(h.events, waMessageId).map((r) => r.status),
    ['sent', 'delivered', 'read'],
  );
  assert.ok(h.graph.webhookPosts().every((p) => p.answered === 200));
});

test('statuses that arrive before send() has returned are held until it has, then emitted in order', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const answer = h.hop.hold((method, path) => method === 'POST' && path.endsWith('/messages'));
  let returnedAt = -1;
  const sending = h.session.send(textTo('early statuses')).then((ref) => ((returnedAt = h.events.length), ref));
  await answer.held;
  // Meta has accepted the message and posted all its statuses; our send has not read Meta's answer yet.
  await h.graph.waitFor((g) => g.webhookPosts().filter((p) => p.kind === 'status' && p.answered === 200).length === 3);
  assert.deepEqual(receipts(h.events), [], 'nothing for an id the outbox cannot know yet');
  answer.release();
  const { waMessageId } = await sending;
  await h.nextEvent((e) => e.type === 'receipt' && e.status === 'read');
  const got = receipts(h.events, waMessageId);
  assert.deepEqual(
    got.map((r) => r.status),
    ['sent', 'delivered', 'read'],
  );
  assert.ok(h.events.indexOf(got[0]) >= returnedAt, 'the first receipt comes after send() returned');
});

test("a customer's text arrives as an inbound message with their profile name", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const { id } = await h.graph.receive(PHONE_NUMBER_ID, { from: CUSTOMER, text: 'is the shop open?', name: 'Ada' });
  const e = await h.nextEvent((x) => x.type === 'inbound');
  assert.equal(e.type, 'inbound');
  const m = (e as Extract<DriverEvent, { type: 'inbound' }>).message;
  assert.deepEqual(
    { ...m, timestamp: undefined },
    {
      waMessageId: id,
      chat: CUSTOMER_JID,
      from: CUSTOMER_JID,
      pushName: 'Ada',
      timestamp: undefined,
      content: { type: 'text', text: 'is the shop open?' },
    },
  );
  assert.ok(Date.parse(m.timestamp) > 0);
});

test("a customer's image is downloaded with the token, checked against the webhook's sha256 and stored under it", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const bytes = randomBytes(3000);
  await h.graph.receive(PHONE_NUMBER_ID, { from: CUSTOMER, media: { bytes, mimeType: 'image/jpeg', type: 'image', caption: 'this one' } });
  const e = (await h.nextEvent((x) => x.type === 'inbound')) as Extract<DriverEvent, { type: 'inbound' }>;
  assert.deepEqual(e.message.content, {
    type: 'media',
    as: 'image',
    sha256: sha256(bytes),
    mimetype: 'image/jpeg',
    size: 3000,
    caption: 'this one',
  });
  assert.deepEqual(await h.blobs.read(sha256(bytes)), bytes);
});

test('inbound media whose bytes are not the declared sha256 is not stored, and later messages still arrive', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const real = randomBytes(800);
  // A real media id at Meta, announced with another content's hash.
  const { mediaId } = await h.graph.receive(PHONE_NUMBER_ID, {
    from: CUSTOMER,
    media: { bytes: real, mimeType: 'image/jpeg', type: 'image' },
  });
  await h.nextEvent((x) => x.type === 'inbound');
  const claimed = randomBytes(32);
  const body = notification({
    contacts: [{ profile: { name: 'Eve' }, wa_id: CUSTOMER }],
    messages: [
      {
        from: CUSTOMER,
        id: 'wamid.LIE',
        timestamp: '1764590000',
        type: 'image',
        image: { id: mediaId, mime_type: 'image/jpeg', sha256: claimed.toString('base64') },
      },
      { from: CUSTOMER, id: 'wamid.AFTER', timestamp: '1764590001', type: 'text', text: { body: 'after' } },
    ],
  });
  assert.equal((await h.postHook(body)).status, 200);
  await h.nextEvent((x) => x.type === 'inbound' && x.message.waMessageId === 'wamid.AFTER');
  assert.equal(
    inbound(h.events).find((x) => x.message.waMessageId === 'wamid.LIE'),
    undefined,
  );
  assert.equal(await h.blobs.has(claimed.toString('hex')), false);
});

test('replies name the message they answer; reactions name theirs', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const body = notification({
    contacts: [{ profile: { name: 'Ada' }, wa_id: CUSTOMER }],
    messages: [
      {
        from: CUSTOMER,
        id: 'wamid.R1',
        timestamp: '1764590000',
        type: 'text',
        text: { body: 'yes please' },
        context: { from: '15550100199', id: 'wamid.OURS' },
      },
      { from: CUSTOMER, id: 'wamid.R2', timestamp: '1764590001', type: 'reaction', reaction: { message_id: 'wamid.OURS', emoji: '👍' } },
      { from: CUSTOMER, id: 'wamid.R3', timestamp: '1764590002', type: 'button', button: { text: 'Stop promotions', payload: 'STOP' } },
      { from: CUSTOMER, id: 'wamid.R4', timestamp: '1764590003', type: 'location', location: { latitude: 1, longitude: 2 } },
      { from: CUSTOMER, id: 'wamid.R5', timestamp: '1764590004', type: 'text', text: { body: 'last' } },
    ],
  });
  assert.equal((await h.postHook(body)).status, 200);
  await h.nextEvent((x) => x.type === 'inbound' && x.message.waMessageId === 'wamid.R5');
  const got = inbound(h.events).map((e) => e.message);
  assert.deepEqual(
    got.map((m) => [m.waMessageId, m.replyTo, m.content, m.pushName]),
    [
      ['wamid.R1', 'wamid.OURS', { type: 'text', text: 'yes please' }, 'Ada'],
      ['wamid.R2', undefined, { type: 'reaction', messageId: 'wamid.OURS', emoji: '👍' }, 'Ada'],
      ['wamid.R3', undefined, { type: 'text', text: 'Stop promotions' }, 'Ada'],
      // A location is not a kind hashsend's inbox takes: left out, and the next message still comes.
      ['wamid.R5', undefined, { type: 'text', text: 'last' }, 'Ada'],
    ],
  );
});
