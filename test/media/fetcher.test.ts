import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { Fetcher } from '../../src/media/fetcher.js';
import { startNginx, startSquid, startVarnish, type RunningCache, type RunningProxy } from '../support/caches.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { makeTestCertificate } from '../support/test-certificate.js';
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

const MB = 1024 * 1024;

let fx: FetchFixture;
let origin: Origin;
let tmp: TempDir;
let fetcher: Fetcher;
let nginxPath: RunningCache;
let nginxUri: RunningCache;
let varnish: RunningCache;
let squid: RunningProxy;

before(async () => {
  fx = await startFetchFixture();
  ({ origin, tmp, fetcher } = fx);
  [nginxPath, nginxUri, varnish, squid] = await Promise.all([
    startNginx(origin.url, 'path'),
    startNginx(origin.url, 'uri'),
    startVarnish(origin.url),
    startSquid(),
  ]);
});

after(async () => {
  await Promise.all([nginxPath, nginxUri, varnish].map((c) => c?.stop()));
  await squid?.stop();
  await fx?.stop();
});

const fetcherWith: FetchFixture['fetcherWith'] = (opts) => fx.fetcherWith(opts);

let fileCount = 0;
/** Puts `old` at a new name, has `warm` read it once (filling the cache), then replaces it with `fresh`. */
const staleFile = async (warm: (path: string) => Promise<void>) => {
  const name = `banner-${fileCount++}.jpg`;
  const old = content();
  const fresh = content();
  origin.put(name, old);
  await warm(`/${name}`);
  origin.put(name, fresh);
  return { name, old, fresh };
};

