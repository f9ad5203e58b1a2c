import type { Config } from '../config.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import { createRedisFailureLimiter } from './auth-failures.js';
import { bridgeEvents } from './event-bridge.js';
import { createLeases, leaseFence } from './leases.js';
import { connectionName, createNodeRegistry, defaultNodeId } from './nodes.js';
import { createOwnership, type OwnershipOptions } from './ownership.js';
import { openClusterRedis } from './redis.js';
import { createRpc, type Handler } from './rpc.js';

/** The event types every node shows: a session's state and QR, receipts, deletions and broadcast progress. */
const BRIDGED = new Set(['state', 'qr', 'receipt', 'deleted', 'broadcast']);

export interface OpenClusterOptions {
  url: string;
  config: Pick<Config, 'auth' | 'cluster'>;
  log: Logger;
  /** The node's bus: its events of the bridged types go to the other nodes, theirs come onto it marked remote. */
  events: EventBus<{ type: string }>;
  /** How long a call to a session's owner may take (a QR it waits for included). @default 20_000 */
  callTimeoutMs?: number;
}

/**
 * What a node on Redis (`REDIS_URL`) shares with the others, as the composition root builds it: the connection
 * whose health decides readiness, the failed-authentication allowances, the node registry and session leases, the
 * event bridge and calls to other nodes (both listening once this resolves, before any session opens), and the
 * ownership loop, built by `own()` once the sessions it opens exist.
 */
export const openCluster = async ({ url, config, log: parentLog, events, callTimeoutMs = 20_000 }: OpenClusterOptions) => {
  const log = parentLog.child({ component: 'cluster' });
  const { leaseTtlMs: ttlMs, nodeId = defaultNodeId() } = config.cluster;
  // Named, so a process started under the same CLUSTER_NODE_ID sees whether this one is still there.
  const redis = await openClusterRedis({ url, log, name: connectionName(nodeId) });
  const nodes = createNodeRegistry({ redis, log, ttlMs, nodeId });
  await nodes.inspect().catch(async (err: unknown) => {
    await redis.close();
    throw err;
  });
  const leases = createLeases({ client: redis.client, nodeId: nodes.nodeId, ttlMs });
  // One subscriber for both, so an event published before a call's answer arrives before that answer.
  const subscriber = await redis.subscriber();
  const bridge = await bridgeEvents({ bus: events, publisher: redis.client, subscriber, nodeId: nodes.nodeId, types: BRIDGED, log });
  const handlers: Record<string, Handler> = {};
  const rpc = await createRpc({ publisher: redis.client, subscriber, nodeId: nodes.nodeId, handlers, log, timeoutMs: callTimeoutMs });
  let ownership: ReturnType<typeof createOwnership> | undefined;

  return {
    redis,
    nodeId: nodes.nodeId,
    leaseTtlMs: ttlMs,
    /** The failed-authentication allowance of one surface (`api`, `wasender`), shared by every node. */
    failureLimiter: (surface: string) => createRedisFailureLimiter({ client: redis.client, surface, ...config.auth }),
    /** What the session manager needs to reach a session's owner. */
    link: {
      nodeId: nodes.nodeId,
      holder: (sessionId: string) => leases.holder(sessionId),
      live: () => nodes.live(),
      callWithin: rpc.callWithin,
      handlers,
    },
    /** The ownership loop over these sessions; `start()` it once the node can open them. */
    own(options: Pick<OwnershipOptions, 'sessionIds' | 'adopt' | 'release'>) {
      ownership = createOwnership({ nodes, leases, log, ...options });
      return ownership;
    },
    /**
     * Another ownership loop over the same live nodes, for work that is not a session (a webhook endpoint's
     * deliveries); its ids must never be session ids. The sessions' loop starts and leaves the node registry.
     */
    ownOther(options: Pick<OwnershipOptions, 'sessionIds' | 'adopt' | 'release'>) {
      const shared = { ...nodes, start: async () => undefined, leave: async () => undefined, crash: () => undefined };
      return createOwnership({ nodes: shared, leases, log, ...options });
    },
    /** What a write made under a lease checks is still so: the lease's key and this node's value in it (leases.ts). */
    fence: (id: string, token: number) => leaseFence(id, nodes.nodeId, token),
    /** Every node's ownership loop looks now (a session was created), this one's included. */
    poke() {
      void ownership?.tick();
      nodes.announce('released').catch((err: unknown) => log.debug({ err }, 'could not ask the other nodes to look'));
    },
    async close() {
      await ownership?.stop();
      await rpc.close().catch(() => undefined);
      await bridge.close().catch(() => undefined);
      await redis.close();
    },
  };
};

export type Cluster = Awaited<ReturnType<typeof openCluster>>;
