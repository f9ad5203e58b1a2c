import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { KeyedQueue } from '../lib/keyed-queue.js';
import { limitConcurrency } from '../lib/limit-concurrency.js';
import type { Leases } from './leases.js';
import { createLeaseKeeper, type LeaseKeeperOptions } from './lease-keeper.js';
import type { NodeRegistry } from './nodes.js';
import { planOwnership, type HeldLease } from './ownership-plan.js';

export interface OwnershipChange {
  sessionId: string;
  owned: boolean;
  /** The fencing token this node holds the session under (when `owned`). */
  token?: number;
}

/** Which sessions this node opens: its rendezvous share of the live nodes, and any left unowned too long. */
export interface Ownership {
  /** Registers the node, takes its share, and keeps doing so on a timer and on every membership change. */
  start(): Promise<void>;
  /** Graceful stop: leaves the node registry, closes and releases every session, so others take them at once. */
  stop(): Promise<void>;
  /** Test hook: stops every timer and subscription and releases nothing, as a killed process would. */
  crash(): void;
  /** The sessions adopted and not released, sorted. */
  owned(): string[];
  /**
   * The fencing token this node holds the session under, from the moment its adoption starts until its release is
   * done; undefined otherwise. Writes fenced by it land only while Redis still has the lease as this node's.
   */
  token(sessionId: string): number | undefined;
  /** Called after a session is adopted (`owned: true`) and after it is closed (`owned: false`). */
  onChange(listener: (change: OwnershipChange) => void): () => void;
  /** Runs one pass now (or after the one under way); resolves when it is done. */
  tick(): Promise<void>;
}

export interface OwnershipOptions {
  nodes: NodeRegistry;
  leases: Leases;
  log: Logger;
  /** Every session of the install. */
  sessionIds(): Promise<string[]>;
  /**
   * Opens the session on this node under the fencing token. Should resolve once the session is opening (not when
   * it is connected): while it runs, a lost lease waits for it. A rejection counts as not adopted: it must leave
   * nothing open, as the lease is freed at once (and taken again at a later pass).
   */
  adopt(sessionId: string, token: number): Promise<void>;
  /** Closes the session on this node. The lease is released only after it resolves. */
  release(sessionId: string): Promise<void>;
  /** @default leases.ttlMs / 3 */
  tickMs?: number;
  /** How long a free lease waits for its preferred node before any node takes it. @default 2 × tickMs */
  graceMs?: number;
  /** Adopts and releases under way at once. @default 8 */
  concurrency?: number;
  /** The keeper's timing, for tests. */
  keeper?: Pick<LeaseKeeperOptions, 'renewEveryMs' | 'giveUpAfterMs'>;
}

interface Local extends HeldLease {
  state: 'adopting' | 'owned' | 'releasing';
}

