/**
 * WASenderApi's `account_protection`: a session with it on sends at most one message per window (its documented
 * figure is one request every 5 seconds), to keep a number from looking like a bulk sender. Without it no limit
 * applies here.
 */
export const PROTECTED_WINDOW_MS = 5_000;

/** What a send attempt is told: go ahead (its slot taken), or wait. Times are epoch milliseconds. */
export type PaceDecision =
  | { allowed: true; limit: number; remaining: number; resetAt: number }
  | { allowed: false; limit: number; remaining: 0; resetAt: number; retryAfterS: number };

/** The decision for a send at `now` when the last one was taken at `last`: a pure function, easy to test. */
export const decidePace = (last: number | undefined, now: number, windowMs: number): PaceDecision => {
  if (last === undefined || now - last >= windowMs) return { allowed: true, limit: 1, remaining: 0, resetAt: now + windowMs };
  const resetAt = last + windowMs;
  return { allowed: false, limit: 1, remaining: 0, resetAt, retryAfterS: Math.max(1, Math.ceil((resetAt - now) / 1000)) };
};

export interface SendPacer {
  /**
   * Takes the session's slot if it is free. The returned `release` gives it back, for a send refused before it
   * was queued (bad input, stale media): only messages that go out count.
   */
  take(sessionId: string): { decision: PaceDecision; release(): void };
}

export const createSendPacer = ({
  windowMs = PROTECTED_WINDOW_MS,
  now = Date.now,
}: { windowMs?: number; now?: () => number } = {}): SendPacer => {
  const last = new Map<string, number>();
  return {
    take(sessionId) {
      const before = last.get(sessionId);
      const at = now();
      const decision = decidePace(before, at, windowMs);
      if (!decision.allowed) return { decision, release: () => undefined };
      last.set(sessionId, at);
      return {
        decision,
        release: () => {
          // Only while nothing took the slot since: a later send's slot is its own.
          if (last.get(sessionId) !== at) return;
          if (before === undefined) last.delete(sessionId);
          else last.set(sessionId, before);
        },
      };
    },
  };
};
