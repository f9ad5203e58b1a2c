import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Config } from '../config.js';
import { HashsendError, isHashsendError } from '../errors.js';
import type { Logger } from '../log.js';
import { download, type Download } from './fetch-download.js';
import { createRouter } from './fetch-route.js';
import type { MaxBytesFor } from './fetch-sink.js';
import { createSsrfGuard } from './ssrf.js';
import type { FetchAttempt, MediaSource } from './types.js';

export type { MaxBytesFor };

export interface FetcherOptions {
  media: Config['media'];
  proxy: Config['proxy'];
  log: Logger;
  /** Extra trusted CA certificate(s) for https origins (a private CA). */
  ca?: string | Buffer;
}

export interface FetchFreshOptions {
  /** The pinned hash: any other bytes are a mismatch, never a result. */
  expectedSha256?: string;
  /** Where the bytes are written; it exists after a success only, never partly written. */
  tmpPath: string;
  /** The size cap for what the first bytes (at least 4100, or all if fewer) show; called with none first. */
  maxBytesFor: MaxBytesFor;
  signal?: AbortSignal;
}

export interface FetchResult {
  path: string;
  sha256: string;
  size: number;
  declaredMimetype?: string;
  source: MediaSource;
}

export interface Fetcher {
  fetchFresh(url: string, opts: FetchFreshOptions): Promise<FetchResult>;
  close(): Promise<void>;
}

type Strategy = FetchAttempt['strategy'];

/** Errors that end the whole fetch: later attempts could not change them. */
const FINAL_CODES = new Set(['too_large', 'blocked_url', 'invalid_request']);

/**
 * Fetches a URL past the caches in between (DESIGN.md, "The freshness invariant"): a plain request that asks
 * for a fresh copy; when its bytes miss the pin or a cache says it answered, the same URL made unique with a
 * cache-busting parameter; then, behind a proxy and where allowed, the proxy bypassed. Each request is
 * recorded as a FetchAttempt; the first one that yields trustworthy bytes wins.
 */
export const createFetcher = ({ media, proxy, log, ca }: FetcherOptions): Fetcher => {
  const guard = createSsrfGuard({ allowHosts: media.allowHosts });
  const router = createRouter({ proxy, guard, connectTimeoutMs: media.connectTimeoutMs, ca });

  const attemptOnce = (url: URL, strategy: Strategy, opts: FetchFreshOptions) =>
    download({
      url,
      route: (hop) => router.route(hop, { bypassProxy: strategy === 'proxy-bypassed' }),
      check: async (hop) => {
        await guard.resolve(hop.hostname);
      },
      rewrite: (hop) => (strategy === 'plain' ? hop : bust(hop, media.cacheBustParam)),
      tmpPath: opts.tmpPath,
      maxBytesFor: opts.maxBytesFor,
      maxRedirects: media.maxRedirects,
      headersTimeoutMs: media.headersTimeoutMs,
      bodyTimeoutMs: media.bodyTimeoutMs,
      signal: opts.signal,
    });

  const fetchFresh = async (rawUrl: string, opts: FetchFreshOptions): Promise<FetchResult> => {
    const url = guard.parse(rawUrl);
    const expected = opts.expectedSha256?.toLowerCase();
    const attempts: FetchAttempt[] = [];
    const plan: Strategy[] = ['plain', 'cache-busted', 'proxy-bypassed'];
    for (const strategy of plan) {
      if (strategy === 'proxy-bypassed' && !(proxy.bypassOnStale && attempts.some((a) => a.via !== 'direct'))) break;
      let got: Download;
      try {
        got = await attemptOnce(url, strategy, opts);
      } catch (err) {
        if (strategy === 'plain' || !isHashsendError(err) || FINAL_CODES.has(err.code)) throw err;
        // A later attempt failing does not undo what the earlier ones showed; it is reported with them.
        attempts.push(failedAttempt(url, strategy, router.route(url, { bypassProxy: strategy === 'proxy-bypassed' }).via, err));
        continue;
      }
      const attempt = attemptOf(got, strategy);
      attempts.push(attempt);
      log.debug({ url: rawUrl, attempt }, 'media fetch attempt');
      const pinMatched = expected !== undefined && got.sha256 === expected;
      if (pinMatched || (expected === undefined && got.cacheVerdict !== 'hit')) {
        return {
          path: opts.tmpPath,
          sha256: got.sha256,
          size: got.size,
          declaredMimetype: got.declaredMimetype,
          source: {
            url: rawUrl,
            finalUrl: unbust(got.finalUrl, media.cacheBustParam).href,
            etag: got.etag,
            lastModified: got.lastModified,
            fetchedAt: new Date().toISOString(),
            freshness: pinMatched || got.cacheVerdict === 'miss' ? 'fresh' : 'unverified',
            obtainedBy: strategy,
            attempts,
          },
        };
      }
    }
    await rm(opts.tmpPath, { force: true });
    const refusal = refuse(rawUrl, expected, attempts);
    log.warn({ url: rawUrl, code: refusal.code, attempts }, refusal.message);
    throw refusal;
  };

  return { fetchFresh, close: router.close };
};

