import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { inspectFile, maxBytesFor } from '../../src/media/inspect.js';
import { readMp4Tracks } from '../../src/media/mp4.js';
import * as media from '../support/media-fixtures.js';

const limits = loadConfig({}).media.maxBytes;
const KB = 1024;
const MB = 1024 * KB;

/** Rejects with the HashsendError's code, status and details, so a test can check what a caller would see. */
const refusal = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (e) {
    const { code, status, message, details } = e as { code: string; status: number; message: string; details?: Record<string, unknown> };
    return { code, status, message, details };
  }
  assert.fail('expected a refusal');
};

describe('inspectFile', () => {
  let dir: media.FixtureDir;
  before(async () => {
    dir = await media.fixtureDir();
  });
  after(() => dir.cleanup());

  test('a JPEG declared binary/octet-stream is a JPEG image, its declared type kept beside it', async () => {
    const path = await dir.write('photo', media.makeJpeg());
    const found = await inspectFile(path, { declaredMimetype: 'binary/octet-stream', limits });
    assert.equal(found.mimetype, 'image/jpeg');
    assert.equal(found.declaredMimetype, 'binary/octet-stream');
    assert.equal(found.kind, 'image');
    assert.equal(found.needsConversion, undefined);
  });

  test('a PNG is an image as it is', async () => {
    const found = await inspectFile(await dir.write('png', media.makePng()), { limits });
    assert.deepEqual([found.mimetype, found.kind, found.needsConversion], ['image/png', 'image', undefined]);
  });

  test('an MP4 with H.264 is a video, moov first or last', async () => {
    for (const moovLast of [false, true]) {
      const path = await dir.write(`avc1-${moovLast}.mp4`, media.makeMp4({ moovLast, mdatBytes: 64 * KB }));
      const found = await inspectFile(path, { limits });
      assert.deepEqual([found.mimetype, found.kind, found.codec], ['video/mp4', 'video', 'avc1']);
    }
  });

  test('an MP4 with HEVC is refused, naming the codec', async () => {
    const path = await dir.write('hvc1.mp4', media.makeMp4({ tracks: [{ handler: 'vide', codec: 'hvc1' }] }));
    const error = await refusal(inspectFile(path, { limits }));
    assert.equal(error.code, 'unsupported_media');
    assert.equal(error.status, 422);
    assert.match(error.message, /hvc1 is not supported.*H\.264/);
    assert.deepEqual(error.details, { codec: 'hvc1' });
    // Sent as a file it is fine.
    const asDocument = await inspectFile(path, { limits, as: 'document' });
    assert.equal(asDocument.kind, 'document');
  });

  test('the box reader sees every track', async () => {
    const path = await dir.write(
      'av.mp4',
      media.makeMp4({
        tracks: [
          { handler: 'soun', codec: 'mp4a' },
          { handler: 'vide', codec: 'avc1' },
        ],
      }),
    );
    assert.deepEqual(await readMp4Tracks(path), [
      { handler: 'soun', codec: 'mp4a' },
      { handler: 'vide', codec: 'avc1' },
    ]);
    assert.deepEqual(await readMp4Tracks(await dir.write('not-mp4', media.makePdf())), []);
  });

  test('MP3, OGG-Opus and M4A are audio', async () => {
    const cases = [
      ['mp3', media.makeMp3(), 'audio/mpeg'],
      ['ogg', media.makeOggOpus(), 'audio/ogg; codecs=opus'],
      ['m4a', media.makeM4a(), 'audio/mp4'],
    ] as const;
    for (const [name, bytes, mimetype] of cases) {
      const found = await inspectFile(await dir.write(name, bytes), { limits });
      assert.deepEqual([found.kind, found.mimetype], ['audio', mimetype], name);
    }
    const voice = await inspectFile(await dir.write('voice.ogg', media.makeOggOpus()), { limits, as: 'voice' });
    assert.equal(voice.kind, 'audio');
  });

  test('WebP is a sticker, static or animated, each with its own limit', async () => {
    const still = await inspectFile(await dir.write('still.webp', media.makeWebp()), { limits });
    assert.deepEqual([still.kind, still.animated], ['sticker', false]);
    const moving = await inspectFile(await dir.write('moving.webp', media.makeWebp({ animated: true })), { limits });
    assert.deepEqual([moving.kind, moving.animated], ['sticker', true]);

    const small = { ...limits, sticker: 200, animatedSticker: 600 };
    const tooBig = await refusal(
      inspectFile(await dir.write('moving.webp', media.makeWebp({ animated: true, width: 64, height: 64 })), { limits: small }),
    );
    assert.equal(tooBig.code, 'too_large');
    assert.equal(tooBig.details?.limit, 600);
    assert.equal(tooBig.details?.kind, 'sticker');
  });

  test('a static WebP too big for a sticker, or asked for as an image, becomes a JPEG image', async () => {
    const path = await dir.write('photo.webp', media.makeWebp({ width: 64, height: 64 }));
    const asked = await inspectFile(path, { limits, as: 'image' });
    assert.deepEqual([asked.kind, asked.needsConversion], ['image', 'jpeg']);
    const fallback = await inspectFile(path, { limits: { ...limits, sticker: 100 } });
    assert.deepEqual([fallback.kind, fallback.needsConversion], ['image', 'jpeg']);
  });

  test('GIF, AVIF and TIFF are images that need conversion to JPEG', async () => {
    for (const [name, bytes] of [
      ['gif', media.makeGif()],
      ['avif', media.makeAvif()],
      ['tiff', media.makeTiff()],
    ] as const) {
      const found = await inspectFile(await dir.write(name, bytes), { limits });
      assert.deepEqual([found.kind, found.needsConversion, found.mimetype], ['image', 'jpeg', media.fixtureMimetypes[name]]);
    }
  });

  test('a PDF, or an unknown file, is a document', async () => {
    const pdf = await inspectFile(await dir.write('doc.pdf', media.makePdf()), { declaredMimetype: 'image/jpeg', limits });
    assert.deepEqual([pdf.kind, pdf.mimetype, pdf.declaredMimetype], ['document', 'application/pdf', 'image/jpeg']);
    const csv = await inspectFile(await dir.write('data.csv', Buffer.from('a,b\n1,2\n')), { declaredMimetype: 'text/csv', limits });
    assert.deepEqual([csv.kind, csv.mimetype], ['document', 'text/csv']);
    // A claim to be media that sniffing does not back is not repeated as the type.
    const liar = await inspectFile(await dir.write('liar', Buffer.from('plain text')), { declaredMimetype: 'image/jpeg', limits });
    assert.deepEqual([liar.kind, liar.mimetype], ['document', 'application/octet-stream']);
  });

  test('over the kind limit is too_large with kind, limit and size', async () => {
    const path = await dir.write('big.jpg', media.makeLargeJpeg(5 * MB + 1));
    const error = await refusal(inspectFile(path, { limits }));
    assert.equal(error.code, 'too_large');
    assert.equal(error.status, 413);
    assert.deepEqual(error.details, { kind: 'image', limit: 5 * MB, size: 5 * MB + 1 });
    // The same bytes as a document are within that limit.
    assert.equal((await inspectFile(path, { limits, as: 'document' })).kind, 'document');
    const exact = await dir.write('exact.jpg', media.makeLargeJpeg(5 * MB));
    assert.equal((await inspectFile(exact, { limits })).size, 5 * MB);
  });

  test('`as` asking for a kind the bytes cannot be is unsupported_media', async () => {
    const pdf = await dir.write('doc.pdf', media.makePdf());
    const error = await refusal(inspectFile(pdf, { limits, as: 'video' }));
    assert.equal(error.code, 'unsupported_media');
    assert.equal(error.status, 422);
    assert.match(error.message, /cannot send application\/pdf as video/);
    assert.equal(
      (await refusal(inspectFile(await dir.write('p.png', media.makePng()), { limits, as: 'sticker' }))).code,
      'unsupported_media',
    );
    assert.equal(
      (await refusal(inspectFile(await dir.write('v.mp4', media.makeMp4()), { limits, as: 'audio' }))).code,
      'unsupported_media',
    );
    assert.equal(
      (await refusal(inspectFile(await dir.write('a.mp3', media.makeMp3()), { limits, as: 'image' }))).code,
      'unsupported_media',
    );
  });

  test('an empty file is refused', async () => {
    assert.equal((await refusal(inspectFile(await dir.write('empty', Buffer.alloc(0)), { limits }))).code, 'unsupported_media');
  });

  test('a few KB of deflate TIFF declaring 16383×16383 pixels is too_large, found without decoding it', async () => {
    const bomb = media.makeTiffBomb();
    assert.ok(bomb.length < 64 * KB, `the bomb is ${bomb.length} bytes`);
    const path = await dir.write('bomb.tif', bomb);
    const rss = process.memoryUsage().rss;
    const error = await refusal(inspectFile(path, { limits }));
    assert.deepEqual([error.status, error.code], [413, 'too_large'], error.message);
    assert.deepEqual([error.details?.kind, error.details?.width, error.details?.height], ['image', 16383, 16383]);
    assert.match(error.message, /16383×16383 pixels/);
    // Decoded, it would take 805 MB.
    assert.ok(process.memoryUsage().rss - rss < 100 * MB, `RSS grew by ${(process.memoryUsage().rss - rss) / MB} MB`);
    // As a document it is bytes like any other, never decoded.
    assert.equal((await inspectFile(path, { limits, as: 'document' })).kind, 'document');
  });

  test('a WebP over the sticker pixel cap is an image, and too_large as a sticker; over the image cap, too_large', async () => {
    const wide = await dir.write('wide.webp', media.makeLargeWebp({ width: 5000, height: 5000 }));
    const found = await inspectFile(wide, { limits });
    assert.deepEqual([found.kind, found.needsConversion], ['image', 'jpeg']);
    const asSticker = await refusal(inspectFile(wide, { limits, as: 'sticker' }));
    assert.deepEqual([asSticker.code, asSticker.details?.kind], ['too_large', 'sticker']);
    const huge = await dir.write('huge.webp', media.makeLargeWebp({ width: 9000, height: 9000 }));
    const asImage = await refusal(inspectFile(huge, { limits }));
    assert.deepEqual([asImage.code, asImage.details?.kind, asImage.details?.pixels], ['too_large', 'image', 81_000_000]);
  });

  test('an MP4 of 16 MB of empty boxes is refused after a bounded walk, read in a few large chunks', async () => {
    const path = await dir.write('empty-boxes.mp4', media.makeEmptyBoxMp4(16 * MB));
    // Counted on the real FileHandle: box by box, this file would take two million reads.
    const probe = await open(path, 'r');
    const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const read = proto.read;
    let reads = 0;
    proto.read = function (this: unknown, ...args: unknown[]) {
      if (++reads > 64) throw new Error('the MP4 reader reads the file box by box');
      return read.apply(this, args);
    };
    try {
      assert.deepEqual(await readMp4Tracks(path), []);
      assert.ok(reads <= 4, `${reads} reads`);
    } finally {
      proto.read = read;
    }
    const error = await refusal(inspectFile(path, { limits }));
    assert.deepEqual([error.status, error.code], [422, 'unsupported_media']);
    assert.match(error.message, /no video or audio track/);
  });
});

