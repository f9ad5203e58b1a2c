import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import type { Leases } from './leases.js';

/** Keeps this node's leases renewed, and gives a lease up locally before Redis could let anyone else take it. */
export interface LeaseKeeper {
  /** Starts renewing a lease; `since` is when its acquire was sent (`now()`), the start of its first ttl. */
  hold(sessionId: string, token: number, since: number): void;
  /** Stops renewing a lease (it is being released); no `onLost` for it any more. */
  drop(sessionId: string): void;
  /** The leases held: session id → token. */
  held(): Map<string, number>;
  /** Stops every timer; nothing is released, nothing reported lost. */
  stop(): void;
}

export interface LeaseKeeperOptions {
  leases: Pick<Leases, 'renewMany' | 'ttlMs'>;
  log: Logger;
  /**
   * Called once per lease that may no longer be this node's: a renewal answered "not yours", or no renewal was
   * confirmed for `giveUpAfterMs`. The owner must close the session now; the lease is forgotten.
   */
  onLost(sessionId: string, token: number): void;
  /** @default ttlMs / 3 */
  renewEveryMs?: number;
  /** @default ttlMs − ttlMs / 5: the socket is closed a fifth of a ttl before the lease can expire in Redis. */
  giveUpAfterMs?: number;
  /** A monotonic clock in ms. @default performance.now */
  now?: () => number;
}

export const createLeaseKeeper = ({
  leases,
  log,
  onLost,
  renewEveryMs = Math.floor(leases.ttlMs / 3),
  giveUpAfterMs = leases.ttlMs - Math.floor(leases.ttlMs / 5),
  now = () => performance.now(),
}: LeaseKeeperOptions): LeaseKeeper => {
  // `confirmed`: when the last renewal that Redis confirmed was sent. Redis applied it no earlier, so the lease
  // lives in Redis at least until confirmed + ttl, whatever the answer's delay.
  const entries = new Map<string, { token: number; confirmed: number }>();
  let renewing = false;
  let stopped = false;
  let deadline: NodeJS.Timeout | undefined;

  const lose = (sessionId: string, token: number, why: string) => {
    entries.delete(sessionId);
    log.warn({ sessionId, fence: token, why }, 'a session lease is lost: the session must close');
    try {
      onLost(sessionId, token);
    } catch (err) {
      log.error({ err, sessionId }, 'closing a session whose lease was lost failed');
    }
  };

  const armDeadline = () => {
    clearTimeout(deadline);
    deadline = undefined;
    if (stopped || entries.size === 0) return;
    let earliest = Infinity;
    for (const { confirmed } of entries.values()) earliest = Math.min(earliest, confirmed);
    deadline = setTimeout(giveUpLate, Math.max(0, earliest + giveUpAfterMs - now()));
    deadline.unref();
  };

  const giveUpLate = () => {
    const at = now();
    for (const [sessionId, { token, confirmed }] of entries) {
      if (at >= confirmed + giveUpAfterMs) lose(sessionId, token, 'no renewal confirmed in time');
    }
    armDeadline();
  };

  const renewAll = async () => {
    // One renewal at a time: a slow or failing one is covered by the deadline, not by piling up more.
    if (renewing || stopped || entries.size === 0) return;
    renewing = true;
    const batch = [...entries].map(([sessionId, { token }]) => ({ sessionId, token }));
    const sent = now();
    try {
      const renewed = await leases.renewMany(batch);
      batch.forEach(({ sessionId, token }, i) => {
        const entry = entries.get(sessionId);
        // Dropped or re-held while the renewal was out: the answer is about a lease we no longer track.
        if (!entry || entry.token !== token || stopped) return;
        if (renewed[i]) entry.confirmed = Math.max(entry.confirmed, sent);
        else lose(sessionId, token, 'held by another node or expired');
      });
      armDeadline();
    } catch (err) {
      log.debug({ err, leases: batch.length }, 'lease renewal failed; retrying until the give-up deadline');
    } finally {
      renewing = false;
    }
  };

  const interval = setInterval(() => void renewAll(), renewEveryMs);
  interval.unref();

  return {
    hold(sessionId, token, since) {
      if (stopped) return;
      entries.set(sessionId, { token, confirmed: since });
      armDeadline();
    },
    drop(sessionId) {
      entries.delete(sessionId);
      armDeadline();
    },
    held: () => new Map([...entries].map(([id, { token }]) => [id, token])),
    stop() {
      stopped = true;
      clearInterval(interval);
      clearTimeout(deadline);
      entries.clear();
    },
  };
};
