import { SHA256_PATTERN } from './sha256.js';

/** Where the WASender surface serves stored media by hash, with a session key, when PUBLIC_MEDIA is off. */
export const KEYED_MEDIA_PREFIX = '/wasender/api/media/';
/** hashsend's key-less content-addressed path (PUBLIC_MEDIA=true). */
export const PUBLIC_MEDIA_PREFIX = '/m/';

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'application/pdf': 'pdf',
};

/** A file extension for a stored type: for people and tools that look at the name, never for what is served. */
export const extensionOf = (mimetype: string) => EXTENSIONS[mimetype.split(';')[0].trim().toLowerCase()] ?? 'bin';

/** The URL that serves exactly the blob `sha256`: it names the content, so no cache can make it stale. */
export const mediaUrl = (origin: string, sha256: string, mimetype: string, publicMedia: boolean) =>
  `${origin.replace(/\/$/, '')}${publicMedia ? PUBLIC_MEDIA_PREFIX : KEYED_MEDIA_PREFIX}${sha256}.${extensionOf(mimetype)}`;

/**
 * The sha256 a URL of this server names, when `url` is one of ours (its origin among `origins`, its path one of the
 * content-addressed ones): it is resolved by hash, never fetched. Anything else is a URL like any other.
 */
export const ownMediaHash = (url: string, origins: string[]): string | undefined => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (!origins.some((o) => safeOrigin(o) === parsed.origin)) return undefined;
  for (const prefix of [PUBLIC_MEDIA_PREFIX, KEYED_MEDIA_PREFIX]) {
    if (!parsed.pathname.startsWith(prefix)) continue;
    const sha256 = parsed.pathname.slice(prefix.length).split('.')[0].toLowerCase();
    if (SHA256_PATTERN.test(sha256)) return sha256;
  }
  return undefined;
};

const safeOrigin = (origin: string) => {
  try {
    return new URL(origin).origin;
  } catch {
    return undefined;
  }
};
