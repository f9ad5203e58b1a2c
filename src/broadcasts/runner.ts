import type { Logger } from '../log.js';
import { isFinished, type MessageRecord } from '../outbox/types.js';
import { decideDispatch, gapMs, localDay, type DispatchDecision } from './pace-policy.js';
import type { BroadcastStore } from './store.js';
import type { Broadcast, BroadcastRecipient } from './types.js';

export interface RunnerDeps {
  store: Pick<BroadcastStore, 'recipients'>;
  /** Hands one recipient's message to the outbox; a repeat for the same recipient gets the message already queued. */
  enqueue(b: Broadcast, r: BroadcastRecipient): Promise<MessageRecord>;
  /** Asked at each recipient's turn: true when it has opted out, and is now stored as skipped. */
  skipIfOptedOut(b: Broadcast, r: BroadcastRecipient): Promise<boolean>;
  /** Sends of the session's broadcasts since `dayStart` (epoch ms), counting the ones this process made since. */
  sentToday(sessionId: string, dayStart: number): Promise<number>;
  counted(sessionId: string, dayStart: number): void;
  /** The broadcast was `scheduled` and its time has come. */
  started(b: Broadcast): Promise<void>;
  /** Every recipient has been handed over: the broadcast completes once their messages finish. */
  drained(b: Broadcast): void;
  waiting?(b: Broadcast, decision: Extract<DispatchDecision, { action: 'wait' }>): void;
  clock: () => number;
  random: () => number;
  log: Logger;
  /** Messages of this broadcast in the outbox not yet sent or failed, at most, when it has no pace. */
  window: number;
}

export interface Runner {
  /** One of this broadcast's messages was sent or failed: its place in the window is free. */
  finished(index: number): void;
  /** Stops handing over recipients (pause, cancel, shutdown); resolves when the loop has ended. */
  stop(): Promise<void>;
}

const PAGE = 200;
const MAX_TIMER_MS = 2 ** 31 - 1;
const RETRY_MS = 1000;

/**
 * Hands one broadcast's pending recipients to the outbox, in list order, when the policies allow: not before its
 * schedule, not in its quiet hours, not past the session's daily cap, at its pace. Only a small window of messages
 * waits in the outbox at a time (one with a pace), so a pause or a cancel holds back everything after it at once.
 */
export const startRunner = (broadcast: Broadcast, deps: RunnerDeps): Runner => {
  const { store, clock, random, log } = deps;
  const b = { ...broadcast };
  const window = b.pace ? 1 : deps.window;
  const inflight = new Set<number>();
  let stopped = false;
  let wake: (() => void) | undefined;
  let waitingForWindow = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const sentToday = async (now: number) => {
    if (b.dailyCap === undefined) return { dayStart: 0, count: 0 };
    const { start } = localDay(now, b.quietHours?.timezone);
    return { dayStart: start, count: await deps.sentToday(b.sessionId, start) };
  };

  const run = async () => {
    let from = 0;
    let buffer: BroadcastRecipient[] = [];
    let nextDueAt: number | undefined;
    while (!stopped) {
      if (inflight.size >= window) {
        waitingForWindow = true;
        await sleep(MAX_TIMER_MS);
        waitingForWindow = false;
        continue;
      }
      if (!buffer.length) {
        const page = await store.recipients(b.id, { from, limit: PAGE });
        if (!page.length) break;
        from = page[page.length - 1].index + 1;
        buffer = page.filter((r) => r.status === 'pending');
        continue;
      }
      const now = clock();
      const today = await sentToday(now);
      const decision = decideDispatch({
        now,
        scheduledAt: b.scheduledAt ? Date.parse(b.scheduledAt) : undefined,
        nextDueAt,
        dailyCap: b.dailyCap,
        sentToday: today.count,
        quietHours: b.quietHours,
      });
      if (b.status === 'scheduled' && !(decision.action === 'wait' && decision.reason === 'scheduled')) {
        await deps.started(b);
        b.status = 'running';
      }
      if (decision.action === 'wait') {
        deps.waiting?.(b, decision);
        await sleep(decision.until - now);
        continue;
      }
      // Unpaced, every free place in the window is filled at once: the handovers' store writes share commits.
      const room = Math.min(window - inflight.size, buffer.length, b.dailyCap === undefined ? Infinity : b.dailyCap - today.count);
      const turn = buffer.splice(0, Math.max(room, 1));
      // Looked up now, not only at creation: a STOP that came in while the broadcast ran holds back what is left.
      const skipped = await Promise.all(turn.map((r) => deps.skipIfOptedOut(b, r)));
      const batch = turn.filter((_, i) => !skipped[i]);
      // A recipient skipped spends no place in the window, the daily cap or the pace.
      if (!batch.length) continue;
      for (const r of batch) inflight.add(r.index);
      const handed = await Promise.allSettled(batch.map((r) => deps.enqueue(b, r)));
      const failed = batch.filter((r, i) => {
        const h = handed[i];
        if (h.status === 'fulfilled') {
          if (b.dailyCap !== undefined) deps.counted(b.sessionId, today.dayStart);
          if (isFinished(h.value.status)) inflight.delete(r.index);
          return false;
        }
        inflight.delete(r.index);
        log.error({ err: h.reason, broadcastId: b.id, index: r.index }, 'a broadcast recipient could not be queued; trying again');
        return true;
      });
      if (failed.length) {
        buffer.unshift(...failed);
        await sleep(RETRY_MS);
        continue;
      }
      nextDueAt = b.pace ? clock() + gapMs(b.pace, random) : undefined;
    }
    if (!stopped) deps.drained(b);
  };

  /** A store that fails (a full disk) holds the broadcast back; it goes on from its list's start once it answers. */
  const done = (async () => {
    while (!stopped) {
      try {
        return await run();
      } catch (err) {
        log.error({ err, broadcastId: b.id }, 'a broadcast stopped on an error; trying again');
        await sleep(RETRY_MS);
      }
    }
  })();
  return {
    finished(index) {
      if (inflight.delete(index) && waitingForWindow) wake?.();
    },
    async stop() {
      stopped = true;
      wake?.();
      await done;
    },
  };
};