const bust = (url: URL, param: string): URL => {
  const busted = new URL(url);
  busted.searchParams.set(param, randomBytes(8).toString('hex'));
  return busted;
};

const unbust = (url: URL, param: string): URL => {
  const clean = new URL(url);
  clean.searchParams.delete(param);
  return clean;
};

const attemptOf = (got: Download, strategy: Strategy): FetchAttempt => ({
  url: got.finalUrl.href,
  via: got.via,
  strategy,
  status: got.status,
  cacheSignals: got.cacheSignals,
  cacheVerdict: got.cacheVerdict,
  sha256: got.sha256,
  ...(got.cacheControl ? { cacheControl: got.cacheControl } : {}),
  ...(got.acceptRanges ? { acceptRanges: got.acceptRanges } : {}),
  ...(got.etag ? { etag: got.etag } : {}),
  ...(got.lastModified ? { lastModified: got.lastModified } : {}),
});

const failedAttempt = (url: URL, strategy: Strategy, via: string, err: HashsendError): FetchAttempt => ({
  url: url.href,
  via,
  strategy,
  status: typeof err.details?.status === 'number' ? err.details.status : undefined,
  cacheSignals: {},
  cacheVerdict: 'unknown',
  error: `${err.code}: ${err.message}`,
});

/** Bytes that the origin itself served: a cache said MISS, or a request no cache could have answered. */
const fromOrigin = (a: FetchAttempt) =>
  a.sha256 !== undefined && (a.cacheVerdict === 'miss' || (a.cacheVerdict === 'unknown' && a.strategy !== 'plain'));

/** Why no attempt was good enough: the origin has other bytes (422), or only caches answered (409). */
const refuse = (url: string, expected: string | undefined, attempts: FetchAttempt[]): HashsendError => {
  const origin = expected === undefined ? undefined : attempts.filter(fromOrigin).at(-1);
  if (expected !== undefined && origin?.sha256) {
    return new HashsendError('hash_mismatch', 422, `the origin serves ${url} with sha256 ${origin.sha256}, not the pinned ${expected}`, {
      expected,
      received: origin.sha256,
      attempts,
    });
  }
  const plain = attempts.find((a) => a.strategy === 'plain');
  const pathOnly = attempts.some(
    (a) => a.strategy !== 'plain' && a.cacheVerdict === 'hit' && a.sha256 !== undefined && a.sha256 === plain?.sha256,
  );
  const message = pathOnly
    ? `a cache answers ${url} from its copy even with a unique query string: it keys on the path alone, so no ` +
      'request can reach the origin through it. Publish the new content under a versioned path ' +
      '(e.g. /v2/banner.jpg or banner.<hash>.jpg), or purge that cache.'
    : `every request for ${url} was answered by a cache, none by the origin (${attempts.length} attempts)`;
  return new HashsendError('stale_media', 409, message, { url, ...(expected ? { expected } : {}), pathOnly, attempts });
};
