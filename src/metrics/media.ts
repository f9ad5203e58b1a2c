import { Counter, type Registry } from 'prom-client';
import { isHashsendError } from '../errors.js';
import type { FetchAttempt, MediaSource } from '../media/types.js';

/** How one URL fetch ended, as the resolver reports it. */
export type FetchEnd = { source: MediaSource } | { error: unknown };

const busted = (attempts: FetchAttempt[] | undefined) => String(attempts?.some((a) => a.strategy !== 'plain') ?? false);

/**
 * `hashsend_media_fetches_total{outcome, busted}`. `outcome` is the freshness a kept copy was recorded with
 * (`fresh`, `confirmed`, `unverified`) or the error code a refused one got (`stale_media`, `hash_mismatch`,
 * `fetch_failed`, `fetch_timeout`, `too_large`, `blocked_url`, …; `failed` for an unexpected error); `busted` says
 * whether a cache-busting (or proxy-bypassing) request was needed to decide.
 */
export const mediaFetchMetrics = (registry: Registry) => {
  const fetches = new Counter({
    name: 'hashsend_media_fetches_total',
    help: 'Media URL fetches by outcome: the freshness kept, or the error code refused with; busted: a cache-busted request was made',
    labelNames: ['outcome', 'busted'] as const,
    registers: [registry],
  });
  return (end: FetchEnd) => {
    if ('source' in end) return fetches.inc({ outcome: end.source.freshness, busted: busted(end.source.attempts) });
    const { error } = end;
    if (!isHashsendError(error)) return fetches.inc({ outcome: 'failed', busted: 'false' });
    const attempts = error.details?.attempts;
    fetches.inc({ outcome: error.code, busted: busted(Array.isArray(attempts) ? (attempts as FetchAttempt[]) : undefined) });
  };
};
