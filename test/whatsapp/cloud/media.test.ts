import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { OutboundContent, SendRequest } from '../../../src/whatsapp/driver.ts';
import { CUSTOMER, CUSTOMER_JID, PHONE_NUMBER_ID, startHarness, type Harness } from './harness.ts';

const image = (sha256: string, extra: Partial<Extract<OutboundContent, { type: 'media' }>> = {}): OutboundContent => ({
  type: 'media',
  as: 'image',
  sha256,
  mimetype: 'image/jpeg',
  size: 0,
  ...extra,
});
let n = 0;
const send = (h: Harness, content: OutboundContent): ReturnType<Harness['session']['send']> =>
  h.session.send({ messageId: `m${++n}`, to: CUSTOMER_JID, content } satisfies SendRequest);
const mediaInfoPath = (method: string, path: string) => method === 'GET' && /^\/v23\.0\/\d+$/.test(path) && !path.endsWith(PHONE_NUMBER_ID);

test('one upload serves every send of one content, concurrent or later; a changed file is a new upload', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const first = await h.blob(randomBytes(2048));
  const refs = await Promise.all(Array.from({ length: 5 }, () => send(h, image(first, { caption: 'our offer' }))));
  refs.push(await send(h, image(first)), await send(h, image(first, { as: 'document', filename: 'offer.jpg' })));
  assert.equal(h.graph.uploads().length, 1);
  assert.equal(h.graph.uploads()[0].sha256, first);
  assert.deepEqual(new Set(refs.map((r) => r.sentSha256)), new Set([first]));
  const sent = h.graph.messages();
  assert.equal(sent.length, 7);
  for (const m of sent) assert.deepEqual([m.media?.via, m.media?.mediaId, m.media?.sha256], ['id', h.graph.uploads()[0].id, first]);
  assert.deepEqual(sent[0].body.image, { id: h.graph.uploads()[0].id, caption: 'our offer' });
  assert.deepEqual(sent[6].body.document, { id: h.graph.uploads()[0].id, filename: 'offer.jpg' });
  assert.deepEqual(new Set(sent.map((m) => m.id)), new Set(refs.map((r) => r.waMessageId)));

  const changed = await h.blob(randomBytes(2048));
  const ref = await send(h, image(changed));
  assert.equal(h.graph.uploads().length, 2);
  assert.equal(ref.sentSha256, changed);
  assert.equal(h.graph.messages().at(-1)?.media?.sha256, changed);
});

test('a media id Meta refuses as expired is uploaded again and the message sent once', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const sha = await h.blob(randomBytes(1024));
  await send(h, image(sha));
  h.graph.expireMedia(h.graph.uploads()[0].id);
  const ref = await send(h, image(sha));
  assert.equal(h.graph.uploads().length, 2);
  assert.equal(ref.sentSha256, sha);
  const sent = h.graph.messages();
  assert.equal(sent.length, 2, 'the refused attempt is not a message');
  assert.equal(sent[1].media?.mediaId, h.graph.uploads()[1].id);
  assert.equal(sent[1].id, ref.waMessageId);
  // And the next send uses the new id without another upload.
  await send(h, image(sha));
  assert.equal(h.graph.uploads().length, 2);
});

test('a media id Meta accepts and then fails (131053) is forgotten: the next send uploads again', async (t) => {
  const h = await startHarness({ graph: { mediaIdErrors: 'async' } });
  t.after(() => h.close());
  const sha = await h.blob(randomBytes(1024));
  await send(h, image(sha));
  h.graph.expireMedia(h.graph.uploads()[0].id);
  const failed = await send(h, image(sha));
  const receipt = await h.nextEvent((e) => e.type === 'receipt' && e.waMessageId === failed.waMessageId && e.status === 'failed');
  assert.equal(receipt.type === 'receipt' && receipt.error?.code, 'media_upload_failed');
  await send(h, image(sha));
  assert.equal(h.graph.uploads().length, 2);
  assert.equal(h.graph.messages().at(-1)?.media?.mediaId, h.graph.uploads()[1].id);
});

test("Meta's sha256 of an upload that is not the blob's: hash_mismatch, nothing sent, nothing cached", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const sha = await h.blob(randomBytes(1024));
  const stop = h.hop.rewrite(mediaInfoPath, (info) => ({ ...info, sha256: 'ab'.repeat(32) }));
  await assert.rejects(send(h, image(sha)), (err: { code: string; status: number; details: Record<string, unknown> }) => {
    assert.equal(err.code, 'hash_mismatch');
    assert.equal(err.status, 422);
    assert.equal(err.details.metaSha256, 'ab'.repeat(32));
    return true;
  });
  assert.equal(h.graph.messages().length, 0);
  assert.equal(await h.store.get(`${PHONE_NUMBER_ID}:${sha}`), undefined);
  assert.equal(h.graph.media(h.graph.uploads()[0].id)?.gone, true, 'the upload is deleted');
  stop();
  const ref = await send(h, image(sha));
  assert.equal(h.graph.uploads().length, 2, 'nothing of the refused upload was reused');
  assert.equal(ref.sentSha256, sha);
});

test("media over Meta's limit for its kind is refused before any upload", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const sha = await h.blob(Buffer.alloc(5 * 1024 * 1024 + 1, 7));
  await assert.rejects(send(h, image(sha)), { code: 'too_large', status: 413 });
  assert.equal(h.graph.uploads().length, 0);
  assert.equal(h.graph.requests().filter((r) => r.method === 'POST').length, 0);
});