const until = async (condition: () => Promise<boolean>, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, 'condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

const warmThrough = (base: string) => async (path: string) => {
  const res = await request(`${base}${path}`);
  await res.body.arrayBuffer();
  assert.equal(res.statusCode, 200);
};

describe('through caches a query string can bust', () => {
  for (const [label, cache] of [
    ['nginx keyed on the full URI', () => nginxUri],
    ['varnish', () => varnish],
  ] as const) {
    it(`${label}: a pinned new hash gets the fresh bytes`, async () => {
      const base = cache().url;
      const { name, fresh, old } = await staleFile(warmThrough(base));
      const path = tmp.path();
      const got = await fetcher.fetchFresh(`${base}/${name}`, fetchOpts(path, { expectedSha256: sha256(fresh) }));
      assert.equal(got.sha256, sha256(fresh));
      assert.deepEqual(await fileBytes(path), fresh);
      assert.equal(got.source.obtainedBy, 'cache-busted');
      assert.equal(got.source.freshness, 'fresh');
      const [plain, busted] = got.source.attempts;
      assert.equal(plain.cacheVerdict, 'hit');
      assert.equal(plain.sha256, sha256(old));
      assert.equal(busted.cacheVerdict, 'miss');
      assert.match(busted.url, /[?&]_hsfresh=[0-9a-f]+/);
      assert.equal(got.source.finalUrl, `${base}/${name}`);
    });

    it(`${label}: unpinned, the cached copy is never taken`, async () => {
      const base = cache().url;
      const { name, fresh } = await staleFile(warmThrough(base));
      const path = tmp.path();
      const got = await fetcher.fetchFresh(`${base}/${name}`, fetchOpts(path));
      assert.equal(got.sha256, sha256(fresh));
      assert.deepEqual(await fileBytes(path), fresh);
      assert.equal(got.source.freshness, 'fresh');
      assert.equal(got.source.obtainedBy, 'cache-busted');
    });
  }

  it('squid as a forward proxy (absolute-form requests, not CONNECT): pinned and unpinned get fresh bytes', async () => {
    const viaSquid = fetcherWith({ proxy: { http: squid.proxyUrl, bypassOnStale: false } });
    const warm = async (path: string) => {
      await viaSquid.fetchFresh(`${origin.url}${path}`, fetchOpts(tmp.path()));
    };
    for (const pinned of [true, false]) {
      const { name, fresh, old } = await staleFile(warm);
      const path = tmp.path();
      const got = await viaSquid.fetchFresh(`${origin.url}/${name}`, fetchOpts(path, pinned ? { expectedSha256: sha256(fresh) } : {}));
      assert.equal(got.sha256, sha256(fresh));
      assert.deepEqual(await fileBytes(path), fresh);
      assert.equal(got.source.obtainedBy, 'cache-busted');
      const [plain, busted] = got.source.attempts;
      assert.equal(plain.via, squid.proxyUrl);
      assert.equal(plain.cacheVerdict, 'hit');
      assert.equal(plain.sha256, sha256(old));
      assert.match(plain.cacheSignals['x-cache'] ?? '', /^HIT from/);
      assert.equal(busted.cacheVerdict, 'miss');
      const log = await squid.accessLog();
      assert.match(log, new RegExp(`GET ${origin.url}/${name} `));
    }
    assert.doesNotMatch(await squid.accessLog(), /CONNECT/);
  });
});

describe('through a cache keyed on the path alone', () => {
  it('a pinned new hash is refused as stale_media, suggesting a versioned path', async () => {
    const { name, fresh } = await staleFile(warmThrough(nginxPath.url));
    const path = tmp.path();
    const err = await refusal(
      fetcher.fetchFresh(`${nginxPath.url}/${name}`, fetchOpts(path, { expectedSha256: sha256(fresh) })),
      'stale_media',
      409,
    );
    assert.match(err.message, /path alone/);
    assert.match(err.message, /versioned path/);
    const attempts = err.details?.attempts as Array<{ strategy: string; cacheVerdict: string; cacheSignals: Record<string, string> }>;
    assert.deepEqual(
      attempts.map((a) => [a.strategy, a.cacheVerdict]),
      [
        ['plain', 'hit'],
        ['cache-busted', 'hit'],
      ],
    );
    assert.equal(attempts[1].cacheSignals['x-cache-status'], 'HIT');
    assertNoFile(path);
  });

  it('unpinned, it is refused too, never the stale bytes', async () => {
    const { name } = await staleFile(warmThrough(nginxPath.url));
    const path = tmp.path();
    await refusal(fetcher.fetchFresh(`${nginxPath.url}/${name}`, fetchOpts(path)), 'stale_media', 409);
    assertNoFile(path);
  });

  it('used as a proxy that cannot be busted, the proxy is bypassed', async () => {
    // nginx answers absolute-form requests like a forward proxy, from a cache no query string can bust.
    const viaStubborn = fetcherWith({ proxy: { http: nginxPath.url, bypassOnStale: true } });
    const { name, fresh } = await staleFile(warmThrough(nginxPath.url));
    const path = tmp.path();
    const got = await viaStubborn.fetchFresh(`${origin.url}/${name}`, fetchOpts(path, { expectedSha256: sha256(fresh) }));
    assert.equal(got.sha256, sha256(fresh));
    assert.equal(got.source.obtainedBy, 'proxy-bypassed');
    assert.deepEqual(
      got.source.attempts.map((a) => a.via),
      [nginxPath.url, nginxPath.url, 'direct'],
    );
  });
});

describe('proxy settings', () => {
  it('NO_PROXY sends matching hosts direct', async () => {
    const f = fetcherWith({ proxy: { http: squid.proxyUrl, noProxy: 'example.org, 127.0.0.1', bypassOnStale: false } });
    origin.put('noproxy.bin', content());
    const got = await f.fetchFresh(`${origin.url}/noproxy.bin`, fetchOpts(tmp.path()));
    assert.equal(got.source.attempts[0].via, 'direct');
    assert.doesNotMatch(await squid.accessLog(), /noproxy\.bin/);
  });

  it('https targets go through a CONNECT tunnel', async () => {
    const { key, cert } = await makeTestCertificate();
    const body = content();
    const tlsOrigin = createHttpsServer({ key, cert }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => tlsOrigin.listen(0, '127.0.0.1', resolve));
    try {
      const target = `https://127.0.0.1:${(tlsOrigin.address() as AddressInfo).port}/secure.bin`;
      const f = fetcherWith({ proxy: { https: squid.proxyUrl, bypassOnStale: false }, ca: cert });
      const got = await f.fetchFresh(target, fetchOpts(tmp.path(), { expectedSha256: sha256(body) }));
      assert.equal(got.sha256, sha256(body));
      assert.equal(got.source.attempts[0].via, squid.proxyUrl);
      // Squid logs a tunnel when it closes.
      await f.close();
      const connect = new RegExp(`CONNECT 127\\.0\\.0\\.1:${(tlsOrigin.address() as AddressInfo).port}`);
      await until(async () => connect.test(await squid.accessLog()));
    } finally {
      tlsOrigin.closeAllConnections();
      await new Promise((resolve) => tlsOrigin.close(resolve));
    }
  });
});

describe('what the origin itself serves', () => {
  it('other bytes than the pin, straight from the origin: hash_mismatch with both hashes', async () => {
    const body = content();
    origin.put('mismatch.bin', body);
    const path = tmp.path();
    const expected = sha256(content());
    const err = await refusal(
      fetcher.fetchFresh(`${origin.url}/mismatch.bin`, fetchOpts(path, { expectedSha256: expected })),
      'hash_mismatch',
      422,
    );
    assert.equal(err.details?.expected, expected);
    assert.equal(err.details?.received, sha256(body));
    assertNoFile(path);
  });

  it('other bytes than the pin behind varnish: the busted miss shows the origin has other bytes', async () => {
    const { name, fresh } = await staleFile(warmThrough(varnish.url));
    const expected = sha256(content());
    const err = await refusal(
      fetcher.fetchFresh(`${varnish.url}/${name}`, fetchOpts(tmp.path(), { expectedSha256: expected })),
      'hash_mismatch',
      422,
    );
    assert.equal(err.details?.received, sha256(fresh));
  });

  it('a 404 is fetch_failed with the upstream status', async () => {
    const path = tmp.path();
    const err = await refusal(fetcher.fetchFresh(`${origin.url}/missing.bin`, fetchOpts(path)), 'fetch_failed', 502);
    assert.equal(err.details?.status, 404);
    assertNoFile(path);
  });

  it('nothing listening: fetch_failed', async () => {
    const closed = await startOrigin();
    await closed.close();
    await refusal(fetcher.fetchFresh(`${closed.url}/x`, fetchOpts(tmp.path())), 'fetch_failed', 502);
  });
});

describe('size caps', () => {
  const big = Buffer.alloc(48 * MB, 7);

  it('a Content-Length over the cap is refused before the body is read', async () => {
    origin.put('big-declared.bin', big);
    const path = tmp.path();
    const err = await refusal(
      fetcher.fetchFresh(`${origin.url}/big-declared.bin`, fetchOpts(path, { maxBytesFor: () => MB })),
      'too_large',
      413,
    );
    assert.deepEqual(err.details, { limit: MB, contentLength: big.length });
    assert.ok(origin.bytesServed('big-declared.bin') < 16 * MB, `served ${origin.bytesServed('big-declared.bin')}`);
    assertNoFile(path);
  });

  it('a body without Content-Length is aborted at the cap, not read to the end', async () => {
    origin.put('big-chunked.bin', big, { chunked: true });
    const path = tmp.path();
    const err = await refusal(
      fetcher.fetchFresh(`${origin.url}/big-chunked.bin`, fetchOpts(path, { maxBytesFor: () => MB })),
      'too_large',
      413,
    );
    assert.equal(err.details?.limit, MB);
    assert.ok(Number(err.details?.received) > MB && Number(err.details?.received) < MB + 256 * 1024);
    const served = origin.bytesServed('big-chunked.bin');
    assert.ok(served < 16 * MB, `the origin served ${served} bytes of ${big.length}`);
    assertNoFile(path);
  });

  it('the cap follows the sniffed type: the first 4100 bytes decide it', async () => {
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), content(200_000)]);
    origin.put('photo.bin', jpeg, { contentType: 'binary/octet-stream' });
    const heads: number[] = [];
    const declared: Array<string | undefined> = [];
    const maxBytesFor = (head: Uint8Array, type?: string) => {
      heads.push(head.length);
      declared.push(type);
      return head[0] === 0xff && head[1] === 0xd8 ? 100_000 : 10 * MB;
    };
    const err = await refusal(fetcher.fetchFresh(`${origin.url}/photo.bin`, fetchOpts(tmp.path(), { maxBytesFor })), 'too_large', 413);
    assert.deepEqual(err.details, { limit: 100_000, contentLength: jpeg.length });
    assert.equal(heads[0], 0);
    assert.ok(heads[1] >= 4100);
    assert.deepEqual(declared, ['binary/octet-stream', 'binary/octet-stream']);
  });

  it('a file smaller than 4100 bytes is judged on all its bytes', async () => {
    const small = content(1000);
    origin.put('small.bin', small);
    const heads: number[] = [];
    const got = await fetcher.fetchFresh(
      `${origin.url}/small.bin`,
      fetchOpts(tmp.path(), { maxBytesFor: (head) => (heads.push(head.length), MB) }),
    );
    assert.equal(got.size, 1000);
    assert.deepEqual(heads, [0, 1000]);
    // The origin sent no cache signal; a conditional cache-busted request found the file unchanged.
    assert.equal(got.source.freshness, 'confirmed', got.source.reason);
  });
});

