/** Positions a cursor may lag behind the session worker before it is stored again. */
const CURSOR_EVERY = 100;

/**
 * The owner's restart point, stored now and then rather than after every message: a cursor only ever lags, and a
 * lagging one just makes the next owner look past finished messages again (one read for up to a hundred). It is
 * stored exactly when the order is caught up (with the read that finds it so) and when the owner stops.
 */
export const createOwnerCursor = (stored: number, store: (position: number) => Promise<unknown>) => {
  let latest = stored;
  return {
    /** The worker finished every message before `position`. */
    moved(position: number) {
      latest = Math.max(latest, position);
      if (latest - stored < CURSOR_EVERY) return Promise.resolve();
      stored = latest;
      return store(latest);
    },
    /** Whether the cursor stored is `position` already (the caught-up read need not store it again). */
    storedAt: (position: number) => stored === position,
    /** The caught-up read stored `position`. */
    caughtUp(position: number) {
      stored = latest = Math.max(latest, position);
    },
    async flush() {
      if (latest === stored) return;
      stored = latest;
      await store(latest);
    },
  };
};
