import type { Logger } from '../log.js';
import type { DeliveryUpdate, WebhookStore } from './store.js';
import type { StoredDelivery } from './types.js';

export interface LaneOptions {
  endpointId: string;
  store: Pick<WebhookStore, 'pending'>;
  /** Requests to this endpoint in flight at once, at most. */
  concurrency: number;
  /** Whether attempts may start now (the engine runs and the endpoint is enabled). */
  active(): boolean;
  /**
   * Makes one attempt and writes its result; resolves once that write is durable, with what it wrote (undefined:
   * cut by a shutdown, nothing written). Calls `posted` once the request has ended: its slot is free for another
   * key while the write is committed, and its key stays busy until then.
   */
  attempt(delivery: StoredDelivery, posted: () => void): Promise<DeliveryUpdate | undefined>;
  log: Logger;
  clock: () => number;
  /** Pending deliveries held in memory at most; beyond, they wait on disk and are read as room frees up. */
  maxInMemory?: number;
}

/** How soon a lane whose read failed (the database busy) reads again, so what is pending never waits for a new event. */
const READ_RETRY_MS = 1000;
/** setTimeout's limit; a later due time is reached by waking again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A pending delivery in memory; `dueAt` (epoch ms) counts once it is the oldest of its key (0: at once). */
interface Entry {
  d: StoredDelivery;
  dueAt: number;
}

/**
 * One endpoint's dispatcher. The store is the durable copy; the lane holds the endpoint's pending deliveries in
 * memory, a FIFO per ordering key in `seq` order, fed straight by the engine once each delivery is durable, so an
 * event costs no read. Only the head of a key is attempted, one at a time: a failing delivery holds back its own
 * key alone. The store is read at a (re)start — start, replay, re-enable — and whenever more is pending than
 * memory holds: `watermark` is the last `seq` read, and every pending delivery is in memory or above it.
 */
