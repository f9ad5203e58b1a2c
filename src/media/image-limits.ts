import sharp, { type Metadata } from 'sharp';
import { HashsendError } from '../errors.js';

/**
 * The most pixels an image of each kind may have, checked from its header before anything decodes it: a few
 * hundred KB of deflate can declare 16383×16383 pixels (sharp's own default cap, 268 M), which decode to
 * gigabytes. WhatsApp shows photos at most 4096 px on a side (HD) and stickers at 512×512.
 * - image: 50 M pixels takes any phone photo (a 50 MP camera gives 8160×6120 = 49.9 M) and decodes to at most
 *   200 MB (RGBA), a fifth of sharp's default.
 * - sticker: 4096×4096, eight times WhatsApp's size on each side; a static WebP above it is sent as an image.
 */
export const MAX_PIXELS = { image: 50_000_000, sticker: 4096 * 4096 } as const;

export type PixelKind = keyof typeof MAX_PIXELS;

export const cannotDecode = (e: unknown) =>
  new HashsendError('unsupported_media', 422, `this image cannot be decoded: ${(e as Error).message}`, {}, { cause: e });

/** Width and height of one frame, read from the header (sharp's metadata decodes no pixels). */
export const frameSize = async (path: string): Promise<{ width: number; height: number }> => {
  let meta: Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch (e) {
    throw cannotDecode(e);
  }
  const { width, height, pageHeight } = meta;
  if (!width || !height) throw cannotDecode(new Error('the header gives no dimensions'));
  return { width, height: pageHeight ?? height };
};

/** `too_large` (413) when a frame of `width`×`height` is over the kind's pixel cap. */
export const assertPixels = ({ width, height }: { width: number; height: number }, kind: PixelKind) => {
  const limit = MAX_PIXELS[kind];
  if (width * height <= limit) return;
  throw new HashsendError('too_large', 413, `${kind} of ${width}×${height} pixels is over the ${limit}-pixel limit`, {
    kind,
    width,
    height,
    pixels: width * height,
    limitPixels: limit,
  });
};
