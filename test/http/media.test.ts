import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request as httpRequest } from 'node:http';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { startNginx, startVarnish, type RunningCache } from '../support/caches.js';
import { freePort } from '../support/free-port.js';
import { makeGif, makeJpeg, makeLargeJpeg, makePng, makeWebp } from '../support/media-fixtures.js';

interface Attempt {
  url: string;
  strategy: string;
  status?: number;
  cacheVerdict: string;
  sha256?: string;
}
interface MediaRecord {
  sha256: string;
  size: number;
  mimetype: string;
  declaredMimetype?: string;
  kind: string;
  thumbnail?: string;
  converted?: { fromSha256: string; fromMimetype: string };
  source?: {
    url: string;
    finalUrl: string;
    etag?: string;
    lastModified?: string;
    fetchedAt: string;
    freshness: string;
    obtainedBy: string;
    attempts: Attempt[];
  };
}
interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
interface CheckReport {
  wouldSend: boolean;
  sha256?: string;
  items: { check: string; status: string; detail: string }[];
}

const IMAGE_LIMIT = 300_000;

let server: StartedServer;
/** No MEDIA_ALLOW_HOSTS and no PUBLIC_MEDIA: the defaults a real deployment starts with. */
let strict: StartedServer;
let origin: Origin;
let varnish: RunningCache;
let pathOnly: RunningCache;

