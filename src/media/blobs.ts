import { createHash, randomUUID } from 'node:crypto';
import { createReadStream as fsReadStream, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { HashsendError, invalidRequest, notFound } from '../errors.js';
import type { DriverBlobs } from '../whatsapp/driver.js';
import type { Logger } from '../log.js';
import { fsyncPath } from '../fs/atomic-file.js';
import { SHA256_PATTERN } from './sha256.js';

/** Refuses anything but 64 lowercase hex digits, before the string gets near a path. */
const assertSha256 = (value: string): string => {
  if (!SHA256_PATTERN.test(value)) throw invalidRequest('sha256 must be 64 lowercase hex digits', { sha256: value });
  return value;
};

/** An inclusive byte range, as HTTP's `Range: bytes=start-end` means it. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface BlobStore extends DriverBlobs {
  /** A fresh path in `dir/tmp/` to write a blob-to-be into; same filesystem as the blobs, so commit is a rename. */
  tempPath(): string;
  /** Makes the temp file the blob `sha256` (the caller hashed it while writing). Drops it if the blob exists. */
  commit(tempPath: string, sha256: string): Promise<void>;
  has(sha256: string): Promise<boolean>;
  path(sha256: string): string;
  /** Size in bytes; `not_found` when absent. */
  size(sha256: string): Promise<number>;
  /** True when a blob was removed. */
  remove(sha256: string): Promise<boolean>;
  /**
   * The blob's bytes, hashed as they stream. A full read whose hash is not the blob's name ends in a
   * `blob_corrupt` error instead of its last chunk, and the blob is evicted. A ranged read cannot be verified
   * (the hash covers the whole file) and is served as is.
   */
  createReadStream(sha256: string, range?: ByteRange): Readable;
  /** The whole blob, verified; `blob_corrupt` (and eviction) on a mismatch. */
  read(sha256: string): Promise<Buffer>;
}

export interface BlobStoreOptions {
  /** `DATA_DIR/blobs`. */
  dir: string;
  log: Logger;
  /**
   * Temp files untouched for this long are crash debris and removed at start-up. Younger ones are spared:
   * another process sharing the folder may be writing them.
   * @default 3_600_000 (one hour)
   */
  staleTempMs?: number;
}

const corrupt = (sha256: string, actual: string) =>
  new HashsendError(
    'blob_corrupt',
    422,
    `stored blob ${sha256} no longer matches its hash and was evicted; fetch or upload the media again`,
    { sha256, actual },
  );

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Content-addressed blobs in `dir/ab/abcdef…`. Created synchronously at start-up, so the composition root
 * can build it like any other dependency; the temp folder exists from then on.
 */
export const createBlobStore = ({ dir, log, staleTempMs = 3_600_000 }: BlobStoreOptions): BlobStore => {
  const root = resolve(dir);
  const tmp = join(root, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const now = Date.now();
  for (const name of readdirSync(tmp)) {
    const file = join(tmp, name);
    if (now - statSync(file).mtimeMs > staleTempMs) rmSync(file, { force: true, recursive: true });
  }

  const path = (sha256: string) => {
    assertSha256(sha256);
    return join(root, sha256.slice(0, 2), sha256);
  };

  const has = async (sha256: string) => {
    try {
      return (await stat(path(sha256))).isFile();
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  };

  const evict = async (sha256: string, actual: string) => {
    log.warn({ sha256, actual }, 'blob does not match its hash: evicted');
    await rm(path(sha256), { force: true });
  };

  const commit = async (tempPath: string, sha256: string) => {
    const target = path(sha256);
    const temp = resolve(tempPath);
    if (dirname(temp) !== tmp) throw invalidRequest('not a temp path of this blob store', { tempPath });
    if (await has(sha256)) {
      await unlink(temp);
      return;
    }
    await fsyncPath(temp, 'r+');
    await mkdir(dirname(target), { recursive: true });
    await rename(temp, target);
    await fsyncPath(dirname(target), 'r');
  };

  return {
    tempPath: () => join(tmp, randomUUID()),

    commit,

    async write(bytes, sha256) {
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== assertSha256(sha256)) {
        throw new HashsendError('hash_mismatch', 422, `the bytes hash to ${actual}, not the declared ${sha256}`, { sha256, actual });
      }
      const temp = join(tmp, randomUUID());
      await writeFile(temp, bytes, { mode: 0o600 });
      await commit(temp, sha256);
    },

    has,
    path,

    async size(sha256) {
      try {
        return (await stat(path(sha256))).size;
      } catch (e) {
        if (isMissing(e)) throw notFound(`blob ${sha256}`);
        throw e;
      }
    },

    async remove(sha256) {
      try {
        await unlink(path(sha256));
        return true;
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
    },

    createReadStream(sha256, range) {
      const file = path(sha256);
      // A ranged read sees part of the file; the hash covers all of it, so there is nothing to verify against.
      const hash = range ? undefined : createHash('sha256');
      // The latest chunk is held back until the next one arrives, and the last one until the hash is known:
      // a reader of a corrupt blob never receives a complete copy, so a Content-Length response stays short.
      let held: Buffer | undefined;
      const out = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash?.update(chunk);
          const previous = held;
          held = chunk;
          done(null, previous);
        },
        flush(done) {
          const actual = hash?.digest('hex');
          if (actual === undefined || actual === sha256) return done(null, held);
          evict(sha256, actual).then(() => done(corrupt(sha256, actual)), done);
        },
      });
      const source = fsReadStream(file, range ? { start: range.start, end: range.end } : {});
      source.on('error', (e) => out.destroy(isMissing(e) ? notFound(`blob ${sha256}`) : e));
      out.on('close', () => source.destroy());
      return source.pipe(out);
    },

    async read(sha256) {
      let bytes: Buffer;
      try {
        bytes = await readFile(path(sha256));
      } catch (e) {
        if (isMissing(e)) throw notFound(`blob ${sha256}`);
        throw e;
      }
      // Hashing the buffer in hand is the one pass; the file is not read twice.
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== sha256) {
        await evict(sha256, actual);
        throw corrupt(sha256, actual);
      }
      return bytes;
    },
  };
};