test('voice notes go as audio, stickers as stickers, each by its id', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const voice = await h.blob(randomBytes(512));
  await send(h, { type: 'media', as: 'voice', sha256: voice, mimetype: 'audio/ogg; codecs=opus', size: 512 });
  const sticker = await h.blob(randomBytes(512));
  await send(h, { type: 'media', as: 'sticker', sha256: sticker, mimetype: 'image/webp', size: 512 });
  const [a, s] = h.graph.messages();
  assert.deepEqual([a.type, a.body.audio], ['audio', { id: h.graph.uploads()[0].id }]);
  assert.equal(h.graph.uploads()[0].mimeType, 'audio/ogg');
  assert.deepEqual([s.type, s.body.sticker], ['sticker', { id: h.graph.uploads()[1].id }]);
});

test('a template with a header image goes by media id, uploaded once for every template and message using it', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  const sha = await h.blob(randomBytes(4096));
  const template: OutboundContent = {
    type: 'template',
    name: 'spring_offer',
    language: 'en_US',
    components: [
      { type: 'header', parameters: [{ type: 'image', image: { sha256: sha, mimetype: 'image/jpeg', size: 4096 } }] },
      { type: 'body', parameters: [{ type: 'text', text: 'Ada' }] },
      { type: 'button', sub_type: 'quick_reply', index: 0, parameters: [{ type: 'payload', payload: 'STOP' }] },
    ],
  };
  const first = await send(h, template);
  const second = await send(h, template);
  await send(h, image(sha));
  assert.equal(h.graph.uploads().length, 1);
  assert.deepEqual([first.sentSha256, second.sentSha256], [sha, sha]);
  const [m] = h.graph.messages();
  assert.deepEqual(m.body.template, {
    name: 'spring_offer',
    language: { code: 'en_US' },
    components: [
      { type: 'header', parameters: [{ type: 'image', image: { id: h.graph.uploads()[0].id } }] },
      { type: 'body', parameters: [{ type: 'text', text: 'Ada' }] },
      { type: 'button', sub_type: 'quick_reply', index: 0, parameters: [{ type: 'payload', payload: 'STOP' }] },
    ],
  });
  assert.deepEqual([m.media?.via, m.media?.sha256], ['id', sha]);
});

test("text, contact, location and a quoted reply in Meta's shapes", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  await h.session.send({
    messageId: 'q1',
    to: CUSTOMER_JID,
    content: { type: 'text', text: 'see https://example.com' },
    quoted: { waMessageId: 'wamid.IN1', from: CUSTOMER_JID, chat: CUSTOMER_JID },
  });
  await send(h, { type: 'contact', name: 'Ada Lovelace', phone: '+44 20 7946 0958' });
  await send(h, { type: 'location', latitude: 52.52, longitude: 13.405, name: 'Shop' });
  const [text, contact, location] = h.graph.messages();
  assert.deepEqual(text.body.text, { body: 'see https://example.com', preview_url: false });
  assert.deepEqual(text.body.context, { message_id: 'wamid.IN1' });
  assert.equal(text.to, CUSTOMER);
  assert.deepEqual(contact.body.contacts, [
    {
      name: { formatted_name: 'Ada Lovelace', first_name: 'Ada Lovelace' },
      phones: [{ phone: '+442079460958', type: 'CELL', wa_id: '442079460958' }],
    },
  ]);
  assert.deepEqual(location.body.location, { latitude: 52.52, longitude: 13.405, name: 'Shop' });
  await assert.rejects(h.session.send({ messageId: 'g', to: '120363000000000000@g.us', content: { type: 'text', text: 'hi' } }), {
    code: 'unsupported_by_driver',
  });
});

/** hashsend's /m/<sha256>.<ext> route as link mode needs it, serving the blobs `blobs()` gives. */
const serveBlobs = async (blobs: () => Harness['blobs'] | undefined) => {
  const server = createServer((req, res) => {
    const sha = /^\/m\/([0-9a-f]{64})\.\w+$/.exec(req.url ?? '')?.[1];
    const store = blobs();
    if (!sha || !store) return void res.writeHead(404).end();
    store.read(sha).then(
      (bytes) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
};

test('link mode: Meta is given the content-addressed /m/<sha256>.<ext>, no upload, and fetches exactly that content', async (t) => {
  let h: Harness | undefined;
  const origin = await serveBlobs(() => h?.blobs);
  h = await startHarness({ options: { mediaMode: 'link' }, driver: { publicMedia: true, publicUrl: origin.url } });
  t.after(async () => {
    await h?.close();
    await origin.close();
  });
  const sha = await h.blob(randomBytes(1500));
  const ref = await send(h, image(sha));
  assert.equal(ref.sentSha256, sha);
  assert.equal(h.graph.uploads().length, 0);
  const [m] = h.graph.messages();
  assert.deepEqual(m.body.image, { link: `${origin.url}/m/${sha}.jpg` });
  assert.deepEqual([m.media?.via, m.media?.sha256], ['link', sha]);
});

test('link mode on a server without PUBLIC_MEDIA refuses media with public_media_required; text still goes', async (t) => {
  const h = await startHarness({ options: { mediaMode: 'link' } });
  t.after(() => h.close());
  const sha = await h.blob(randomBytes(100));
  await assert.rejects(send(h, image(sha)), (err: { code: string; status: number; message: string }) => {
    assert.equal(err.code, 'public_media_required');
    assert.equal(err.status, 422);
    assert.match(err.message, /PUBLIC_MEDIA=true and PUBLIC_URL/);
    return true;
  });
  assert.equal(h.graph.messages().length, 0);
  await send(h, { type: 'text', text: 'plain' });
  assert.equal(h.graph.messages().length, 1);
});
