import { rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { errors as undiciErrors } from 'undici';
import { HashsendError, isHashsendError } from '../errors.js';
import { chainVerdict, readCacheSignals, type CacheReading } from './cache-signals.js';
import { contentLength, header, send, type Exchange } from './fetch-exchange.js';
import { followRedirects, type FollowOptions } from './fetch-redirects.js';
import { HashingSink, type MaxBytesFor } from './fetch-sink.js';
import type { HopReading } from './types.js';

/** How often a body cut off mid-way is resumed (or restarted) before the fetch gives up. */
const MAX_RESUMES = 3;

export interface DownloadOptions extends FollowOptions {
  tmpPath: string;
  maxBytesFor: MaxBytesFor;
}

/** The bytes of a 200 answer, hashed and written to tmpPath. */
export interface Received {
  sha256: string;
  size: number;
  declaredMimetype?: string;
  /** How often a cut-off body was resumed with a Range request. */
  resumed: number;
  /** How often it started again from zero: no strong ETag to resume on, or the file changed meanwhile. */
  restarted: number;
}

export interface Download extends CacheReading {
  finalUrl: URL;
  via: string;
  status: number;
  /** Every answer of the redirect chain; `cacheVerdict` is the chain's, `cacheSignals` the last answer's. */
  hops: HopReading[];
  /** Whether a hop was asked conditionally (see FollowOptions.headersFor). */
  conditionalSent: boolean;
  /** Absent when the answer was a 304 to a conditional request: nothing was written. */
  body?: Received;
  /** The ETag as received, weak or strong. */
  etag?: string;
  lastModified?: string;
  /** The answer's `Cache-Control` and `Accept-Ranges`, which `hashsend check` reports. */
  cacheControl?: string;
  acceptRanges?: string;
}

/**
 * One GET of a URL into tmpPath: redirects followed (each hop checked, each hop's cache signals kept), the body
 * hashed while it streams to disk under the caller's size cap. A connection cut mid-body is resumed only on a
 * strong ETag and only with a 206 of that same representation (same ETag, same total length); otherwise the
 * body starts again from zero with a plain GET, so that two versions are never spliced. On any failure
 * tmpPath is removed; a 304 writes nothing.
 */
export const download = async (opts: DownloadOptions): Promise<Download> => {
  let sink: HashingSink | undefined;
  // The exchange being read; aborted on failure so that the connection is released, not left paused.
  let exchange: Exchange | undefined;
  try {
    const { response, url, route, hops, conditionalSent } = await followRedirects(opts);
    exchange = response;
    const last = hops[hops.length - 1];
    const answer = (headers: IncomingHttpHeaders): Download => ({
      finalUrl: url,
      via: route.via,
      status: response.statusCode,
      hops,
      conditionalSent,
      cacheSignals: last.cacheSignals,
      cacheVerdict: chainVerdict(hops),
      etag: header(headers, 'etag'),
      lastModified: header(headers, 'last-modified'),
      cacheControl: header(response.headers, 'cache-control'),
      acceptRanges: header(response.headers, 'accept-ranges'),
    });
    if (response.statusCode === 304) {
      await response.discard();
      return answer(response.headers);
    }

    let current = response.headers;
    let declaredMimetype = header(current, 'content-type');
    sink = await HashingSink.open(opts.tmpPath, opts.maxBytesFor, declaredMimetype);
    let total = contentLength(current);
    sink.checkLength(total);
    let resumed = 0;
    let restarted = 0;
    for (;;) {
      try {
        await exchange.into(sink);
        break;
      } catch (err) {
        if (!isCutOff(err) || resumed + restarted >= MAX_RESUMES) throw err;
      }
      const etag = header(current, 'accept-ranges') === 'none' ? undefined : strongEtag(current);
      const start = sink.received;
      let again = await send(route.dispatcher, url, opts, etag ? { range: `bytes=${start}-`, 'if-range': etag } : {});
      const continues = etag !== undefined && again.statusCode === 206 && sameRepresentation(again.headers, { etag, total, start });
      if (again.statusCode === 206 && !continues) {
        // A 206 of another version (the origin ignored If-Range): its bytes would splice two files into one.
        await again.discard();
        again = await send(route.dispatcher, url, opts, {});
      }
      exchange = again;
      if (continues) {
        resumed++;
        merge(last, readCacheSignals(again.headers));
        sink.checkLength(contentLength(again.headers));
      } else if (again.statusCode === 200) {
        restarted++;
        current = again.headers;
        declaredMimetype = header(current, 'content-type');
        await sink.restart(declaredMimetype);
        Object.assign(last, readCacheSignals(current));
        total = contentLength(current);
        sink.checkLength(total);
      } else {
        await again.discard();
        throw new HashsendError('fetch_failed', 502, `resuming ${url.href} was answered ${again.statusCode}`, {
          url: url.href,
          status: again.statusCode,
        });
      }
    }
    const { sha256, size } = await sink.finish();
    return { ...answer(current), body: { sha256, size, declaredMimetype, resumed, restarted } };
  } catch (err) {
    exchange?.abort();
    await sink?.close();
    await rm(opts.tmpPath, { force: true });
    throw toHashsendError(err, opts);
  }
};

/** Only a strong ETag can validate a byte range (RFC 9110 13.1.5); a weak one or a date may hide a change. */
const strongEtag = (headers: IncomingHttpHeaders) => {
  const etag = header(headers, 'etag');
  return etag && !etag.startsWith('W/') ? etag : undefined;
};

/** `bytes <start>-<end>/<total>`; total undefined for `*`. */
const contentRange = (headers: IncomingHttpHeaders) => {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header(headers, 'content-range')?.trim() ?? '');
  return m ? { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) } : undefined;
};

