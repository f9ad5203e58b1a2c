import { open, stat } from 'node:fs/promises';
import { fileTypeFromFile } from 'file-type';
import sharp, { type FormatEnum } from 'sharp';
import type { Config } from '../config.js';
import { HashsendError } from '../errors.js';
import type { SendAs } from '../whatsapp/driver.js';
import { assertPixels, frameSize, MAX_PIXELS } from './image-limits.js';
import { readMp4Tracks } from './mp4.js';
import type { MediaKind } from './types.js';

export type MediaLimits = Config['media']['maxBytes'];

/** What the bytes are (sniffed, never taken from a declared type) and how they go to WhatsApp. */
export interface Inspection {
  /** The type to send under: the sniffed one, in WhatsApp's spelling (`audio/mp4` for M4A). */
  mimetype: string;
  /** The `Content-Type` the origin or uploader declared, kept beside the sniffed one. */
  declaredMimetype?: string;
  kind: MediaKind;
  /** WebP with animation: a sticker with the larger limit. */
  animated?: boolean;
  /** The video track's sample entry, e.g. `avc1`. */
  codec?: string;
  size: number;
  /** The bytes must be converted (with src/media/convert.ts) before they can be sent as this kind. */
  needsConversion?: 'jpeg';
}

export interface InspectOptions {
  declaredMimetype?: string;
  limits: MediaLimits;
  /** How the caller wants the media presented; the bytes must be able to be that. */
  as?: SendAs;
}

/** How a type is treated: which kinds it can become and what it takes. */
type Family = 'image' | 'webp' | 'convertible' | 'isobmff' | 'audio' | 'other';

const FAMILIES: Record<string, Family> = {
  'image/jpeg': 'image',
  'image/png': 'image',
  'image/webp': 'webp',
  'video/mp4': 'isobmff',
  'video/3gpp': 'isobmff',
  'audio/mp4': 'isobmff',
  'audio/x-m4a': 'isobmff',
  'audio/mpeg': 'audio',
  'audio/aac': 'audio',
  'audio/amr': 'audio',
  'audio/ogg; codecs=opus': 'audio',
};

/** Image types that become JPEG for the image kind, when this build of sharp can read them (BMP it cannot). */
const SHARP_FORMAT: Record<string, keyof FormatEnum> = {
  'image/gif': 'gif',
  'image/avif': 'heif',
  'image/heic': 'heif',
  'image/heif': 'heif',
  'image/tiff': 'tiff',
  'image/bmp': 'magick',
};
for (const [mime, format] of Object.entries(SHARP_FORMAT)) {
  if (sharp.format[format]?.input.file) FAMILIES[mime] = 'convertible';
}

/** Spellings seen in declared types for what sniffing calls otherwise. */
const DECLARED_ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/mp3': 'audio/mpeg',
  'audio/m4a': 'audio/x-m4a',
  'audio/ogg': 'audio/ogg; codecs=opus',
  'audio/opus': 'audio/ogg; codecs=opus',
};

const familyOf = (mime: string): Family => FAMILIES[mime] ?? 'other';

/** Whether WhatsApp's image kind takes this type as it is (JPEG, PNG); others are converted to JPEG first. */
export const sendsAsImage = (mime: string) => familyOf(mime) === 'image';

const familyOfDeclared = (declared: string | undefined): Family | undefined => {
  const bare = declared?.split(';')[0].trim().toLowerCase();
  if (!bare) return undefined;
  const family = familyOf(DECLARED_ALIASES[bare] ?? bare);
  return family === 'other' ? undefined : family;
};

const ascii = (head: Uint8Array, at: number, text: string) =>
  head.length >= at + text.length && [...text].every((c, i) => head[at + i] === c.charCodeAt(0));

/**
 * The type of a stream's first bytes, for choosing its size cap before the whole file is in. file-type's
 * buffer API is asynchronous and wants more bytes than a first chunk may hold; this knows the handful of
 * signatures that decide a cap. The final word is inspectFile's.
 */
