import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { request as httpRequest } from 'node:http';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { startNginx, startVarnish, type RunningCache } from '../support/caches.js';
import { freePort } from '../support/free-port.js';
import { makeGif, makeJpeg, makeLargeJpeg, makePng, makeTiffBomb, makeWebp } from '../support/media-fixtures.js';
import { expectError, logLines, record, serverErrors, sha, uploadTo, type Attempt } from '../support/media-api.js';

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
  try {
    // Whatever subset of this file ran, none of its requests may have been a server fault.
    for (const s of [server, strict]) if (s) assert.deepEqual(serverErrors(s), [], 'a request of this file answered 500');
  } finally {
    await Promise.all([server?.close(), strict?.close(), origin?.close(), varnish?.stop(), pathOnly?.stop()]);
  }
});

const postUrl = (body: unknown, on = server) => on.api('/api/media', { method: 'POST', json: body });
const upload = (body: Buffer, headers: Record<string, string>) => uploadTo(server, body, headers);
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
      // The source is kept beside its conversion, each under its own hash: a name always means those bytes.
      const source = await record(await server.api(`/api/media/${sha(bytes)}`));
      assert.deepEqual([source.sha256, source.mimetype, source.size], [sha(bytes), mimetype, bytes.length]);
      for (const res of [await server.api(`/api/media/${sha(bytes)}/content`), await fetch(`${server.url}/m/${sha(bytes)}.img`)]) {
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('etag'), `"${sha(bytes)}"`);
        assert.equal(res.headers.get('content-type'), mimetype);
        assert.equal(sha(Buffer.from(await res.arrayBuffer())), sha(bytes), 'the bytes named, never the JPEG');
      }
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
    assert.equal((await upload(next, { 'content-type': 'image/png' })).status, 201);
  });

  test('a few KB of TIFF declaring 16383×16383 pixels: 413 too_large, nothing stored', async () => {
    const before = await blobFiles();
    const bomb = makeTiffBomb();
    const error = await expectError(await upload(bomb, { 'content-type': 'image/tiff' }), 413, 'too_large');
    assert.deepEqual([error.details!.width, error.details!.height], [16383, 16383]);
    assert.deepEqual(await blobFiles(), before);
    assert.deepEqual(await tmpFiles(), []);
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
    const err = await expectError(await postUrl({ url: `${origin.url}/slow.jpg` }), 504, 'fetch_timeout');
    assert.match(err.message, /stalled/, 'MEDIA_BODY_TIMEOUT_MS ended the wait, not the deadline per fetch');
    assert.deepEqual(await tmpFiles(), []);
  });
  test('awkward requests of its own: a 4xx or a right answer each, and no 500 or unhandled error in the log', async () => {
    const from = server.output().length;
    const png = await makePng({ seed: 601 });
    assert.ok([200, 201].includes((await upload(png, { 'content-type': 'image/png' })).status));
    const content = `/api/media/${sha(png)}/content`;
    const requests: [string, RequestInit & { json?: unknown }][] = [
      ['/api/media', { method: 'POST', body: '{"url": ', headers: { 'content-type': 'application/json' } }],
      ['/api/media', { method: 'POST', json: { url: 'http://[::1', sha256: 5 } }],
      ['/api/media', { method: 'POST', body: new Uint8Array(0), headers: { 'content-type': 'image/png', 'x-content-sha256': 'zz' } }],
      ['/api/media/%zz', {}],
      [`/api/media/${'A'.repeat(64)}/content`, {}],
      ...['items=0-1', 'bytes=-999999', 'bytes=abc', 'bytes=5-2', 'bytes=0-1,4-5', `bytes=${png.length}-`, 'bytes=-0', 'bytes=1e3-'].map(
        (range): [string, RequestInit] => [content, { headers: { range } }],
      ),
    ];
    for (const [route, init] of requests) {
      const res = await server.api(route, init);
      assert.ok(res.status < 500, `${route} ${JSON.stringify(init.headers ?? {})} answered ${res.status}`);
      await res.arrayBuffer();
    }
    // Each answer is logged once it is sent: wait for all of them, so the check below has read them.
    await waitFor('the log to show every answer', async () =>
      logLines(server, from).filter((l) => /"statusCode":/.test(l)).length > requests.length ? true : undefined,
    );
    assert.deepEqual(serverErrors(server, from), []);
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
