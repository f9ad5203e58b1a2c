import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { answer, deliveryOf, linkedSession, wasender, type LinkedSession } from './messages-rig.js';

/** WASenderApi's message routes through plain HTTP, as its docs describe them: text, info, numbers, presence, pacing. */
let server: StartedServer;
let shop: LinkedSession;
let call: ReturnType<typeof wasender>;
before(async () => {
  server = await startServer();
  call = wasender(server);
  shop = await linkedSession(server);
});
after(() => server.close());

const send = (body: unknown, key = shop.apiKey) => call(key, '/send-message', { method: 'POST', json: body });

test('a text: { success, data: { msgId (integer), jid, status } }, then its info with WhatsApp numeric status', async () => {
  const res = await send({ to: '+4915123456789', text: 'Your order has shipped', messageType: 'text' });
  assert.equal(res.status, 200);
  const body = await answer(res);
  const data = body.data as { msgId: number; jid: string; status: string };
  assert.equal(body.success, true);
  assert.ok(Number.isSafeInteger(data.msgId) && data.msgId > 0, `msgId ${data.msgId}`);
  assert.equal(data.jid, '+4915123456789');
  assert.equal(data.status, 'in_progress');

  const next = (await answer(await send({ to: '+4915123456780', text: 'second' }))).data as { msgId: number };
  assert.ok(next.msgId > data.msgId, 'msgIds count up');

  // The sandbox delivers, then reads: 3 (delivered) then 4 (read), WhatsApp's own numbers.
  const info = await waitFor('the message read', async () => {
    const got = (await answer(await call(shop.apiKey, `/messages/${data.msgId}/info`))).data as Record<string, unknown>;
    return got.status === 4 ? got : undefined;
  });
  assert.equal(info.msgId, data.msgId);
  assert.equal(info.remoteJid, '4915123456789@s.whatsapp.net');
  assert.deepEqual(info.message, { conversation: 'Your order has shipped' });
  assert.match(info.messageTimestamp as string, /^\d{10}$/);
  assert.deepEqual(info.key, { remoteJid: '4915123456789@s.whatsapp.net', fromMe: true, id: info.id });
});

test("info: an unknown msgId, a non-number and another session's message are 404/422 in its error shape", async () => {
  const mine = (await answer(await send({ to: '+4915123456789', text: 'mine' }))).data as { msgId: number };
  const other = await linkedSession(server);
  const theirs = await call(other.apiKey, `/messages/${mine.msgId}/info`);
  assert.equal(theirs.status, 404);
  const body = await answer(theirs);
  assert.equal(body.success, false);
  assert.equal(typeof body.message, 'string');
  assert.equal((await call(shop.apiKey, '/messages/999999/info')).status, 404);
  const bad = await call(shop.apiKey, '/messages/abc/info');
  assert.equal(bad.status, 422);
  assert.ok((await answer(bad)).errors?.msgId);
});

test('refused in its shape: no content, two kinds at once, a bad recipient, a bad card, viewOnce without media; poll is 501 by name', async () => {
  const empty = await send({ to: '+4915123456789' });
  assert.equal(empty.status, 422);
  const emptyBody = await answer(empty);
  assert.equal(emptyBody.success, false);
  assert.deepEqual(emptyBody.errors, { text: ['The text field is required when no media is present.'] });

  const missingTo = await answer(await send({ text: 'hi' }));
  assert.ok(missingTo.errors?.to, 'to is required');

  const two = await send({ to: '+4915123456789', imageUrl: 'https://a.example/x.jpg', videoUrl: 'https://a.example/x.mp4' });
  assert.equal(two.status, 422);
  assert.ok((await answer(two)).errors?.videoUrl);

  const recipient = await send({ to: 'not a number', text: 'hi' });
  assert.equal(recipient.status, 400);
  assert.match((await answer(recipient)).message ?? '', /not a recipient/);

  const both = await send({ to: '+4915123456789', imageUrl: 'https://a.example/x.jpg', location: { latitude: 1, longitude: 2 } });
  assert.equal(both.status, 422);
  assert.ok((await answer(both)).errors?.location);
  const badCard = await send({ to: '+4915123456789', location: { latitude: 91, longitude: 'east' } });
  assert.equal(badCard.status, 422);
  assert.ok(Object.keys((await answer(badCard)).errors ?? {}).some((k) => k.startsWith('location')));
  const captioned = await send({ to: '+4915123456789', text: 'here', contact: { name: 'Ann', phone: '+4915100000002' } });
  assert.equal(captioned.status, 422);

  const onceText = await send({ to: '+4915123456789', text: 'hi', viewOnce: true });
  assert.equal(onceText.status, 422);
  assert.ok((await answer(onceText)).errors?.viewOnce);

  const poll = await send({ to: '+4915123456789', poll: { question: 'Which?', options: ['a', 'b'] } });
  assert.equal(poll.status, 501);
  const refused = await answer(poll);
  assert.equal(refused.success, false);
  assert.match(refused.message ?? '', /poll/);
});

