import { HashsendError } from '../../errors.js';
import { maxBytesFor, type MediaLimits } from '../../media/inspect.js';
import type { BlobReader, SendAs } from '../driver.js';
import type { GraphClient } from './graph-client.js';
import { metaSha256 } from './meta-sha256.js';

export interface UploadableMedia {
  sha256: string;
  mimetype: string;
  as: SendAs;
  filename?: string;
}

/** What Meta says of an upload (`GET /{media-id}`). */
interface MediaInfo {
  sha256?: unknown;
  file_size?: unknown;
  mime_type?: unknown;
}

/**
 * Uploads the blob `media.sha256` to `/{phone-number-id}/media`, then asks Meta what it stored. This is the Cloud
 * driver's hash guard: the bytes come from the blob store (verified as read), and Meta's own sha256 of what it
 * received must be the blob's; anything else is `hash_mismatch`, the upload is deleted, and nothing is sent.
 * Meta's size limit per kind is checked before any byte leaves.
 */
export const uploadBlob = async (
  { graph, blobs, limits, phoneNumberId }: { graph: GraphClient; blobs: BlobReader; limits: MediaLimits; phoneNumberId: string },
  media: UploadableMedia,
): Promise<{ mediaId: string; sha256: string }> => {
  const bytes = await blobs.read(media.sha256);
  const max = maxBytesFor(bytes.subarray(0, 64), media.mimetype, limits, media.as);
  if (bytes.length > max) {
    throw new HashsendError('too_large', 413, `${bytes.length} bytes is more than Meta takes for ${media.as} (${max} bytes)`, {
      size: bytes.length,
      max,
      as: media.as,
    });
  }
  const mediaId = await graph.upload(phoneNumberId, {
    bytes,
    mimetype: media.mimetype.split(';')[0].trim(),
    filename: media.filename ?? `${media.sha256.slice(0, 16)}`,
  });
  const info = await graph.get<MediaInfo>(`${mediaId}?phone_number_id=${phoneNumberId}`);
  const reported = metaSha256(info.sha256);
  if (reported !== media.sha256) {
    await graph.delete(mediaId).catch(() => undefined);
    throw new HashsendError('hash_mismatch', 422, 'Meta received other bytes than the blob the send is for; nothing was sent', {
      expectedSha256: media.sha256,
      metaSha256: reported ?? null,
      mediaId,
    });
  }
  return { mediaId, sha256: reported };
};
