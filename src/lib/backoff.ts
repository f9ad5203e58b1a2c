export interface BackoffOptions {
  /** First retry delay before jitter. @default 1000 */
  baseMs?: number;
  /** No delay exceeds this. @default 60000 */
  maxMs?: number;
  /** A number in [0, 1): injectable so tests can pin the jitter. @default Math.random */
  random?: () => number;
}

/**
 * Capped exponential backoff with "equal jitter": the delay lies in [ceiling / 2, ceiling], where the ceiling
 * doubles per attempt up to `maxMs`, so reconnecting sessions spread out yet never retry in a tight loop.
 */
export const backoffDelay = (attempt: number, { baseMs = 1000, maxMs = 60_000, random = Math.random }: BackoffOptions = {}) => {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
};
