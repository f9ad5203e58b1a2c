import type { Logger } from '../log.js';
import { isFinished, type MessageRecord } from '../outbox/types.js';
import { decideDispatch, type DispatchDecision } from './pace-policy.js';
import type { Pacing } from './pacing.js';
import type { BroadcastStore } from './store.js';
import type { Broadcast, BroadcastRecipient } from './types.js';

export interface RunnerDeps {
  store: Pick<BroadcastStore, 'recipients'>;
  /** Hands one recipient's message to the outbox; a repeat for the same recipient gets the message already queued. */
  enqueue(b: Broadcast, r: BroadcastRecipient): Promise<MessageRecord>;
  /** Asked at each recipient's turn: true when it has opted out, and is now stored as skipped. */
  skipIfOptedOut(b: Broadcast, r: BroadcastRecipient): Promise<boolean>;
  /** The broadcast's pace and its session's daily count, and the waits for a due time (src/broadcasts/pacing.ts). */
  pacing: Pacing;
  /** The broadcast was `scheduled` and its time has come. */
  started(b: Broadcast): Promise<void>;
  /** Every recipient has been handed over: the broadcast completes once their messages finish. */
  drained(b: Broadcast): void;
  waiting?(b: Broadcast, decision: Extract<DispatchDecision, { action: 'wait' }>): void;
  clock: () => number;
  log: Logger;
  /** Messages of this broadcast in the outbox not yet sent or failed, at most, when it has no pace. */
  window: number;
}

export interface Runner {
  /** One of this broadcast's messages was sent or failed: its place in the window is free. */
  finished(index: number): void;
  /** A due time it waits for has come (on several nodes the wait is a delayed job, not a timer here). */
  tick(): void;
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
  const { store, clock, log, pacing } = deps;
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

  const settled = (index: number) => {
    inflight.delete(index);
    pacing.finished(index);
  };

  /**
   * The pace's turn was taken for this recipient by a node that died since: its message is looked up (queued again if
   * it never was) and waited for, so the next one keeps its distance from it.
   */
  const takeBack = async (index: number) => {
    const [r] = await store.recipients(b.id, { from: index, limit: 1 });
    if (r?.index !== index || (r.status !== 'pending' && r.status !== 'queued')) return void pacing.finished(index);
    inflight.add(index);
    if (isFinished((await deps.enqueue(b, r)).status)) settled(index);
  };

  const run = async () => {
    let from = 0;
    let buffer: BroadcastRecipient[] = [];
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
      const today = await pacing.state(now);
      if (today.inflight !== undefined && !inflight.has(today.inflight)) {
        await takeBack(today.inflight);
        continue;
      }
      const decision = decideDispatch({
        now,
        scheduledAt: b.scheduledAt ? Date.parse(b.scheduledAt) : undefined,
        nextDueAt: today.nextDueAt,
        dailyCap: b.dailyCap,
        sentToday: today.sentToday,
        quietHours: b.quietHours,
      });
      if (b.status === 'scheduled' && !(decision.action === 'wait' && decision.reason === 'scheduled')) {
        await deps.started(b);
        b.status = 'running';
      }
      if (decision.action === 'wait') {
        deps.waiting?.(b, decision);
        await pacing.wait(decision.until, now, sleep);
        continue;
      }
      // Unpaced, every free place in the window is filled at once: the handovers' store writes share commits.
      const room = Math.min(window - inflight.size, buffer.length, b.dailyCap === undefined ? Infinity : b.dailyCap - today.sentToday);
      const turn = buffer.splice(0, Math.max(room, 1));
      // Looked up now, not only at creation: a STOP that came in while the broadcast ran holds back what is left.
      const skipped = await Promise.all(turn.map((r) => deps.skipIfOptedOut(b, r)));
      const screened = turn.filter((_, i) => !skipped[i]);
      // A recipient skipped spends no place in the window, the daily cap or the pace.
      if (!screened.length) continue;
      // On several nodes the places are taken in Redis before the handover; what does not fit any more waits its turn.
      const granted = await pacing.claim(screened, now, today.dayStart);
      const batch = screened.slice(0, granted);
      buffer.unshift(...screened.slice(granted));
      if (!batch.length) continue;
      for (const r of batch) inflight.add(r.index);
      const handed = await Promise.allSettled(batch.map((r) => deps.enqueue(b, r)));
      const failed = batch.filter((r, i) => {
        const h = handed[i];
        if (h.status === 'fulfilled') {
          if (isFinished(h.value.status)) settled(r.index);
          return false;
        }
        inflight.delete(r.index);
        log.error({ err: h.reason, broadcastId: b.id, index: r.index }, 'a broadcast recipient could not be queued; trying again');
        return true;
      });
      pacing.handed(batch.length - failed.length, today.dayStart, failed.length === 0);
      if (failed.length) {
        buffer.unshift(...failed);
        await sleep(RETRY_MS);
        continue;
      }
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
      if (!inflight.has(index)) return;
      settled(index);
      if (waitingForWindow) wake?.();
    },
    tick: () => wake?.(),
    async stop() {
      stopped = true;
      wake?.();
      await done;
      pacing.close();
    },
  };
};
