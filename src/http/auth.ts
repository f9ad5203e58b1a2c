import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HashsendError } from '../errors.js';

/** Hashing both sides first gives equal lengths, so the comparison takes the same time whatever the guess. */
const digest = (s: string) => createHash('sha256').update(s).digest();

const presentedKey = (authorization: string | undefined, apiKeyHeader: string | string[] | undefined) => {
  if (typeof apiKeyHeader === 'string' && apiKeyHeader) return apiKeyHeader;
  const match = authorization?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
};

export interface AuthOptions {
  apiKey: string;
  /** Failed attempts allowed per client address within the window before 429. */
  maxFailures: number;
  failureWindowMs: number;
}

/** Above this many addresses on record, expired ones are swept out, so rotating addresses cannot grow the map. */
const SWEEP_ABOVE = 10_000;

/**
 * Checks `Authorization: Bearer <key>` or `X-Api-Key: <key>` in constant time. Repeated failures from one address
 * are answered 429 until the window passes, so the key cannot be guessed at speed; the right key always passes,
 * so a guesser sharing an address (behind one proxy) cannot lock real callers out.
 */
export const requireApiKey = ({ apiKey, maxFailures, failureWindowMs }: AuthOptions): RequestHandler => {
  const expected = digest(apiKey);
  const failures = new Map<string, { count: number; resetAt: number }>();
  const sweep = (now: number) => {
    for (const [client, record] of failures) if (record.resetAt <= now) failures.delete(client);
  };
  return function requireApiKey(req, res, next) {
    const key = presentedKey(req.headers.authorization, req.headers['x-api-key']);
    if (key && timingSafeEqual(digest(key), expected)) return next();
    const client = req.ip ?? 'unknown';
    const now = Date.now();
    if (failures.size > SWEEP_ABOVE) sweep(now);
    let record = failures.get(client);
    if (!record || record.resetAt <= now) {
      record = { count: 0, resetAt: now + failureWindowMs };
      failures.set(client, record);
    }
    if (record.count >= maxFailures) {
      res.setHeader('Retry-After', String(Math.ceil((record.resetAt - now) / 1000)));
      return next(new HashsendError('rate_limited', 429, 'too many failed authentication attempts; try again later'));
    }
    record.count += 1;
    if (!key) return next(new HashsendError('unauthorized', 401, 'missing API key: send Authorization: Bearer <key> or X-Api-Key'));
    return next(new HashsendError('forbidden', 403, 'invalid API key'));
  };
};
