import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { fileTypeFromFile } from 'file-type';
import sharp, { type Sharp } from 'sharp';
import { assertPixels, cannotDecode, frameSize, MAX_PIXELS } from './image-limits.js';
import { limitConcurrency } from '../lib/limit-concurrency.js';

export interface Converted {
  sha256: string;
  size: number;
}

/** Longest side of the preview WhatsApp shows before the media is downloaded. */
const THUMBNAIL_PX = 32;

/**
 * Decodes running at once. Each may hold a whole image (up to 200 MB at the image pixel cap) and keeps a CPU busy:
 * two bound the memory of a burst of uploads, and leave the other threads to serving and sending.
 */
const decoding = limitConcurrency(2);

/**
 * Decodes an image as WhatsApp's image kind wants it: the first frame, turned upright per EXIF, transparency
 * on white. sharp drops the metadata (and with it any GPS position) unless told to keep it. Refused with
 * `too_large` before any pixel is decoded when the header declares more than an image may have; sharp's own cap
 * is the same, in case the pixels turn out to be more than the header said.
 */
const upright = async (srcPath: string) => {
  assertPixels(await frameSize(srcPath), 'image');
  return sharp(srcPath, { animated: false, limitInputPixels: MAX_PIXELS.image }).autoOrient().flatten({ background: '#ffffff' });
};

/** Reads the header, decodes and encodes as `shape` says: the whole of one conversion holds one of the places. */
const decode = (srcPath: string, shape: (image: Sharp) => Sharp) =>
  decoding(async () => {
    const image = shape(await upright(srcPath));
    try {
      return await image.toBuffer();
    } catch (e) {
      throw cannotDecode(e);
    }
  });

/**
 * Writes `srcPath` as a JPEG to `destPath` and returns the hash and size of what was written. The JPEG is
 * encoded in memory (it is at most the image limit) so it is hashed as it is written, in one pass.
 */
export const toJpeg = async (srcPath: string, destPath: string): Promise<Converted> => {
  const jpeg = await decode(srcPath, (image) => image.jpeg({ quality: 85 }));
  await writeFile(destPath, jpeg, { mode: 0o600 });
  return { sha256: createHash('sha256').update(jpeg).digest('hex'), size: jpeg.length };
};

/**
 * A JPEG preview at most 32 px on its longest side, as base64; undefined for what is not an image (a video's
 * preview would need ffmpeg).
 */
export const thumbnail = async (path: string): Promise<string | undefined> => {
  const type = await fileTypeFromFile(path);
  if (!type?.mime.startsWith('image/')) return undefined;
  const preview = await decode(path, (image) => image.resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside' }).jpeg({ quality: 60 }));
  return preview.toString('base64');
};
