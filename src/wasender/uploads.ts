import { Readable } from 'node:stream';
import type { Config } from '../config.js';
import type { BlobStore } from '../media/blobs.js';
import { maxBytesFor } from '../media/inspect.js';
import type { MediaResolver, Resolved } from '../media/resolver.js';
import { writeHashed } from '../media/write-hashed.js';
import { validationError } from './messages.js';

/** `data:<type>;base64,` in front of the payload, as browsers' FileReader and WASenderApi's examples write it. */
const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*);base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface Base64Upload {
  base64: string;
  mimetype?: string;
}

export interface UploadDeps {
  resolver: Pick<MediaResolver, 'resolve'>;
  blobs: Pick<BlobStore, 'tempPath'>;
  limits: Config['media']['maxBytes'];
}

/**
 * Stores base64 bytes (bare, or a `data:` URL) through the media core as any upload: hashed, sniffed, checked
 * against the kind's limit, kept under their sha256. A type the data URL or `mimetype` declares is a declaration,
 * as an uploader's Content-Type is: the bytes are sniffed all the same.
 */
export const storeBase64 = async ({ resolver, blobs, limits }: UploadDeps, { base64, mimetype }: Base64Upload): Promise<Resolved> => {
  const dataUrl = base64.match(DATA_URL);
  const payload = (dataUrl ? base64.slice(dataUrl[0].length) : base64).replace(/\s+/g, '');
  if (!payload || payload.length % 4 === 1 || !BASE64.test(payload)) {
    throw validationError('base64', 'The base64 field must be base64-encoded bytes (optionally a data: URL).');
  }
  const declaredMimetype = mimetype ?? dataUrl?.[1]?.toLowerCase();
  const tmpPath = blobs.tempPath();
  const written = await writeHashed(Readable.from([Buffer.from(payload, 'base64')]), {
    tmpPath,
    declaredMimetype,
    maxBytesFor: (head, declared) => maxBytesFor(head, declared, limits),
  });
  return resolver.resolve({ upload: { path: tmpPath, ...written, declaredMimetype } });
};