describe('a misbehaving connection', () => {
  it('a stalled body times out as fetch_timeout', async () => {
    origin.put('stall.bin', content(100_000));
    origin.stall('stall.bin', 10_000);
    const path = tmp.path();
    const err = await refusal(fetcher.fetchFresh(`${origin.url}/stall.bin`, fetchOpts(path)), 'fetch_timeout', 504);
    assert.match(err.message, /stalled/, 'the body timeout ended it, not the deadline per fetch');
    assertNoFile(path);
  });

  it('a connection dropped mid-body is resumed with Range + If-Range, with the right hash', async () => {
    const body = content(3 * MB);
    origin.put('drop.bin', body);
    origin.dropAfter('drop.bin', MB);
    const seen = origin.requests.length;
    const path = tmp.path();
    const got = await fetcher.fetchFresh(`${origin.url}/drop.bin`, fetchOpts(path, { expectedSha256: sha256(body) }));
    assert.equal(got.sha256, sha256(body));
    assert.deepEqual(await fileBytes(path), body);
    const ranged = origin.requests.slice(seen).filter((r) => r.headers.range);
    assert.equal(ranged.length, 1);
    assert.match(ranged[0].headers.range ?? '', /^bytes=\d+-$/);
    assert.equal(ranged[0].headers['if-range'], got.source.etag);
    // Only the missing part was sent again.
    assert.ok(origin.bytesServed('drop.bin') < body.length + 2 * MB);
  });

  it('restarted from zero when the file changed between the drop and the resume', async () => {
    const first = content(2 * MB);
    const second = content(2 * MB);
    origin.put('changing.bin', first);
    origin.dropAfter('changing.bin', MB, () => origin.put('changing.bin', second));
    const seen = origin.requests.length;
    const path = tmp.path();
    const got = await fetcher.fetchFresh(`${origin.url}/changing.bin`, fetchOpts(path));
    assert.equal(got.sha256, sha256(second));
    assert.equal(got.size, second.length);
    assert.deepEqual(await fileBytes(path), second);
    assert.ok(origin.requests.slice(seen).some((r) => r.headers['if-range']));
  });
});

