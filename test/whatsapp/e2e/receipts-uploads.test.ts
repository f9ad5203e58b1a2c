import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, type Origin } from '../../support/origin.js';
import { makeJpeg } from '../../support/media-fixtures.js';
import { waitFor } from '../../support/server.js';
import type { Delivery } from '../../support/wa-simulator/index.js';
import { SENT, sha256, startHarness, type Harness } from './harness.js';

let h: Harness;
let origin: Origin;
before(async () => {
  [h, origin] = await Promise.all([startHarness(), startOrigin()]);
  await h.link('shop', '15550500001');
});
after(async () => {
  await Promise.all([h.close(), origin.close()]);
});

const sendPhoto = async (to: string, seed: number) => {
  const photo = await makeJpeg({ seed });
  origin.put(`p${seed}.jpg`, photo, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const id = await h.send('shop', { to, media: { url: `${origin.url}/p${seed}.jpg`, sha256: sha256(photo) } });
  return { id, photo };
};

test('receipts from the recipient phone move the message to delivered, then read', async () => {
  const id = await h.send('shop', { to: '+15557776001', text: 'receipt me' });
  await h.waitForStatus(id, ['sent']);
  await h.arrivedOnce(id, '15557776001');

  h.sim.sendReceipt(id, 'delivered');
  const delivered = await h.waitForStatus(id, ['delivered']);
  assert.ok(delivered.deliveredAt);
  h.sim.sendReceipt(id, 'read');
  const read = await h.waitForStatus(id, ['read']);
  assert.ok(read.readAt);
});

test('a read receipt that comes back at once, before the send has settled, still counts', async () => {
  const onDelivery = (d: Delivery) => {
    if (d.to.startsWith('15557776002')) h.sim.sendReceipt(d.id, 'read');
  };
  h.sim.on('delivery', onDelivery);
  try {
    const id = await h.send('shop', { to: '+15557776002', text: 'read at once' });
    await h.waitForStatus(id, ['read']);
  } finally {
    h.sim.off('delivery', onDelivery);
  }
});

test('uploads that fail: the send is retried and the recipient gets the message once', async () => {
  const uploadsBefore = h.sim.uploads;
  const rejectedBefore = h.sim.rejectedUploads;
  // the driver tries a failed upload once more by itself; a second failure is the outbox's to retry later
  h.sim.failUploads(2);
  const { id, photo } = await sendPhoto('+15557776003', 61);
  const m = await h.waitForStatus(id, SENT);
  assert.equal(h.sim.rejectedUploads - rejectedBefore, 2);
  assert.equal(h.sim.uploads - uploadsBefore, 1);
  assert.ok(m.attempts >= 2, `the outbox tried again (attempts: ${m.attempts})`);
  assert.equal(m.media?.sentSha256, sha256(photo));
  const got = await h.arrivedOnce(id, '15557776003');
  assert.equal(got.sha256, sha256(photo));
});

test('an expired media host: the refused upload is made again with fresh credentials, and the message goes once', async () => {
  const uploadsBefore = h.sim.uploads;
  const rejectedBefore = h.sim.rejectedUploads;
  h.sim.expireMediaHost();
  const { id, photo } = await sendPhoto('+15557776004', 62);
  const m = await h.waitForStatus(id, SENT);
  assert.equal(h.sim.rejectedUploads - rejectedBefore, 1, 'the first try met the expired token');
  assert.equal(h.sim.uploads - uploadsBefore, 1, 'uploaded again');
  assert.equal(m.media?.sentSha256, sha256(photo));
  const got = await h.arrivedOnce(id, '15557776004');
  assert.equal(got.sha256, sha256(photo));
});

test('an upload slower than WHATSAPP_UPLOAD_TIMEOUT_MS fails that try; once the host is quick again the message goes', async () => {
  h.sim.slowUploads(10_000);
  let id: string;
  let photo: Buffer;
  try {
    ({ id, photo } = await sendPhoto('+15557776005', 63));
    // each try gives up after the upload timeout (the driver's own second try too), and the outbox tries again
    const retried = await waitFor('a second try', async () => {
      const m = await h.message(id);
      return m.attempts >= 2 ? m : undefined;
    });
    assert.ok(['queued', 'sending'].includes(retried.status), `not sent while uploads stall (${retried.status})`);
  } finally {
    h.sim.slowUploads(0);
  }
  const m = await h.waitForStatus(id, SENT);
  assert.equal(m.media?.sentSha256, sha256(photo));
  await h.arrivedOnce(id, '15557776005');
});
