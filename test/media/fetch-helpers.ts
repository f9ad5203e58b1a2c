import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config.js';
import { HashsendError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { createFetcher, type Fetcher, type FetchFreshOptions } from '../../src/media/fetcher.js';
import { startOrigin, type Origin } from '../support/origin.js';

const MB = 1024 * 1024;

/** Small timeouts so that failure cases end in a fraction of a second; loopback is allowed, as a user would. */
export const testMedia = (over: Partial<Config['media']> = {}): Config['media'] => ({
  allowHosts: ['127.0.0.1'],
  maxBytes: { image: 5 * MB, video: 16 * MB, audio: 16 * MB, sticker: 100 * 1024, animatedSticker: 500 * 1024, document: 100 * MB },
  connectTimeoutMs: 1000,
  headersTimeoutMs: 2000,
  bodyTimeoutMs: 400,
  fetchDeadlineMs: 60_000,
  requireVerified: false,
  maxRedirects: 5,
  cacheBustParam: '_hsfresh',
  publicMedia: false,
  ...over,
});

export const makeFetcher = (opts: { media?: Partial<Config['media']>; proxy?: Partial<Config['proxy']>; ca?: string } = {}): Fetcher =>
  createFetcher({
    media: testMedia(opts.media),
    proxy: { bypassOnStale: true, ...opts.proxy },
    log: createLogger('silent'),
    ca: opts.ca,
  });

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Distinct content each call, so that two versions of a file never hash alike. */
export const content = (size = 20_000) => randomBytes(size);

export const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hashsend-fetch-'));
  let n = 0;
  return {
    /** A fresh temp path in the dir (the fetcher creates it). */
    path: () => join(dir, `fetch-${n++}.tmp`),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
};

export const fetchOpts = (tmpPath: string, over: Partial<FetchFreshOptions> = {}): FetchFreshOptions => ({
  tmpPath,
  maxBytesFor: () => 10 * MB,
  ...over,
});

/** Awaits a rejection with a HashsendError of this code and status, and returns it for more checks. */
export const refusal = async (promise: Promise<unknown>, code: string, status: number): Promise<HashsendError> => {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HashsendError, `expected a HashsendError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected ${code}, but the fetch succeeded`);
};

/** What a failed fetch must leave behind: nothing. */
export const assertNoFile = (path: string) => assert.equal(existsSync(path), false, `${path} was left behind`);

export const fileBytes = (path: string) => readFile(path);

export type TempDir = Awaited<ReturnType<typeof tempDir>>;

/** What a fetcher test file shares: one origin, a temp dir, a default fetcher, and others closed with it. */
export interface FetchFixture {
  origin: Origin;
  tmp: TempDir;
  fetcher: Fetcher;
  /** A fetcher with other settings that stays open until `stop`. */
  fetcherWith(opts: Parameters<typeof makeFetcher>[0]): Fetcher;
  stop(): Promise<void>;
}

export const startFetchFixture = async (): Promise<FetchFixture> => {
  const [origin, tmp] = await Promise.all([startOrigin(), tempDir()]);
  const fetchers = [makeFetcher()];
  return {
    origin,
    tmp,
    fetcher: fetchers[0],
    fetcherWith: (opts) => {
      const f = makeFetcher(opts);
      fetchers.push(f);
      return f;
    },
    stop: async () => {
      await Promise.all(fetchers.map((f) => f.close()));
      await origin.close();
      await tmp.remove();
    },
  };
};
