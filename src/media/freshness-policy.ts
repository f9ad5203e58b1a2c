import { HashsendError } from '../errors.js';
import type { FetchAttempt, Freshness } from './types.js';

/** What to do after the attempts so far: keep one attempt's bytes, try the next strategy, or refuse. */
export type Judgement =
  | { kind: 'take'; index: number; freshness: Exclude<Freshness, 'uploaded'>; reason: string }
  | { kind: 'escalate' }
  | { kind: 'refuse'; error: HashsendError };

export interface JudgeContext {
  url: string;
  /** The pinned hash, lower case. */
  expected?: string;
  /** Whether another strategy is left to try (the plain request can always be followed by a busted one). */
  canEscalate: boolean;
  /** MEDIA_REQUIRE_VERIFIED: an unconfirmed copy is refused instead of taken as `unverified`. */
  requireVerified: boolean;
}

/** Statuses that say the origin no longer has the file: a copy served elsewhere is then stale, not unconfirmed. */
const GONE = new Set([404, 410]);

/**
 * The freshness verdict (DESIGN.md, "The freshness invariant"), from the attempts in order, the plain one first:
 * a pinned hash that matches, or a MISS on every hop of an unpinned fetch, is fresh at once. Otherwise (a
 * cache answered a hop, or nothing said where the bytes came from) a cache-busted request must settle it: a
 * 304 or the same bytes confirm the first answer, other bytes win. Only when no such request could be answered
 * is the silent first answer taken unverified.
 */
export const judge = (attempts: FetchAttempt[], ctx: JudgeContext): Judgement => {
  const plain = attempts[0];
  const index = attempts.length - 1;
  const last = attempts[index];
  const take = (at: number, freshness: Exclude<Freshness, 'uploaded'>, reason: string): Judgement => ({
    kind: 'take',
    index: at,
    freshness,
    reason,
  });
  if (index === 0) {
    if (ctx.expected !== undefined && plain.sha256 === ctx.expected) return take(0, 'fresh', 'the bytes match the pinned sha256');
    if (ctx.expected === undefined && plain.cacheVerdict === 'miss') return take(0, 'fresh', 'every answer said a cache MISS');
    return { kind: 'escalate' };
  }
  if (last.error === undefined && last.cacheVerdict !== 'hit') {
    const agreed = last.status === 304 ? 'answered 304 Not Modified to its validator' : 'brought the same bytes';
    if (ctx.expected !== undefined) {
      if (last.sha256 === ctx.expected)
        return take(index, 'fresh', `the first answer ${said(plain)}; a ${last.strategy} request brought the pinned bytes`);
    } else if (last.status === 304 || last.sha256 === plain.sha256) {
      return take(0, 'confirmed', `the first answer ${said(plain)}; a ${last.strategy} request ${agreed}`);
    } else {
      return take(
        index,
        'fresh',
        `the first answer ${said(plain)} (sha256 ${plain.sha256}); a ${last.strategy} request brought other bytes, which were kept`,
      );
    }
  }
  if (ctx.canEscalate) return { kind: 'escalate' };
  return settle(attempts, ctx);
};

/** Nothing settled it: the silent first answer is unverified when every later request failed; else a refusal. */
const settle = (attempts: FetchAttempt[], ctx: JudgeContext): Judgement => {
  const [plain, ...later] = attempts;
  const unconfirmable = later.every((a) => a.error !== undefined && !GONE.has(a.status ?? 0));
  if (ctx.expected !== undefined || plain.cacheVerdict === 'hit' || !unconfirmable) {
    return { kind: 'refuse', error: refuse(ctx.url, ctx.expected, attempts) };
  }
  const reason = `the first answer ${said(plain)}, and nothing could confirm it (${later.map((a) => `${a.strategy}: ${a.error}`).join('; ')})`;
  if (!ctx.requireVerified) return { kind: 'take', index: 0, freshness: 'unverified', reason };
  const message = `${ctx.url} cannot be confirmed current: ${reason}. MEDIA_REQUIRE_VERIFIED refuses unverified copies; pin its sha256 or publish it under a versioned path`;
  return {
    kind: 'refuse',
    error: new HashsendError('stale_media', 409, message, { url: ctx.url, freshness: 'unverified', reason, attempts }),
  };
};

/** What the first answer's cache signals said, as a clause: "carried no cache signal". */
const said = (a: FetchAttempt) => {
  if (a.cacheVerdict === 'miss') return 'said a cache MISS';
  if (a.cacheVerdict === 'unknown') return 'carried no cache signal';
  const viaCachedRedirect = (a.hops ?? []).slice(0, -1).some((h) => h.cacheVerdict === 'hit');
  return viaCachedRedirect ? 'followed a redirect that a cache answered' : 'came from a cache';
};

/** Bytes that the origin itself served: a cache said MISS, or a request no cache could have answered. */
const fromOrigin = (a: FetchAttempt) =>
  a.sha256 !== undefined && (a.cacheVerdict === 'miss' || (a.cacheVerdict === 'unknown' && a.strategy !== 'plain'));

/** Why no attempt was good enough: the origin has other bytes (422), or only caches answered (409). */
const refuse = (url: string, expected: string | undefined, attempts: FetchAttempt[]): HashsendError => {
  const [plain, ...later] = attempts;
  // A silent first answer that nothing could check is what the URL serves, as far as anyone can tell.
  const unchecked = plain.cacheVerdict === 'unknown' && later.every((a) => a.error !== undefined && !GONE.has(a.status ?? 0));
  const origin = expected === undefined ? undefined : (attempts.filter(fromOrigin).at(-1) ?? (unchecked ? plain : undefined));
  if (expected !== undefined && origin?.sha256) {
    return new HashsendError('hash_mismatch', 422, `the origin serves ${url} with sha256 ${origin.sha256}, not the pinned ${expected}`, {
      expected,
      received: origin.sha256,
      attempts,
    });
  }
  const pathOnly = later.some((a) => a.cacheVerdict === 'hit' && a.sha256 !== undefined && a.sha256 === plain.sha256);
  const gone = later.find((a) => GONE.has(a.status ?? 0));
  const failed = later.filter((a) => a.error !== undefined);
  const message = pathOnly
    ? `a cache answers ${url} from its copy even with a unique query string: it keys on the path alone, so no ` +
      'request can reach the origin through it. Publish the new content under a versioned path ' +
      '(e.g. /v2/banner.jpg or banner.<hash>.jpg), or purge that cache.'
    : gone
      ? `${url} is served from a copy, but the origin answers ${gone.status} for it: the file is gone there`
      : failed.length > 0
        ? `the first answer for ${url} ${said(plain)}, and no request reached the origin past it (${failed.map((a) => `${a.strategy}: ${a.error}`).join('; ')})`
        : `every request for ${url} was answered by a cache, none by the origin (${attempts.length} attempts)`;
  return new HashsendError('stale_media', 409, message, { url, ...(expected ? { expected } : {}), pathOnly, attempts });
};
