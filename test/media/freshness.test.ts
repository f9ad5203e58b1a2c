import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { Fetcher } from '../../src/media/fetcher.js';
import type { FetchAttempt } from '../../src/media/types.js';
import { startNginx, startVarnish, type RunningCache } from '../support/caches.js';
import type { FileOptions, Origin } from '../support/origin.js';
import {
  assertNoFile,
  content,
  fetchOpts,
  fileBytes,
  refusal,
  sha256,
  startFetchFixture,
  type FetchFixture,
  type TempDir,
} from './fetch-helpers.js';

let fx: FetchFixture;
let origin: Origin;
let tmp: TempDir;
let fetcher: Fetcher;
/** Stock nginx proxy_cache keyed on the full URI: no X-Cache-Status, no Age, a client's no-cache ignored. */
let silentNginx: RunningCache;
/** The same, keeping 302s too, as a CDN holding an old `/latest → /v1` does. */
let silentRedirects: RunningCache;
let varnish: RunningCache;

before(async () => {
  fx = await startFetchFixture();
  ({ origin, tmp, fetcher } = fx);
  [silentNginx, silentRedirects, varnish] = await Promise.all([
    startNginx(origin.url, 'uri', { signals: false }),
    startNginx(origin.url, 'uri', { signals: false, cacheRedirects: true }),
    startVarnish(origin.url),
  ]);
});

after(async () => {
  await Promise.all([silentNginx, silentRedirects, varnish].map((c) => c?.stop()));
  await fx?.stop();
});

/** GETs a URL once (no redirect followed), as a visitor would, so that the cache in front keeps it. */
const warm = async (url: string, status = 200) => {
  const res = await request(url);
  await res.body.arrayBuffer();
  assert.equal(res.statusCode, status, `warming ${url}`);
};

let n = 0;
const unique = (stem: string) => `${stem}-${n++}.jpg`;
const busted = (attempts: FetchAttempt[]) => attempts.find((a) => a.strategy === 'cache-busted');

