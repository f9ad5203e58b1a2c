import { rm } from 'node:fs/promises';
import type Keyv from 'keyv';
import type { Config } from '../config.js';
import { HashsendError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SendAs } from '../whatsapp/driver.js';
import type { BlobStore } from './blobs.js';
import { toJpeg, thumbnail } from './convert.js';
import type { Fetcher } from './fetcher.js';
import { asKind, inspectFile, maxBytesFor, sendsAsImage, type Inspection } from './inspect.js';
import { normaliseSha256 } from './sha256.js';
import type { MediaRecord, MediaRef, MediaSource } from './types.js';

export interface Resolved {
  record: MediaRecord;
  /** False when the content was already held: nothing was fetched or stored. */
  created: boolean;
}

export interface MediaResolver {
  resolve(ref: MediaRef, options?: { as?: SendAs }): Promise<Resolved>;
  get(sha256: string): Promise<MediaRecord | undefined>;
  /**
   * Records a blob a driver stored (inbound media), so that it is served and can be sent like any other. Inspected
   * as an upload is; bytes that are no media we could send are recorded as an `application/octet-stream` document.
   * `media_not_found` when the blob is not there.
   */
  adopt(sha256: string, declaredMimetype?: string): Promise<MediaRecord>;
  remove(sha256: string): Promise<boolean>;
}

export interface MediaResolverDeps {
  limits: Config['media']['maxBytes'];
  blobs: BlobStore;
  fetcher: Fetcher;
  /**
   * Records by sha256, one per stored blob; `jpeg:<source sha256>` → the sha256 of its JPEG conversion. Stores
   * written before sources were kept also hold `alias:<source sha256>` → the conversion, for a source not stored.
   */
  records: Keyv;
  log: Logger;
  /** Told how each URL fetch ended, with the source it recorded or the error it threw (metrics); must not throw. */
  onFetch?: (fetched: { source: MediaSource } | { error: unknown }) => void;
}

/** An image record in a format WhatsApp's image kind does not take as it is (WebP, GIF, TIFF, …). */
const needsJpeg = (record: MediaRecord) => record.kind === 'image' && !sendsAsImage(record.mimetype);

/**
 * Turns any media reference into a stored, inspected blob and its record. A hash we hold costs no network; a URL
 * is always fetched fresh (a URL's bytes can change, its hash can't), unless its pinned hash is already held.
 *
 * Every record names exactly its own bytes: converting keeps the source's blob and record, and stores the JPEG
 * beside them under its own hash (its record says `converted.fromSha256`). A send of the source's hash picks
 * what the kind it goes as needs: the JPEG as an image, the source itself as a sticker or a document.
 */
