import { setTimeout as delay } from 'node:timers/promises';
import { openClusterRedis, type ClusterRedis } from '../../src/cluster/redis.js';
import { createNodeRegistry } from '../../src/cluster/nodes.js';
import { createLeases } from '../../src/cluster/leases.js';
import { createOwnership, type Ownership } from '../../src/cluster/ownership.js';
import { preferredOwner } from '../../src/cluster/placement.js';
import { hub, quiet } from './helpers.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

/**
 * What the sessions' sockets would see: which node has each session open, every adoption's token, and every time
 * a session was opened on a node while another still had it open (which must never happen).
 */
export const createTracker = () => {
  const openOn = new Map<string, string>();
  const tokens = new Map<string, number[]>();
  const violations: string[] = [];
  const released: { nodeId: string; sessionId: string }[] = [];
  const changed = hub<void>();
  return {
    violations,
    released,
    tokens,
    adopt(nodeId: string, sessionId: string, token: number) {
      const other = openOn.get(sessionId);
      if (other) violations.push(`${sessionId} adopted by ${nodeId} while open on ${other}`);
      const seen = tokens.get(sessionId) ?? [];
      if (seen.length > 0 && token <= seen.at(-1)!) violations.push(`${sessionId} adopted by ${nodeId} under old token ${token}`);
      tokens.set(sessionId, [...seen, token]);
      openOn.set(sessionId, nodeId);
      changed.emit();
    },
    release(nodeId: string, sessionId: string) {
      if (openOn.get(sessionId) === nodeId) openOn.delete(sessionId);
      else violations.push(`${sessionId} released by ${nodeId}, open on ${openOn.get(sessionId)}`);
      released.push({ nodeId, sessionId });
      changed.emit();
    },
    /** A killed node's sockets die with it. */
    crashed(nodeId: string) {
      for (const [sessionId, on] of openOn) if (on === nodeId) openOn.delete(sessionId);
    },
    owners: () => new Map(openOn),
    /** Resolves once every session is open on its preferred node among `nodes` (checked now and on each change). */
    async placedOver(sessions: string[], nodes: string[]) {
      const placed = () => sessions.every((id) => openOn.get(id) === preferredOwner(id, nodes));
      while (!placed()) await changed.next();
    },
    /** Resolves once every session is open on one of `nodes`. */
    async coveredBy(sessions: string[], nodes: string[]) {
      const covered = () => sessions.every((id) => nodes.includes(openOn.get(id) ?? ''));
      while (!covered()) await changed.next();
    },
  };
};
export type Tracker = ReturnType<typeof createTracker>;

export interface TestNode {
  id: string;
  redis: ClusterRedis;
  ownership: Ownership;
}

export interface TestNodeOptions {
  url: string;
  tracker: Tracker;
  sessionIds: () => string[];
  ttlMs: number;
  /** Ownership passes and heartbeats on a timer this far apart. @default ttlMs / 3 */
  tickMs?: number;
  /** Makes an adoption fail (the session cannot be opened) when it answers true. */
  failAdopt?: (sessionId: string) => boolean;
}

/** One "node" inside the test process: its own connections and node id, as a separate process would have. */
export const startNode = async (id: string, { url, tracker, sessionIds, ttlMs, tickMs, failAdopt }: TestNodeOptions): Promise<TestNode> => {
  const redis = await openClusterRedis({ url, log: quiet, pingIntervalMs: 100, commandTimeoutMs: 500 });
  const nodes = createNodeRegistry({ redis, log: quiet, nodeId: id, ttlMs, heartbeatMs: tickMs });
  const leases = createLeases({ client: redis.client, nodeId: id, ttlMs });
  const ownership = createOwnership({
    nodes,
    leases,
    log: quiet,
    tickMs,
    sessionIds: async () => sessionIds(),
    adopt: async (sessionId, token) => {
      if (failAdopt?.(sessionId)) throw new Error(`${sessionId} cannot be opened`);
      tracker.adopt(id, sessionId, token);
    },
    // Closing a socket takes a moment: long enough for another node to open it too if the lease went first.
    release: async (sessionId) => {
      await delay(20);
      tracker.release(id, sessionId);
    },
  });
  await ownership.start();
  return { id, redis, ownership };
};

/** A Redis of its own for one test, and the nodes started on it; `close()` stops them all without a word. */
export const testCluster = async () => {
  const server: RedisServer = await startRedis();
  const nodes: TestNode[] = [];
  return {
    server,
    url: server.url,
    async start(id: string, options: Omit<TestNodeOptions, 'url'>) {
      const node = await startNode(id, { url: server.url, ...options });
      nodes.push(node);
      return node;
    },
    async close() {
      for (const node of nodes) node.ownership.crash();
      await Promise.all(nodes.map((n) => n.redis.close()));
      await server.stop();
    },
  };
};
