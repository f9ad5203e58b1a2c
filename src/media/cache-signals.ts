import type { CacheVerdict, HopReading } from './types.js';

/** Response headers that caches use to say where a copy came from; kept as received on each attempt. */
const SIGNAL_HEADERS = [
  'age',
  'x-cache',
  'x-cache-status',
  'x-cache-lookup',
  'x-proxy-cache',
  'x-fastcgi-cache',
  'x-varnish',
  'cf-cache-status',
  'x-served-by',
  'x-cache-hits',
  'cdn-cache',
  'x-vercel-cache',
  'x-nf-cache-status',
  'via',
] as const;

/** Headers whose value is a cache status word (HIT, TCP_MEM_HIT, MISS, STALE, …), possibly several (chained caches). */
const STATUS_HEADERS = ['x-cache', 'x-cache-status', 'x-proxy-cache', 'x-fastcgi-cache', 'cf-cache-status', 'cdn-cache', 'x-vercel-cache'];

/**
 * Status words meaning the copy came from a cache, stale or not. REVALIDATED is one: the cache asked the origin
 * whether its validator still holds and served its own copy, which in some setups (a validator that does not
 * change with the content, a shield between) is old; only a cache-busted request that agrees confirms it.
 */
const HIT_WORDS = /^(?:[A-Z_]*HIT|STALE|UPDATING|PRERENDER|REVALIDATED)$/i;
/** Status words meaning the cache went to the origin for this very request. */
const MISS_WORDS = /^(?:[A-Z_]*MISS|EXPIRED|BYPASS|DYNAMIC|PASS|UNCACHEABLE)$/i;

/** The status word of each cache in a value such as "MISS, HIT" or "HIT from squid.example:3128". */
const statusWords = (value: string) => value.split(',').map((part) => part.trim().split(/\s+/)[0]);

const statusVerdict = (value: string) => {
  const words = statusWords(value);
  if (words.some((w) => HIT_WORDS.test(w))) return 'hit';
  if (words.some((w) => MISS_WORDS.test(w))) return 'miss';
  return undefined;
};

export type HeaderValue = string | string[] | undefined;

export interface CacheReading {
  cacheSignals: Record<string, string>;
  cacheVerdict: CacheVerdict;
}

/**
 * Reads the cache's own signals, per DESIGN.md: `Age` above 0 or an explicit HIT means the copy came from a
 * cache; an explicit MISS means the origin answered just now; `Via` alone is no verdict. A HIT anywhere wins
 * over a MISS elsewhere: an edge that missed may have been served by a shield that hit.
 */
export const readCacheSignals = (headers: Record<string, HeaderValue>): CacheReading => {
  const cacheSignals: Record<string, string> = {};
  for (const name of SIGNAL_HEADERS) {
    const value = headers[name];
    if (value !== undefined) cacheSignals[name] = Array.isArray(value) ? value.join(', ') : value;
  }

  let hit = false;
  let miss = false;
  const age = Number.parseInt(cacheSignals.age ?? '', 10);
  if (age > 0) hit = true;
  for (const name of STATUS_HEADERS) {
    const value = cacheSignals[name];
    if (value === undefined) continue;
    const verdict = statusVerdict(value);
    hit ||= verdict === 'hit';
    miss ||= verdict === 'miss';
  }
  // Varnish names the request that stored the object beside the current one on a hit: "<xid> <stored xid>".
  const varnish = cacheSignals['x-varnish']?.trim();
  if (varnish) {
    if (/^\d+\s+\d+$/.test(varnish)) hit = true;
    else if (/^\d+$/.test(varnish)) miss = true;
  }
  // Squid's X-Cache-Lookup says what the lookup found, not what was served; only a verdict when X-Cache is absent.
  const lookup = cacheSignals['x-cache-lookup'];
  if (lookup && cacheSignals['x-cache'] === undefined) {
    const verdict = statusVerdict(lookup);
    hit ||= verdict === 'hit';
    miss ||= verdict === 'miss';
  }

  return { cacheSignals, cacheVerdict: hit ? 'hit' : miss ? 'miss' : 'unknown' };
};

/**
 * The verdict on a whole redirect chain: a cache that answered any hop taints it (an old redirect leads to an
 * old target, however fresh that target is), and it came from the origin only when every hop said so.
 */
export const chainVerdict = (hops: readonly Pick<HopReading, 'cacheVerdict'>[]): CacheVerdict => {
  if (hops.some((h) => h.cacheVerdict === 'hit')) return 'hit';
  return hops.length > 0 && hops.every((h) => h.cacheVerdict === 'miss') ? 'miss' : 'unknown';
};
