import { setTimeout as delay } from 'node:timers/promises';
import type { RedisClientType } from '@redis/client';
import type { Cluster } from '../cluster/index.js';
import type { Ownership } from '../cluster/ownership.js';
import type { Logger } from '../log.js';
import type { SharedEngine, WebhookEngine } from './engine.js';

/*
 * Keys and channels:
 *   hs:lease:webhook:<endpointId>   the endpoint's lease (src/cluster/leases.ts): the node that works its deliveries
 *   hs:wh:notes                     pub/sub: `{ n: node, e: endpoint, s?: seq }`: deliveries stored from seq on, or
 *                                   (no seq) the endpoint changed
 *   hs:wh:prune                     who prunes this period (SET NX PX)
 */
const LEASE = 'webhook:';
const CHANNEL = 'hs:wh:notes';
const PRUNE_KEY = 'hs:wh:prune';

interface Note {
  n: string;
  e: string;
  s?: number;
}

export type WebhookCluster = Pick<Cluster, 'nodeId' | 'leaseTtlMs' | 'ownOther' | 'fence'> & {
  redis: Pick<Cluster['redis'], 'client' | 'subscriber'>;
};

/**
 * Webhooks on several nodes. Each event becomes deliveries once, on the node where it happened (the bus' local
 * listener), into the shared store. Each endpoint's deliveries are worked by one live node at a time: the holder of
 * the endpoint's lease, placed over the live nodes as sessions are and taken over when its node dies. A delivery
 * stored for an endpoint another node works, and every change of an endpoint, is published on `hs:wh:notes`, so the
 * worker (and every node's copy of the endpoints) hears of it at once; pub/sub may lose a note, so each lease period
 * every node reads the endpoints again and each worker reads its pending deliveries again.
 *
 * Deliveries are at least once: an attempt in flight when its node dies (or loses the lease) is made again by the
 * next worker under the same delivery id (`X-Hashsend-Delivery-Id`), which receivers dedupe on. A late result of the
 * old worker is fenced out by the lease's token.
 */
export const shareWebhooks = ({ cluster, log }: { cluster: WebhookCluster; log: Logger }) => {
  /** Endpoints this node works; `tokens` outlives it through a release, so the last attempts still write. */
  const working = new Set<string>();
  const tokens = new Map<string, number>();
  const outgoing = new Map<string, number>();
  let engine: WebhookEngine | undefined;
  let ownership: Ownership | undefined;
  let subscriber: RedisClientType | undefined;
  let sweep: NodeJS.Timeout | undefined;

  // Notes of one turn go together: the lowest seq per endpoint, or 0 when it changed.
  const flush = () => {
    for (const [e, s] of outgoing) {
      const note: Note = { n: cluster.nodeId, e, ...(s ? { s } : {}) };
      cluster.redis.client
        .publish(CHANNEL, JSON.stringify(note))
        .catch((err: unknown) => log.warn({ err, endpointId: e }, 'a webhook note could not be published; the next sweep finds it'));
    }
    outgoing.clear();
  };

  const shared: SharedEngine = {
    works: (id) => working.has(id),
    tell(id, seq) {
      if (outgoing.size === 0) setImmediate(flush);
      const had = outgoing.get(id);
      outgoing.set(id, seq === undefined || had === 0 ? 0 : Math.min(had ?? Infinity, seq));
      // A new endpoint may be this node's to work.
      if (seq === undefined) void ownership?.tick();
    },
    // Never this node's value once released: a late write is refused.
    fence: (id) => cluster.fence(LEASE + id, tokens.get(id) ?? -1),
  };

  const heard = (raw: string) => {
    let note: Note;
    try {
      note = JSON.parse(raw) as Note;
    } catch {
      return log.warn({ raw }, 'an unreadable webhook note was passed over');
    }
    if (note.n === cluster.nodeId || typeof note.e !== 'string' || !engine) return;
    if (typeof note.s === 'number') return void engine.wakeFrom(note.e, note.s);
    engine
      .heard(note.e)
      .then(() => ownership?.tick())
      .catch((err: unknown) => log.warn({ err, endpointId: note.e }, 'webhook endpoints not read again; the next sweep does'));
  };

  return {
    shared,
    /** Listens for notes and takes this node's share of the endpoints; the engine runs already. */
    async start(running: WebhookEngine) {
      engine = running;
      subscriber = await cluster.redis.subscriber();
      await subscriber.subscribe(CHANNEL, heard);
      ownership = cluster.ownOther({
        sessionIds: async () => running.endpoints().map((e) => LEASE + e.id),
        async adopt(lease, token) {
          const id = lease.slice(LEASE.length);
          working.add(id);
          tokens.set(id, token);
          await running.work(id);
        },
        async release(lease) {
          const id = lease.slice(LEASE.length);
          working.delete(id);
          // An attempt still out after a tenth of the lease is left to end on its own: its result is fenced out.
          await Promise.race([running.drop(id), delay(cluster.leaseTtlMs / 10)]);
          tokens.delete(id);
        },
      });
      await ownership.start();
      sweep = setInterval(() => {
        running
          .reload()
          .then(() => working.forEach((id) => running.wakeFrom(id, 1)))
          .catch((err: unknown) => log.warn({ err }, 'webhook endpoints not read again'));
      }, cluster.leaseTtlMs);
      sweep.unref();
    },
    /** Whether this node prunes now: one node per period. */
    claimPrune: async (periodMs: number) =>
      (await cluster.redis.client.set(PRUNE_KEY, cluster.nodeId, { NX: true, PX: Math.max(1, Math.round(periodMs)) })) === 'OK',
    /** Hands every endpoint over (released, so another node takes it at once) and stops listening. */
    async stop() {
      clearInterval(sweep);
      await ownership?.stop();
      await subscriber?.unsubscribe(CHANNEL).catch(() => undefined);
      flush();
    },
  };
};

export type WebhookSharing = ReturnType<typeof shareWebhooks>;
