import { randomBytes } from 'node:crypto';
import type { RedisClientType } from '@redis/client';
import { bullConnection } from '../lib/bull-queues.js';
import type { Logger } from '../log.js';
import { openRedisStoreClient } from '../lib/redis-open.js';
import { evalScript } from '../lib/redis-script.js';
import { gapMs, localDay } from './pace-policy.js';
import type { Pacing, PacingSource, PaceState } from './pacing.js';
import * as scripts from './pace-redis-scripts.js';
import { createBroadcastTicks } from './ticks.js';
import type { Broadcast, BroadcastRecipient } from './types.js';

const PREFIX = 'hs:bc:pace:';
export const paceKey = (broadcastId: string) => `${PREFIX}b:${broadcastId}`;
export const sendsKey = (sessionId: string) => `${PREFIX}sends:${sessionId}`;

export interface RedisPaceStateOptions {
  client: Pick<RedisClientType, 'sendCommand'>;
  clock?: () => number;
  random?: () => number;
}

const number = (reply: unknown) => (typeof reply === 'string' || typeof reply === 'number' ? Number(reply) : undefined);

/**
 * The pacing state every node shares: per broadcast, when its next recipient may go and whose message it waits for;
 * per session, the places taken under the daily cap. A place is taken in the same script that checks it, before
 * the recipient is handed to the outbox, so a node killed at any point leaves the next owner nothing to guess.
 */
export const redisPaceState = ({ client, clock = Date.now, random = Math.random }: RedisPaceStateOptions) => ({
  async state(b: Broadcast, now: number): Promise<PaceState> {
    const dayStart = b.dailyCap === undefined ? now : localDay(now, b.quietHours?.timezone).start;
    const [next, inflight, count] = (await evalScript(
      client,
      scripts.STATE,
      [paceKey(b.id), sendsKey(b.sessionId)],
      [dayStart],
    )) as unknown[];
    return {
      ...(number(next) !== undefined ? { nextDueAt: number(next) } : {}),
      ...(number(inflight) !== undefined ? { inflight: number(inflight) } : {}),
      sentToday: b.dailyCap === undefined ? 0 : Number(count),
      dayStart: b.dailyCap === undefined ? 0 : dayStart,
    };
  },

  async claim(b: Broadcast, batch: Pick<BroadcastRecipient, 'index'>[], now: number, dayStart: number): Promise<number> {
    const gap = b.pace ? gapMs(b.pace, random) : '';
    const cap = b.dailyCap ?? '';
    const indexes = batch.map((r) => r.index);
    return Number(
      await evalScript(client, scripts.CLAIM, [paceKey(b.id), sendsKey(b.sessionId)], [now, dayStart, cap, gap, b.id, ...indexes]),
    );
  },

  /** The recipient at `index` finished (now, or when this is called): the next gap runs from then. */
  async settle(b: Pick<Broadcast, 'id'>, index: number, now = clock()) {
    return Number(await evalScript(client, scripts.SETTLE, [paceKey(b.id)], [index, now])) === 1;
  },
});

export type RedisPaceState = ReturnType<typeof redisPaceState>;

export interface RedisPacingOptions {
  url: string;
  log: Logger;
  /**
   * Waits shorter than this are slept in the runner: a delayed job fires up to ~100 ms late (Redis looks at blocked
   * clients' timeouts `hz` times a second), which would slow a fast pace by half, and the due time is in Redis
   * anyway, so a new owner keeps it. Longer ones (a slow pace, the schedule, quiet hours, the next day) are jobs.
   * @default 1000
   */
  shortWaitMs?: number;
  /**
   * How often a runner waiting for a job looks again: the job is what wakes it on time; this only finds a due time
   * whose job was lost (a Redis that restarted without its data), and adds the job again. @default 60_000
   */
  recheckMs?: number;
}

/**
 * Pacing for several nodes (`REDIS_URL`): the state in Redis (above), and each wait for a due time but a short one a
 * BullMQ delayed job in the session's tick queue (src/broadcasts/ticks.ts), which wakes the runner of the node owning
 * the session when it fires. A new owner's runner schedules the same due time again (the dead owner's job fires here too,
 * and wakes it the same).
 */
export const openRedisPacing = async ({ url, log: parentLog, shortWaitMs = 1000, recheckMs = 60_000 }: RedisPacingOptions) => {
  const log = parentLog.child({ component: 'broadcast-pacing' });
  // As the broadcast store's: a dropped connection is retried (commands wait for it); the runners log the commands that fail.
  const client = await openRedisStoreClient(url, 'broadcast pacing', 5000);
  const shared = redisPaceState({ client });
  /** Per broadcast with a runner here: what a tick for it does. */
  const onTicks = new Map<string, (at: number) => void>();
  const ticks = createBroadcastTicks({
    connection: bullConnection(client),
    log,
    onTick: ({ broadcastId, at }) => onTicks.get(broadcastId)?.(at),
  });
  const logError = (broadcastId: string, what: string) => (err: unknown) => log.error({ err, broadcastId }, what);

  const pacingOf = (b: Broadcast, wake: () => void): Pacing => {
    const key = randomBytes(4).toString('hex');
    /** Due times this runner waits for whose job has not fired yet. */
    const pending = new Set<number>();
    let settling = Promise.resolve();
    const onTick = (at: number) => {
      pending.delete(at);
      wake();
    };
    onTicks.set(b.id, onTick);
    return {
      async state(now) {
        await settling;
        return shared.state(b, now);
      },
      claim: (batch, now, dayStart) => shared.claim(b, batch, now, dayStart),
      handed: () => undefined,
      finished(index) {
        if (!b.pace) return;
        settling = settling.then(() => shared.settle(b, index).then(() => undefined, logError(b.id, 'a broadcast pace not moved on')));
      },
      async wait(until, now, sleep) {
        if (until - now < shortWaitMs) return sleep(until - now);
        pending.add(until);
        // Added at each look: under the same job id nothing new while it waits, and a lost one comes back.
        await ticks.schedule(b.sessionId, { broadcastId: b.id, at: until }, key, now);
        // Fired while it was being added: nothing to sleep for.
        if (!pending.has(until)) return;
        await sleep(recheckMs);
      },
      close() {
        if (onTicks.get(b.id) === onTick) onTicks.delete(b.id);
      },
    };
  };

  const source: Required<PacingSource> & { close(): Promise<void> } = {
    for: pacingOf,
    own: ticks.own,
    disown: ticks.disown,
    async close() {
      await ticks.close();
      await client.close();
    },
  };
  return source;
};
