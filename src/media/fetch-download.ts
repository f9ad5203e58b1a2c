import { rm } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import { HashsendError, isHashsendError } from '../errors.js';
import { readCacheSignals, type CacheReading } from './cache-signals.js';
import { HashingSink, type MaxBytesFor } from './fetch-sink.js';
import type { Route } from './fetch-route.js';

/** How often a body cut off mid-way is resumed (or restarted) before the fetch gives up. */
const MAX_RESUMES = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/**
 * How much of the body undici may buffer before it pauses the socket. Its 64 KiB default pauses and resumes the
 * parser on nearly every socket read; with 1 MiB a 200 MB loopback body took ~10% less CPU (bench/ingest).
 */
const BODY_HIGH_WATER_MARK = 1024 * 1024;

export interface DownloadOptions {
  url: URL;
  /** Where each hop goes (direct or through the proxy); a proxied hop is checked by `check` first. */
  route(url: URL): Route;
  /** The SSRF check for hops that a proxy will resolve; direct hops are checked by the connector. */
  check(url: URL): Promise<void>;
  /** Applied to every hop, e.g. adding the cache-busting parameter. */
  rewrite(url: URL): URL;
  tmpPath: string;
  maxBytesFor: MaxBytesFor;
  maxRedirects: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  signal?: AbortSignal;
}

export interface Download extends CacheReading {
  finalUrl: URL;
  via: string;
  status: number;
  sha256: string;
  size: number;
  declaredMimetype?: string;
  etag?: string;
  lastModified?: string;
  /** The answer's `Cache-Control` and `Accept-Ranges`, which `hashsend check` reports. */
  cacheControl?: string;
  acceptRanges?: string;
  /** How often a cut-off body was resumed with a Range request. */
  resumed: number;
  /** How often it started again from zero because the file changed meanwhile. */
  restarted: number;
}

const header = (headers: Dispatcher.ResponseData['headers'], name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const contentLength = (headers: Dispatcher.ResponseData['headers']): number | undefined => {
  const v = header(headers, 'content-length');
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
};

/**
 * One GET of a URL into tmpPath: redirects followed (each hop checked), the body hashed while it streams to
 * disk under the caller's size cap, a connection cut mid-body resumed with `Range` + `If-Range` (the hash
 * carries on) or restarted from zero when the origin answers 200 because its validator changed. On any
 * failure tmpPath is removed.
 */
export const download = async (opts: DownloadOptions): Promise<Download> => {
  let sink: HashingSink | undefined;
  // The body being read; destroyed on failure so that the connection is released, not left paused.
  let body: Dispatcher.ResponseData['body'] | undefined;
  try {
    const { response, url, route } = await requestFollowingRedirects(opts);
    body = response.body;
    let reading = readCacheSignals(response.headers);
    let validators = validatorsOf(response.headers);
    let declaredMimetype = header(response.headers, 'content-type');
    sink = await HashingSink.open(opts.tmpPath, opts.maxBytesFor, declaredMimetype);
    const resumable = header(response.headers, 'accept-ranges') !== 'none';
    let remaining = contentLength(response.headers);
    let resumed = 0;
    let restarted = 0;
    sink.checkLength(remaining);
    for (;;) {
      const validator = validators.etag ?? validators.lastModified;
      try {
        await drain(body, sink);
        break;
      } catch (err) {
        if (!isCutOff(err) || !resumable || !validator || resumed + restarted >= MAX_RESUMES) throw err;
      }
      const again = await send(route.dispatcher, url, opts, { range: `bytes=${sink.received}-`, 'if-range': validator });
      merge(reading, readCacheSignals(again.headers));
      if (again.statusCode === 206 && contentRangeStart(again.headers) === sink.received) {
        resumed++;
      } else if (again.statusCode === 200) {
        restarted++;
        validators = validatorsOf(again.headers);
        declaredMimetype = header(again.headers, 'content-type');
        await sink.restart(declaredMimetype);
        reading = readCacheSignals(again.headers);
      } else {
        await again.body.dump().catch(() => undefined);
        throw new HashsendError('fetch_failed', 502, `resuming ${url.href} was answered ${again.statusCode}`, {
          url: url.href,
          status: again.statusCode,
        });
      }
      body = again.body;
      remaining = contentLength(again.headers);
      sink.checkLength(remaining);
    }
    const { sha256, size } = await sink.finish();
    return {
      ...reading,
      finalUrl: url,
      via: route.via,
      status: response.statusCode,
      sha256,
      size,
      declaredMimetype,
      ...validators,
      cacheControl: header(response.headers, 'cache-control'),
      acceptRanges: header(response.headers, 'accept-ranges'),
      resumed,
      restarted,
    };
  } catch (err) {
    body?.destroy();
    await sink?.close();
    await rm(opts.tmpPath, { force: true });
    throw toHashsendError(err, opts);
  }
};

/**
 * Hands each chunk to the sink as the socket delivered it. Async iteration would instead read() everything
 * buffered at once, which concatenates it: a copy of most of the body (bench/ingest).
 */
const drain = (body: Readable, sink: HashingSink) =>
  pipeline(
    body,
    new Writable({
      highWaterMark: BODY_HIGH_WATER_MARK,
      write: (chunk: Buffer, _encoding, done) => void sink.write(chunk).then(() => done(), done),
    }),
  );

const requestFollowingRedirects = async (opts: DownloadOptions) => {
  let url = opts.rewrite(opts.url);
  for (let hop = 0; ; hop++) {
    const route = opts.route(url);
    if (route.via !== 'direct') await opts.check(url);
    const response = await send(route.dispatcher, url, opts, {});
    const location = header(response.headers, 'location');
    if (REDIRECTS.has(response.statusCode) && location) {
      await response.body.dump().catch(() => undefined);
      if (hop >= opts.maxRedirects) {
        throw new HashsendError('fetch_failed', 502, `more than ${opts.maxRedirects} redirects from ${opts.url.href}`, {
          url: opts.url.href,
          maxRedirects: opts.maxRedirects,
        });
      }
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new HashsendError('blocked_url', 400, `redirected to a ${next.protocol} URL`, { url: next.href });
      }
      url = opts.rewrite(next);
      continue;
    }
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => undefined);
      throw new HashsendError('fetch_failed', 502, `${url.href} was answered ${response.statusCode}`, {
        url: url.href,
        status: response.statusCode,
      });
    }
    return { response, url, route };
  }
};

const send = (dispatcher: Dispatcher, url: URL, opts: DownloadOptions, extra: Record<string, string>) =>
  dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: {
      'cache-control': 'no-cache',
      pragma: 'no-cache',
      'accept-encoding': 'identity',
      'user-agent': 'hashsend',
      ...extra,
    },
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
    highWaterMark: BODY_HIGH_WATER_MARK,
    signal: opts.signal,
  });

const validatorsOf = (headers: Dispatcher.ResponseData['headers']) => {
  const etag = header(headers, 'etag');
  // A weak ETag cannot validate a byte range (RFC 9110 13.1.5); Last-Modified then does.
  return {
    etag: etag && !etag.startsWith('W/') ? etag : undefined,
    lastModified: header(headers, 'last-modified'),
  };
};

const contentRangeStart = (headers: Dispatcher.ResponseData['headers']) => {
  const m = /^bytes (\d+)-/.exec(header(headers, 'content-range') ?? '');
  return m ? Number(m[1]) : undefined;
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
