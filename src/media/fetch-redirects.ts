import { HashsendError } from '../errors.js';
import { readCacheSignals } from './cache-signals.js';
import { header, send, type Exchange, type SendOptions } from './fetch-exchange.js';
import type { Route } from './fetch-route.js';
import type { HopReading } from './types.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface FollowOptions extends SendOptions {
  url: URL;
  /** Where each hop goes (direct or through the proxy); a proxied hop is checked by `check` first. */
  route(url: URL): Route;
  /** The SSRF check for hops that a proxy will resolve; direct hops are checked by the connector. */
  check(url: URL): Promise<void>;
  /** Applied to every hop, e.g. adding the cache-busting parameter. */
  rewrite(url: URL): URL;
  /**
   * Extra headers for one hop, given its URL before `rewrite`: a conditional request for the URL whose copy is
   * to be confirmed. A hop that was sent some may be answered 304.
   */
  headersFor?(url: URL): Record<string, string>;
  maxRedirects: number;
}

export interface Followed {
  /** The last answer: 200, or 304 to a conditional hop; its body is still to be read. */
  response: Exchange;
  url: URL;
  route: Route;
  /** Every answer of the chain with its cache signals, first to last (the last one is `response`'s). */
  hops: HopReading[];
  /** Whether `headersFor` gave some hop a conditional header. */
  conditionalSent: boolean;
}

/**
 * GETs a URL, following redirects (each hop checked and rewritten), and keeps what every hop's cache said:
 * a CDN can keep an old `302 /latest → /v1` long after the origin points elsewhere, and the target's own MISS
 * says nothing about that redirect.
 */
export const followRedirects = async (opts: FollowOptions): Promise<Followed> => {
  const hops: HopReading[] = [];
  let conditionalSent = false;
  let original = opts.url;
  for (let hop = 0; ; hop++) {
    const url = opts.rewrite(original);
    const route = opts.route(url);
    if (route.via !== 'direct') await opts.check(url);
    const extra = opts.headersFor?.(original) ?? {};
    const conditional = Object.keys(extra).length > 0;
    conditionalSent ||= conditional;
    const response = await send(route.dispatcher, url, opts, extra);
    hops.push({ url: url.href, status: response.statusCode, ...readCacheSignals(response.headers) });
    const location = header(response.headers, 'location');
    if (REDIRECTS.has(response.statusCode) && location) {
      await response.discard();
      if (hop >= opts.maxRedirects) {
        throw new HashsendError('fetch_failed', 502, `more than ${opts.maxRedirects} redirects from ${opts.url.href}`, {
          url: opts.url.href,
          maxRedirects: opts.maxRedirects,
        });
      }
      original = new URL(location, url);
      if (original.protocol !== 'http:' && original.protocol !== 'https:') {
        throw new HashsendError('blocked_url', 400, `redirected to a ${original.protocol} URL`, { url: original.href });
      }
      continue;
    }
    if (response.statusCode !== 200 && !(response.statusCode === 304 && conditional)) {
      await response.discard();
      throw new HashsendError('fetch_failed', 502, `${url.href} was answered ${response.statusCode}`, {
        url: url.href,
        status: response.statusCode,
      });
    }
    return { response, url, route, hops, conditionalSent };
  }
};