export const createLane = ({ endpointId, store, concurrency, active, attempt, log, clock, maxInMemory = 5000 }: LaneOptions) => {
  /** Every pending delivery in memory by seq, those in flight included (even after a pause). */
  const known = new Map<number, Entry>();
  const inFlight = new Set<Entry>();
  const keys = new Map<string, Entry[]>();
  /** Keys not in flight whose head is due now, oldest first. */
  const ready = new Set<string>();
  const busy = new Set<string>();
  /** Requests in flight: at most `concurrency`. */
  let posting = 0;
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let watermark = 0;
  /** Pending deliveries above `watermark` may exist: memory is not the whole backlog. */
  let behind = true;
  let reading = false;
  /** Bumped by a restart, so a read begun before it is thrown away. */
  let generation = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  /** Pending deliveries with a seq above this may be unread though below `watermark` (stored by another node). */
  let floor: number | undefined;

  /** The key's head is due: ready now, or a timer for later. */
  const schedule = (key: string) => {
    clearTimeout(timers.get(key));
    timers.delete(key);
    const head = keys.get(key)?.[0];
    if (!head || busy.has(key)) return;
    const wait = head.dueAt - clock();
    if (wait <= 0) ready.add(key);
    else
      timers.set(
        key,
        setTimeout(() => (timers.delete(key), ready.add(key), pump()), Math.min(MAX_TIMER_MS, wait)),
      );
  };

  /** Into its key's queue in seq order, never ahead of the one in flight. */
  const place = (e: Entry) => {
    const key = e.d.orderingKey;
    const q = keys.get(key) ?? [];
    keys.set(key, q);
    let i = q.length;
    while (i > (busy.has(key) ? 1 : 0) && q[i - 1].d.seq > e.d.seq) i--;
    q.splice(i, 0, e);
    if (i === 0) schedule(key);
  };

  const finish = (e: Entry, update: DeliveryUpdate | undefined) => {
    const key = e.d.orderingKey;
    inFlight.delete(e);
    busy.delete(key);
    const q = keys.get(key);
    if (q?.[0] !== e) {
      // Paused while in flight and not read again since: it is on disk as the attempt left it, the read finds it.
      known.delete(e.d.seq);
    } else if (update && update.nextAttemptAt !== null) {
      e.d = { ...e.d, ...update.patch };
      e.dueAt = update.nextAttemptAt;
    } else {
      // Done (delivered or dead), or cut by a shutdown (pending on disk, for the next start): memory lets go.
      known.delete(e.d.seq);
      q.shift();
    }
    if (q && q.length === 0) keys.delete(key);
    schedule(key);
  };

  const start = (e: Entry) => {
    const key = e.d.orderingKey;
    busy.add(key);
    inFlight.add(e);
    posting++;
    let slot = true;
    const free = () => {
      if (!slot) return;
      slot = false;
      posting--;
      pump();
    };
    const run = attempt(e.d, free)
      .then(
        (update) => finish(e, update),
        (err: unknown) => {
          log.error({ err, endpointId, deliveryId: e.d.id }, 'a webhook attempt could not be recorded; it goes again after a read');
          finish(e, undefined);
          restart();
        },
      )
      .finally(() => {
        running.delete(run);
        if (slot) free();
        else pump();
      });
    running.add(run);
  };

  const read = async (gen: number) => {
    const limit = maxInMemory - known.size;
    const rows = await store.pending(endpointId, { after: watermark, limit });
    if (gen !== generation) return;
    for (const d of rows) {
      const e = known.get(d.seq);
      if (e) {
        // In flight since before a pause: back in its queue, so what follows it in its key waits for it.
        if (inFlight.has(e) && !keys.get(e.d.orderingKey)?.includes(e)) place(e);
        continue;
      }
      const entry = { d, dueAt: d.nextAttemptAt ? Date.parse(d.nextAttemptAt) : 0 };
      known.set(d.seq, entry);
      place(entry);
    }
    if (rows.length) watermark = rows[rows.length - 1].seq;
    if (rows.length < limit) behind = false;
  };

  function pump() {
    if (!active()) return;
    for (const key of ready) {
      if (posting >= concurrency) break;
      ready.delete(key);
      const head = keys.get(key)?.[0];
      if (head && !busy.has(key)) start(head);
    }
    if (floor !== undefined && !reading) {
      watermark = Math.min(watermark, floor);
      floor = undefined;
      behind = true;
    }
    if (!behind || reading || known.size > maxInMemory / 2) return;
    reading = true;
    const gen = generation;
    read(gen)
      .catch((err: unknown) => {
        log.error({ err, endpointId }, 'webhook deliveries could not be read; trying again in a second');
        clearTimeout(retryTimer);
        retryTimer = setTimeout(pump, READ_RETRY_MS);
      })
      .finally(() => {
        reading = false;
        pump();
      });
  }

  /** Forgets what is in memory but the attempts in flight; the next pump reads the store from the start. */
  function forget() {
    generation++;
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    clearTimeout(retryTimer);
    ready.clear();
    keys.clear();
    known.clear();
    for (const e of inFlight) known.set(e.d.seq, e);
    watermark = 0;
    floor = undefined;
    behind = true;
  }

  function restart() {
    forget();
    pump();
  }

  return {
    /** A delivery just made durable, in `seq` order: queued in memory unless the lane reads the store anyway. */
    add(d: StoredDelivery) {
      if (behind || d.seq <= watermark || known.has(d.seq)) return;
      if (!active() || known.size >= maxInMemory) {
        behind = true;
        return;
      }
      watermark = d.seq;
      const entry = { d, dueAt: 0 };
      known.set(d.seq, entry);
      place(entry);
      pump();
    },
    /** Something changed on disk outside the lane's knowledge (start, a replay, a re-enable): read it all again. */
    wake: restart,
    /**
     * Deliveries from `seq` on were stored by another node, maybe below what this lane has read: it reads again from
     * there, keeping what it holds (a read skips what is in memory).
     */
    wakeFrom(seq: number) {
      floor = Math.min(floor ?? Infinity, seq - 1);
      pump();
    },
    /** Sleeps: no timer left, nothing in memory; attempts in flight end on their own (or by the engine's abort). */
    pause: forget,
    /** Resolves once the attempts in flight have ended. */
    idle: () => Promise.allSettled([...running]).then(() => undefined),
  };
};

export type Lane = ReturnType<typeof createLane>;