describe('redirects', () => {
  it('are followed up to the limit, with the final URL recorded', async () => {
    const body = content();
    origin.put('target.bin', body);
    origin.redirect('hop1', '/hop2', 301);
    origin.redirect('hop2', `${origin.url}/target.bin`, 307);
    const got = await fetcher.fetchFresh(`${origin.url}/hop1`, fetchOpts(tmp.path()));
    assert.equal(got.sha256, sha256(body));
    assert.equal(got.source.finalUrl, `${origin.url}/target.bin`);
    assert.equal(got.source.url, `${origin.url}/hop1`);
  });

  it('past the limit are refused', async () => {
    origin.put('end.bin', content());
    for (let i = 0; i < 3; i++) origin.redirect(`chain${i}`, i === 2 ? '/end.bin' : `/chain${i + 1}`);
    const strict = fetcherWith({ media: { maxRedirects: 2 } });
    const path = tmp.path();
    const err = await refusal(strict.fetchFresh(`${origin.url}/chain0`, fetchOpts(path)), 'fetch_failed', 502);
    assert.match(err.message, /more than 2 redirects/);
    assertNoFile(path);
    const loose = fetcherWith({ media: { maxRedirects: 3 } });
    await loose.fetchFresh(`${origin.url}/chain0`, fetchOpts(tmp.path()));
  });
});