const sniffHead = (head: Uint8Array): string | undefined => {
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (ascii(head, 0, '\x89PNG')) return 'image/png';
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return 'image/webp';
  if (ascii(head, 0, 'GIF8')) return 'image/gif';
  if (ascii(head, 0, 'II*\0') || ascii(head, 0, 'MM\0*')) return 'image/tiff';
  if (ascii(head, 4, 'ftyp')) {
    const brand = String.fromCharCode(...head.subarray(8, 12)).trim();
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    if (['heic', 'heix', 'mif1'].includes(brand)) return 'image/heic';
    if (brand === 'M4A' || brand === 'M4B') return 'audio/mp4';
    if (brand === 'qt') return 'video/quicktime';
    return brand.startsWith('3g') ? 'video/3gpp' : 'video/mp4';
  }
  if (ascii(head, 0, 'OggS')) return ascii(head, 28, 'OpusHead') ? 'audio/ogg; codecs=opus' : 'audio/ogg';
  if (ascii(head, 0, '#!AMR')) return 'audio/amr';
  if (ascii(head, 0, 'ID3')) return 'audio/mpeg';
  if (head[0] === 0xff && head[1] !== undefined && (head[1] & 0xe0) === 0xe0) {
    return (head[1] & 0x16) === 0x10 ? 'audio/aac' : 'audio/mpeg';
  }
  // Common documents, recognised so that a media type declared on them does not lower their cap.
  if (ascii(head, 0, '%PDF')) return 'application/pdf';
  if (ascii(head, 0, 'PK\x03\x04')) return 'application/zip';
  return undefined;
};

/**
 * Whether a WebP's first bytes say it is animated: the VP8X chunk's animation flag, or an `ANIM` chunk.
 * Undefined when the head is too short to tell.
 */
const webpAnimated = (head: Uint8Array): boolean | undefined => {
  if (head.length < 21) return undefined;
  if (ascii(head, 12, 'VP8X') && (head[20] & 0x02) !== 0) return true;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  for (let at = 12; at + 8 <= head.length;) {
    if (ascii(head, at, 'ANIM')) return true;
    const size = view.getUint32(at + 4, true);
    at += 8 + size + (size & 1); // chunks are padded to an even length
  }
  return false;
};

const readHead = async (path: string, length: number) => {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
};

const capOf = (kind: MediaKind, limits: MediaLimits, animated?: boolean) =>
  kind === 'sticker' ? (animated ? limits.animatedSticker : limits.sticker) : limits[kind];

/** The largest size a file of this family may reach as any kind it can become without `as`. */
const familyCap = (family: Family, limits: MediaLimits, mime: string, animated: boolean | undefined) => {
  switch (family) {
    case 'image':
    case 'convertible':
      return limits.image;
    case 'webp': {
      // A static WebP too big for a sticker is sent as a JPEG image instead (see classify).
      if (animated) return limits.animatedSticker;
      return Math.max(limits.image, animated === false ? limits.sticker : limits.animatedSticker);
    }
    case 'isobmff':
      return mime === 'audio/mp4' ? limits.audio : Math.max(limits.video, limits.audio);
    case 'audio':
      return limits.audio;
    case 'other':
      return limits.document;
  }
};

export const asKind = (as: SendAs): MediaKind => (as === 'voice' ? 'audio' : as);

/**
 * The byte cap to enforce while a fetch or upload streams in, from its first bytes: the sniffed type's kind
 * (or the one `as` asks for); with nothing recognisable yet, the declared type's kind; else a document's.
 */
export const maxBytesFor = (head: Uint8Array, declaredMimetype: string | undefined, limits: MediaLimits, as?: SendAs): number => {
  const sniffed = sniffHead(head);
  const animated = sniffed === 'image/webp' ? webpAnimated(head) : undefined;
  if (as === 'sticker') return animated === false ? limits.sticker : limits.animatedSticker;
  if (as) return limits[asKind(as)];
  if (sniffed) return familyCap(familyOf(sniffed), limits, sniffed, animated);
  const declared = familyOfDeclared(declaredMimetype);
  return declared ? familyCap(declared, limits, '', undefined) : limits.document;
};

const NEEDS: Record<SendAs, string> = {
  image: 'JPEG or PNG, or an image sharp converts to JPEG (WebP, GIF, AVIF, TIFF, HEIF)',
  video: 'MP4 or 3GPP with H.264 (avc1) video',
  audio: 'AAC, MP3, AMR, OGG-Opus or M4A',
  voice: 'AAC, MP3, AMR, OGG-Opus or M4A',
  sticker: 'WebP',
  document: 'any file',
};

const unsupported = (message: string, details: Record<string, unknown>) => new HashsendError('unsupported_media', 422, message, details);

const cannotBe = (mimetype: string, as: SendAs) =>
  unsupported(`cannot send ${mimetype} as ${as}: it must be ${NEEDS[as]}`, { mimetype, as });

type Classified = Omit<Inspection, 'size' | 'declaredMimetype'>;

