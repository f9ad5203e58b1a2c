/** Above this many addresses on record, expired ones are swept out, so rotating addresses cannot grow the map. */
const SWEEP_ABOVE = 10_000;

/** Where failed attempts are counted: this process's memory, or Redis (src/cluster/auth-failures.ts) for several nodes. */
export interface FailureLimiter {
  /** Milliseconds until `client` may try again, or 0 when this failure is still within the allowance. */
  fail(client: string): Promise<number>;
}

/**
 * Counts failed authentication attempts per client address in memory. `fail` records one and answers how long the
 * address is blocked for (0: not blocked): past `maxFailures` in the window every failure is refused until the window
 * passes. A right key is never counted nor blocked, so a guesser sharing an address cannot lock real callers out.
 */
export const createFailureLimiter = ({
  maxFailures,
  failureWindowMs,
}: {
  maxFailures: number;
  failureWindowMs: number;
}): FailureLimiter => {
  const failures = new Map<string, { count: number; resetAt: number }>();
  const sweep = (now: number) => {
    for (const [client, record] of failures) if (record.resetAt <= now) failures.delete(client);
  };
  return {
    async fail(client: string): Promise<number> {
      const now = Date.now();
      if (failures.size > SWEEP_ABOVE) sweep(now);
      let record = failures.get(client);
      if (!record || record.resetAt <= now) {
        record = { count: 0, resetAt: now + failureWindowMs };
        failures.set(client, record);
      }
      if (record.count >= maxFailures) return record.resetAt - now;
      record.count += 1;
      return 0;
    },
  };
};