test("a contact card and a location are delivered as such, and their info shows WhatsApp's message fields", async () => {
  const contact = (await answer(await send({ to: '+4915123456789', contact: { name: 'Ann; Sales', phone: '+49 151 0000 0002' } })))
    .data as {
    msgId: number;
  };
  const location = (
    await answer(
      await send({ to: '+4915123456789', location: { latitude: '52.52', longitude: 13.405, name: 'Shop', address: 'Main St 1' } }),
    )
  ).data as { msgId: number };
  assert.deepEqual((await deliveryOf(server, shop, contact.msgId)).contact, { name: 'Ann; Sales', phone: '+49 151 0000 0002' });
  assert.deepEqual((await deliveryOf(server, shop, location.msgId)).location, {
    latitude: 52.52,
    longitude: 13.405,
    name: 'Shop',
    address: 'Main St 1',
  });
  const info = (await answer(await call(shop.apiKey, `/messages/${contact.msgId}/info`))).data as {
    message: { contactMessage: { displayName: string; vcard: string } };
  };
  assert.equal(info.message.contactMessage.displayName, 'Ann; Sales');
  assert.match(info.message.contactMessage.vcard, /FN:Ann\\; Sales\nTEL;type=CELL;type=VOICE;waid=4915100000002:\+4915100000002/);
});

test('replyTo an inbox id quotes a received message; an unknown msgId is 404', async () => {
  const inbound = await server.api(`/api/sessions/${shop.hashsendId}/sandbox/inbound`, {
    method: 'POST',
    json: { from: '+4915123450000', text: 'Is it in stock?' },
  });
  assert.equal(inbound.status, 202);
  const inboxId = await waitFor('the inbound message stored', async () => {
    const page = (await (await server.api(`/api/sessions/${shop.hashsendId}/inbox`)).json()) as { items: { id: string }[] };
    return page.items[0]?.id;
  });
  const reply = await send({ to: '+4915123450000', text: 'Yes', replyTo: inboxId });
  assert.equal(reply.status, 200);
  const { msgId } = (await answer(reply)).data as { msgId: number };
  const info = (await answer(await call(shop.apiKey, `/messages/${msgId}/info`))).data as { hashsend: { id: string } };
  const record = (await (await server.api(`/api/messages/${info.hashsend.id}`)).json()) as { replyTo?: string };
  assert.equal(record.replyTo, inboxId);
  const unknown = await send({ to: '+4915123450000', text: 'Yes', replyTo: 987654 });
  assert.equal(unknown.status, 404);
  assert.equal((await answer(unknown)).success, false);
});

test('mentions go out with the text: WhatsApp highlights (and in a group notifies) them', async () => {
  const res = await send({ to: '120363000000000001@g.us', text: 'Hi @4915123456789', mentions: ['4915123456789', '+49 151 2345 6780'] });
  assert.equal(res.status, 200);
  const { msgId, jid } = (await answer(res)).data as { msgId: number; jid: string };
  assert.equal(jid, '120363000000000001@g.us');
  assert.deepEqual((await deliveryOf(server, shop, msgId)).mentions, ['4915123456789@s.whatsapp.net', '4915123456780@s.whatsapp.net']);
  const bad = await send({ to: '+4915123456789', text: 'Hi', mentions: ['nobody'] });
  assert.equal(bad.status, 400);
  assert.equal((await answer(bad)).success, false);
});

