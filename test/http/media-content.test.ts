import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer, type StartedServer } from '../support/server.js';
import { makePng } from '../support/media-fixtures.js';
import { expectError, record, serverErrors, sha, uploadTo, type MediaRecord } from '../support/media-api.js';

/** Reading stored media back: the record, the bytes, Range, the public /m/ path, deleting. */
let server: StartedServer;
/** No PUBLIC_MEDIA: the default a real deployment starts with. */
let strict: StartedServer;

before(async () => {
  [server, strict] = await Promise.all([startServer({ PUBLIC_MEDIA: 'true' }), startServer({})]);
});
after(async () => {
  try {
    for (const s of [server, strict]) if (s) assert.deepEqual(serverErrors(s), [], 'a request of this file answered 500');
  } finally {
    await Promise.all([server?.close(), strict?.close()]);
  }
});

const upload = (body: Buffer, headers: Record<string, string>) => uploadTo(server, body, headers);

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
    assert.ok(large.length > 150_000);
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

describe('Range, as RFC 9110 reads it', () => {
  let png: Buffer;
  let content: string;
  before(async () => {
    png = await makePng({ seed: 321, width: 48, height: 48 });
    assert.ok([200, 201].includes((await upload(png, { 'content-type': 'image/png' })).status));
    content = `/api/media/${sha(png)}/content`;
  });
  const get = (headers: Record<string, string>) => server.api(content, { headers });
  const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());

  test('another unit, a malformed header or several disjoint ranges: 200 with the whole file', async () => {
    for (const range of ['items=0-1', 'bytes=abc', 'bytes=5-2', 'bytes=', 'bytes=0-1,10-20', 'bytes 0-1', 'bytes=1-2-3']) {
      const res = await get({ range });
      assert.deepEqual([res.status, res.headers.get('content-range')], [200, null], range);
      assert.ok((await bytesOf(res)).equals(png), range);
    }
  });

  test('a suffix longer than the file is all of it; ranges are clamped to the end and merged', async () => {
    const n = png.length;
    const cases: [string, number, number][] = [
      ['bytes=-999999', 0, n - 1],
      [`bytes=-${n}`, 0, n - 1],
      ['bytes=-10', n - 10, n - 1],
      ['bytes=0-', 0, n - 1],
      ['bytes=100-99999999999999999999', 100, n - 1],
      ['bytes=0-1,2-5, 4-9', 0, 9],
      ['BYTES=3-3', 3, 3],
    ];
    for (const [range, start, end] of cases) {
      const res = await get({ range });
      assert.deepEqual([res.status, res.headers.get('content-range')], [206, `bytes ${start}-${end}/${n}`], range);
      assert.equal(res.headers.get('content-length'), String(end - start + 1), range);
      assert.ok((await bytesOf(res)).equals(png.subarray(start, end + 1)), range);
    }
  });

  test('nothing satisfiable: 416 with Content-Range bytes */n; an If-Range for other content: 200 whole', async () => {
    const n = png.length;
    for (const range of [`bytes=${n}-`, 'bytes=-0', `bytes=${n + 5}-${n + 9}`, `bytes=${n}-,-0`]) {
      const res = await get({ range });
      assert.equal(res.headers.get('content-range'), `bytes */${n}`, range);
      await expectError(res, 416, 'range_not_satisfiable');
    }
    const other = await get({ range: 'bytes=0-9', 'if-range': '"0000"' });
    assert.deepEqual([other.status, (await bytesOf(other)).length], [200, n]);
    const same = await get({ range: 'bytes=0-9', 'if-range': `"${sha(png)}"` });
    assert.deepEqual([same.status, (await bytesOf(same)).length], [206, 10]);
  });
});
