import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, type Origin } from '../../support/origin.js';
import { makeGif, makeJpeg, makeMp3, makeMp4, makeOggOpus, makePdf, makeWebp } from '../../support/media-fixtures.js';
import { SENT, sha256, startHarness, type Harness } from './harness.js';

const PHONE = '15550200001';
let h: Harness;
let origin: Origin;
before(async () => {
  [h, origin] = await Promise.all([startHarness(), startOrigin()]);
  await h.link('shop', PHONE);
});
after(async () => {
  await Promise.all([h.close(), origin.close()]);
});

/** Publishes `bytes` on the origin and sends them by URL with the hash pinned; returns the message id. */
const sendMedia = async (to: string, name: string, bytes: Buffer, contentType: string, extra: Record<string, unknown> = {}) => {
  origin.put(name, bytes, { contentType, cacheControl: 'no-store' });
  return h.send('shop', { to, media: { url: `${origin.url}/${name}`, sha256: sha256(bytes) }, ...extra });
};

test('text arrives as written', async () => {
  const id = await h.send('shop', { to: '+15557771000', text: 'Your order shipped ✓' });
  const sent = await h.waitForStatus(id, SENT);
  assert.equal(sent.waMessageId, id, 'WhatsApp knows the message by our id');
  const got = await h.arrivedOnce(id, '15557771000');
  assert.deepEqual([got.type, got.text, got.id, got.from], ['text', 'Your order shipped ✓', id, `${PHONE}@s.whatsapp.net`]);
});

test('image, video, audio, voice note, document and sticker: what each recipient decrypts hashes to the sent blob', async () => {
  const cases = [
    {
      to: '15557771001',
      name: 'photo.jpg',
      bytes: await makeJpeg({ seed: 21 }),
      type: 'image/jpeg',
      extra: { caption: 'New menu' },
      kind: 'image',
    },
    {
      to: '15557771002',
      name: 'clip.mp4',
      bytes: makeMp4({ mdatBytes: 4096 }),
      type: 'video/mp4',
      extra: { caption: 'Teaser' },
      kind: 'video',
    },
    { to: '15557771003', name: 'song.mp3', bytes: makeMp3(), type: 'audio/mpeg', extra: {}, kind: 'audio' },
    { to: '15557771004', name: 'note.ogg', bytes: makeOggOpus(), type: 'audio/ogg', extra: { as: 'voice' }, kind: 'audio' },
    {
      to: '15557771005',
      name: 'invoice.pdf',
      bytes: makePdf(5),
      type: 'application/pdf',
      extra: { filename: 'invoice-5.pdf', caption: 'Invoice' },
      kind: 'document',
    },
    {
      to: '15557771006',
      name: 'sticker.webp',
      bytes: await makeWebp({ seed: 3 }),
      type: 'image/webp',
      extra: { as: 'sticker' },
      kind: 'sticker',
    },
  ];
  const ids = await Promise.all(cases.map((c) => sendMedia(`+${c.to}`, c.name, c.bytes, c.type, c.extra)));
  for (const [i, c] of cases.entries()) {
    const m = await h.waitForStatus(ids[i], SENT);
    assert.deepEqual(m.media, { sha256: sha256(c.bytes), sentSha256: sha256(c.bytes) }, `${c.name}: the record says what was sent`);
    const got = await h.arrivedOnce(ids[i], c.to);
    assert.equal(got.error, undefined, `${c.name}: the phone's checks passed`);
    assert.equal(got.type, c.kind, c.name);
    assert.equal(got.sha256, sha256(c.bytes), `${c.name}: the recipient decrypts exactly the blob`);
    assert.equal(got.caption, 'caption' in c.extra ? c.extra.caption : undefined, `${c.name}: caption`);
    if (c.name === 'invoice.pdf') assert.equal(got.fileName, 'invoice-5.pdf');
    if (c.name === 'note.ogg') assert.equal(got.ptt, true, 'a voice note arrives as push-to-talk');
  }
});

test('a GIF sent as an image arrives as the converted JPEG, whose hash the message reports as sent', async () => {
  const gif = await makeGif({ seed: 4 });
  const id = await sendMedia('+15557771007', 'anim.gif', gif, 'image/gif', { as: 'image', caption: 'converted' });
  const m = await h.waitForStatus(id, SENT);
  assert.ok(m.media?.sentSha256, 'the sent hash is recorded');
  assert.notEqual(m.media.sentSha256, sha256(gif), 'what left is not the GIF');
  assert.equal(m.media.sentSha256, m.media.sha256, 'it is the stored converted blob');
  const got = await h.arrivedOnce(id, '15557771007');
  assert.deepEqual([got.type, got.mimetype, got.sha256, got.caption], ['image', 'image/jpeg', m.media.sentSha256, 'converted']);
});

test('one content to five recipients: one upload, five messages, five equal hashes', async () => {
  const photo = await makeJpeg({ seed: 55, width: 64, height: 64 });
  origin.put('broadcast.jpg', photo, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const uploadsBefore = h.sim.uploads;
  const recipients = ['15557772001', '15557772002', '15557772003', '15557772004', '15557772005'];
  const ids: string[] = [];
  for (const to of recipients)
    ids.push(await h.send('shop', { to: `+${to}`, media: { url: `${origin.url}/broadcast.jpg`, sha256: sha256(photo) } }));
  const got = await Promise.all(recipients.map((to, i) => h.arrivedOnce(ids[i], to)));
  assert.equal(h.sim.uploads - uploadsBefore, 1, 'the content went up to WhatsApp once');
  assert.deepEqual(
    recipients.map((to) => h.sim.relayCounts(to)),
    ids.map((id) => ({ [id]: 1 })),
    'each recipient got its own message, relayed once',
  );
  assert.deepEqual(
    got.map((d) => d.sha256),
    recipients.map(() => sha256(photo)),
  );
});
