import { rm } from 'node:fs/promises';
import type Keyv from 'keyv';
import type { Config } from '../config.js';
import { HashsendError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SendAs } from '../whatsapp/driver.js';
import type { BlobStore } from './blobs.js';
import { toJpeg, thumbnail } from './convert.js';
import type { Fetcher } from './fetcher.js';
import { inspectFile, maxBytesFor, type Inspection } from './inspect.js';
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
  remove(sha256: string): Promise<boolean>;
}

export interface MediaResolverDeps {
  limits: Config['media']['maxBytes'];
  blobs: BlobStore;
  fetcher: Fetcher;
  /**
   * Records by sha256; `jpeg:<source sha256>` → its JPEG conversion; `alias:<source sha256>` → the same, for a
   * source that was not kept (the caller's hash of it still finds what is sent).
   */
  records: Keyv;
  log: Logger;
}

/**
 * Turns any media reference into a stored, inspected blob and its record. A hash we hold costs no network; a URL
 * is always fetched fresh (a URL's bytes can change, its hash can't), unless its pinned hash is already held.
 */
export const createMediaResolver = ({ limits, blobs, fetcher, records, log }: MediaResolverDeps): MediaResolver => {
  const held = async (sha256: string): Promise<MediaRecord | undefined> => {
    const target = (await records.get<string>(`alias:${sha256}`)) ?? sha256;
    const record = await records.get<MediaRecord>(target);
    if (!record) return undefined;
    if (await blobs.has(record.sha256)) return record;
    // The blob was evicted (it no longer matched its name): the record must not outlive it.
    await records.delete(record.sha256);
    return undefined;
  };

  /**
   * Stores inspected bytes: as they are (committing `srcPath` into the store), or converted to JPEG when WhatsApp
   * won't take them as they are, with the source hash kept beside the sent one. `srcPath` is left where it was
   * when only its conversion is stored.
   */
  const store = async (
    srcPath: string,
    sha256: string,
    found: Inspection,
    declaredMimetype: string | undefined,
    source: MediaSource | undefined,
    sourceKept = false,
  ): Promise<Resolved> => {
    let jpegPath: string | undefined;
    try {
      let stored = { path: srcPath, sha256, size: found.size, mimetype: found.mimetype };
      let converted: MediaRecord['converted'];
      if (found.needsConversion === 'jpeg') {
        jpegPath = blobs.tempPath();
        const jpeg = await toJpeg(srcPath, jpegPath);
        await inspectFile(jpegPath, { declaredMimetype: 'image/jpeg', limits, as: 'image' });
        converted = { fromSha256: sha256, fromMimetype: found.mimetype };
        stored = { path: jpegPath, sha256: jpeg.sha256, size: jpeg.size, mimetype: 'image/jpeg' };
        log.info({ from: sha256, to: jpeg.sha256, fromMimetype: found.mimetype }, 'converted image to JPEG for WhatsApp');
      }
      const kind = converted ? 'image' : found.kind;
      const record: MediaRecord = {
        sha256: stored.sha256,
        size: stored.size,
        mimetype: stored.mimetype,
        ...(declaredMimetype ? { declaredMimetype } : {}),
        kind,
        ...(found.animated ? { animated: true } : {}),
        ...(found.codec ? { codec: found.codec } : {}),
        ...(converted ? { converted } : {}),
        ...(kind === 'image' ? { thumbnail: await thumbnail(stored.path) } : {}),
        ...(source ? { source } : {}),
        createdAt: new Date().toISOString(),
      };
      await blobs.commit(stored.path, stored.sha256);
      await records.set(record.sha256, record);
      if (converted) {
        await records.set(`jpeg:${sha256}`, record.sha256);
        // The source's hash names its conversion only when the source itself is not stored to be sent as it is.
        if (!sourceKept) await records.set(`alias:${sha256}`, record.sha256);
      }
      return { record, created: true };
    } finally {
      // After a commit the name is gone (renamed); after a failure it must not stay behind in tmp/.
      if (jpegPath) await rm(jpegPath, { force: true });
    }
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
      if (existing) return fitFor({ record: existing, created: false }, as);
      return await store(tmpPath, sha256, await inspectFile(tmpPath, { declaredMimetype, limits, as }), declaredMimetype, source);
    } finally {
      await rm(tmpPath, { force: true });
    }
  };

  /**
   * A held record was inspected for the kind it was first stored as. Sent `as` another kind, its bytes are checked
   * again for that kind (format, codec, size limit), and converted when that kind needs it (a WebP sticker as an image).
   */
  const fitFor = async (resolved: Resolved, as: SendAs | undefined): Promise<Resolved> => {
    const { record } = resolved;
    if (!as || (as === 'voice' ? 'audio' : as) === record.kind) return resolved;
    const blobPath = blobs.path(record.sha256);
    const found = await inspectFile(blobPath, { declaredMimetype: record.declaredMimetype, limits, as });
    if (found.needsConversion !== 'jpeg') return resolved;
    const conversion = await records.get<string>(`jpeg:${record.sha256}`);
    const convertedBefore = conversion && (await held(conversion));
    if (convertedBefore) return { record: convertedBefore, created: false };
    return store(blobPath, record.sha256, found, record.declaredMimetype, record.source, true);
  };

  /** Pinned fetches under way, so a broadcast's concurrent sends of one URL and hash share one download. */
  const pinnedInFlight = new Map<string, Promise<Resolved>>();

  const resolvePinnedUrl = async (url: string, expectedSha256: string, as: SendAs | undefined): Promise<Resolved> => {
    const existing = await held(expectedSha256);
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
    const fetched = await fetcher.fetchFresh(url, {
      expectedSha256,
      tmpPath,
      maxBytesFor: (head, declared) => maxBytesFor(head, declared, limits, as),
    });
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
      const record = pinned && (await held(pinned));
      if (!record) throw new HashsendError('media_not_found', 404, `no media with sha256 ${pinned} is stored; upload it or give its url`);
      return fitFor({ record, created: false }, as);
    },
    get: (sha256) => held(normaliseSha256(sha256)),
    async remove(sha256) {
      const record = await held(normaliseSha256(sha256));
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
