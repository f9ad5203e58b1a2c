import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSsrfGuard } from '../../src/media/ssrf.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { startSquid, type RunningProxy } from '../support/caches.js';
import { content, fetchOpts, makeFetcher, refusal, sha256, tempDir, assertNoFile } from './fetch-helpers.js';

let origin: Origin;
let tmp: Awaited<ReturnType<typeof tempDir>>;
const fetchers: Array<{ close(): Promise<void> }> = [];
const fetcherWith = (...args: Parameters<typeof makeFetcher>) => {
  const f = makeFetcher(...args);
  fetchers.push(f);
  return f;
};

before(async () => {
  origin = await startOrigin();
  origin.put('ok.bin', content());
  tmp = await tempDir();
});

after(async () => {
  await Promise.all(fetchers.map((f) => f.close()));
  await origin.close();
  await tmp.remove();
});

// Each is refused by the guard before a socket is opened: the literal addresses never see a packet, and
// the names are resolved locally (localhost from /etc/hosts).
const BLOCKED = [
  'http://127.0.0.1/',
  'http://127.1.2.3:8080/x',
  'http://2130706433/', // 127.0.0.1 in decimal
  'http://localhost/',
  'http://10.0.0.1/',
  'http://172.16.5.4/',
  'http://172.31.255.255/',
  'http://192.168.1.1/',
  'http://169.254.169.254/latest/meta-data/',
  'http://100.64.0.1/',
  'http://0.0.0.0/',
  'http://224.0.0.1/',
  'http://[::1]/',
  'http://[::]/',
  'http://[fe80::1]/',
  'http://[fc00::1]/',
  'http://[fd12:3456::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:169.254.169.254]/',
  'https://10.1.2.3/secure',
  'http://[::127.0.0.1]/', // IPv4-compatible, ::/96
  'http://[::a9fe:a9fe]/',
  'http://[64:ff9b:1::a00:1]/', // local-use NAT64
  'http://[fec0::1]/', // site-local
  'http://[2002:7f00:1::]/', // 6to4 of 127.0.0.1
  'http://[2002:a9fe:a9fe::1]/', // 6to4 of 169.254.169.254
  'http://[100::1]/', // discard-only
];

describe('the SSRF guard refuses private targets', () => {
  const fetcher = () => fetcherWith({ media: { allowHosts: [] } });

  for (const url of BLOCKED) {
    it(`refuses ${url}`, async () => {
      const path = tmp.path();
      const err = await refusal(fetcher().fetchFresh(url, fetchOpts(path)), 'blocked_url', 400);
      assert.match(err.message, /MEDIA_ALLOW_HOSTS/);
      assertNoFile(path);
    });
  }

  it('refuses the loopback origin itself when loopback is not allowed', async () => {
    const seen = origin.requests.length;
    await refusal(fetcher().fetchFresh(`${origin.url}/ok.bin`, fetchOpts(tmp.path())), 'blocked_url', 400);
    assert.equal(origin.requests.length, seen);
  });

  it('refuses a redirect from an allowed origin to a blocked one', async () => {
    const allowed = fetcherWith({ media: { allowHosts: ['127.0.0.1'] } });
    for (const target of ['http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://10.0.0.1/']) {
      origin.redirect('to-private', target);
      const path = tmp.path();
      const err = await refusal(allowed.fetchFresh(`${origin.url}/to-private`, fetchOpts(path)), 'blocked_url', 400);
      assert.ok(Array.isArray(err.details?.addresses));
      assertNoFile(path);
    }
  });

  it('checks the target before a proxy is asked to reach it', async () => {
    // The proxy is the operator's own (trusted, loopback): it may be reached; what it is asked for may not.
    const viaProxy = fetcherWith({ media: { allowHosts: [] }, proxy: { http: origin.url } });
    const seen = origin.requests.length;
    await refusal(viaProxy.fetchFresh('http://169.254.169.254/latest/meta-data/', fetchOpts(tmp.path())), 'blocked_url', 400);
    await refusal(viaProxy.fetchFresh('http://localhost/', fetchOpts(tmp.path())), 'blocked_url', 400);
    assert.equal(origin.requests.length, seen);
  });

  it('refuses what is not http(s) as invalid_request', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.org/x', 'gopher://127.0.0.1/', 'not a url']) {
      await refusal(fetcher().fetchFresh(url, fetchOpts(tmp.path())), 'invalid_request', 400);
    }
  });

  it('refuses a URL with credentials without repeating them', async () => {
    const err = await refusal(fetcher().fetchFresh('http://user:s3cret@example.org/x.jpg', fetchOpts(tmp.path())), 'invalid_request', 400);
    assert.doesNotMatch(JSON.stringify({ message: err.message, details: err.details }), /s3cret/);
  });
});