describe('a cache that says nothing (stock nginx proxy_cache)', () => {
  it('file replaced at the origin, unpinned: the new bytes, kept from the busted request, and the record says why', async () => {
    const name = unique('silent-banner');
    const [old, fresh] = [content(), content()];
    origin.put(name, old);
    await warm(`${silentNginx.url}/${name}`);
    origin.put(name, fresh);

    const path = tmp.path();
    const got = await fetcher.fetchFresh(`${silentNginx.url}/${name}`, fetchOpts(path));
    assert.equal(got.sha256, sha256(fresh));
    assert.deepEqual(await fileBytes(path), fresh);
    assert.equal(got.source.freshness, 'fresh');
    assert.equal(got.source.obtainedBy, 'cache-busted');
    assert.match(got.source.reason ?? '', /no cache signal.*other bytes/);
    const [plain, bust] = got.source.attempts;
    assert.deepEqual([plain.strategy, plain.cacheVerdict, plain.sha256], ['plain', 'unknown', sha256(old)]);
    assert.deepEqual([bust.strategy, bust.status, bust.sha256], ['cache-busted', 200, sha256(fresh)]);
    assert.match(bust.conditional ?? '', /^If-None-Match: "/, 'asked conditionally on the first answer’s ETag');
    assert.equal(got.source.finalUrl, `${silentNginx.url}/${name}`);
  });

  it('file unchanged: confirmed by a bodiless 304 to the conditional busted request', async () => {
    const name = unique('silent-same');
    const body = content();
    origin.put(name, body);
    await warm(`${silentNginx.url}/${name}`);
    const path = tmp.path();
    const got = await fetcher.fetchFresh(`${silentNginx.url}/${name}`, fetchOpts(path));
    assert.equal(got.sha256, sha256(body));
    assert.deepEqual(await fileBytes(path), body);
    assert.deepEqual([got.source.freshness, got.source.obtainedBy], ['confirmed', 'plain']);
    const bust = busted(got.source.attempts)!;
    assert.equal(bust.status, 304);
    assert.equal(bust.sha256, sha256(body), 'the 304 is recorded with the hash it confirmed');
    assert.match(got.source.reason ?? '', /304 Not Modified/);
    // nginx strips conditional headers on its way to the origin (it fetches whole objects to cache them), so
    // the origin sent the body for the warm-up and for the busted URL's cache miss; hashsend got a 304.
    assert.equal(origin.bytesServed(name), 2 * body.length);
  });

  for (const [label, opts, header] of [
    ['a strong ETag', {}, 'if-none-match'],
    ['a weak ETag', { etag: 'W/"weak-1"' }, 'if-none-match'],
    ['only Last-Modified', { etag: false }, 'if-modified-since'],
  ] as Array<[string, FileOptions, string]>) {
    it(`straight from an origin with ${label}: the origin sees one conditional request, answers 304, sends the body once`, async () => {
      const name = unique('direct');
      const body = content();
      origin.put(name, body, opts);
      const seen = origin.requests.length;
      const got = await fetcher.fetchFresh(`${origin.url}/${name}`, fetchOpts(tmp.path()));
      assert.deepEqual([got.sha256, got.source.freshness], [sha256(body), 'confirmed']);
      const requests = origin.requests.slice(seen);
      assert.equal(requests.length, 2);
      assert.ok(requests[1].headers[header], `the busted request carries ${header}`);
      assert.match(requests[1].url, /[?&]_hsfresh=[0-9a-f]+/);
      assert.equal(requests[1].status, 304);
      assert.equal(origin.bytesServed(name), body.length, 'one body sent, not two');
    });
  }

  it('an origin with no validator at all: the busted request brings the same bytes, confirmed', async () => {
    const name = unique('novalidator');
    const body = content();
    origin.put(name, body, { etag: false, lastModified: false });
    const got = await fetcher.fetchFresh(`${origin.url}/${name}`, fetchOpts(tmp.path()));
    assert.equal(got.source.freshness, 'confirmed');
    assert.equal(busted(got.source.attempts)?.conditional, undefined);
    assert.match(got.source.reason ?? '', /same bytes/);
  });
});

describe('a URL that refuses an extra query parameter (a signed link)', () => {
  const signed = () => {
    const name = unique('signed');
    const body = content();
    origin.put(name, body, { signedQuery: 'X-Amz-Expires=300&X-Amz-Signature=5d41402abc4b2a76' });
    return { url: `${origin.url}/${name}?X-Amz-Expires=300&X-Amz-Signature=5d41402abc4b2a76`, body };
  };

  it('keeps working: the plain answer is taken, unverified, and the busted 403 is on record', async () => {
    const { url, body } = signed();
    const path = tmp.path();
    const got = await fetcher.fetchFresh(url, fetchOpts(path));
    assert.equal(got.sha256, sha256(body));
    assert.deepEqual(await fileBytes(path), body);
    assert.deepEqual([got.source.freshness, got.source.obtainedBy], ['unverified', 'plain']);
    const bust = busted(got.source.attempts)!;
    assert.equal(bust.status, 403);
    assert.match(bust.error ?? '', /fetch_failed/);
    assert.match(got.source.reason ?? '', /nothing could confirm it.*403/);
  });

  it('with MEDIA_REQUIRE_VERIFIED: 409 stale_media that says why, and no file left', async () => {
    const strict = fx.fetcherWith({ media: { requireVerified: true } });
    const { url } = signed();
    const path = tmp.path();
    const err = await refusal(strict.fetchFresh(url, fetchOpts(path)), 'stale_media', 409);
    assert.match(err.message, /cannot be confirmed current/);
    assert.match(err.message, /MEDIA_REQUIRE_VERIFIED/);
    assert.equal(err.details?.freshness, 'unverified');
    assert.match(String(err.details?.reason), /no cache signal.*403/);
    assertNoFile(path);
  });

  it('with MEDIA_REQUIRE_VERIFIED, a copy a busted request confirms is still taken', async () => {
    const strict = fx.fetcherWith({ media: { requireVerified: true } });
    const name = unique('strict-ok');
    origin.put(name, content());
    const got = await strict.fetchFresh(`${origin.url}/${name}`, fetchOpts(tmp.path()));
    assert.equal(got.source.freshness, 'confirmed');
  });
});

describe('a cached redirect', () => {
  for (const [label, cache, signalled] of [
    ['varnish (says HIT on the redirect)', () => varnish, true],
    ['stock nginx keeping 302s (says nothing)', () => silentRedirects, false],
  ] as const) {
    it(`${label}: the origin now points elsewhere; the busted chain from the first URL finds the new target`, async () => {
      const base = cache().url;
      const latest = unique('banner-latest');
      const [v1Name, v2Name] = [unique('banner.v1'), unique('banner.v2')];
      const [v1, v2] = [content(), content()];
      origin.put(v1Name, v1);
      origin.put(v2Name, v2);
      origin.redirect(latest, `/${v1Name}`);
      await warm(`${base}/${latest}`, 302);
      origin.redirect(latest, `/${v2Name}`);

      const path = tmp.path();
      const got = await fetcher.fetchFresh(`${base}/${latest}`, fetchOpts(path));
      assert.equal(got.sha256, sha256(v2));
      assert.deepEqual(await fileBytes(path), v2);
      assert.deepEqual([got.source.freshness, got.source.obtainedBy], ['fresh', 'cache-busted']);
      assert.equal(got.source.finalUrl, `${base}/${v2Name}`);
      const [plain, bust] = got.source.attempts;
      assert.equal(plain.sha256, sha256(v1));
      assert.deepEqual(
        plain.hops?.map((h) => [h.status, h.cacheVerdict]),
        [
          [302, signalled ? 'hit' : 'unknown'],
          [200, signalled ? 'miss' : 'unknown'],
        ],
      );
      assert.equal(plain.cacheVerdict, signalled ? 'hit' : 'unknown', 'a cached hop taints the chain');
      // Busted from the first URL on, on every hop.
      assert.equal(bust.hops?.length, 2);
      for (const hop of bust.hops ?? []) assert.match(hop.url, /[?&]_hsfresh=[0-9a-f]+/);
      assert.equal(bust.conditional, undefined, 'the chain led elsewhere: nothing to ask conditionally');
    });
  }
});

describe('REVALIDATED is a cache answer, not a miss', () => {
  it('a cache that revalidated and served its old copy: the busted request’s other bytes win', async () => {
    const [old, fresh] = [content(), content()];
    // A cache whose validator did not change with the content: it says REVALIDATED and serves its copy.
    const cache = createServer((req, res) => {
      const bust = /[?&]_hsfresh=/.test(req.url ?? '');
      const body = bust ? fresh : old;
      res.writeHead(200, { 'content-length': body.length, ...(bust ? {} : { 'x-cache-status': 'REVALIDATED' }) }).end(body);
    });
    await new Promise<void>((resolve) => cache.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(cache.address() as AddressInfo).port}/menu.jpg`;
      const got = await fetcher.fetchFresh(url, fetchOpts(tmp.path()));
      assert.equal(got.sha256, sha256(fresh));
      assert.equal(got.source.obtainedBy, 'cache-busted');
      assert.deepEqual([got.source.attempts[0].cacheVerdict, got.source.attempts[0].sha256], ['hit', sha256(old)]);
    } finally {
      cache.closeAllConnections();
      await new Promise((resolve) => cache.close(resolve));
    }
  });
});
