import type { Server } from 'node:http';
import type { Drain } from './http/drain.js';
import type { Logger } from './log.js';
import type { Outbox } from './outbox/index.js';

export interface DrainParts {
  drain: Drain;
  outbox: Pick<Outbox, 'stop' | 'backlog'>;
  sessions: { stop(): Promise<void> };
  server?: Server;
  log: Logger;
}

/** Resolves true when `work` settles within `ms`, false when the time ran out first. */
const within = async (work: Promise<unknown>, ms: number) => {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([work.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
};

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** What the outbox holds now: messages being sent (one per session at most) and messages waiting. */
const outboxNow = async (outbox: DrainParts['outbox']) => {
  const queues = await outbox.backlog();
  const sending = queues.filter((q) => q.oldest?.status === 'sending').length;
  return { sending, waiting: queues.reduce((n, q) => n + q.depth, 0) - sending };
};

/**
 * The graceful part of a shutdown, in order: take no new work; let the requests already let in be answered (what
 * they accept is stored); let each session's send in flight finish; then close sessions and the HTTP server.
 * Until `drainMs` has passed, that is; then a send still unanswered is cut by closing its session: its message
 * stays `sending` (or goes back to `queued`) and goes again under the same id at the next start, which the
 * recipient's phone shows once. Messages still waiting stay queued for the next start either way.
 */
export const drainAndClose = async ({ drain, outbox, sessions, server, log }: DrainParts, { drainMs }: { drainMs: number }) => {
  const deadline = Date.now() + drainMs;
  drain.start();
  const before = await outboxNow(outbox);
  log.info(
    { requests: drain.inProgress, sending: before.sending, waiting: before.waiting, drainMs },
    `shutting down: ${plural(drain.inProgress, 'request')} in progress, ${plural(before.sending, 'message')} in flight, ` +
      `${before.waiting} waiting (kept for the next start)`,
  );
  if (!(await within(drain.idle(), deadline - Date.now()))) {
    log.warn({ requests: drain.inProgress }, `shutting down: ${plural(drain.inProgress, 'request')} still in progress; going on`);
  }
  const now = await outboxNow(outbox);
  log.info({ sending: now.sending, waiting: now.waiting }, `shutting down: finishing ${plural(now.sending, 'send')} in flight`);
  const stopped = outbox.stop();
  if (!(await within(stopped, deadline - Date.now()))) {
    const { sending } = await outboxNow(outbox);
    log.warn(
      { sending },
      `shutting down: ${plural(sending, 'send')} still unanswered; closing sessions cuts them, and they go again under the same id at the next start`,
    );
  }
  await sessions.stop();
  await stopped;
  const after = await outboxNow(outbox);
  log.info(
    { sending: after.sending, waiting: after.waiting },
    `shutting down: sessions closed; ${plural(after.sending + after.waiting, 'message')} left for the next start`,
  );
  if (!server) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Event streams never end by themselves, and every request that starts work has been answered: cut what is left.
  server.closeAllConnections();
  await closed;
};
