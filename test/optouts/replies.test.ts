import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRig, type Rig } from './app-rig.js';
import { waitFor } from '../support/server.js';

let rig: Rig;
before(async () => {
  rig = await startRig();
  await rig.session('shop');
  await rig.session('other');
});
after(() => rig.close());

const customer = '4915200000100@s.whatsapp.net';
interface Answer {
  id: string;
  status: string;
  replyTo?: string;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}
const send = async (body: Record<string, unknown>, session = 'shop') => {
  const res = await rig.api(`/api/sessions/${session}/messages`, { method: 'POST', json: body });
  return { status: res.status, body: (await res.json()) as Answer };
};
const deliveredTo = (session: string, jid: string) =>
  waitFor('the deliveries', async () => {
    const items = (await (await rig.api(`/api/sessions/${session}/sandbox/deliveries`)).json()) as {
      items: { to: string; text?: string }[];
    };
    return items.items;
  }).then((items) => items.filter((d) => d.to === jid).map((d) => d.text));

test('a send to an opted-out number is 409 opted_out, naming the number and how to remove it; nothing is queued', async () => {
  assert.equal((await rig.api('/api/sessions/shop/opt-outs', { method: 'POST', json: { phone: '+49 152 0000 0100' } })).status, 201);
  const refused = await send({ to: '+4915200000100', text: 'Our summer sale!' });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error?.code, 'opted_out');
  assert.match(refused.body.error!.message, /\+4915200000100 opted out of messages from session "shop"/);
  assert.match(refused.body.error!.message, /replyTo/);
  assert.match(refused.body.error!.message, /DELETE \/api\/sessions\/shop\/opt-outs\/4915200000100/);
  assert.deepEqual(refused.body.error?.details, {
    phone: '4915200000100',
    source: 'api',
    createdAt: (refused.body.error?.details as { createdAt: string }).createdAt,
  });
  // Media is not fetched for a refused send either: a URL nobody serves would otherwise be the error.
  const media = await send({ to: customer, media: { url: 'http://127.0.0.1:9/nothing.jpg' } });
  assert.equal(media.body.error?.code, 'opted_out');
  assert.deepEqual(
    rig.seen.filter((e) => e.type === 'message' && e.message.to === customer),
    [],
  );
  // Another session's list is its own.
  assert.equal((await send({ to: customer, text: 'hello' }, 'other')).status, 202);
});

test('a reply to a message that customer sent goes through, quoting it; the record shows replyTo', async () => {
  const question = await rig.inbound('shop', customer, 'Where is my order?');
  const reply = await send({ to: '+4915200000100', text: 'It ships today.', replyTo: question.id });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  assert.equal(reply.body.replyTo, question.id);
  const record = await waitFor('sent', async () => {
    const m = (await (await rig.api(`/api/messages/${reply.body.id}`)).json()) as Answer;
    return ['sent', 'delivered', 'read'].includes(m.status) ? m : undefined;
  });
  assert.equal(record.replyTo, question.id);
  assert.deepEqual(await deliveredTo('shop', customer), ['It ships today.']);
});

test('replyTo is allowed on any send, and must name a message from that recipient on that session: else 404', async () => {
  const stranger = '4915200000200@s.whatsapp.net';
  const fromStranger = await rig.inbound('shop', stranger, 'hi');
  const ok = await send({ to: stranger, text: 'hello', replyTo: fromStranger.id });
  assert.deepEqual([ok.status, ok.body.replyTo], [202, fromStranger.id]);

  const onOther = await rig.inbound('other', customer, 'hi there');
  const inGroup = await rig.inbound('shop', customer, 'hi all', { chat: '120363000000000009@g.us' });
  for (const [replyTo, why] of [
    ['in_nothing', 'an id the inbox does not know'],
    [fromStranger.id, "another customer's message"],
    [onOther.id, "the customer's message to another session"],
  ] as const) {
    const refused = await send({ to: customer, text: 'sneaky', replyTo });
    assert.deepEqual([refused.status, refused.body.error?.code], [404, 'reply_target_not_found'], why);
  }
  // Their message in a group may be answered in the group, or to them directly.
  assert.equal((await send({ to: '120363000000000009@g.us', text: 'hello group', replyTo: inGroup.id })).status, 202);
  assert.equal((await send({ to: customer, text: 'privately', replyTo: inGroup.id })).status, 202);
  assert.deepEqual((await send({ to: customer, text: 'x', replyTo: '' })).body.error?.code, 'invalid_request');
});
