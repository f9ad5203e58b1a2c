import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import type { Config } from '../config.js';
import { type HashsendError, isHashsendError } from '../errors.js';
import type { Logger } from '../log.js';
import { startDeadline } from './fetch-deadline.js';
import { download, type Download } from './fetch-download.js';
import { createRouter } from './fetch-route.js';
import type { MaxBytesFor } from './fetch-sink.js';
import { judge } from './freshness-policy.js';
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
 * for a fresh copy; unless its bytes match the pin, or every hop said MISS, the same URL made unique with a
 * cache-busting parameter on every hop (conditional on the first answer's validator, so an unchanged file
 * costs a bodiless 304); then, behind a proxy and where allowed, the proxy bypassed. Each request is recorded
 * as a FetchAttempt and `judge` decides which bytes are kept and how fresh they are; the whole fetch ends at
 * `MEDIA_FETCH_DEADLINE_MS`.
 */
export const createFetcher = ({ media, proxy, log, ca }: FetcherOptions): Fetcher => {
  const guard = createSsrfGuard({ allowHosts: media.allowHosts });
  const router = createRouter({ proxy, guard, connectTimeoutMs: media.connectTimeoutMs, ca });

  const attemptOnce = (
    url: URL,
    strategy: Strategy,
    tmpPath: string,
    conditional: Conditional | undefined,
    signal: AbortSignal,
    opts: FetchFreshOptions,
  ) =>
    download({
      url,
      route: (hop) => router.route(hop, { bypassProxy: strategy === 'proxy-bypassed' }),
      check: async (hop) => {
        await guard.resolve(hop.hostname);
      },
      rewrite: (hop) => (strategy === 'plain' ? hop : bust(hop, media.cacheBustParam)),
      // Only the hop that served the first answer's bytes is asked about them; a chain that now leads elsewhere is not.
      headersFor: (hop) =>
        conditional && unbust(hop, media.cacheBustParam).href === conditional.url ? { [conditional.name]: conditional.value } : {},
      tmpPath,
      maxBytesFor: opts.maxBytesFor,
      maxRedirects: media.maxRedirects,
      headersTimeoutMs: media.headersTimeoutMs,
      bodyTimeoutMs: media.bodyTimeoutMs,
      signal,
    });

  /** The next strategy after `strategy`, if it applies to what was seen. */
  const after = (strategy: Strategy, attempts: FetchAttempt[]): Strategy | undefined => {
    if (strategy === 'plain') return 'cache-busted';
    if (strategy === 'cache-busted' && proxy.bypassOnStale && attempts.some((a) => a.via !== 'direct')) return 'proxy-bypassed';
    return undefined;
  };

  const fetchFresh = async (rawUrl: string, opts: FetchFreshOptions): Promise<FetchResult> => {
    const url = guard.parse(rawUrl);
    const expected = opts.expectedSha256?.toLowerCase();
    const deadline = startDeadline(media.fetchDeadlineMs, rawUrl, opts.signal);
    const attempts: FetchAttempt[] = [];
    const downloads: Array<Download | undefined> = [];
    // Each attempt writes its own file: the first answer's bytes stay while a busted request is compared with them.
    const pathOf = (strategy: Strategy) => (strategy === 'plain' ? opts.tmpPath : `${opts.tmpPath}.${strategy}`);
    const sidePaths = [pathOf('cache-busted'), pathOf('proxy-bypassed')];
    try {
      for (let strategy: Strategy | undefined = 'plain'; strategy; strategy = after(strategy, attempts)) {
        const conditional = strategy === 'plain' ? undefined : conditionalOn(downloads[0]);
        try {
          const got = await attemptOnce(url, strategy, pathOf(strategy), conditional, deadline.signal, opts);
          downloads.push(got);
          attempts.push(attemptOf(got, strategy, conditional, downloads[0]));
          log.debug({ url: rawUrl, attempt: attempts.at(-1) }, 'media fetch attempt');
        } catch (err) {
          if (strategy === 'plain' || !isHashsendError(err) || FINAL_CODES.has(err.code) || deadline.signal.aborted) throw err;
          // A later attempt failing does not undo what the earlier ones showed; it is reported with them.
          downloads.push(undefined);
          attempts.push(failedAttempt(url, strategy, router.route(url, { bypassProxy: strategy === 'proxy-bypassed' }).via, err));
        }
        const verdict = judge(attempts, {
          url: rawUrl,
          expected,
          canEscalate: after(strategy, attempts) !== undefined,
          requireVerified: media.requireVerified,
        });
        if (verdict.kind === 'escalate') continue;
        if (verdict.kind === 'refuse') {
          log.warn({ url: rawUrl, code: verdict.error.code, attempts }, verdict.error.message);
          throw verdict.error;
        }
        const kept = downloads[verdict.index];
        if (!kept?.body) throw new Error(`judge kept attempt ${verdict.index}, which has no bytes`);
        if (verdict.index > 0) await rename(pathOf(attempts[verdict.index].strategy), opts.tmpPath);
        return {
          path: opts.tmpPath,
          sha256: kept.body.sha256,
          size: kept.body.size,
          declaredMimetype: kept.body.declaredMimetype,
          source: {
            url: rawUrl,
            finalUrl: unbust(kept.finalUrl, media.cacheBustParam).href,
            etag: kept.etag,
            lastModified: kept.lastModified,
            fetchedAt: new Date().toISOString(),
            freshness: verdict.freshness,
            reason: verdict.reason,
            obtainedBy: attempts[verdict.index].strategy,
            attempts,
          },
        };
      }
      throw new Error('the fetch plan ended without a verdict');
    } catch (err) {
      await rm(opts.tmpPath, { force: true });
      throw err;
    } finally {
      deadline.clear();
      await Promise.all(sidePaths.map((p) => rm(p, { force: true })));
    }
  };

  return { fetchFresh, close: router.close };
};

/** The request header that asks whether the first answer's copy is still current, and for which URL. */
interface Conditional {
  url: string;
  name: 'if-none-match' | 'if-modified-since';
  value: string;
}

/** If-None-Match takes a weak ETag too (weak comparison, RFC 9110 13.1.2); a date only when there is no ETag. */
const conditionalOn = (first: Download | undefined): Conditional | undefined => {
  if (!first?.body) return undefined;
  const url = first.finalUrl.href;
  if (first.etag) return { url, name: 'if-none-match', value: first.etag };
  if (first.lastModified) return { url, name: 'if-modified-since', value: first.lastModified };
  return undefined;
};

const describeConditional = (c: Conditional | undefined) =>
  c && { conditional: `${c.name === 'if-none-match' ? 'If-None-Match' : 'If-Modified-Since'}: ${c.value}` };

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

const attemptOf = (got: Download, strategy: Strategy, conditional: Conditional | undefined, first: Download | undefined): FetchAttempt => ({
  url: got.finalUrl.href,
  via: got.via,
  strategy,
  status: got.status,
  cacheSignals: got.cacheSignals,
  cacheVerdict: got.cacheVerdict,
  ...(got.hops.length > 1 ? { hops: got.hops } : {}),
  ...(got.conditionalSent ? describeConditional(conditional) : {}),
  // A 304 confirms the first answer's bytes: it is recorded with their hash.
  sha256: got.body?.sha256 ?? first?.body?.sha256,
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