describe('MEDIA_ALLOW_HOSTS', () => {
  it('allows a listed address', async () => {
    const got = await fetcherWith({ media: { allowHosts: ['127.0.0.1'] } }).fetchFresh(`${origin.url}/ok.bin`, fetchOpts(tmp.path()));
    assert.equal(got.size, 20_000);
  });

  it('allows a listed CIDR', async () => {
    const f = fetcherWith({ media: { allowHosts: ['127.0.0.0/8'] } });
    const got = await f.fetchFresh(`${origin.url}/ok.bin`, fetchOpts(tmp.path()));
    assert.equal(got.size, 20_000);
    await refusal(f.fetchFresh('http://10.0.0.1/', fetchOpts(tmp.path())), 'blocked_url', 400);
  });

  it('allows a listed host name, and only that name', async () => {
    const body = content();
    origin.put('named.bin', body);
    const f = fetcherWith({ media: { allowHosts: ['localhost'] } });
    const got = await f.fetchFresh(`http://localhost:${origin.port}/named.bin`, fetchOpts(tmp.path()));
    assert.equal(got.sha256, sha256(body));
    await refusal(f.fetchFresh(`${origin.url}/named.bin`, fetchOpts(tmp.path())), 'blocked_url', 400);
  });

  it('the guard resolves each name to the permitted addresses only', async () => {
    const guard = createSsrfGuard({ allowHosts: ['127.0.0.1', 'fd00::/8'] });
    assert.deepEqual(await guard.resolve('127.0.0.1'), ['127.0.0.1']);
    assert.deepEqual(await guard.resolve('[fd00::5]'), ['fd00::5']);
    assert.deepEqual(await guard.resolve('93.184.215.14'), ['93.184.215.14']);
    await assert.rejects(guard.resolve('[fc00::1]'), { code: 'blocked_url' });
    await assert.rejects(guard.resolve('::ffff:7f00:2'), { code: 'blocked_url' });
  });

  it('an address with an IPv4 inside (6to4, IPv4-mapped) is judged by that IPv4 address', async () => {
    const guard = createSsrfGuard({ allowHosts: ['127.0.0.1'] });
    assert.deepEqual(await guard.resolve('[2002:5db8:d70e::1]'), ['2002:5db8:d70e::1']); // 93.184.215.14
    assert.deepEqual(await guard.resolve('[2002:7f00:1::]'), ['2002:7f00:1::']); // 127.0.0.1, listed
    assert.deepEqual(await guard.resolve('[::ffff:8.8.8.8]'), ['::ffff:8.8.8.8']);
    await assert.rejects(guard.resolve('[2002:a00:1::]'), { code: 'blocked_url' }); // 10.0.0.1
  });
});

describe('behind a real forward proxy (squid), which resolves names itself', () => {
  let squid: RunningProxy;
  before(async () => {
    squid = await startSquid();
  });
  after(() => squid?.stop());
  const viaSquid = (allowHosts: string[]) => fetcherWith({ media: { allowHosts }, proxy: { http: squid.proxyUrl, bypassOnStale: false } });
  const asked = async (path: string) => (await squid.accessLog()).split('\n').filter((line) => line.includes(path)).length;

  it('a name that resolves to loopback here is refused before squid is asked, though squid would fetch it', async () => {
    origin.put('proxied-private.bin', content());
    const url = `http://localhost:${origin.port}/proxied-private.bin`;
    const seen = origin.requests.length;
    await refusal(viaSquid([]).fetchFresh(url, fetchOpts(tmp.path())), 'blocked_url', 400);
    assert.equal(origin.requests.length, seen);
    assert.equal(await asked('/proxied-private.bin'), 0);
    // The same URL, allowed by name, goes through squid: the refusal above was the guard's, not squid's.
    const got = await viaSquid(['localhost']).fetchFresh(url, fetchOpts(tmp.path()));
    assert.equal(got.size, 20_000);
    assert.ok((await asked('/proxied-private.bin')) >= 1);
  });

  it('a redirect to a private address is refused before squid is asked for it', async () => {
    origin.put('redirect-target.bin', content());
    origin.redirect('proxied-redirect', `http://127.0.0.1:${origin.port}/redirect-target.bin`);
    const path = tmp.path();
    // Only the name is listed: the redirect's literal loopback address is not.
    const err = await refusal(
      viaSquid(['localhost']).fetchFresh(`http://localhost:${origin.port}/proxied-redirect`, fetchOpts(path)),
      'blocked_url',
      400,
    );
    assert.deepEqual(err.details?.addresses, ['127.0.0.1']);
    assert.equal(await asked('/redirect-target.bin'), 0);
    assertNoFile(path);
  });
});
