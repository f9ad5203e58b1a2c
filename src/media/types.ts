/** The kinds WhatsApp knows, each with its own size limit and accepted formats. */
export type MediaKind = 'image' | 'video' | 'audio' | 'sticker' | 'document';

/** How the bytes of a URL were obtained, as the record and a `stale_media` error report it. */
export interface FetchAttempt {
  url: string;
  /** `direct`, or the proxy's URL the request went through. */
  via: string;
  /** `plain`, `cache-busted`, `proxy-bypassed`. */
  strategy: 'plain' | 'cache-busted' | 'proxy-bypassed';
  status?: number;
  /** Cache headers as received (`age`, `x-cache`, `x-cache-status`, `cf-cache-status`, `via`, `x-varnish`, …). */
  cacheSignals: Record<string, string>;
  /** `hit` (came from a cache), `miss` (from the origin just now), `unknown` (no signal). */
  cacheVerdict: 'hit' | 'miss' | 'unknown';
  sha256?: string;
  /** The answer's own headers that say how it may be cached and resumed. */
  cacheControl?: string;
  acceptRanges?: string;
  etag?: string;
  lastModified?: string;
  error?: string;
}

/**
 * `fresh`: the origin answered (an explicit miss, or a pinned hash matched).
 * `unverified`: no cache signal and no pinned hash: taken as fresh, said so.
 * `uploaded`: the caller sent the bytes.
 */
export type Freshness = 'fresh' | 'unverified' | 'uploaded';

export interface MediaSource {
  url: string;
  finalUrl: string;
  etag?: string;
  lastModified?: string;
  fetchedAt: string;
  freshness: Freshness;
  /** How the fresh bytes were reached: `plain`, `cache-busted` or `proxy-bypassed`. */
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
