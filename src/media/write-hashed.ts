import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { HashsendError } from '../errors.js';

/** file-type needs at most this many bytes to recognise any format it knows. */
export const SNIFF_BYTES = 4100;

export interface WriteHashedOptions {
  tmpPath: string;
  declaredMimetype?: string;
  /** The size cap for what the first bytes turn out to be (called once with up to SNIFF_BYTES). */
  maxBytesFor(head: Uint8Array, declaredMimetype?: string): number;
}

const tooLarge = (limit: number, received: number) =>
  new HashsendError('too_large', 413, `upload is larger than the ${limit}-byte limit for its kind`, { limit, received });

/**
 * Streams bytes a caller sends into a temp file while hashing them, in one pass and constant memory. Stops at the
 * cap of the sniffed kind without reading on; on any failure the temp file is gone, so no partial blob remains.
 */
export const writeHashed = async (source: AsyncIterable<Uint8Array>, options: WriteHashedOptions) => {
  const { tmpPath, declaredMimetype, maxBytesFor } = options;
  const hash = createHash('sha256');
  const out = createWriteStream(tmpPath, { flags: 'wx', mode: 0o600 });
  let size = 0;
  let limit = Infinity;
  let head: Buffer[] | undefined = [];
  const settle = (chunks: Buffer[]) => {
    limit = maxBytesFor(Buffer.concat(chunks), declaredMimetype);
    head = undefined;
  };
  try {
    for await (const chunk of source) {
      size += chunk.byteLength;
      if (head) {
        head.push(Buffer.from(chunk));
        if (size >= SNIFF_BYTES) settle(head);
      }
      if (size > limit) throw tooLarge(limit, size);
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
    }
    if (head) settle(head);
    if (size > limit) throw tooLarge(limit, size);
    out.end();
    await finished(out);
    return { sha256: hash.digest('hex'), size };
  } catch (err) {
    out.destroy();
    await rm(tmpPath, { force: true });
    throw err;
  }
};