const H264 = new Set(['avc1', 'avc3']);

/** MP4, 3GPP, M4A: video when there is a video track (H.264 only), audio when there is only sound. */
const classifyIsoBmff = async (path: string, mimetype: string, as: SendAs | undefined): Promise<Classified> => {
  const tracks = await readMp4Tracks(path);
  const video = tracks.find((t) => t.handler === 'vide');
  const audio = tracks.find((t) => t.handler === 'soun');
  if (as === 'video' || (!as && video)) {
    if (!video) throw unsupported(`no video track found in this ${mimetype} file`, { mimetype });
    const codec = video.codec ?? 'unknown';
    if (!H264.has(codec)) {
      throw unsupported(`video codec ${codec} is not supported; WhatsApp plays H.264 (avc1)`, { codec });
    }
    return { kind: 'video', mimetype: mimetype === 'video/3gpp' ? mimetype : 'video/mp4', codec };
  }
  if (as === 'image' || as === 'sticker') throw cannotBe(mimetype, as);
  // Past the video branch, a video track here means `as` asked for audio.
  if (!audio || video) {
    if (as) throw cannotBe(mimetype, as);
    throw unsupported(`no video or audio track found in this ${mimetype} file`, { mimetype });
  }
  return { kind: 'audio', mimetype: 'audio/mp4' };
};

const classify = async (path: string, mimetype: string, size: number, { limits, as }: InspectOptions): Promise<Classified> => {
  if (as === 'document') return { kind: 'document', mimetype };
  const family = familyOf(mimetype);
  switch (family) {
    case 'image':
    case 'convertible':
      if (as && as !== 'image') throw cannotBe(mimetype, as);
      assertPixels(await frameSize(path), 'image');
      return family === 'image' ? { kind: 'image', mimetype } : { kind: 'image', mimetype, needsConversion: 'jpeg' };
    case 'webp': {
      const animated = webpAnimated(await readHead(path, 4096)) ?? false;
      if (as && as !== 'image' && as !== 'sticker') throw cannotBe(mimetype, as);
      const frame = await frameSize(path);
      // A photo in WebP is common; without `as`, a static WebP too big for a sticker is sent as a JPEG image.
      const tooBigForSticker = size > limits.sticker || frame.width * frame.height > MAX_PIXELS.sticker;
      const asImage = as === 'image' || (!as && !animated && tooBigForSticker);
      assertPixels(frame, asImage ? 'image' : 'sticker');
      return asImage ? { kind: 'image', mimetype, needsConversion: 'jpeg' } : { kind: 'sticker', mimetype, animated };
    }
    case 'isobmff':
      return classifyIsoBmff(path, mimetype, as);
    case 'audio':
      if (as && as !== 'audio' && as !== 'voice') throw cannotBe(mimetype, as);
      return { kind: 'audio', mimetype };
    case 'other':
      if (as) throw cannotBe(mimetype, as);
      return { kind: 'document', mimetype };
  }
};

/**
 * Sniffs a file's real type, maps it to the WhatsApp kind it is sent as, and enforces that kind's size limit.
 * Refusals: `unsupported_media` (422) when the bytes cannot be what `as` asks or are a video WhatsApp cannot
 * play; `too_large` (413) over the kind's byte limit, or an image or sticker whose header declares more pixels
 * than its kind may have (src/media/image-limits.ts), found without decoding them. A convertible image is held
 * to the image limit before conversion, which only shrinks it.
 */
export const inspectFile = async (path: string, options: InspectOptions): Promise<Inspection> => {
  const { size } = await stat(path);
  const declaredMimetype = options.declaredMimetype?.trim() || undefined;
  if (size === 0) throw unsupported('the file is empty', { size });
  const sniffed = (await fileTypeFromFile(path))?.mime;
  // An unrecognised file is a document: its declared type names it, unless it claims to be media it is not.
  const namesDocument = declaredMimetype !== undefined && !familyOfDeclared(declaredMimetype);
  const mimetype = sniffed ?? (namesDocument ? declaredMimetype : 'application/octet-stream');
  const classified = await classify(path, mimetype, size, options);
  const limit = capOf(classified.kind, options.limits, classified.animated);
  if (size > limit) {
    const what = classified.kind === 'sticker' && classified.animated ? 'animated sticker' : classified.kind;
    throw new HashsendError('too_large', 413, `${what} of ${size} bytes is over the ${limit}-byte limit`, {
      kind: classified.kind,
      limit,
      size,
    });
  }
  return { ...classified, declaredMimetype, size };
};
