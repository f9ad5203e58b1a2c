import type { Logger } from '../log.js';
import type { WebhookStore } from './store.js';
import type { StoredDelivery } from './types.js';

export interface LaneOptions {
  endpointId: string;
  store: Pick<WebhookStore, 'due' | 'nextDueAt'>;
  /** Deliveries of this endpoint in flight at once, at most. */
  concurrency: number;
  /** Whether attempts may start now (the engine runs and the endpoint is enabled). */
  active(): boolean;
  /** Makes one attempt and writes its result; the delivery's key stays busy until that write is durable. */
  attempt(delivery: StoredDelivery): Promise<void>;
  log: Logger;
  clock: () => number;
}

/** How soon a lane whose read failed (the database busy) looks again, so what is due never waits for a new event. */
const READ_RETRY_MS = 1000;
/** setTimeout's limit; a later due time is reached by waking again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One endpoint's dispatcher: asks the store for what is due (the oldest pending delivery of each key not in
 * flight), runs up to `concurrency` attempts, and sleeps until the next due time or until woken (a new
 * delivery, a finished attempt, a replay). A failing delivery holds back only its own key.
 */
export const createLane = ({ endpointId, store, concurrency, active, attempt, log, clock }: LaneOptions) => {
  const busy = new Set<string>();
  const running = new Set<Promise<void>>();
  /** Read ahead: due deliveries, distinct keys none of them in flight, in the order they are to go. */
  const ready: StoredDelivery[] = [];
  const window = Math.max(32, concurrency * 8);
  let refilling = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const start = (d: StoredDelivery) => {
    busy.add(d.orderingKey);
    const run = attempt(d)
      .catch((err: unknown) => log.error({ err, endpointId, deliveryId: d.id }, 'a webhook attempt could not be recorded'))
      .finally(() => {
        busy.delete(d.orderingKey);
        running.delete(run);
        wake();
      });
    running.add(run);
  };

  /** Starts what was read as due while there is room, one delivery per key at a time. */
  const startReady = () => {
    while (ready.length && busy.size < concurrency && active()) {
      const d = ready.shift()!;
      // A replayed delivery can be due beside its key's oldest: it waits, and is read again later.
      if (!busy.has(d.orderingKey)) start(d);
    }
  };

  const refill = async () => {
    startReady();
    // Enough read ahead: the attempts that end next pull from it without a read.
    if (ready.length >= concurrency) return;
    const known = [...busy, ...ready.map((d) => d.orderingKey)];
    const due = await store.due(endpointId, { now: clock(), busy: known, limit: window });
    const seen = new Set(known);
    for (const d of due) {
      if (seen.has(d.orderingKey)) continue;
      seen.add(d.orderingKey);
      ready.push(d);
    }
    startReady();
    if (due.length === window) return;
    const at = await store.nextDueAt(endpointId, [...busy, ...ready.map((d) => d.orderingKey)]);
    clearTimeout(timer);
    timer = at === undefined || !active() ? undefined : setTimeout(wake, Math.min(MAX_TIMER_MS, Math.max(5, at - clock())));
  };

  function wake() {
    if (!active()) return;
    if (refilling) {
      again = true;
      return;
    }
    refilling = true;
    refill()
      .catch((err: unknown) => {
        log.error({ err, endpointId }, 'webhook deliveries could not be read; trying again in a second');
        clearTimeout(timer);
        timer = setTimeout(wake, READ_RETRY_MS);
      })
      .finally(() => {
        refilling = false;
        if (again) {
          again = false;
          wake();
        }
      });
  }

  return {
    wake,
    /** Sleeps: no timer left, nothing read ahead; attempts in flight end on their own (or by the engine's abort). */
    pause() {
      clearTimeout(timer);
      timer = undefined;
      // What was read ahead may change meanwhile (a re-enable restarts its retry period): read it again then.
      ready.length = 0;
    },
    /** Resolves once the attempts in flight have ended. */
    idle: () => Promise.allSettled([...running]).then(() => undefined),
  };
};

export type Lane = ReturnType<typeof createLane>;
