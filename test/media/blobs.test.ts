import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/log.js';
import { createBlobStore, type BlobStore } from '../../src/media/blobs.js';
import { fixtureDir, makeJpeg, type FixtureDir } from '../support/media-fixtures.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const log = createLogger('silent');

/** Stores `bytes` the way the fetcher does: written to a temp path, then committed under their hash. */
const put = async (blobs: BlobStore, bytes: Buffer) => {
  const temp = blobs.tempPath();
  await writeFile(temp, bytes);
  await blobs.commit(temp, sha256(bytes));
  return sha256(bytes);
};

const errorOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (e) {
    return e as { code?: string; status?: number };
  }
  assert.fail('expected an error');
};

describe('blob store', () => {
  let fixtures: FixtureDir;
  let blobs: BlobStore;
  let dir: string;

  before(async () => {
    fixtures = await fixtureDir();
    dir = join(fixtures.dir, 'blobs');
    blobs = createBlobStore({ dir, log });
  });
  after(() => fixtures.cleanup());

  test('a blob is invisible until committed, then stored under its hash', async () => {
    const bytes = await makeJpeg({ seed: 1, width: 64, height: 64 });
    const hash = sha256(bytes);
    const temp = blobs.tempPath();
    const file = await open(temp, 'w');
    await file.write(bytes.subarray(0, 100));
    assert.equal(await blobs.has(hash), false, 'half-written bytes are not a blob');
    await file.write(bytes.subarray(100));
    await file.close();
    assert.equal(await blobs.has(hash), false, 'written but uncommitted bytes are not a blob');

    await blobs.commit(temp, hash);
    assert.equal(blobs.path(hash), join(dir, hash.slice(0, 2), hash));
    assert.equal(await blobs.has(hash), true);
    assert.equal(await blobs.size(hash), bytes.length);
    assert.deepEqual(await blobs.read(hash), bytes);
    assert.equal(existsSync(temp), false);
  });

  test('committing a hash already held keeps the blob and drops the temp file', async () => {
    const bytes = await makeJpeg({ seed: 2 });
    const hash = await put(blobs, bytes);
    const before = await stat(blobs.path(hash));
    const temp = blobs.tempPath();
    await writeFile(temp, bytes);
    await blobs.commit(temp, hash);
    assert.equal(existsSync(temp), false);
    assert.equal((await stat(blobs.path(hash))).ino, before.ino);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  });

  test('write() stores bytes under their hash, readable; written again, the blob is kept as it is', async () => {
    const bytes = await makeJpeg({ seed: 11 });
    const hash = sha256(bytes);
    await blobs.write(bytes, hash);
    assert.equal(await blobs.has(hash), true);
    assert.deepEqual(await blobs.read(hash), bytes);
    const before = await stat(blobs.path(hash));
    await blobs.write(bytes, hash);
    assert.equal((await stat(blobs.path(hash))).ino, before.ino);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  });

  test('write() of bytes that hash to another sha256: hash_mismatch, and nothing stored under either', async () => {
    const bytes = await makeJpeg({ seed: 12 });
    const declared = sha256(Buffer.from('what the sender said it was'));
    const err = await errorOf(blobs.write(bytes, declared));
    assert.deepEqual([err.code, err.status], ['hash_mismatch', 422]);
    assert.equal(await blobs.has(declared), false);
    assert.equal(await blobs.has(sha256(bytes)), false);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  });

  test('a full streamed read returns the bytes; a ranged read returns the range', async () => {
    const bytes = await makeJpeg({ seed: 3, width: 128, height: 128 });
    const hash = await put(blobs, bytes);
    assert.deepEqual(await buffer(blobs.createReadStream(hash)), bytes);
    assert.deepEqual(await buffer(blobs.createReadStream(hash, { start: 10, end: 19 })), bytes.subarray(10, 20));
  });

  test('read() of a tampered blob fails with blob_corrupt and evicts it', async () => {
    const hash = await put(blobs, await makeJpeg({ seed: 4 }));
    await writeFile(blobs.path(hash), await makeJpeg({ seed: 5 }));
    const error = await errorOf(blobs.read(hash));
    assert.equal(error.code, 'blob_corrupt');
    assert.equal(existsSync(blobs.path(hash)), false);
    assert.equal(await blobs.has(hash), false);
  });

  test('a streamed read of a tampered blob errors before its last bytes, and evicts it', async () => {
    const hash = await put(blobs, await makeJpeg({ seed: 6 }));
    // Bigger than one read chunk (64 KiB), so some bytes flow before the hash is known.
    const other = Buffer.alloc(200_000, 7);
    await writeFile(blobs.path(hash), other);
    const received: Buffer[] = [];
    const stream = blobs.createReadStream(hash);
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    const error = await new Promise<{ code?: string }>((resolve) => stream.on('error', resolve));
    assert.equal(error.code, 'blob_corrupt');
    assert.ok(Buffer.concat(received).length < other.length, 'the reader never gets a complete copy');
    assert.equal(existsSync(blobs.path(hash)), false);
  });

  test('missing blobs are not_found', async () => {
    const hash = sha256(Buffer.from('never stored'));
    assert.equal(await blobs.has(hash), false);
    assert.equal((await errorOf(blobs.read(hash))).code, 'not_found');
    assert.equal((await errorOf(blobs.size(hash))).code, 'not_found');
    assert.equal((await errorOf(buffer(blobs.createReadStream(hash)))).code, 'not_found');
    assert.equal(await blobs.remove(hash), false);
  });

  test('remove() deletes a blob', async () => {
    const hash = await put(blobs, await makeJpeg({ seed: 8 }));
    assert.equal(await blobs.remove(hash), true);
    assert.equal(await blobs.has(hash), false);
  });

  test('anything but 64 lowercase hex digits is refused before it reaches a path', async () => {
    const valid = sha256(Buffer.from('x'));
    for (const bad of ['', 'abc', valid.toUpperCase(), `${valid}0`, `../${valid.slice(3)}`, `${valid.slice(0, 63)}/`]) {
      assert.throws(() => blobs.path(bad), { code: 'invalid_request' });
      assert.equal((await errorOf(blobs.has(bad))).code, 'invalid_request');
      assert.equal((await errorOf(blobs.read(bad))).code, 'invalid_request');
      assert.throws(() => blobs.createReadStream(bad), { code: 'invalid_request' });
      assert.equal((await errorOf(blobs.commit(blobs.tempPath(), bad))).code, 'invalid_request');
    }
  });

  test('commit refuses a path outside the temp folder', async () => {
    const outside = join(fixtures.dir, 'elsewhere');
    await writeFile(outside, 'x');
    assert.equal((await errorOf(blobs.commit(outside, sha256(Buffer.from('x'))))).code, 'invalid_request');
    assert.equal(await readFile(outside, 'utf8'), 'x');
  });

  test('start-up removes stale temp files (crash debris) and spares fresh ones', async () => {
    const stale = join(dir, 'tmp', 'left-by-a-crash');
    const fresh = join(dir, 'tmp', 'being-written');
    await writeFile(stale, 'debris');
    await writeFile(fresh, 'in flight');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    createBlobStore({ dir, log });
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(fresh), true);
  });
});