/** The 206 continues the very representation the first bytes came from: same strong ETag, same total length. */
const sameRepresentation = (headers: IncomingHttpHeaders, first: { etag: string; total?: number; start: number }) => {
  const range = contentRange(headers);
  return (
    range !== undefined &&
    range.start === first.start &&
    strongEtag(headers) === first.etag &&
    (first.total === undefined || range.total === first.total)
  );
};

/** A cache that answered any part of the body taints the whole. */
const merge = (into: CacheReading, next: CacheReading) => {
  Object.assign(into.cacheSignals, next.cacheSignals);
  if (next.cacheVerdict === 'hit' || into.cacheVerdict === 'unknown') into.cacheVerdict = next.cacheVerdict;
};

/** The connection ended before the body did: worth a Range request. Timeouts and our own refusals are not. */
const isCutOff = (err: unknown) =>
  !isHashsendError(err) &&
  !(err instanceof undiciErrors.BodyTimeoutError) &&
  !(err instanceof undiciErrors.RequestAbortedError) &&
  !(err instanceof Error && err.name === 'AbortError');

const TIMEOUTS: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connecting',
  UND_ERR_HEADERS_TIMEOUT: 'waiting for the response headers',
  UND_ERR_BODY_TIMEOUT: 'waiting for more of the body (it stalled)',
};

const toHashsendError = (err: unknown, opts: DownloadOptions): HashsendError => {
  // The fetch's deadline aborts with its own error, whatever undici made of the abort.
  if (opts.signal?.aborted && isHashsendError(opts.signal.reason)) return opts.signal.reason;
  if (isHashsendError(err)) return err;
  const url = opts.url.href;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TIMEOUTS[code]) {
    return new HashsendError('fetch_timeout', 504, `timed out ${TIMEOUTS[code]} for ${url}`, { url }, { cause: err });
  }
  if (opts.signal?.aborted) {
    return new HashsendError('fetch_failed', 502, `fetching ${url} was cancelled`, { url }, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new HashsendError('fetch_failed', 502, `cannot fetch ${url}: ${reason}`, { url, reason }, { cause: err });
};