before(async () => {
  origin = await startOrigin();
  [server, strict, varnish, pathOnly] = await Promise.all([
    startServer({
      MEDIA_ALLOW_HOSTS: '127.0.0.1',
      PUBLIC_MEDIA: 'true',
      MEDIA_BODY_TIMEOUT_MS: '400',
      MEDIA_MAX_IMAGE_BYTES: String(IMAGE_LIMIT),
    }),
    startServer({ MEDIA_ALLOW_HOSTS: '' }),
    startVarnish(origin.url),
    startNginx(origin.url, 'path'),
  ]);
});
after(async () => {
  await Promise.all([server?.close(), strict?.close(), origin?.close(), varnish?.stop(), pathOnly?.stop()]);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const postUrl = (body: unknown, on = server) => on.api('/api/media', { method: 'POST', json: body });
const upload = (body: Buffer, headers: Record<string, string>) =>
  server.api('/api/media', { method: 'POST', body: new Uint8Array(body), headers });
const record = async (res: Response) => (await res.json()) as MediaRecord;
/** Status and error code together, so that a failure shows both (and the message). */
const failure = async (res: Response) => {
  const body = (await res.json()) as ErrorBody;
  return { status: res.status, code: body.error?.code, body };
};
const expectError = async (res: Response, status: number, code: string) => {
  const got = await failure(res);
  assert.deepEqual([got.status, got.code], [status, code], got.body.error?.message);
  return got.body.error;
};
const blobFiles = async () => (await readdir(path.join(server.dataDir, 'blobs'), { recursive: true })).sort();
const tmpFiles = async () => readdir(path.join(server.dataDir, 'blobs', 'tmp'));

describe('by URL', () => {
  test('a JPEG served as binary/octet-stream: 201 with the full record; pinned and held again: 200, no request', async () => {
    const photo = await makeJpeg({ seed: 101, width: 64, height: 48 });
    origin.put('label.jpg', photo, { contentType: 'binary/octet-stream' });
    const url = `${origin.url}/label.jpg`;
    const res = await postUrl({ url });
    assert.equal(res.status, 201);
    const r = await record(res);
    assert.equal(r.sha256, sha(photo));
    assert.equal(r.size, photo.length);
    assert.equal(r.mimetype, 'image/jpeg');
    assert.equal(r.declaredMimetype, 'binary/octet-stream');
    assert.equal(r.kind, 'image');
    assert.ok(
      r.thumbnail &&
        Buffer.from(r.thumbnail, 'base64')
          .subarray(0, 2)
          .equals(Buffer.from([0xff, 0xd8])),
      'thumbnail is a JPEG',
    );
    const s = r.source!;
    assert.equal(s.url, url);
    assert.equal(s.finalUrl, url);
    assert.match(s.etag ?? '', /^".+"$/);
    assert.ok(s.lastModified && !Number.isNaN(Date.parse(s.lastModified)));
    assert.ok(Math.abs(Date.parse(s.fetchedAt) - Date.now()) < 60_000);
    assert.equal(s.freshness, 'confirmed', 'no cache signal and no pin: a conditional busted request confirmed it');
    assert.deepEqual(
      s.attempts.map((a) => [a.strategy, a.status, a.sha256]),
      [
        ['plain', 200, sha(photo)],
        ['cache-busted', 304, sha(photo)],
      ],
    );

    const before = origin.requests.length;
    const again = await postUrl({ url, sha256: sha(photo).toUpperCase() });
    assert.equal(again.status, 200);
    assert.equal((await record(again)).sha256, sha(photo));
    assert.equal(origin.requests.length, before, 'a pinned hash we hold costs no request');
  });

  test('concurrent requests for one URL and pinned hash share one download: one 201, the rest 200', async () => {
    const banner = await makeJpeg({ seed: 202, width: 80, height: 40 });
    origin.put('broadcast.jpg', banner, { contentType: 'image/jpeg' });
    const url = `${origin.url}/broadcast.jpg`;
    const seen = origin.requests.filter((r) => r.url.startsWith('/broadcast.jpg')).length;
    const answers = await Promise.all(Array.from({ length: 6 }, () => postUrl({ url, sha256: sha(banner) })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 200, 201]);
    for (const a of answers) assert.equal((await record(a)).sha256, sha(banner));
    assert.equal(origin.requests.filter((r) => r.url.startsWith('/broadcast.jpg')).length - seen, 1, 'one fetch for all six');
  });

  test('through varnish, file replaced: the pinned new hash gets fresh bytes by busting the cache', async () => {
    const v1 = await makeJpeg({ seed: 111 });
    const v2 = await makeJpeg({ seed: 112 });
    origin.put('banner.jpg', v1, { contentType: 'image/jpeg' });
    const url = `${varnish.url}/banner.jpg`;
    assert.equal((await postUrl({ url })).status, 201, 'warms the cache');
    origin.put('banner.jpg', v2, { contentType: 'image/jpeg' });

    const res = await postUrl({ url, sha256: sha(v2) });
    assert.equal(res.status, 201);
    const r = await record(res);
    assert.equal(r.sha256, sha(v2));
    assert.equal(r.source!.freshness, 'fresh');
    assert.equal(r.source!.obtainedBy, 'cache-busted');
    assert.equal(r.source!.finalUrl, url, 'the busting parameter is not part of the recorded URL');
    const [plain, busted] = r.source!.attempts;
    assert.deepEqual([plain.strategy, plain.cacheVerdict, plain.sha256], ['plain', 'hit', sha(v1)]);
    assert.deepEqual([busted.strategy, busted.sha256], ['cache-busted', sha(v2)]);
    const content = await server.api(`/api/media/${sha(v2)}/content`);
    assert.ok(Buffer.from(await content.arrayBuffer()).equals(v2));
  });

  test('through nginx keyed on the full URI, file replaced, no pin: the fresh file, never the cached one', async () => {
    const fullUri = await startNginx(origin.url, 'uri');
    try {
      const v1 = await makeJpeg({ seed: 115 });
      const v2 = await makeJpeg({ seed: 116 });
      origin.put('poster.jpg', v1, { contentType: 'image/jpeg' });
      const url = `${fullUri.url}/poster.jpg`;
      assert.equal((await postUrl({ url })).status, 201, 'warms the cache');
      origin.put('poster.jpg', v2, { contentType: 'image/jpeg' });
      const res = await postUrl({ url });
      assert.equal(res.status, 201);
      const r = await record(res);
      assert.equal(r.sha256, sha(v2));
      assert.deepEqual([r.source!.freshness, r.source!.obtainedBy], ['fresh', 'cache-busted']);
      assert.deepEqual(
        r.source!.attempts.map((a) => [a.strategy, a.cacheVerdict, a.sha256]),
        [
          ['plain', 'hit', sha(v1)],
          ['cache-busted', 'miss', sha(v2)],
        ],
      );
    } finally {
      await fullUri.stop();
    }
  });

  test('behind a cache keyed on the path alone, file replaced: 409 stale_media listing every attempt', async () => {
    const v1 = await makeJpeg({ seed: 121 });
    const v2 = await makeJpeg({ seed: 122 });
    origin.put('menu.jpg', v1, { contentType: 'image/jpeg' });
    const url = `${pathOnly.url}/menu.jpg`;
    assert.equal((await postUrl({ url })).status, 201, 'warms the cache');
    origin.put('menu.jpg', v2, { contentType: 'image/jpeg' });

    for (const body of [{ url }, { url, sha256: sha(v2) }]) {
      const error = await expectError(await postUrl(body), 409, 'stale_media');
      assert.match(error.message, /path alone/);
      assert.match(error.message, /versioned path/);
      const attempts = error.details!.attempts as Attempt[];
      assert.ok(attempts.length >= 2, 'the plain request and a busted one');
      for (const a of attempts) assert.deepEqual([a.cacheVerdict, a.sha256], ['hit', sha(v1)], `${a.strategy}: served by the cache`);
      assert.ok(attempts.some((a) => a.strategy === 'cache-busted' && a.url.includes('_hsfresh=')));
    }
    assert.equal((await server.api(`/api/media/${sha(v2)}`)).status, 404, 'nothing stored under the new hash');
  });

  test('the origin itself serves other bytes than pinned: 422 hash_mismatch with both hashes', async () => {
    const actual = await makeJpeg({ seed: 131 });
    origin.put('pinned.jpg', actual, { contentType: 'image/jpeg', cacheControl: 'no-store' });
    const expected = 'ab'.repeat(32);
    const error = await expectError(await postUrl({ url: `${origin.url}/pinned.jpg`, sha256: expected }), 422, 'hash_mismatch');
    assert.equal(error.details!.expected, expected);
    assert.equal(error.details!.received, sha(actual));
    assert.equal((await server.api(`/api/media/${sha(actual)}`)).status, 404, 'the wrong bytes are not kept');
  });

  test('a file over its kind’s limit: 413 too_large, nothing stored', async () => {
    origin.put('huge.jpg', await makeLargeJpeg(4 * IMAGE_LIMIT), { contentType: 'image/jpeg' });
    const before = await blobFiles();
    await expectError(await postUrl({ url: `${origin.url}/huge.jpg` }), 413, 'too_large');
    assert.deepEqual(await blobFiles(), before);
  });
});

describe('uploads', () => {
  test('raw body and multipart: 201 with the sniffed type; the same bytes again: 200', async () => {
    const png = await makePng({ seed: 201 });
    const raw = await upload(png, { 'content-type': 'image/png' });
    assert.equal(raw.status, 201);
    const r = await record(raw);
    assert.deepEqual([r.sha256, r.size, r.mimetype, r.kind], [sha(png), png.length, 'image/png', 'image']);
    assert.equal((await upload(png, { 'content-type': 'image/png' })).status, 200);

    const jpeg = await makeJpeg({ seed: 202 });
    const form = new FormData();
    form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'photo.jpg');
    const multi = await server.api('/api/media', { method: 'POST', body: form });
    assert.equal(multi.status, 201);
    assert.deepEqual([(await record(multi)).sha256], [sha(jpeg)]);
  });

  test('X-Content-Sha256 (or the sha256 form field): matching is stored, wrong is 422 with nothing kept', async () => {
    const good = await makePng({ seed: 211 });
    assert.equal((await upload(good, { 'content-type': 'image/png', 'x-content-sha256': sha(good) })).status, 201);

    const bad = await makePng({ seed: 212 });
    const wrong = 'cd'.repeat(32);
    const error = await expectError(await upload(bad, { 'content-type': 'image/png', 'x-content-sha256': wrong }), 422, 'hash_mismatch');
    assert.deepEqual([error.details!.expected, error.details!.received], [wrong, sha(bad)]);

    const form = new FormData();
    form.append('sha256', wrong);
    form.append('file', new Blob([bad], { type: 'image/png' }), 'bad.png');
    await expectError(await server.api('/api/media', { method: 'POST', body: form }), 422, 'hash_mismatch');

    await expectError(await upload(bad, { 'content-type': 'image/png', 'x-content-sha256': 'abc' }), 400, 'invalid_request');
    await expectError(await upload(Buffer.alloc(0), { 'content-type': 'image/png' }), 422, 'unsupported_media');

    assert.equal((await server.api(`/api/media/${sha(bad)}`)).status, 404);
    assert.deepEqual(await tmpFiles(), [], 'no temp file left');
  });

  test('GIF and WebP images are converted to JPEG; the record keeps the source hash', async () => {
    for (const [bytes, mimetype] of [
      [await makeGif({ seed: 221 }), 'image/gif'],
      [await makeWebp({ seed: 222, width: 600, height: 400 }), 'image/webp'],
    ] as const) {
      const res = await upload(bytes, { 'content-type': mimetype });
      assert.equal(res.status, 201);
      const r = await record(res);
      assert.equal(r.mimetype, 'image/jpeg');
      assert.equal(r.kind, 'image');
      assert.deepEqual(r.converted, { fromSha256: sha(bytes), fromMimetype: mimetype });
      assert.notEqual(r.sha256, sha(bytes));
      const sent = Buffer.from(await (await server.api(`/api/media/${r.sha256}/content`)).arrayBuffer());
      assert.equal(sha(sent), r.sha256);
      assert.deepEqual([...sent.subarray(0, 3)], [0xff, 0xd8, 0xff]);
      assert.equal((await record(await server.api(`/api/media/${sha(bytes)}`))).sha256, r.sha256, 'found by its source hash too');
    }
  });

  test('too large: 413 too_large, and no blob or temp file is left', async () => {
    const before = await blobFiles();
    const big = await makeLargeJpeg(4 * IMAGE_LIMIT);
    // The server may answer before it has read the whole body; a client that sees the reset instead is fine too.
    const res = await upload(big, { 'content-type': 'image/jpeg' }).catch((err: Error) => err);
    if (res instanceof Response) await expectError(res, 413, 'too_large');
    else assert.match(String(res.cause ?? res), /ECONNRESET|EPIPE|other side closed|socket/i);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(big)], { type: 'image/jpeg' }), 'big.jpg');
    await expectError(await server.api('/api/media', { method: 'POST', body: form }), 413, 'too_large');
    assert.deepEqual(await blobFiles(), before);
    assert.deepEqual(await tmpFiles(), []);
    // The unread rest of the body must not poison the client's next request.
    const next = await makePng({ seed: 231 });
    const started = Date.now();
    assert.equal((await upload(next, { 'content-type': 'image/png' })).status, 201);
    assert.ok(Date.now() - started < 2000, `the next upload took ${Date.now() - started} ms`);
  });

  test('an upload the client abandons mid-body leaves no temp file and is no server error', async () => {
    const partial = (contentType: string, head: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest(`${server.url}/api/media`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': contentType, 'content-length': String(head.length * 4) },
        });
        req.on('error', () => undefined);
        req.write(head);
        // Cut off only once the server is writing the upload, so the test sees the cleanup and not a race.
        waitFor('the upload to reach a temp file', async () => ((await tmpFiles()).length > 0 ? true : undefined)).then(() => {
          req.destroy();
          resolve();
        }, reject);
      });
    const jpeg = await makeLargeJpeg(200_000);
    await partial('image/jpeg', jpeg.subarray(0, 50_000));
    const boundary = 'hashsendboundary';
    const multipartHead = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      jpeg.subarray(0, 50_000),
    ]);
    await partial(`multipart/form-data; boundary=${boundary}`, multipartHead);
    await waitFor('the abandoned uploads to be cleaned up', async () => ((await tmpFiles()).length === 0 ? true : undefined));
  });
});

