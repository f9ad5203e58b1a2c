import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, type Origin } from '../../support/origin.js';
import { makeJpeg } from '../../support/media-fixtures.js';
import { openEventStream } from '../../support/sse.js';
import type { Delivery } from '../../support/wa-simulator/index.js';
import { createBroadcast, report, type BroadcastBody } from '../../broadcasts/helpers.js';
import { sha256, startHarness, type Harness } from './harness.js';

let h: Harness;
let origin: Origin;
before(async () => {
  [h, origin] = await Promise.all([startHarness(), startOrigin()]);
  await h.link('shop', '15550900001');
});
after(async () => {
  await Promise.all([h.close(), origin.close()]);
});

test('an image broadcast through Baileys: one fetch, one upload, every phone decrypts the pinned hash under its own caption', async () => {
  const first = await makeJpeg({ seed: 91 });
  const second = await makeJpeg({ seed: 92 });
  origin.put('offer.jpg', first, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const phones = ['15557790001', '15557790002', '15557790003', '15557790004', '15557790005'];
  const names = ['Ana', 'Ben', 'Cleo', 'Dev', 'Eve'];

  // The file changes at its URL as soon as the first phone has the image; the rest must still get the first.
  let shownAtReplacement: number | undefined;
  const replace = (d: Delivery) => {
    if (shownAtReplacement !== undefined || !phones.includes(d.to.split('@')[0])) return;
    shownAtReplacement = h.sim.received().filter((r) => phones.includes(r.to.split('@')[0])).length;
    origin.put('offer.jpg', second, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  };
  h.sim.on('delivery', replace);
  const stream = await openEventStream(`${h.server.url}/api/sessions/shop/events`, { authorization: `Bearer ${h.server.apiKey}` });
  const uploadsBefore = h.sim.uploads;
  let created: BroadcastBody;
  let fetchesAtCreation = 0;
  try {
    created = await createBroadcast(h.server, 'shop', {
      name: 'offer',
      recipients: phones.map((p, i) => ({ to: `+${p}`, vars: { name: names[i] } })),
      message: { media: { url: `${origin.url}/offer.jpg` }, caption: 'Hi {{name}}, 20 % off today' },
      pace: { perMinute: 0 },
    });
    assert.equal(created.media?.sha256, sha256(first), 'pinned to the bytes fetched at creation');
    fetchesAtCreation = origin.requests.length;

    const done = await stream.next(
      (e) => e.event === 'broadcast' && (e.data as BroadcastBody).id === created.id && (e.data as BroadcastBody).status === 'completed',
      20_000,
    );
    assert.equal((done.data as BroadcastBody).counts.sent, phones.length);
  } finally {
    h.sim.off('delivery', replace);
    await stream.close();
  }
  assert.equal(shownAtReplacement, 1, 'replaced when one phone had the image: four got it after');

  assert.equal(h.sim.uploads - uploadsBefore, 1, 'one WhatsApp upload served every recipient');
  // Creation fetched it (a 200, then the freshness check's conditional 304); nothing fetched it since.
  assert.equal(origin.requests.length, fetchesAtCreation, 'no fetch after creation');
  assert.equal(origin.bytesServed('offer.jpg'), first.length, 'the origin served the file once');

  const rows = await report(h.server, created.id);
  assert.equal(rows.length, phones.length);
  for (const [i, phone] of phones.entries()) {
    const row = rows[i];
    assert.deepEqual([row.to, row.status, row.sha256], [`${phone}@s.whatsapp.net`, 'sent', sha256(first)], `report row ${i}`);
    const shown = h.sim.received(phone);
    assert.deepEqual(
      shown.map((d) => [d.id, d.type, d.caption, d.sha256, d.error]),
      [[row.messageId, 'image', `Hi ${names[i]}, 20 % off today`, sha256(first), undefined]],
      `what ${phone} shows`,
    );
    assert.deepEqual(h.sim.relayCounts(phone), { [row.messageId!]: 1 }, `${phone} got one relay`);
  }
});
