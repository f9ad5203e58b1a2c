import { createHash, randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { badParam, GraphFailure, noSuchObject } from './errors.ts';
import { mediaProblem } from './media-rules.ts';
import { parseMultipart } from './multipart.ts';
import type { FakeNumber, GraphState, StoredMedia } from './state.ts';

/** Where GET /{media-id} points: the fake's own stand-in for lookaside.fbsbx.com. */
export const ATTACHMENTS_PATH = '/whatsapp_business/attachments/';

let sequence = 0;
/** Media ids look like Meta's: 15-16 decimal digits. */
const mediaId = () => `${randomInt(100_000, 999_999)}${String(++sequence).padStart(10, '0')}`;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export const storeMedia = (
  state: GraphState,
  p: { phoneNumberId: string; bytes: Buffer; mimeType: string; at: number; filename?: string; inbound: boolean },
): StoredMedia => {
  const media: StoredMedia = { id: mediaId(), ...p, sha256: sha256(p.bytes), size: p.bytes.length, gone: false };
  state.media.set(media.id, media);
  return media;
};

/** POST /{phone-number-id}/media: multipart messaging_product, type (mime) and file, checked against Meta's table. */
export const uploadMedia = async (state: GraphState, n: FakeNumber, req: IncomingMessage, now: number) => {
  if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) throw badParam('The parameter file is required.');
  const form = await parseMultipart(req).catch(() => {
    throw badParam('The parameter file is required.');
  });
  const product = form.fields.messaging_product;
  if (product === undefined) throw badParam('The parameter messaging_product is required.');
  if (product !== 'whatsapp') throw badParam(`Param messaging_product must be one of {WHATSAPP} - got "${product}".`);
  if (!form.file) throw badParam('The parameter file is required.');
  const type = form.fields.type;
  if (!type) throw badParam('The parameter type is required.');
  if (form.file.truncated) throw new GraphFailure(131053, { details: 'The file is larger than any media type allows.' });
  const problem = mediaProblem(type, form.file.bytes);
  if (problem) throw new GraphFailure(131053, { details: problem });
  const media = storeMedia(state, {
    phoneNumberId: n.phoneNumberId,
    bytes: form.file.bytes,
    mimeType: type.split(';')[0].trim().toLowerCase(),
    at: now,
    filename: form.file.filename,
    inbound: false,
  });
  state.uploads.push({
    id: media.id,
    phoneNumberId: n.phoneNumberId,
    sha256: media.sha256,
    mimeType: media.mimeType,
    size: media.size,
    at: now,
  });
  state.changed();
  return { id: media.id };
};

/** The bytes behind a media URL, while it is fresh and its media alive and visible to the token. */
export const download = (state: GraphState, token: string, url: URL, now: number): StoredMedia => {
  const issued = Number(url.searchParams.get('ext')) * 1000;
  if (!(now - issued <= MEDIA_URL_TTL_MS)) {
    throw new GraphFailure(100, { status: 404, details: 'This media URL has expired: GET the media id again for a fresh URL.' });
  }
  return visibleMedia(state, token, url.searchParams.get('mid') ?? '', 'GET');
};

/** The media a token may see: alive and owned by a number of the token's business account. */
export const visibleMedia = (state: GraphState, token: string, id: string, method: string): StoredMedia => {
  const media = state.media.get(id);
  if (!media || media.gone || !state.tokenMayUse(token, media.phoneNumberId)) throw noSuchObject(id, method);
  return media;
};

/** Meta's media URLs are good for 5 minutes; after that, GET the media id again for a fresh one. */
export const MEDIA_URL_TTL_MS = 5 * 60 * 1000;

/** GET /{media-id}: Meta's media info, its `url` on this fake (download it with the same bearer token). */
export const mediaInfo = (base: string, media: StoredMedia, now: number) => ({
  messaging_product: 'whatsapp',
  url: `${base}${ATTACHMENTS_PATH}?mid=${media.id}&ext=${Math.floor(now / 1000)}&hash=${media.sha256.slice(0, 16)}`,
  mime_type: media.mimeType,
  sha256: media.sha256,
  file_size: media.size,
  id: media.id,
});