describe('maxBytesFor', () => {
  test('the first bytes decide, not the declared type', async () => {
    const jpegHead = (await media.makeJpeg()).subarray(0, 64);
    assert.equal(maxBytesFor(jpegHead, 'binary/octet-stream', limits), limits.image);
    assert.equal(maxBytesFor(media.makePdf().subarray(0, 64), 'image/jpeg', limits), limits.document);
    assert.equal(maxBytesFor(media.makeMp4().subarray(0, 64), undefined, limits), Math.max(limits.video, limits.audio));
    assert.equal(maxBytesFor(media.makeMp3().subarray(0, 64), undefined, limits), limits.audio);
    assert.equal(maxBytesFor(media.makeOggOpus().subarray(0, 64), undefined, limits), limits.audio);
    assert.equal(maxBytesFor((await media.makeGif()).subarray(0, 64), undefined, limits), limits.image);
  });

  test('an animated WebP head gets the animated sticker cap', async () => {
    const head = (await media.makeWebp({ animated: true })).subarray(0, 64);
    assert.equal(maxBytesFor(head, undefined, limits), limits.animatedSticker);
    assert.equal(maxBytesFor(head, undefined, limits, 'sticker'), limits.animatedSticker);
    const still = (await media.makeWebp()).subarray(0, 64);
    assert.equal(maxBytesFor(still, undefined, limits, 'sticker'), limits.sticker);
  });

  test('an empty or unknown head falls back to the declared type, then to the document cap', () => {
    assert.equal(maxBytesFor(new Uint8Array(), 'image/jpeg', limits), limits.image);
    assert.equal(maxBytesFor(new Uint8Array(), 'audio/ogg; codecs=opus', limits), limits.audio);
    assert.equal(maxBytesFor(Buffer.from('hello'), 'video/mp4', limits), Math.max(limits.video, limits.audio));
    assert.equal(maxBytesFor(new Uint8Array(), 'text/csv', limits), limits.document);
    assert.equal(maxBytesFor(new Uint8Array(), undefined, limits), limits.document);
  });

  test('`as` decides the kind', async () => {
    const jpegHead = (await media.makeJpeg()).subarray(0, 64);
    assert.equal(maxBytesFor(jpegHead, undefined, limits, 'document'), limits.document);
    assert.equal(maxBytesFor(new Uint8Array(), undefined, limits, 'video'), limits.video);
    assert.equal(maxBytesFor(new Uint8Array(), undefined, limits, 'voice'), limits.audio);
  });
});
