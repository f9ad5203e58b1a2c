import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeJpeg } from '../../support/media-fixtures.js';
import { waitFor } from '../../support/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver.js';
import { verifyWebhookSignature } from '../../../src/webhooks/signature.ts';
import { sha256, startHarness, type Harness } from './harness.js';

// The simulator's phones against hashsend as a process, Baileys driver: each call resolves only once hashsend's
// Baileys receipted the message, i.e. decrypted it; what a user sees is the inbox and the message.received webhook.
const LINKED = '15550100041';
const CUSTOMER = '15557790041';
const CUSTOMER_JID = `${CUSTOMER}@s.whatsapp.net`;
let h: Harness;
let receiver: WebhookReceiver;
let secret: string;
before(async () => {
  [h, receiver] = await Promise.all([startHarness({ env: { WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } }), startWebhookReceiver()]);
  await h.link('shop', LINKED);
  const hook = await h.server.api('/api/webhooks', { method: 'POST', json: { url: receiver.url, events: ['message.received'] } });
  assert.equal(hook.status, 201);
  ({ secret } = (await hook.json()) as { secret: string });
});
after(() => Promise.all([h.close(), receiver.close()]));

interface InboxItem {
  id: string;
  waMessageId: string;
  chat: string;
  from: string;
  pushName?: string;
  replyTo?: string;
  content: {
    type: string;
    text?: string;
    sha256?: string;
    mimetype?: string;
    caption?: string;
    filename?: string;
    messageId?: string;
    emoji?: string;
  };
  media?: { sha256: string; url: string };
}

const inbox = async () => ((await (await h.server.api('/api/sessions/shop/inbox?limit=50')).json()) as { items: InboxItem[] }).items;
const inboxHas = (count: number) =>
  waitFor(`${count} messages in the inbox`, async () => {
    const items = await inbox();
    return items.length >= count ? items : undefined;
  });

test("a phone's text, reply, reaction, image and document reach the inbox, media under the sha256 of the bytes the phone sent", async () => {
  const text = await h.sim.sendText(CUSTOMER, LINKED, 'hi, is this the shop?', { pushName: 'Ana' });
  const reply = await h.sim.sendText(CUSTOMER, LINKED, 'hello?', { quotedId: text.id });
  const reaction = await h.sim.sendReaction(CUSTOMER, LINKED, text.id, '👍');
  const photo = await makeJpeg({ seed: 41 });
  const image = await h.sim.sendMedia(CUSTOMER, LINKED, { bytes: photo, mimetype: 'image/jpeg', kind: 'image', caption: 'this one' });
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
  const doc = await h.sim.sendMedia(CUSTOMER, LINKED, {
    bytes: pdf,
    mimetype: 'application/pdf',
    kind: 'document',
    fileName: 'invoice.pdf',
  });
  assert.equal(image.sha256, sha256(photo));
  assert.equal(doc.sha256, sha256(pdf));

  const items = await inboxHas(5);
  const byWa = new Map(items.map((i) => [i.waMessageId, i]));
  assert.deepEqual(
    items.map((i) => i.waMessageId),
    [doc.id, image.id, reaction.id, reply.id, text.id],
    'newest first, each once',
  );
  for (const item of items) assert.deepEqual([item.chat, item.from], [CUSTOMER_JID, CUSTOMER_JID], 'named by phone number');
  assert.deepEqual([byWa.get(text.id)!.content, byWa.get(text.id)!.pushName], [{ type: 'text', text: 'hi, is this the shop?' }, 'Ana']);
  assert.equal(byWa.get(reply.id)!.replyTo, text.id);
  assert.deepEqual(byWa.get(reaction.id)!.content, { type: 'reaction', messageId: text.id, emoji: '👍' });

  for (const [sent, bytes] of [
    [image, photo],
    [doc, pdf],
  ] as const) {
    const item = byWa.get(sent.id)!;
    assert.equal(item.content.sha256, sent.sha256);
    assert.equal(item.media?.url, `/api/media/${sent.sha256}/content`);
    const content = await h.server.api(item.media!.url);
    assert.equal(content.status, 200);
    assert.ok(Buffer.from(await content.arrayBuffer()).equals(bytes), 'the stored content is the bytes the phone sent');
  }
  assert.equal(byWa.get(image.id)!.content.caption, 'this one');
  assert.equal(byWa.get(doc.id)!.content.filename, 'invoice.pdf');

  // The same five as message.received webhooks, signed, the media with the sha256 of the phone's bytes.
  const hooks = await waitFor('five message.received webhooks', async () =>
    receiver.accepted().length >= 5 ? receiver.accepted() : undefined,
  );
  assert.deepEqual(
    hooks.map((d) => (d.body.data as { waMessageId: string }).waMessageId),
    [text.id, reply.id, reaction.id, image.id, doc.id],
  );
  for (const d of hooks)
    assert.equal(verifyWebhookSignature({ payload: d.raw, header: d.headers['x-hashsend-signature'] as string, secret }).ok, true);
  const mediaOf = (id: string) =>
    (hooks.find((d) => (d.body.data as { waMessageId: string }).waMessageId === id)!.body.data as unknown as InboxItem).media;
  assert.deepEqual(mediaOf(image.id), { sha256: image.sha256, url: `/api/media/${image.sha256}/content` });
  assert.deepEqual(mediaOf(doc.id), { sha256: doc.sha256, url: `/api/media/${doc.sha256}/content` });
});

test('media whose bytes do not hash to what the sender declared is not stored', async () => {
  const before = (await inbox()).length;
  const bytes = await makeJpeg({ seed: 42 });
  await h.sim.sendMedia(CUSTOMER, LINKED, { bytes, mimetype: 'image/jpeg', kind: 'image', corruptSha: true });
  // A text after it, handled after it (one message at a time per socket), marks that the image was dealt with.
  const marker = await h.sim.sendText(CUSTOMER, LINKED, 'did you get it?');
  const items = await inboxHas(before + 1);
  assert.equal(items[0].waMessageId, marker.id);
  assert.equal(items.length, before + 1, 'the mismatched image is not in the inbox');
  assert.equal((await h.server.api(`/api/media/${sha256(bytes)}`)).status, 404);
});