export const createOwnership = ({
  nodes,
  leases,
  log,
  sessionIds,
  adopt,
  release,
  tickMs = Math.floor(leases.ttlMs / 3),
  graceMs = 2 * tickMs,
  concurrency = 8,
  keeper: keeperTiming,
}: OwnershipOptions): Ownership => {
  const self = nodes.nodeId;
  const local = new Map<string, Local>();
  const queue = new KeyedQueue();
  const limit = limitConcurrency(concurrency);
  const listeners = new Set<(change: OwnershipChange) => void>();
  let freeSince = new Map<string, number>();
  let stopped = false;
  // No pass before start() has freed what a predecessor left (a poke may come first): its own start pass follows.
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  const unsubscribe: (() => void)[] = [];

  const emit = (change: OwnershipChange) => {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        log.error({ err }, 'an ownership listener threw');
      }
    }
  };
  const announceReleased = () =>
    nodes.announce('released').catch((err: unknown) => log.debug({ err }, 'could not announce released sessions'));

  /** Close first, then free the lease: no other node may open the session while this one still has it open. */
  const closeAndRelease = async (sessionId: string, why: string, token?: number) => {
    const entry = local.get(sessionId);
    if (!entry || (token !== undefined && entry.token !== token)) return;
    log.info({ sessionId, fence: entry.token, why }, 'session closing on this node');
    const wasOwned = entry.state === 'owned';
    entry.state = 'releasing';
    try {
      await release(sessionId);
    } catch (err) {
      log.error({ err, sessionId }, 'closing a session failed; its lease is released anyway');
    }
    if (wasOwned) emit({ sessionId, owned: false });
    keeper.drop(sessionId);
    local.delete(sessionId);
    await leases
      .release(sessionId, entry.token)
      .catch((err: unknown) => log.debug({ err, sessionId }, 'lease not released; it will expire'));
  };

  const keeper = createLeaseKeeper({
    leases,
    log,
    ...keeperTiming,
    onLost: (sessionId, token) => {
      void queue.run(sessionId, () => closeAndRelease(sessionId, 'lease lost', token)).then(announceReleased);
    },
  });

  const take = async (sessionId: string, fallbackFor?: string) => {
    if (stopped || local.has(sessionId)) return;
    const since = performance.now();
    const lease = await leases.acquire(sessionId);
    if (!lease) return;
    keeper.hold(sessionId, lease.token, since);
    local.set(sessionId, { token: lease.token, fallbackFor, state: 'adopting' });
    try {
      await adopt(sessionId, lease.token);
    } catch (err) {
      log.error({ err, sessionId }, 'adopting a session failed; its lease is released');
      keeper.drop(sessionId);
      local.delete(sessionId);
      await leases.release(sessionId, lease.token).catch(() => undefined);
      return;
    }
    const entry = local.get(sessionId);
    if (entry?.token !== lease.token) return;
    entry.state = 'owned';
    log.info({ sessionId, fence: lease.token, fallbackFor }, 'session adopted');
    emit({ sessionId, owned: true, token: lease.token });
  };

  /** Leases Redis still shows under this node id, from a process that is gone: freed, so its sessions open now. */
  const freeInherited = async () => {
    const holders = await leases.holders(await sessionIds());
    const stale = [...holders].flatMap(([id, holder]) => (holder?.nodeId === self && !local.has(id) ? [{ id, token: holder.token }] : []));
    await Promise.all(stale.map(({ id, token }) => leases.release(id, token)));
    if (stale.length > 0)
      log.info({ sessions: stale.length }, "the leases of this node id's previous process were freed: its sessions open at once");
  };

  const pass = async () => {
    const [live, sessions] = await Promise.all([nodes.live(), sessionIds()]);
    const held = new Map<string, HeldLease>();
    const busy = new Set<string>();
    for (const [id, entry] of local) {
      if (entry.state === 'owned') held.set(id, entry);
      else busy.add(id);
    }
    const holders = await leases.holders([...new Set([...sessions, ...local.keys()])]);
    const plan = planOwnership({
      self,
      live: live.includes(self) ? live : [...live, self],
      sessions,
      held,
      busy,
      holders,
      freeSince,
      now: performance.now(),
      graceMs,
    });
    freeSince = plan.freeSince;
    for (const id of plan.settled) delete local.get(id)?.fallbackFor;
    const run = (id: string, task: () => Promise<void>) => limit(() => queue.run(id, task));
    const outcomes = await Promise.allSettled([
      ...plan.lost.map((id) => run(id, () => closeAndRelease(id, 'lease no longer ours', held.get(id)!.token))),
      ...plan.handBack.map((id) => run(id, () => closeAndRelease(id, 'handed back', held.get(id)!.token))),
      ...plan.acquire.map(({ sessionId, fallbackFor }) => run(sessionId, () => take(sessionId, fallbackFor))),
    ]);
    // The nodes waiting for these sessions look at once instead of at their next tick.
    if (plan.lost.length + plan.handBack.length > 0) await announceReleased();
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
  };

  let running: Promise<void> | undefined;
  let again = false;
  const tick = (): Promise<void> => {
    if (stopped || !started) return running ?? Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await pass().catch((err: unknown) => log.warn({ err }, 'an ownership pass failed; retrying at the next tick'));
      } while (again && !stopped);
    })().finally(() => (running = undefined));
    return running;
  };

  const halt = () => {
    stopped = true;
    clearInterval(timer);
    for (const off of unsubscribe.splice(0)) off();
  };

  return {
    async start() {
      // Before any pass can run: a lease this process takes must never be mistaken for its predecessor's.
      await nodes.inspect();
      if (nodes.predecessorGone())
        await freeInherited().catch((err: unknown) => log.warn({ err }, 'stale leases not freed; they run out on their own'));
      started = true;
      unsubscribe.push(
        nodes.onChange(() => void tick()),
        nodes.onEvent((event) => event.nodeId !== self && void tick()),
      );
      await nodes.start();
      timer = setInterval(() => void tick(), tickMs);
      timer.unref();
      await tick();
    },
    async stop() {
      if (stopped) return;
      halt();
      await running;
      // Gone from the live set first, so the others' passes place these sessions among themselves.
      await nodes.leave().catch((err: unknown) => log.warn({ err }, 'could not leave the node registry; it will expire'));
      await Promise.all([...local.keys()].map((id) => limit(() => queue.run(id, () => closeAndRelease(id, 'node stopping')))));
      await queue.drain();
      keeper.stop();
      await announceReleased();
    },
    crash() {
      halt();
      keeper.stop();
      nodes.crash();
    },
    owned: () =>
      [...local]
        .filter(([, { state }]) => state === 'owned')
        .map(([id]) => id)
        .sort(),
    token: (sessionId) => local.get(sessionId)?.token,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    tick,
  };
};
