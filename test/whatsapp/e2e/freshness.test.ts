import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type RunningCache } from '../../support/caches.js';
import { startOrigin, type Origin } from '../../support/origin.js';
import { makeJpeg } from '../../support/media-fixtures.js';
import { SENT, sha256, startHarness, type Harness } from './harness.js';

let h: Harness;
let origin: Origin;
let cache: RunningCache;
before(async () => {
  [h, origin] = await Promise.all([startHarness(), startOrigin()]);
  cache = await startNginx(origin.url, 'path');
  await h.link('shop', '15550300001');
});
after(async () => {
  await Promise.all([h.close(), origin.close(), cache.stop()]);
});

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

test('a file replaced at its URL between two sends: the second recipient gets the new bytes', async () => {
  const v1 = await makeJpeg({ seed: 31 });
  const v2 = await makeJpeg({ seed: 32 });
  origin.put('menu.jpg', v1, { contentType: 'image/jpeg' });
  const first = await h.send('shop', { to: '+15557773001', media: { url: `${origin.url}/menu.jpg`, sha256: sha256(v1) } });
  await h.waitForStatus(first, SENT);

  origin.put('menu.jpg', v2, { contentType: 'image/jpeg' });
  const second = await h.send('shop', { to: '+15557773002', media: { url: `${origin.url}/menu.jpg`, sha256: sha256(v2) } });
  const m = await h.waitForStatus(second, SENT);
  assert.equal(m.media?.sentSha256, sha256(v2));

  const a = await h.arrivedOnce(first, '15557773001');
  const b = await h.arrivedOnce(second, '15557773002');
  assert.equal(a.sha256, sha256(v1));
  assert.equal(b.sha256, sha256(v2), 'the new file, not the upload made for the old one');
});

test('behind a cache that cannot be busted, the send of the replaced file is refused and nobody gets the old bytes', async () => {
  const v1 = await makeJpeg({ seed: 41 });
  const v2 = await makeJpeg({ seed: 42 });
  origin.put('offer.jpg', v1, { contentType: 'image/jpeg' });
  const first = await h.send('shop', { to: '+15557774001', media: { url: `${cache.url}/offer.jpg`, sha256: sha256(v1) } });
  await h.arrivedOnce(first, '15557774001');

  origin.put('offer.jpg', v2, { contentType: 'image/jpeg' });
  const uploadsBefore = h.sim.uploads;
  const res = await h.server.api('/api/sessions/shop/messages', {
    method: 'POST',
    json: { to: '+15557774002', media: { url: `${cache.url}/offer.jpg`, sha256: sha256(v2) } },
  });
  assert.deepEqual([res.status, await errorOf(res)], [409, 'stale_media']);

  // A later message to the same recipient goes out, so had the refused one been queued it would be there first.
  const probe = await h.send('shop', { to: '+15557774002', text: 'next' });
  await h.arrivedOnce(probe, '15557774002');
  assert.deepEqual(h.sim.relayCounts('15557774002'), { [probe]: 1 }, 'the recipient got no media at all');
  assert.ok(!h.sim.received().some((d) => d.to.startsWith('15557774002') && d.sha256 === sha256(v1)), 'never the old bytes');
  assert.equal(h.sim.uploads, uploadsBefore, 'nothing was uploaded for the refused send');
});
