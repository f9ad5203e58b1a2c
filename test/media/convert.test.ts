import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileTypeFromBuffer, fileTypeFromFile } from 'file-type';
import sharp from 'sharp';
import { thumbnail, toJpeg } from '../../src/media/convert.js';
import * as media from '../support/media-fixtures.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('convert', () => {
  let dir: media.FixtureDir;
  before(async () => {
    dir = await media.fixtureDir();
  });
  after(() => dir.cleanup());

  test('toJpeg turns a WebP into a JPEG and reports the hash and size of what it wrote', async () => {
    const source = await media.makeWebp({ width: 40, height: 30 });
    const src = await dir.write('in.webp', source);
    const dest = join(dir.dir, 'out.jpg');
    const result = await toJpeg(src, dest);
    const written = await readFile(dest);
    assert.equal((await fileTypeFromFile(dest))?.mime, 'image/jpeg');
    assert.equal(result.sha256, sha256(written));
    assert.equal(result.size, written.length);
    assert.notEqual(result.sha256, sha256(source));
    const { width, height } = await sharp(dest).metadata();
    assert.deepEqual([width, height], [40, 30]);
  });

  test('toJpeg flattens transparency on white and takes the first frame of an animation', async () => {
    const transparent = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    const dest = join(dir.dir, 'flat.jpg');
    await toJpeg(await dir.write('clear.png', transparent), dest);
    const { data } = await sharp(dest).raw().toBuffer({ resolveWithObject: true });
    assert.ok(
      data.every((v) => v > 240),
      'transparent pixels come out white',
    );

    const animated = join(dir.dir, 'first-frame.jpg');
    await toJpeg(await dir.write('anim.webp', media.makeWebp({ animated: true, width: 20, height: 10 })), animated);
    const { width, height } = await sharp(animated).metadata();
    assert.deepEqual([width, height], [20, 10]);
  });

  test('toJpeg turns the picture upright per its EXIF orientation', async () => {
    const sideways = await sharp(await media.makeJpeg({ width: 20, height: 10 }))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const dest = join(dir.dir, 'upright.jpg');
    await toJpeg(await dir.write('sideways.jpg', sideways), dest);
    const { width, height, orientation } = await sharp(dest).metadata();
    assert.deepEqual([width, height, orientation], [10, 20, undefined]);
  });

  test('toJpeg of bytes sharp cannot decode is unsupported_media', async () => {
    await assert.rejects(toJpeg(await dir.write('doc.pdf', media.makePdf()), join(dir.dir, 'never.jpg')), {
      code: 'unsupported_media',
      status: 422,
    });
  });

  test('thumbnail is a JPEG of at most 32 px on its longest side, as base64', async () => {
    const preview = await thumbnail(await dir.write('wide.png', media.makePng({ width: 200, height: 100 })));
    assert.ok(preview);
    const bytes = Buffer.from(preview, 'base64');
    assert.equal((await fileTypeFromBuffer(bytes))?.mime, 'image/jpeg');
    const { width, height } = await sharp(bytes).metadata();
    assert.deepEqual([width, height], [32, 16]);
  });

  test('toJpeg and thumbnail of a 16383×16383 deflate TIFF bomb: too_large before a pixel is decoded', async () => {
    const bomb = await dir.write('bomb.tif', media.makeTiffBomb());
    const rss = process.memoryUsage().rss;
    await assert.rejects(toJpeg(bomb, join(dir.dir, 'never.jpg')), { code: 'too_large', status: 413 });
    await assert.rejects(thumbnail(bomb), { code: 'too_large', status: 413 });
    // Decoded, it would take 805 MB (1.7 GB of RSS as a JPEG was made of it).
    const grown = process.memoryUsage().rss - rss;
    assert.ok(grown < 100 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1024 / 1024)} MB`);
  });

  test('conversions run at most two at a time, whatever the number asked for at once', async () => {
    const src = await dir.write('burst.png', media.makePng({ width: 200, height: 200 }));
    // sharp's own counters: tasks queued for a libuv thread plus tasks decoding now.
    let most = 0;
    const sample = () => {
      const { queue, process } = sharp.counters();
      most = Math.max(most, queue + process);
    };
    sharp.queue.on('change', sample);
    try {
      const burst = Array.from({ length: 6 }, (_, i) => toJpeg(src, join(dir.dir, `burst-${i}.jpg`)));
      sample();
      await Promise.all(burst);
      sample();
    } finally {
      sharp.queue.off('change', sample);
    }
    assert.ok(most > 0, 'the conversions were seen');
    assert.ok(most <= 2, `${most} conversions ran at once`);
  });

  test('thumbnail of what is not an image is undefined', async () => {
    assert.equal(await thumbnail(await dir.write('v.mp4', media.makeMp4())), undefined);
    assert.equal(await thumbnail(await dir.write('d.pdf', media.makePdf())), undefined);
  });
});
