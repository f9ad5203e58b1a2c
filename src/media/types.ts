/** The kinds WhatsApp knows, each with its own size limit and accepted formats. */
export type MediaKind = 'image' | 'video' | 'audio' | 'sticker' | 'document';

/** `hit` (came from a cache), `miss` (from the origin just now), `unknown` (no signal: silence is no verdict). */
export type CacheVerdict = 'hit' | 'miss' | 'unknown';

/** One answer of a redirect chain, with the cache signals it carried. */
export interface HopReading {
  url: string;
  status: number;
  /** Cache headers as received (`age`, `x-cache`, `x-cache-status`, `cf-cache-status`, `via`, `x-varnish`, …). */
  cacheSignals: Record<string, string>;
  cacheVerdict: CacheVerdict;
}

/** How the bytes of a URL were obtained, as the record and a `stale_media` error report it. */
export interface FetchAttempt {
  /** The last URL of the chain (with the cache-busting parameter, for a busted attempt). */
  url: string;
  /** `direct`, or the proxy's URL the request went through. */
  via: string;
  /** `plain`, `cache-busted` (a unique query parameter on every hop), `proxy-bypassed` (busted, and direct). */
  strategy: 'plain' | 'cache-busted' | 'proxy-bypassed';
  /** The last answer's status: 200, or 304 when a conditional request found the first answer's copy current. */
  status?: number;
  /** The last answer's cache headers as received. */
  cacheSignals: Record<string, string>;
  /** The whole chain's verdict: `hit` when a cache answered any hop, `miss` only when every hop said MISS. */
  cacheVerdict: CacheVerdict;
  /** Every answer of the chain, first to last, when there were redirects. */
  hops?: HopReading[];
  /**
   * The validator a cache-busted or proxy-bypassed request was made conditional on, as sent
   * (`If-None-Match: "5f2a"` or `If-Modified-Since: …`), so that an unchanged file costs a bodiless 304.
   */
  conditional?: string;
  /** The hash of the bytes received; for a 304, of the first answer's bytes that it confirmed. */
  sha256?: string;
  /** The answer's own headers that say how it may be cached and resumed (the ETag as received, weak or strong). */
  cacheControl?: string;
  acceptRanges?: string;
  etag?: string;
  lastModified?: string;
  error?: string;
}

/**
 * How far the stored bytes are known to be the origin's current ones (README, "Freshness"):
 * - `fresh`: the origin answered: every hop said MISS, or the pinned hash matched, or a cache-busted (or
 *   proxy-bypassed) request brought other bytes than the cached or silent first answer, and those were kept.
 * - `confirmed`: the first answer carried no cache signal (or came from a cache), and a cache-busted request
 *   agreed with it: a `304 Not Modified` to its validator, or the same bytes.
 * - `unverified`: the first answer carried no cache signal and nothing could confirm it (the URL refuses an
 *   extra query parameter, as signed S3/GCS links do); refused with `MEDIA_REQUIRE_VERIFIED=true`.
 * - `uploaded`: the caller sent the bytes.
 */
export type Freshness = 'fresh' | 'confirmed' | 'unverified' | 'uploaded';

export interface MediaSource {
  url: string;
  finalUrl: string;
  etag?: string;
  lastModified?: string;
  fetchedAt: string;
  freshness: Freshness;
  /** Why `freshness` is what it is, in one sentence (absent on records stored before it was kept). */
  reason?: string;
  /** The request whose bytes were kept: `plain`, `cache-busted` or `proxy-bypassed`. */
  obtainedBy: FetchAttempt['strategy'];
  attempts: FetchAttempt[];
}

/** What hashsend knows of one stored blob; `sha256` is the hash of the bytes that are sent. */
export interface MediaRecord {
  sha256: string;
  size: number;
  mimetype: string;
  /** The `Content-Type` the origin or uploader declared, when it differs or exists. */
  declaredMimetype?: string;
  kind: MediaKind;
  /** Animated sticker (WebP with animation), which has a larger limit. */
  animated?: boolean;
  /** Video codec found in the container, e.g. `avc1`. */
  codec?: string;
  /** When the bytes were converted (e.g. WebP → JPEG), the hash and type of what the caller gave. */
  converted?: { fromSha256: string; fromMimetype: string };
  /** A 32 px JPEG thumbnail as base64, for images (and what a driver shows as preview). */
  thumbnail?: string;
  source?: MediaSource;
  createdAt: string;
}

/** A media reference as a caller writes it. Uploads come as a temp file the HTTP layer has written. */
export type MediaRef = { sha256: string; url?: undefined } | { url: string; sha256?: string } | { upload: UploadedFile };

/** Bytes a caller sent, already written to a blob-store temp file and hashed while they streamed in. */
export interface UploadedFile {
  path: string;
  sha256: string;
  size: number;
  declaredMimetype?: string;
  filename?: string;
}