test('on-whatsapp: the sandbox says yes for a valid number; a malformed one is refused in its shape', async () => {
  const res = await call(shop.apiKey, `/on-whatsapp/${encodeURIComponent('+4915123456789')}`);
  assert.equal(res.status, 200);
  assert.deepEqual(await answer(res), { success: true, data: { exists: true, jid: '4915123456789@s.whatsapp.net' } });
  const bad = await call(shop.apiKey, '/on-whatsapp/hello');
  assert.equal(bad.status, 400);
  assert.equal((await answer(bad)).success, false);
});

test('send-presence-update: shown in the chat; with delayMs the typing indicator is taken back (paused)', async () => {
  const res = await call(shop.apiKey, '/send-presence-update', {
    method: 'POST',
    json: { jid: '+4915123456789', type: 'composing', delayMs: 50 },
  });
  assert.equal(res.status, 200);
  assert.equal((await answer(res)).success, true);
  const presences = await waitFor('composing, then paused', async () => {
    const items = (
      (await (await server.api(`/api/sessions/${shop.hashsendId}/sandbox/presences`)).json()) as {
        items: { presence: string; jid: string }[];
      }
    ).items;
    return items.length >= 2 ? items : undefined;
  });
  assert.deepEqual(
    presences.map((p) => [p.presence, p.jid]),
    [
      ['composing', '4915123456789@s.whatsapp.net'],
      ['paused', '4915123456789@s.whatsapp.net'],
    ],
  );
  const bad = await call(shop.apiKey, '/send-presence-update', { method: 'POST', json: { jid: '+4915123456789', type: 'dancing' } });
  assert.equal(bad.status, 422);
  assert.ok((await answer(bad)).errors?.type);
});

test('account_protection: one message per window; the next is 429 with retry_after and X-RateLimit-* headers', async () => {
  const careful = await linkedSession(server, { accountProtection: true });
  // A send refused before it was queued does not use the window.
  const refused = await send({ to: '+4915123456789', poll: { question: 'A?' } }, careful.apiKey);
  assert.equal(refused.status, 501);

  const first = await send({ to: '+4915123456789', text: 'one' }, careful.apiKey);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('x-ratelimit-limit'), '1');
  assert.equal(first.headers.get('x-ratelimit-remaining'), '0');
  const reset = Number(first.headers.get('x-ratelimit-reset'));
  assert.ok(reset > Date.now() / 1000 - 1, 'reset is a Unix time in seconds, ahead');

  const second = await send({ to: '+4915123456789', text: 'two' }, careful.apiKey);
  assert.equal(second.status, 429);
  const body = await answer(second);
  assert.equal(body.success, false);
  assert.ok(Number.isInteger(body.retry_after) && body.retry_after! >= 1 && body.retry_after! <= 5, `retry_after ${body.retry_after}`);
  assert.equal(second.headers.get('x-ratelimit-limit'), '1');
  assert.equal(second.headers.get('x-ratelimit-remaining'), '0');
  assert.equal(second.headers.get('retry-after'), String(body.retry_after));

  // Without account protection nothing is paced.
  for (const text of ['a', 'b', 'c']) assert.equal((await send({ to: '+4915123456789', text })).status, 200);
});

test('a wrong key is 401, a personal access token 403, both in its shape', async () => {
  const wrong = await send({ to: '+4915123456789', text: 'x' }, 'not-a-key');
  assert.equal(wrong.status, 401);
  assert.equal((await answer(wrong)).success, false);
  const pat = await send({ to: '+4915123456789', text: 'x' }, server.apiKey);
  assert.equal(pat.status, 403);
});
