import { gapMs, localDay } from './pace-policy.js';
import type { BroadcastStore } from './store.js';
import type { Broadcast, BroadcastRecipient } from './types.js';

/** Where a broadcast's pace and its session's daily count stand at one instant. */
export interface PaceState {
  /** When the pace lets the next recipient go (epoch ms). */
  nextDueAt?: number;
  /** Sends of the session's broadcasts since `dayStart`, the start of the broadcast's local day (0 without a cap). */
  sentToday: number;
  dayStart: number;
  /** A recipient whose turn of the pace was taken (by a node that died since) and whose message is not known finished. */
  inflight?: number;
}

/**
 * One broadcast's pacing, as its runner sees it: the pace and the daily cap's count, the turns taken before a
 * handover and the waits until a due time. In one process it lives in memory with timers; on several nodes it lives
 * in Redis and its waits are BullMQ delayed jobs (src/broadcasts/pacing-redis.ts), so a new owner goes on where the
 * last one stopped.
 */
export interface Pacing {
  state(now: number): Promise<PaceState>;
  /**
   * Takes the places of `batch` (in order) under the daily cap and the pace, before it is handed over: resolves with
   * how many of its head may go now. A recipient whose place was taken before goes again and costs nothing.
   */
  claim(batch: BroadcastRecipient[], now: number, dayStart: number): Promise<number>;
  /** `count` recipients were handed over; `all`: none of the turn failed. */
  handed(count: number, dayStart: number, all: boolean): void;
  /** A recipient's message was sent or failed: with a pace, the next gap may run from now. */
  finished(index: number): void;
  /** Waits until the due time `until` (decided at `now`), unless the runner is woken first. */
  wait(until: number, now: number, sleep: (ms: number) => Promise<void>): Promise<void>;
  /** The runner has stopped. */
  close(): void;
}

/** Makes each runner's pacing; on several nodes also follows which sessions' due times fire on this node. */
export interface PacingSource {
  /** `wake` is called when a due time this broadcast waits for has come. */
  for(b: Broadcast, wake: () => void): Pacing;
  /** This node owns the session now: its broadcasts' due times fire here. */
  own?(sessionId: string): Promise<void>;
  disown?(sessionId: string): Promise<void>;
}

export interface LocalPacingOptions {
  store: Pick<BroadcastStore, 'queuedSince'>;
  clock: () => number;
  random: () => number;
}

/**
 * Pacing in this process: the next due time is the broadcast's own, in memory (the pace starts afresh after a
 * restart); the daily count is read from the store once per session and day and counted on here.
 */
export const localPacing = ({ store, clock, random }: LocalPacingOptions): PacingSource => {
  const daily = new Map<string, Promise<{ count: number }>>();
  const sentToday = (sessionId: string, dayStart: number) => {
    const key = `${sessionId}\u0000${dayStart}`;
    let count = daily.get(key);
    if (!count) daily.set(key, (count = store.queuedSince(sessionId, new Date(dayStart).toISOString()).then((n) => ({ count: n }))));
    return count.then((c) => c.count);
  };
  const counted = (sessionId: string, dayStart: number) => void daily.get(`${sessionId}\u0000${dayStart}`)?.then((c) => void c.count++);

  return {
    for(b) {
      let nextDueAt: number | undefined;
      return {
        async state(now) {
          if (b.dailyCap === undefined) return { nextDueAt, sentToday: 0, dayStart: 0 };
          const { start } = localDay(now, b.quietHours?.timezone);
          return { nextDueAt, sentToday: await sentToday(b.sessionId, start), dayStart: start };
        },
        claim: async (batch) => batch.length,
        handed(count, dayStart, all) {
          if (b.dailyCap !== undefined) for (let i = 0; i < count; i++) counted(b.sessionId, dayStart);
          if (all) nextDueAt = b.pace ? clock() + gapMs(b.pace, random) : undefined;
        },
        finished: () => undefined,
        wait: (until, now, sleep) => sleep(until - now),
        close: () => undefined,
      };
    },
  };
};