export const createMediaResolver = ({ limits, blobs, fetcher, records, log, onFetch }: MediaResolverDeps): MediaResolver => {
  /** The record of exactly these bytes, while their blob is there. */
  const held = async (sha256: string): Promise<MediaRecord | undefined> => {
    const record = await records.get<MediaRecord>(sha256);
    if (!record) return undefined;
    if (await blobs.has(record.sha256)) return record;
    // The blob was evicted (it no longer matched its name): the record must not outlive it.
    await records.delete(record.sha256);
    return undefined;
  };

  /** What a send of `sha256` starts from: its own record, else the conversion an older store kept in its place. */
  const heldForSending = async (sha256: string): Promise<MediaRecord | undefined> => {
    const own = await held(sha256);
    if (own) return own;
    const alias = await records.get<string>(`alias:${sha256}`);
    return alias === undefined ? undefined : held(alias);
  };

  /** The record of inspected bytes at `path`. */
  const describe = async (
    path: string,
    sha256: string,
    found: Inspection,
    declaredMimetype: string | undefined,
    source: MediaSource | undefined,
    converted?: MediaRecord['converted'],
  ): Promise<MediaRecord> => {
    const record: MediaRecord = {
      sha256,
      size: found.size,
      mimetype: found.mimetype,
      ...(declaredMimetype ? { declaredMimetype } : {}),
      kind: found.kind,
      ...(found.animated ? { animated: true } : {}),
      ...(found.codec ? { codec: found.codec } : {}),
      ...(converted ? { converted } : {}),
      // A source sent as its conversion is previewed by the conversion's thumbnail.
      ...(found.kind === 'image' && !found.needsConversion ? { thumbnail: await thumbnail(path) } : {}),
      ...(source ? { source } : {}),
      createdAt: new Date().toISOString(),
    };
    return record;
  };

  /** Commits inspected bytes at the blob-store temp path `path` as the blob `sha256`, with their record. */
  const keep = async (...args: Parameters<typeof describe>): Promise<MediaRecord> => {
    const [path, sha256] = args;
    const record = await describe(...args);
    await blobs.commit(path, sha256);
    await records.set(sha256, record);
    return record;
  };

  /** The JPEG that a held image WhatsApp won't take as it is goes out as: converted once, found again after. */
  const jpegOf = async (source: MediaRecord): Promise<Resolved> => {
    const before = await records.get<string>(`jpeg:${source.sha256}`);
    const convertedBefore = before === undefined ? undefined : await held(before);
    if (convertedBefore) return { record: convertedBefore, created: false };
    const jpegPath = blobs.tempPath();
    try {
      const jpeg = await toJpeg(blobs.path(source.sha256), jpegPath);
      const found = await inspectFile(jpegPath, { declaredMimetype: 'image/jpeg', limits, as: 'image' });
      const from = { fromSha256: source.sha256, fromMimetype: source.mimetype };
      const record = await keep(jpegPath, jpeg.sha256, found, source.declaredMimetype, source.source, from);
      await records.set(`jpeg:${source.sha256}`, record.sha256);
      log.info({ from: source.sha256, to: record.sha256, fromMimetype: source.mimetype }, 'converted image to JPEG for WhatsApp');
      return { record, created: true };
    } finally {
      // After a commit the name is gone (renamed); after a failure it must not stay behind in tmp/.
      await rm(jpegPath, { force: true });
    }
  };

  /**
   * A held record was inspected for the kind it was first stored as. Sent `as` another kind, its bytes are checked
   * again for that kind (format, codec, size limit), and sent as their JPEG when that kind needs one (a WebP
   * sticker as an image; a GIF stored as an image).
   */
  const fitFor = async (resolved: Resolved, as: SendAs | undefined): Promise<Resolved> => {
    const { record } = resolved;
    const kind = as ? asKind(as) : record.kind;
    if (kind === record.kind && !needsJpeg(record)) return resolved;
    const found = await inspectFile(blobs.path(record.sha256), { declaredMimetype: record.declaredMimetype, limits, as: as ?? kind });
    if (found.needsConversion !== 'jpeg') return resolved;
    const sent = await jpegOf(record);
    return { record: sent.record, created: resolved.created || sent.created };
  };

  /** Inspects bytes at a blob-store temp path and stores them; the temp path is gone afterwards either way. */
  const ingest = async (
    tmpPath: string,
    sha256: string,
    declaredMimetype: string | undefined,
    as: SendAs | undefined,
    source: MediaSource | undefined,
  ): Promise<Resolved> => {
    try {
      const existing = await held(sha256);
      if (existing) return await fitFor({ record: existing, created: false }, as);
      const found = await inspectFile(tmpPath, { declaredMimetype, limits, as });
      const record = await keep(tmpPath, sha256, found, declaredMimetype, source);
      if (found.needsConversion !== 'jpeg') return { record, created: true };
      return { record: (await jpegOf(record)).record, created: true };
    } finally {
      await rm(tmpPath, { force: true });
    }
  };

  /** Pinned fetches under way, so a broadcast's concurrent sends of one URL and hash share one download. */
  const pinnedInFlight = new Map<string, Promise<Resolved>>();

  const resolvePinnedUrl = async (url: string, expectedSha256: string, as: SendAs | undefined): Promise<Resolved> => {
    const existing = await heldForSending(expectedSha256);
    if (existing) return fitFor({ record: existing, created: false }, as);
    const key = `${expectedSha256} ${as ?? ''} ${url}`;
    const running = pinnedInFlight.get(key);
    if (running) return { record: (await running).record, created: false };
    const fetching = fetchUrl(url, expectedSha256, as).finally(() => pinnedInFlight.delete(key));
    pinnedInFlight.set(key, fetching);
    return fetching;
  };

  const fetchUrl = async (url: string, expectedSha256: string | undefined, as: SendAs | undefined): Promise<Resolved> => {
    const tmpPath = blobs.tempPath();
    const fetched = await fetcher
      .fetchFresh(url, { expectedSha256, tmpPath, maxBytesFor: (head, declared) => maxBytesFor(head, declared, limits, as) })
      .catch((error: unknown) => {
        onFetch?.({ error });
        throw error;
      });
    onFetch?.({ source: fetched.source });
    const resolved = await ingest(fetched.path, fetched.sha256, fetched.declaredMimetype, as, fetched.source);
    if (!resolved.created) {
      // Same content as before from a newer fetch: the record tells where and how it was last confirmed.
      const record = { ...resolved.record, source: fetched.source };
      await records.set(record.sha256, record);
      return { record, created: false };
    }
    return resolved;
  };

  return {
    async resolve(ref, { as } = {}) {
      if ('upload' in ref) {
        const { path, sha256, declaredMimetype } = ref.upload;
        return ingest(path, sha256, declaredMimetype, as, undefined);
      }
      const pinned = ref.sha256 === undefined ? undefined : normaliseSha256(ref.sha256);
      if (ref.url !== undefined) return pinned ? resolvePinnedUrl(ref.url, pinned, as) : fetchUrl(ref.url, undefined, as);
      const record = pinned && (await heldForSending(pinned));
      if (!record) throw new HashsendError('media_not_found', 404, `no media with sha256 ${pinned} is stored; upload it or give its url`);
      return fitFor({ record, created: false }, as);
    },
    get: (sha256) => held(normaliseSha256(sha256)),
    async adopt(given, declaredMimetype) {
      const sha256 = normaliseSha256(given);
      const existing = await held(sha256);
      if (existing) return existing;
      if (!(await blobs.has(sha256))) throw new HashsendError('media_not_found', 404, `no blob with sha256 ${sha256} is stored`);
      const path = blobs.path(sha256);
      const found = await inspectFile(path, { declaredMimetype, limits }).catch(async (): Promise<Inspection> => ({
        kind: 'document',
        mimetype: 'application/octet-stream',
        size: await blobs.size(sha256),
      }));
      const record = await describe(path, sha256, found, declaredMimetype, undefined);
      await records.set(sha256, record);
      return record;
    },
    async remove(sha256) {
      const record = await heldForSending(normaliseSha256(sha256));
      if (!record) return false;
      await blobs.remove(record.sha256);
      await records.delete(record.sha256);
      if (record.converted) {
        await records.delete(`alias:${record.converted.fromSha256}`);
        await records.delete(`jpeg:${record.converted.fromSha256}`);
      }
      return true;
    },
  };
};
