import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type StartedServer } from '../support/server.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { startNginx, type RunningCache } from '../support/caches.js';
import { makeJpeg, makePdf, makePng } from '../support/media-fixtures.js';
import { answer, deliveryOf, linkedSession, sha, wasender, type LinkedSession } from './messages-rig.js';

/** Media through WASenderApi's routes: the freshness pipeline decides what is sent, upload answers a URL of ours. */
let server: StartedServer;
let origin: Origin;
let cache: RunningCache;
let shop: LinkedSession;
let call: ReturnType<typeof wasender>;
before(async () => {
  [server, origin] = await Promise.all([startServer({ MEDIA_ALLOW_HOSTS: '127.0.0.1' }), startOrigin()]);
  cache = await startNginx(origin.url, 'path');
  call = wasender(server);
  shop = await linkedSession(server);
});
after(async () => {
  await Promise.all([server.close(), origin.close(), cache.stop()]);
});

const send = (body: unknown) => call(shop.apiKey, '/send-message', { method: 'POST', json: body });
const msgIdOf = async (res: Response) => {
  assert.equal(res.status, 200, JSON.stringify(await res.clone().json()));
  return ((await answer(res)).data as { msgId: number }).msgId;
};

test('imageUrl: the recipient gets exactly the bytes at the URL, caption from text; info names the sha256', async () => {
  const photo = await makeJpeg({ seed: 21 });
  origin.put('photo.jpg', photo, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const msgId = await msgIdOf(await send({ to: '+4915123456789', imageUrl: `${origin.url}/photo.jpg`, text: 'New menu' }));
  const delivery = await deliveryOf(server, shop, msgId);
  assert.equal(delivery.sha256, sha(photo));
  assert.equal(delivery.caption, 'New menu');
  const info = (await answer(await call(shop.apiKey, `/messages/${msgId}/info`))).data as {
    message: Record<string, { mimetype: string }>;
    hashsend: { media: { sha256: string } };
  };
  assert.equal(info.hashsend.media.sha256, sha(photo));
  assert.equal(info.message.imageMessage.mimetype, 'image/jpeg');

  const once = await msgIdOf(await send({ to: '+4915123456789', imageUrl: `${origin.url}/photo.jpg`, viewOnce: true }));
  const onceSent = await deliveryOf(server, shop, once);
  assert.deepEqual([onceSent.sha256, onceSent.viewOnce], [sha(photo), true]);

  const pdf = makePdf(3);
  origin.put('menu.pdf', pdf, { contentType: 'application/pdf', cacheControl: 'no-store' });
  const doc = await msgIdOf(
    await send({ to: '+4915123456789', documentUrl: `${origin.url}/menu.pdf`, fileName: 'menu.pdf', sha256: sha(pdf) }),
  );
  const sent = await deliveryOf(server, shop, doc);
  assert.deepEqual([sent.as, sent.sha256, sent.filename], ['document', sha(pdf), 'menu.pdf']);
  // WhatsApp shows only images, videos and audio view-once.
  const onceDoc = await send({ to: '+4915123456789', documentUrl: `${origin.url}/menu.pdf`, viewOnce: true });
  assert.equal(onceDoc.status, 422);
  assert.ok((await answer(onceDoc)).errors?.viewOnce);
});

test('a stale cached copy (409) and a pinned sha256 the URL does not have (422) are refused in its shape', async () => {
  const v1 = await makeJpeg({ seed: 31 });
  origin.put('banner.jpg', v1, { contentType: 'image/jpeg' });
  await msgIdOf(await send({ to: '+4915123456789', imageUrl: `${cache.url}/banner.jpg` }));
  // The cache keys on the path alone: it keeps the old banner whatever the query string says.
  origin.put('banner.jpg', await makeJpeg({ seed: 32 }), { contentType: 'image/jpeg' });
  const stale = await send({ to: '+4915123456789', imageUrl: `${cache.url}/banner.jpg` });
  assert.equal(stale.status, 409);
  const staleBody = await answer(stale);
  assert.equal(staleBody.success, false);
  assert.match(staleBody.message ?? '', /stale|fresh|cache/i);

  const other = await makeJpeg({ seed: 33 });
  origin.put('other.jpg', other, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const mismatch = await send({ to: '+4915123456789', imageUrl: `${origin.url}/other.jpg`, sha256: 'ab'.repeat(32) });
  assert.equal(mismatch.status, 422);
  const mismatchBody = await answer(mismatch);
  assert.equal(mismatchBody.success, false);
  assert.match(mismatchBody.message ?? '', /hash|sha256/i);
});

test('upload (base64 data URL, multipart, raw): a URL serving exactly those bytes, and a send by it delivers them', async () => {
  const png = await makePng({ seed: 41 });
  const res = await call(shop.apiKey, '/upload', { method: 'POST', json: { base64: `data:image/png;base64,${png.toString('base64')}` } });
  assert.equal(res.status, 200);
  const uploaded = await answer(res);
  assert.equal(uploaded.success, true);
  const url = uploaded.publicUrl as string;
  assert.equal(url, `${server.url}/wasender/api/media/${sha(png)}.png`);

  const served = await fetch(url, { headers: { authorization: `Bearer ${shop.apiKey}` } });
  assert.equal(served.status, 200);
  assert.equal(sha(Buffer.from(await served.arrayBuffer())), sha(png));
  const keyless = await fetch(url);
  assert.equal(keyless.status, 401);
  assert.equal((await answer(keyless)).success, false);

  // Our own URL is resolved by hash: fetched, it would need the session key and answer 401.
  const before = origin.requests.length;
  const msgId = await msgIdOf(await send({ to: '+4915123456789', imageUrl: url }));
  assert.equal((await deliveryOf(server, shop, msgId)).sha256, sha(png));
  assert.equal(origin.requests.length, before);
  // A pinned hash that is not the one the URL names is refused, not sent.
  const pinned = await send({ to: '+4915123456789', imageUrl: url, sha256: 'cd'.repeat(32) });
  assert.equal(pinned.status, 422);

  const jpeg = await makeJpeg({ seed: 42 });
  const form = new FormData();
  form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'photo.jpg');
  const multipart = await answer(await call(shop.apiKey, '/upload', { method: 'POST', body: form }));
  assert.equal(multipart.publicUrl, `${server.url}/wasender/api/media/${sha(jpeg)}.jpg`);

  const raw = await answer(await call(shop.apiKey, '/upload', { method: 'POST', headers: { 'content-type': 'image/png' }, body: png }));
  assert.equal(raw.sha256, sha(png));

  for (const bad of [{ base64: '!!!not base64!!!' }, { base64: '' }, {}]) {
    const refused = await call(shop.apiKey, '/upload', { method: 'POST', json: bad });
    assert.equal(refused.status, 422, JSON.stringify(bad));
    assert.ok((await answer(refused)).errors?.base64);
  }
  // Any bytes are a document WhatsApp can carry: stored, and named by their hash like the rest.
  const text = Buffer.from('hello, plain text');
  const doc = await answer(
    await call(shop.apiKey, '/upload', { method: 'POST', json: { base64: text.toString('base64'), mimetype: 'text/plain' } }),
  );
  assert.equal(doc.sha256, sha(text));
  assert.match(doc.publicUrl as string, new RegExp(`/wasender/api/media/${sha(text)}\\.\\w+$`));
});

test('an unknown content-addressed URL of ours is media_not_found, not a fetch', async () => {
  const res = await send({ to: '+4915123456789', imageUrl: `${server.url}/wasender/api/media/${'0'.repeat(64)}.jpg` });
  assert.equal(res.status, 404);
  assert.equal((await answer(res)).success, false);
});

test('with PUBLIC_MEDIA=true, upload answers the key-less /m/<sha256>.<ext>, and a send by it delivers those bytes', async () => {
  const open = await startServer({ PUBLIC_MEDIA: 'true' });
  try {
    const session = await linkedSession(open);
    const openCall = wasender(open);
    const jpeg = await makeJpeg({ seed: 71 });
    const up = await answer(await openCall(session.apiKey, '/upload', { method: 'POST', json: { base64: jpeg.toString('base64') } }));
    assert.equal(up.publicUrl, `${open.url}/m/${sha(jpeg)}.jpg`);
    const served = await fetch(up.publicUrl as string);
    assert.equal(sha(Buffer.from(await served.arrayBuffer())), sha(jpeg));
    // No MEDIA_ALLOW_HOSTS here: fetching its own loopback address would be refused, so this resolved by hash.
    const sent = await openCall(session.apiKey, '/send-message', {
      method: 'POST',
      json: { to: '+4915123456789', imageUrl: up.publicUrl },
    });
    assert.equal(sent.status, 200);
    const { msgId } = (await answer(sent)).data as { msgId: number };
    assert.equal((await deliveryOf(open, session, msgId)).sha256, sha(jpeg));
  } finally {
    await open.close();
  }
});
