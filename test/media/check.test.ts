import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createChecker, type CheckReport } from '../../src/media/check.js';
import { startNginx, type RunningCache } from '../support/caches.js';
import { makeJpeg } from '../support/media-fixtures.js';
import { startOrigin, type Origin } from '../support/origin.js';

let origin: Origin;
let silentNginx: RunningCache;

before(async () => {
  origin = await startOrigin();
  silentNginx = await startNginx(origin.url, 'uri', { signals: false });
});
after(async () => {
  await silentNginx?.stop();
  await origin?.close();
});

/** `hashsend check` as the CLI and the API run it, with loopback allowed. */
const check = (url: string, env: Record<string, string> = {}) =>
  createChecker({ config: loadConfig({ MEDIA_ALLOW_HOSTS: '127.0.0.1', ...env }), log: createLogger('silent') }).check(url);

const item = (report: CheckReport, name: string) => {
  const found = report.items.find((i) => i.check === name);
  assert.ok(found, `no "${name}" item in ${JSON.stringify(report.items)}`);
  return found;
};

describe('hashsend check reports freshness as the record does', () => {
  it('behind a cache that says nothing, an unchanged file: confirmed by a 304, no warning', async () => {
    origin.put('check-same.jpg', await makeJpeg({ seed: 51 }), { contentType: 'image/jpeg' });
    const url = `${silentNginx.url}/check-same.jpg`;
    await (await fetch(url)).arrayBuffer();
    const report = await check(url);
    assert.equal(report.wouldSend, true);
    assert.deepEqual([item(report, 'freshness').status, item(report, 'fetch').status], ['ok', 'ok']);
    assert.match(item(report, 'freshness').detail, /^confirmed: .*no cache signal.*304 Not Modified/);
    assert.match(item(report, 'fetch').detail, /HTTP 200 after 2 requests/);
  });

  it('a signed link that refuses the busting parameter: sent, but unverified is a warning that says what to do', async () => {
    origin.put('check-signed.jpg', await makeJpeg({ seed: 52 }), { contentType: 'image/jpeg', signedQuery: 'sig=abc' });
    const report = await check(`${origin.url}/check-signed.jpg?sig=abc`);
    assert.equal(report.wouldSend, true);
    assert.equal(item(report, 'freshness').status, 'warn');
    assert.match(item(report, 'freshness').detail, /^unverified: .*403.*pin a sha256 or version the path/);
    assert.deepEqual([item(report, 'cache busting').status], ['warn']);
    assert.match(item(report, 'cache busting').detail, /refused \(403\)/);
  });

  it('the same link with MEDIA_REQUIRE_VERIFIED=true: would not send, stale_media', async () => {
    origin.put('check-strict.jpg', await makeJpeg({ seed: 53 }), { contentType: 'image/jpeg', signedQuery: 'sig=abc' });
    const report = await check(`${origin.url}/check-strict.jpg?sig=abc`, { MEDIA_REQUIRE_VERIFIED: 'true' });
    assert.equal(report.wouldSend, false);
    assert.equal(report.error?.code, 'stale_media');
    assert.match(item(report, 'fetch').detail, /MEDIA_REQUIRE_VERIFIED/);
  });
});
