import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HashsendError } from '../errors.js';
import { createFailureLimiter, type FailureLimiter } from '../lib/failure-limiter.js';

/** Hashing both sides first gives equal lengths, so the comparison takes the same time whatever the guess. */
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether `key` is one of `expected` (their digests), in time that does not depend on where a guess differs. */
export const keyMatches = (key: string, expected: Buffer[]) => {
  const d = digest(key);
  let found = false;
  for (const e of expected) found = timingSafeEqual(d, e) || found;
  return found;
};
export const keyDigests = (keys: string[]) => keys.map(digest);

export const bearerToken = (authorization: string | undefined) => authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();

const presentedKey = (authorization: string | undefined, apiKeyHeader: string | string[] | undefined) => {
  if (typeof apiKeyHeader === 'string' && apiKeyHeader) return apiKeyHeader;
  return bearerToken(authorization);
};

export interface AuthOptions {
  apiKey: string;
  /** Failed attempts allowed per client address within the window before 429. */
  maxFailures: number;
  failureWindowMs: number;
  /** Where failures are counted. @default in this process's memory */
  limiter?: FailureLimiter;
}

/**
 * Checks `Authorization: Bearer <key>` or `X-Api-Key: <key>` in constant time. Repeated failures from one address
 * are answered 429 until the window passes, so the key cannot be guessed at speed.
 */
export const requireApiKey = ({ apiKey, maxFailures, failureWindowMs, limiter }: AuthOptions): RequestHandler => {
  const expected = keyDigests([apiKey]);
  const failures = limiter ?? createFailureLimiter({ maxFailures, failureWindowMs });
  return async function requireApiKey(req, res, next) {
    const key = presentedKey(req.headers.authorization, req.headers['x-api-key']);
    if (key && keyMatches(key, expected)) return next();
    const blockedMs = await failures.fail(req.ip ?? 'unknown');
    if (blockedMs > 0) {
      res.setHeader('Retry-After', String(Math.ceil(blockedMs / 1000)));
      return next(new HashsendError('rate_limited', 429, 'too many failed authentication attempts; try again later'));
    }
    if (!key) return next(new HashsendError('unauthorized', 401, 'missing API key: send Authorization: Bearer <key> or X-Api-Key'));
    return next(new HashsendError('forbidden', 403, 'invalid API key'));
  };
};
