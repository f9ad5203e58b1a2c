import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { fileTypeFromFile } from 'file-type';
import sharp from 'sharp';
import { HashsendError } from '../errors.js';

export interface Converted {
  sha256: string;
  size: number;
}

/** Longest side of the preview WhatsApp shows before the media is downloaded. */
const THUMBNAIL_PX = 32;

const cannotDecode = (e: unknown) =>
  new HashsendError(
    'unsupported_media',
    422,
    `this image cannot be decoded: ${(e as Error).message}`,
    {},
    {
      cause: e,
    },
  );

/**
 * Decodes an image as WhatsApp's image kind wants it: the first frame, turned upright per EXIF, transparency
 * on white. sharp drops the metadata (and with it any GPS position) unless told to keep it.
 */
const upright = (srcPath: string) => sharp(srcPath, { animated: false }).autoOrient().flatten({ background: '#ffffff' });

/**
 * Writes `srcPath` as a JPEG to `destPath` and returns the hash and size of what was written. The JPEG is
 * encoded in memory (it is at most the image limit) so it is hashed as it is written, in one pass.
 */
export const toJpeg = async (srcPath: string, destPath: string): Promise<Converted> => {
  let jpeg: Buffer;
  try {
    jpeg = await upright(srcPath).jpeg({ quality: 85 }).toBuffer();
  } catch (e) {
    throw cannotDecode(e);
  }
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
  try {
    const preview = await upright(path).resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside' }).jpeg({ quality: 60 }).toBuffer();
    return preview.toString('base64');
  } catch (e) {
    throw cannotDecode(e);
  }
};
