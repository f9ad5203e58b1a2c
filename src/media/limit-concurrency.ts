/** Runs at most `max` tasks at once; later ones wait their turn in the order they came. */
export interface ConcurrencyLimit {
  <T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running now. */
  readonly active: number;
  /** Tasks waiting for a free slot. */
  readonly waiting: number;
}

export const limitConcurrency = (max: number): ConcurrencyLimit => {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency must be a whole number above 0, not ${max}`);
  let active = 0;
  const queue: (() => void)[] = [];
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active--;
  };
  const run = async <T>(task: () => Promise<T>): Promise<T> => {
    // A released slot is handed straight to the next waiter, so `active` never dips below max while some wait.
    if (active >= max) await new Promise<void>((resolve) => queue.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      release();
    }
  };
  return Object.defineProperties(run, {
    active: { get: () => active },
    waiting: { get: () => queue.length },
  }) as ConcurrencyLimit;
};
