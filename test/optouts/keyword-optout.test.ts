import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HashsendEvent, MessageEvent } from '../../src/events/types.js';
import { isOptOut, startRig, type Rig } from './app-rig.js';

const CONFIRMATION = 'You will get no more messages from us.';
let rig: Rig;
before(async () => {
  rig = await startRig({ OPTOUT_CONFIRMATION: CONFIRMATION });
  await rig.session('shop');
});
after(() => rig.close());

const optOutsOf = (phone: string) => rig.seen.filter((e) => isOptOut(e) && e.optOut.phone === phone);
const sentTo =
  (jid: string) =>
  (e: HashsendEvent): e is MessageEvent =>
    e.type === 'message' && e.message.to === jid && e.message.status === 'sent';

test('"Stop!" from a customer puts them on the list once, announces it once and answers once, quoting their message', async () => {
  const jid = '4915200000001@s.whatsapp.net';
  const added = rig.next(isOptOut);
  const answered = rig.next(sentTo(jid));
  const stop = await rig.inbound('shop', jid, '  Stop! ');
  const { optOut } = await added;
  assert.deepEqual(optOut, {
    sessionId: 'shop',
    phone: '4915200000001',
    jid,
    source: 'keyword',
    messageId: stop.id,
    createdAt: optOut.createdAt,
  });
  const { message } = await answered;
  assert.equal(message.content.type === 'text' && message.content.text, CONFIRMATION);
  assert.equal(message.replyTo, stop.id);
  assert.deepEqual(message.quoted, { waMessageId: stop.waMessageId, from: jid, chat: jid });
  const shown = (await (await rig.api(`/api/messages/${message.id}`)).json()) as { replyTo?: string };
  assert.equal(shown.replyTo, stop.id);

  // A second keyword from them changes nothing. Another customer's keyword, after it, marks when the second was
  // handled: one session's list changes one at a time, in the order the messages came.
  const again = await rig.inbound('shop', jid, 'STOP');
  const other = rig.next(isOptOut);
  await rig.inbound('shop', '4915200000002@s.whatsapp.net', 'unsubscribe');
  assert.equal((await other).optOut.phone, '4915200000002');
  assert.equal(optOutsOf('4915200000001').length, 1);
  const listed = (await (await rig.api('/api/sessions/shop/opt-outs/4915200000001')).json()) as { messageId: string };
  assert.equal(listed.messageId, stop.id, 'the first opt-out is kept, not the repeat');
  assert.notEqual(again.id, stop.id);
  const confirmations = rig.seen.filter((e) => e.type === 'message' && e.message.to === jid && e.message.status === 'queued');
  assert.equal(confirmations.length, 1, 'answered once');
});

test('a sentence with STOP in it, a group message, a reaction and a keyword with accents: only the direct keyword opts out', async () => {
  const group = '120363000000000001@g.us';
  await rig.inbound('shop', '4915200000010@s.whatsapp.net', 'please stop sending me these');
  await rig.inbound('shop', '4915200000011@s.whatsapp.net', 'STOP', { chat: group });
  await rig.inbound('shop', '4915200000012@s.whatsapp.net', { type: 'reaction', messageId: '3EB0AA', emoji: '🛑' });
  const added = rig.next(isOptOut);
  await rig.inbound('shop', '4915200000013@s.whatsapp.net', 'Arrêt');
  assert.equal((await added).optOut.phone, '4915200000013', 'the first opt-out announced is the accented keyword');
  for (const phone of ['4915200000010', '4915200000011', '4915200000012']) {
    assert.equal((await rig.api(`/api/sessions/shop/opt-outs/${phone}`)).status, 404, phone);
  }
});
