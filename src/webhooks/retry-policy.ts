export interface RetryOptions {
  /** The first retry's ceiling; it doubles per attempt. */
  baseMs: number;
  /** No delay exceeds this. */
  maxMs: number;
  /** How long after the first attempt a delivery is retried; past it, it is dead. */
  periodMs: number;
  /** A number in [0, 1): injectable so tests can pin the jitter. @default Math.random */
  random?: () => number;
}

export type RetryDecision = { action: 'retry'; delayMs: number } | { action: 'dead' };

/**
 * After a failed attempt: exponential backoff with full jitter (a delay anywhere in [0, ceiling], the ceiling
 * doubling per attempt up to `maxMs`), so many endpoints failing at once spread their retries out; dead once the
 * next attempt would fall past `periodMs` since the first.
 */
export const decideRetry = (
  { attempts, firstAttemptAt, now }: { attempts: number; firstAttemptAt: number; now: number },
  { baseMs, maxMs, periodMs, random = Math.random }: RetryOptions,
): RetryDecision => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts, 1) - 1, 40));
  const delayMs = Math.round(random() * ceiling);
  return now + delayMs - firstAttemptAt > periodMs ? { action: 'dead' } : { action: 'retry', delayMs };
};