describe('reading and deleting', () => {
  let png: Buffer;
  before(async () => {
    png = await makePng({ seed: 301, width: 64, height: 64 });
    assert.equal((await upload(png, { 'content-type': 'image/png' })).status, 201);
  });

  test('GET the record and the content: exact bytes, ETag the hash, immutable, Range, If-None-Match', async () => {
    const r = await record(await server.api(`/api/media/${sha(png)}`));
    assert.deepEqual([r.sha256, r.size, r.mimetype], [sha(png), png.length, 'image/png']);

    const res = await server.api(`/api/media/${sha(png)}/content`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(png));
    assert.equal(res.headers.get('etag'), `"${sha(png)}"`);
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(res.headers.get('content-type'), 'image/png');

    const part = await server.api(`/api/media/${sha(png)}/content`, { headers: { range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-199/${png.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(png.subarray(100, 200)));

    const cached = await server.api(`/api/media/${sha(png)}/content`, { headers: { 'if-none-match': `"${sha(png)}"` } });
    assert.equal(cached.status, 304);
    assert.equal((await cached.arrayBuffer()).byteLength, 0);
  });

  test('PUBLIC_MEDIA=true serves /m/<sha256>.<ext> without a key; unset, the path does not exist', async () => {
    const open = await fetch(`${server.url}/m/${sha(png)}.png`);
    assert.equal(open.status, 200);
    assert.ok(Buffer.from(await open.arrayBuffer()).equals(png));
    assert.equal(open.headers.get('etag'), `"${sha(png)}"`);
    assert.equal((await fetch(`${server.url}/m/${'0'.repeat(64)}.jpg`)).status, 404);

    // The strict server holds the same bytes; without PUBLIC_MEDIA they are reachable with the key only.
    assert.equal(
      (await strict.api('/api/media', { method: 'POST', body: new Uint8Array(png), headers: { 'content-type': 'image/png' } })).status,
      201,
    );
    assert.equal((await fetch(`${strict.url}/m/${sha(png)}.png`)).status, 404);
    assert.equal((await fetch(`${strict.url}/api/media/${sha(png)}/content`)).status, 401);
  });

  test('an uploaded page never runs on this origin: served as a sandboxed download, never as text/html', async () => {
    const page = Buffer.from('<!doctype html><script>fetch("/api/sessions",{headers:{authorization:localStorage.getItem("k")}})</script>');
    const stored = await server.api('/api/media', { method: 'POST', body: new Uint8Array(page), headers: { 'content-type': 'text/html' } });
    assert.equal(stored.status, 201);
    const { sha256, kind } = (await stored.json()) as MediaRecord;
    assert.equal(kind, 'document');
    for (const res of [await fetch(`${server.url}/m/${sha256}.html`), await server.api(`/api/media/${sha256}/content`)]) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      assert.equal(res.headers.get('content-disposition'), 'attachment');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
      await res.arrayBuffer();
    }
    const image = await fetch(`${server.url}/m/${sha(png)}.png`);
    assert.equal(image.headers.get('content-type'), 'image/png', 'media keeps its type, to be shown inline');
    assert.match(image.headers.get('content-security-policy') ?? '', /sandbox/);
    await image.arrayBuffer();
  });

  test('a blob altered on disk is evicted, never served whole', async () => {
    const tamper = async (bytes: Buffer) => {
      assert.equal((await upload(bytes, { 'content-type': 'image/png' })).status, 201);
      const file = path.join(server.dataDir, 'blobs', sha(bytes).slice(0, 2), sha(bytes));
      assert.ok((await readFile(file)).equals(bytes), 'the blob lives at blobs/ab/abcd…');
      const altered = Buffer.from(bytes);
      altered[altered.length - 10] ^= 0xff;
      await writeFile(file, altered);
    };

    // Small enough to be found out before a byte is sent: a plain error answer.
    const small = await makePng({ seed: 311, width: 32, height: 32 });
    await tamper(small);
    const refused = await server.api(`/api/media/${sha(small)}/content`);
    assert.equal(refused.headers.get('cache-control'), null, 'an error is not cacheable');
    await expectError(refused, 422, 'blob_corrupt');
    await expectError(await server.api(`/api/media/${sha(small)}`), 404, 'media_not_found');

    // Larger: the headers are out when the mismatch shows, so the body is cut short of its Content-Length.
    const large = await makePng({ seed: 312, width: 256, height: 256 });
    assert.ok(large.length > 150_000 && large.length < IMAGE_LIMIT);
    await tamper(large);
    const res = await server.api(`/api/media/${sha(large)}/content`);
    assert.equal(res.status, 200);
    const body = await res.arrayBuffer().then(
      (b) => Buffer.from(b),
      (err: Error) => err,
    );
    assert.ok(body instanceof Error, `the body must not complete (got ${body instanceof Buffer ? body.length : 0} bytes)`);
    await expectError(await server.api(`/api/media/${sha(large)}`), 404, 'media_not_found');
  });

  test('DELETE: 204, then 404 media_not_found for the record, the content and a second DELETE', async () => {
    const del = await server.api(`/api/media/${sha(png)}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    await expectError(await server.api(`/api/media/${sha(png)}`), 404, 'media_not_found');
    await expectError(await server.api(`/api/media/${sha(png)}/content`), 404, 'media_not_found');
    await expectError(await server.api(`/api/media/${sha(png)}`, { method: 'DELETE' }), 404, 'media_not_found');
  });
});

describe('bad input and failing origins', () => {
  test('malformed JSON, a non-http URL, a bad sha256: 400 invalid_request', async () => {
    const malformed = await server.api('/api/media', { method: 'POST', body: '{"url": ', headers: { 'content-type': 'application/json' } });
    await expectError(malformed, 400, 'invalid_request');
    await expectError(await postUrl({ url: 'ftp://x' }), 400, 'invalid_request');
    await expectError(await postUrl({ url: 'not a url' }), 400, 'invalid_request');
    await expectError(await postUrl({ url: `${origin.url}/label.jpg`, sha256: 'abc' }), 400, 'invalid_request');
    await expectError(await postUrl({}), 400, 'invalid_request');
    await expectError(await server.api('/api/media/abc'), 400, 'invalid_request');
    await expectError(await server.api('/api/media/abc/content'), 400, 'invalid_request');
  });

  test('without MEDIA_ALLOW_HOSTS: loopback, link-local and IPv6 loopback are 400 blocked_url, and nothing is requested', async () => {
    origin.put('secret.jpg', await makeJpeg({ seed: 401 }), { contentType: 'image/jpeg' });
    const before = origin.requests.length;
    for (const url of [
      `http://127.0.0.1:${origin.port}/secret.jpg`,
      `http://localhost:${origin.port}/secret.jpg`,
      'http://169.254.169.254/latest/meta-data/',
      `http://[::1]:${origin.port}/secret.jpg`,
      `http://[::ffff:127.0.0.1]:${origin.port}/secret.jpg`,
    ]) {
      const error = await expectError(await postUrl({ url }, strict), 400, 'blocked_url');
      assert.ok(error.message.length > 0, url);
      const check = await strict.api('/api/media/check', { method: 'POST', json: { url } });
      assert.equal(check.status, 200);
      assert.equal(((await check.json()) as CheckReport).wouldSend, false, `check refuses ${url}`);
    }
    assert.equal(origin.requests.length, before, 'no request reached the origin');
  });

  test('an origin that is not listening: 502 fetch_failed', async () => {
    const closed = await freePort();
    await expectError(await postUrl({ url: `http://127.0.0.1:${closed}/x.jpg` }), 502, 'fetch_failed');
  });

  test('an origin that stalls mid-body: 504 fetch_timeout, nothing stored', async () => {
    origin.put('slow.jpg', await makeLargeJpeg(100_000), { contentType: 'image/jpeg' });
    origin.stall('slow.jpg', 2048);
    const started = Date.now();
    await expectError(await postUrl({ url: `${origin.url}/slow.jpg` }), 504, 'fetch_timeout');
    assert.ok(Date.now() - started < 5000, 'MEDIA_BODY_TIMEOUT_MS bounds the wait');
    assert.deepEqual(await tmpFiles(), []);
  });

  test('no request above answered 500', () => {
    for (const [name, s] of [
      ['server', server],
      ['strict', strict],
    ] as const) {
      const lines = s
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      const fivehundreds = lines.filter((l) => /"statusCode":500/.test(l) || /unhandled error/.test(l));
      assert.deepEqual(fivehundreds, [], `${name} answered 500`);
    }
  });
});

describe('POST /api/media/check', () => {
  test('a good URL would send; one behind a path-only cache would not, and the report says why', async () => {
    const photo = await makeJpeg({ seed: 501 });
    origin.put('good.jpg', photo, { contentType: 'image/jpeg', cacheControl: 'no-cache' });
    const good = await server.api('/api/media/check', { method: 'POST', json: { url: `${origin.url}/good.jpg`, sha256: sha(photo) } });
    assert.equal(good.status, 200);
    const ok = (await good.json()) as CheckReport;
    assert.equal(ok.wouldSend, true, JSON.stringify(ok.items));
    assert.equal(ok.sha256, sha(photo));
    assert.equal((await server.api(`/api/media/${sha(photo)}`)).status, 404, 'a check stores nothing');

    origin.put('cached.jpg', await makeJpeg({ seed: 502 }), { contentType: 'image/jpeg' });
    const url = `${pathOnly.url}/cached.jpg`;
    assert.equal((await fetch(url)).status, 200, 'warms the cache');
    const bad = (await (await server.api('/api/media/check', { method: 'POST', json: { url } })).json()) as CheckReport;
    assert.equal(bad.wouldSend, false);
    const busting = bad.items.find((i) => i.check === 'cache busting');
    assert.equal(busting?.status, 'fail');
    assert.match(busting?.detail ?? '', /query string/);
    assert.match(busting?.detail ?? '', /path/);
  });
});
