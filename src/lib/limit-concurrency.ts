/** Runs at most `max` tasks at once; later ones wait their turn in the order they came. */
export type ConcurrencyLimit = <T>(task: () => Promise<T>) => Promise<T>;

export const limitConcurrency = (max: number): ConcurrencyLimit => {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency must be a whole number above 0, not ${max}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  // A finished task hands its slot straight to the next waiter, so no newcomer can slip in between.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async (task) => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      release();
    }
  };
};
