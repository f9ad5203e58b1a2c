import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { BroadcastService } from '../broadcasts/service.js';
import type { BullOutbox } from '../outbox/bullmq/index.js';
import type { ClusterSessionManager } from '../whatsapp/cluster-sessions.js';
import type { Cluster } from './index.js';

export interface NodeSessionsOptions {
  cluster: Cluster;
  sessions: ClusterSessionManager;
  outbox: Pick<BullOutbox, 'own' | 'disown'>;
  broadcasts: Pick<BroadcastService, 'adoptSession' | 'releaseSession' | 'start'>;
  log: Logger;
  /**
   * How long a release waits for the queue's message in hand before closing the session anyway: a lease lost
   * while Redis is away must close the socket before the lease can expire, whatever the queue is waiting for.
   * @default leaseTtlMs / 10
   */
  queueGraceMs?: number;
}

/**
 * The ownership loop over this node's sessions: adopting one opens it, works its queue and runs its broadcasts
 * here; releasing one stops those and closes it (credentials kept), so the next holder of its lease takes it on.
 */
export const ownNodeSessions = ({
  cluster,
  sessions,
  outbox,
  broadcasts,
  log,
  queueGraceMs = cluster.leaseTtlMs / 10,
}: NodeSessionsOptions) => {
  const release = async (id: string) => {
    await broadcasts.releaseSession(id).catch((err: unknown) => log.warn({ err, sessionId: id }, 'broadcast runners not stopped'));
    const disowned = outbox.disown(id).catch((err: unknown) => log.warn({ err, sessionId: id }, 'session queue not let go cleanly'));
    await Promise.race([disowned, delay(queueGraceMs)]);
    await sessions.release(id);
    await disowned;
  };
  const ownership = cluster.own({
    sessionIds: sessions.sessionIds,
    async adopt(id) {
      await sessions.adopt(id);
      try {
        await outbox.own(id);
        await broadcasts.adoptSession(id);
      } catch (err) {
        // Nothing may stay open: the lease is freed at once.
        await release(id);
        throw err;
      }
    },
    release,
  });
  // A broadcast created or resumed on another node reaches the owner as an event, which pub/sub may drop: once a
  // lease period the owner picks up any active broadcast of its sessions that has no runner (`start` skips the rest).
  const sweep = setInterval(
    () => void broadcasts.start().catch((err: unknown) => log.warn({ err }, 'active broadcasts not looked up')),
    cluster.leaseTtlMs,
  );
  sweep.unref();
  return {
    ...ownership,
    async stop() {
      clearInterval(sweep);
      await ownership.stop();
    },
  };
};
