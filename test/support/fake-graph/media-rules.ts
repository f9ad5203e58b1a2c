/**
 * Meta's supported media types and size limits ("Supported media types" in the Cloud API media reference):
 * image 5 MB, video and audio 16 MB, documents 100 MB, stickers (WebP) 100 KB static / 500 KB animated.
 */
const MB = 1024 * 1024;

type Kind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

const BY_MIME: Record<string, { kind: Kind; max: number }> = {
  'audio/aac': { kind: 'audio', max: 16 * MB },
  'audio/amr': { kind: 'audio', max: 16 * MB },
  'audio/mpeg': { kind: 'audio', max: 16 * MB },
  'audio/mp4': { kind: 'audio', max: 16 * MB },
  'audio/ogg': { kind: 'audio', max: 16 * MB },
  'text/plain': { kind: 'document', max: 100 * MB },
  'application/pdf': { kind: 'document', max: 100 * MB },
  'application/msword': { kind: 'document', max: 100 * MB },
  'application/vnd.ms-excel': { kind: 'document', max: 100 * MB },
  'application/vnd.ms-powerpoint': { kind: 'document', max: 100 * MB },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { kind: 'document', max: 100 * MB },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { kind: 'document', max: 100 * MB },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': { kind: 'document', max: 100 * MB },
  'image/jpeg': { kind: 'image', max: 5 * MB },
  'image/png': { kind: 'image', max: 5 * MB },
  'image/webp': { kind: 'sticker', max: 500 * 1024 },
  'video/mp4': { kind: 'video', max: 16 * MB },
  'video/3gp': { kind: 'video', max: 16 * MB },
  'video/3gpp': { kind: 'video', max: 16 * MB },
};

export const SUPPORTED_MIME_TYPES = Object.keys(BY_MIME);
export const STATIC_STICKER_MAX = 100 * 1024;
/** The largest body any upload may have; busboy stops reading past it. */
export const LARGEST_MEDIA = 100 * MB;

const bare = (mime: string) => mime.split(';')[0].trim().toLowerCase();

/** An animated WebP has a VP8X header with the animation flag set. */
const isAnimatedWebp = (b: Buffer) =>
  b.length >= 21 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 12, 16) === 'VP8X' && (b[20] & 0x02) !== 0;

/** Why Meta would refuse these bytes as this mime type, or undefined when it takes them. */
export const mediaProblem = (mime: string, bytes: Buffer): string | undefined => {
  const rule = BY_MIME[bare(mime)];
  if (!rule) {
    return `Param file must be a file with one of the following types: ${SUPPORTED_MIME_TYPES.join(', ')}. Received file of type '${mime}'.`;
  }
  if (bytes.length === 0) return 'The file is empty.';
  const max = rule.kind === 'sticker' && !isAnimatedWebp(bytes) ? STATIC_STICKER_MAX : rule.max;
  if (bytes.length > max) return `File of type ${bare(mime)} is ${bytes.length} bytes; the maximum is ${max} bytes.`;
  return undefined;
};

/** Which message types may carry media of this mime: a document may carry any supported file. */
export const fitsMessageType = (messageType: string, mime: string): boolean => {
  const rule = BY_MIME[bare(mime)];
  if (!rule) return false;
  if (messageType === 'document') return true;
  return rule.kind === messageType;
};
