import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { startNginx, type RunningCache } from '../support/caches.js';
import { makeJpeg, makeWebp } from '../support/media-fixtures.js';

let server: StartedServer;
let origin: Origin;
let cache: RunningCache;
before(async () => {
  [server, origin] = await Promise.all([startServer({ MEDIA_ALLOW_HOSTS: '127.0.0.1' }), startOrigin()]);
  cache = await startNginx(origin.url, 'path');
  await server.api('/api/sessions', { method: 'POST', json: { id: 'shop' } });
  await server.api('/api/sessions/shop/sandbox/link', { method: 'POST', json: {} });
});
after(async () => {
  await Promise.all([server.close(), origin.close(), cache.stop()]);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const send = (body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  server.api('/api/sessions/shop/messages', { method: 'POST', json: body, headers, signal });
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
interface Message {
  status: string;
  media?: { sha256: string; sentSha256?: string };
}
const delivered = (id: string) =>
  waitFor(`delivery of ${id}`, async () => {
    const m = (await (await server.api(`/api/messages/${id}`)).json()) as Message;
    return ['delivered', 'read'].includes(m.status) ? m : undefined;
  });
const deliveredSha = async (id: string) => {
  const items = (
    (await (await server.api('/api/sessions/shop/sandbox/deliveries')).json()) as { items: { messageId: string; sha256?: string }[] }
  ).items;
  return items.find((d) => d.messageId === id)?.sha256;
};

test('by URL with a pinned hash, then by sha256 alone: the recipient gets exactly those bytes', async () => {
  const photo = await makeJpeg({ seed: 7 });
  origin.put('photo.jpg', photo, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const byUrl = await send({ to: '+4915123456789', media: { url: `${origin.url}/photo.jpg`, sha256: sha(photo) }, caption: 'New menu' });
  assert.equal(byUrl.status, 202);
  const first = (await byUrl.json()) as { id: string; media: { sha256: string } };
  assert.equal(first.media.sha256, sha(photo));
  const m = await delivered(first.id);
  assert.deepEqual(m.media, { sha256: sha(photo), sentSha256: sha(photo) });
  assert.equal(await deliveredSha(first.id), sha(photo));

  const requestsBefore = origin.requests.length;
  const byHash = await send({ to: '+4915100000002', media: { sha256: sha(photo).toUpperCase() }, as: 'document', filename: 'menu.jpg' });
  assert.equal(byHash.status, 202);
  const second = (await byHash.json()) as { id: string };
  await delivered(second.id);
  assert.equal(await deliveredSha(second.id), sha(photo));
  assert.equal(origin.requests.length, requestsBefore, 'a held hash costs no fetch');
});

test('refused before queueing: a pinned hash the URL does not have, an unknown sha256, a stale cached copy', async () => {
  const listBefore = ((await (await server.api('/api/sessions/shop/messages?limit=100')).json()) as { items: unknown[] }).items.length;
  const other = await makeJpeg({ seed: 8 });
  origin.put('other.jpg', other, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const mismatch = await send({ to: '+4915123456789', media: { url: `${origin.url}/other.jpg`, sha256: 'ab'.repeat(32) } });
  assert.deepEqual([mismatch.status, await errorCode(mismatch)], [422, 'hash_mismatch']);

  const unknown = await send({ to: '+4915123456789', media: { sha256: 'cd'.repeat(32) } });
  assert.deepEqual([unknown.status, await errorCode(unknown)], [404, 'media_not_found']);

  // A cache that keys on the path alone keeps the old file whatever the query string says.
  const v1 = await makeJpeg({ seed: 9 });
  origin.put('menu.jpg', v1, { contentType: 'image/jpeg' });
  const warm = await send({ to: '+4915123456789', media: { url: `${cache.url}/menu.jpg` } });
  assert.equal(warm.status, 202);
  await delivered(((await warm.json()) as { id: string }).id);
  origin.put('menu.jpg', await makeJpeg({ seed: 10 }), { contentType: 'image/jpeg' });
  const stale = await send({ to: '+4915123456789', media: { url: `${cache.url}/menu.jpg` } });
  assert.deepEqual([stale.status, await errorCode(stale)], [409, 'stale_media']);

  const listAfter = ((await (await server.api('/api/sessions/shop/messages?limit=100')).json()) as { items: unknown[] }).items.length;
  assert.equal(listAfter, listBefore + 1, 'only the warm-up send was queued');
});

test('held media sent `as` another kind is checked again for that kind, and converted where that kind needs it', async () => {
  const upload = async (bytes: Buffer, type: string) => {
    const res = await server.api('/api/media', { method: 'POST', body: new Uint8Array(bytes), headers: { 'content-type': type } });
    assert.ok(res.status === 201 || res.status === 200, `upload answered ${res.status}`);
    return ((await res.json()) as { sha256: string }).sha256;
  };
  const photo = await upload(await makeJpeg({ seed: 41 }), 'image/jpeg');
  for (const as of ['sticker', 'video', 'audio']) {
    const res = await send({ to: '+4915123456789', media: { sha256: photo }, as });
    assert.deepEqual([res.status, await errorCode(res)], [422, 'unsupported_media'], `a JPEG is no ${as}`);
  }
  const asDocument = await send({ to: '+4915123456789', media: { sha256: photo }, as: 'document', filename: 'photo.jpg' });
  assert.equal(asDocument.status, 202);

  const sticker = await upload(await makeWebp({ seed: 42, width: 64, height: 64 }), 'image/webp');
  const asImage = await send({ to: '+4915123456789', media: { sha256: sticker }, as: 'image' });
  assert.equal(asImage.status, 202);
  const imageId = ((await asImage.json()) as { id: string }).id;
  const sentImage = (await delivered(imageId)).media!;
  assert.notEqual(sentImage.sha256, sticker, 'the WebP went out converted to JPEG');
  assert.equal(await deliveredSha(imageId), sentImage.sha256);

  const asSticker = await send({ to: '+4915123456789', media: { sha256: sticker }, as: 'sticker' });
  assert.equal(asSticker.status, 202, 'and the WebP itself is still there to send as a sticker');
  const stickerId = ((await asSticker.json()) as { id: string }).id;
  await delivered(stickerId);
  assert.equal(await deliveredSha(stickerId), sticker);
});

test('a WebP first sent as an image (converted) is still itself: sent as a sticker later, the WebP goes out', async () => {
  const webp = await makeWebp({ seed: 43, width: 64, height: 64 });
  origin.put('sticker.webp', webp, { contentType: 'image/webp', cacheControl: 'no-store' });
  const asImage = await send({ to: '+4915123456789', media: { url: `${origin.url}/sticker.webp`, sha256: sha(webp) }, as: 'image' });
  assert.equal(asImage.status, 202);
  const imageId = ((await asImage.json()) as { id: string }).id;
  const image = (await delivered(imageId)).media!;
  assert.notEqual(image.sentSha256, sha(webp), 'as an image, the WebP went out as a JPEG');
  assert.equal(await deliveredSha(imageId), image.sentSha256);

  const asSticker = await send({ to: '+4915123456789', media: { sha256: sha(webp) }, as: 'sticker' });
  assert.equal(asSticker.status, 202);
  const stickerId = ((await asSticker.json()) as { id: string }).id;
  await delivered(stickerId);
  assert.equal(await deliveredSha(stickerId), sha(webp), 'as a sticker, the WebP itself');

  // Its hash names its own bytes, never the JPEG made of them.
  const content = await server.api(`/api/media/${sha(webp)}/content`);
  assert.deepEqual([content.status, content.headers.get('etag')], [200, `"${sha(webp)}"`]);
  assert.equal(sha(Buffer.from(await content.arrayBuffer())), sha(webp));
  const again = await send({ to: '+4915123456789', media: { sha256: sha(webp) }, as: 'image' });
  const againId = ((await again.json()) as { id: string }).id;
  await delivered(againId);
  assert.equal(await deliveredSha(againId), image.sentSha256, 'as an image again: the same JPEG, not a new conversion');
});

test('Idempotency-Key: a client that gives up mid-request and retries gets the first answer; one message goes out', async () => {
  const photo = await makeJpeg({ seed: 51 });
  // An origin that holds its answer until the client has given up, so the send is still resolving its media then.
  let answered: () => void = () => undefined;
  const requested = new Promise<void>((resolve) => (answered = resolve));
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const slow = createServer((_req, res) => {
    answered();
    void released.then(() => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo));
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = slow.address() as AddressInfo;
    const body = { to: '+4915100000077', media: { url: `http://127.0.0.1:${port}/slow.jpg` } };
    const headers = { 'idempotency-key': 'give-up-and-retry-1' };
    const abandoned = new AbortController();
    const first = send(body, headers, abandoned.signal).catch((err: Error) => err);
    await requested;
    abandoned.abort();
    assert.ok((await first) instanceof Error, 'the first client gave up');
    const retrying = send(body, headers);
    release();
    const retry = await retrying;
    assert.equal(retry.status, 202);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const { id } = (await retry.json()) as { id: string };
    await delivered(id);
    const items = (
      (await (await server.api('/api/sessions/shop/sandbox/deliveries')).json()) as {
        items: { to: string; messageId: string; sendAttempts: number }[];
      }
    ).items;
    assert.deepEqual(
      items.filter((d) => d.to === '4915100000077@s.whatsapp.net').map((d) => [d.messageId, d.sendAttempts]),
      [[id, 1]],
      'one message, sent once',
    );
  } finally {
    await new Promise((resolve) => slow.close(resolve));
  }
});
