import { rm } from 'node:fs/promises';
import { Router } from 'express';
import { z } from 'zod';
import { HashsendError } from '../../errors.js';
import { mediaUrl } from '../../media/content-urls.js';
import { storeBase64 } from '../../wasender/uploads.js';
import { jsonBody } from '../json-body.js';
import { receiveUpload, sendContent, type MediaRouteDeps } from '../routes/media.js';
import { requestOrigin } from './messages.js';
import { parseWasender, type WasenderSurface } from './index.js';

/** base64 inflates by a third: this takes a 16 MB file (WASenderApi's own upload cap) with room to spare. */
const BASE64_JSON_LIMIT = '24mb';

export const uploadBody = z.object({
  base64: z.string('is required').min(1, 'is required'),
  mimetype: z
    .string('must be a string')
    .regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a MIME type such as image/png')
    .optional(),
});

export interface WasenderUploadDeps {
  media: MediaRouteDeps;
  /** PUBLIC_MEDIA: answer with the key-less `/m/<sha256>.<ext>`; otherwise this surface's keyed media path. */
  publicMedia: boolean;
  /** PUBLIC_URL, if set: the origin answered URLs use; otherwise the one the request came in at. */
  publicUrl?: string;
}

/**
 * `POST /upload`: JSON `{ base64, mimetype? }` (base64 bare or a `data:` URL), a multipart form's first file, or
 * the raw bytes. Stored through the media core; answered with a URL that names the content by sha256, so it
 * serves exactly these bytes for as long as they are kept, and a `/send-message` that names it is resolved by
 * hash without a fetch. `GET /media/{sha256}.{ext}` serves it back to a session key.
 */
export const wasenderUploadRoutes =
  ({ media, publicMedia, publicUrl }: WasenderUploadDeps) =>
  ({ requireSessionKey }: WasenderSurface) =>
    Router()
      .post('/upload', requireSessionKey, jsonBody({ limit: BASE64_JSON_LIMIT }), async (req, res) => {
        let resolved;
        if (req.is('application/json')) {
          resolved = await storeBase64(media, parseWasender(uploadBody, req.body));
        } else {
          const upload = await receiveUpload(req, media).catch((err: unknown) => {
            // The unread rest of a refused body must not become the next request on this connection.
            if (!req.complete) res.setHeader('Connection', 'close');
            throw err;
          });
          try {
            resolved = await media.resolver.resolve({ upload });
          } finally {
            await rm(upload.path, { force: true });
          }
        }
        const { sha256, mimetype, size } = resolved.record;
        const publicUrlOf = mediaUrl(publicUrl ?? requestOrigin(req), sha256, mimetype, publicMedia);
        res.json({ success: true, publicUrl: publicUrlOf, sha256, mimetype, size });
      })
      .get('/media/:file', requireSessionKey, async (req, res) => {
        const sha256 = String(req.params.file).split('.')[0].toLowerCase();
        if (!/^[0-9a-f]{64}$/.test(sha256)) throw new HashsendError('media_not_found', 404, 'no such media');
        await sendContent(req, res, sha256, media);
      });
