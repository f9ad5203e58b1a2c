import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RedisClientType } from '@redis/client';
import type { Logger } from '../log.js';
import { evalScript } from '../lib/redis-script.js';
import type { ClusterRedis } from './redis.js';

/*
 * Keys:
 *   hs:nodes     sorted set: node id → the Redis time (ms) its heartbeat runs out; expired members are pruned
 *   hs:cluster   pub/sub channel: ClusterEvent JSON
 * Times are Redis' own (TIME inside the scripts), so nodes with skewed clocks agree on who is live.
 */
const NODES = 'hs:nodes';
export const CLUSTER_CHANNEL = 'hs:cluster';

/** Prunes the expired, (re)registers this node until now + ttl; answers whether it was absent, and who is live. */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local added = redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
return { added, redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', now), '+inf') }
`;
const LIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', now), '+inf')
`;

/** A notice on the cluster channel: a node joined or left, or released sessions for others to take. */
export interface ClusterEvent {
  type: 'join' | 'leave' | 'released';
  nodeId: string;
}
const EVENT_TYPES: ClusterEvent['type'][] = ['join', 'leave', 'released'];

const parseEvent = (raw: string): ClusterEvent | undefined => {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return undefined;
    const { type, nodeId } = value as Record<string, unknown>;
    if (!EVENT_TYPES.includes(type as ClusterEvent['type']) || typeof nodeId !== 'string') return undefined;
    return { type: type as ClusterEvent['type'], nodeId };
  } catch {
    return undefined;
  }
};

export interface NodeRegistry {
  readonly nodeId: string;
  /**
   * Looks for another process under this node id (once; `start()` does it too): throws NodeIdInUseError when a live
   * one is there, so a node can refuse to start before it listens to anything under that id.
   */
  inspect(): Promise<void>;
  /** Registers this node, listens to the cluster channel and announces the join. */
  start(): Promise<void>;
  /** The ids of the nodes whose heartbeat has not run out, sorted. */
  live(): Promise<string[]>;
  /** Called with the live ids whenever they change (a join, a graceful leave, a heartbeat that ran out). */
  onChange(listener: (live: string[]) => void): () => void;
  /** Called for every notice on the cluster channel, this node's own included. */
  onEvent(listener: (event: ClusterEvent) => void): () => void;
  /** Publishes a notice from this node. */
  announce(type: ClusterEvent['type']): Promise<void>;
  /** Graceful stop: no more heartbeats, removed from the live nodes at once, and the others told. */
  leave(): Promise<void>;
  /** Test hook: stops heartbeats and listening without a word, as a killed process would. */
  crash(): void;
  /**
   * After `inspect()` (or `start()`): whether any earlier process under this node id is known to be gone (none of
   * its Redis connections is open), so leases Redis still shows under this id are stale and may be freed at once.
   */
  predecessorGone(): boolean;
}

export interface NodeRegistryOptions {
  redis: ClusterRedis;
  log: Logger;
  /** @default CLUSTER_NODE_ID, else the host name and a random suffix */
  nodeId?: string;
  /** How long a heartbeat keeps the node live. */
  ttlMs: number;
  /** @default ttlMs / 3 */
  heartbeatMs?: number;
}

export const defaultNodeId = () => `${hostname()}-${randomBytes(3).toString('hex')}`;

/** The name this process's Redis connections carry: the node id, then one process's own suffix. */
export const connectionName = (nodeId: string) => `hs:node:${encodeURIComponent(nodeId)}:${randomBytes(6).toString('hex')}`;

/** The thrown error of a start under a node id that a live process is using. */
export class NodeIdInUseError extends Error {
  constructor(readonly nodeId: string) {
    super(
      `CLUSTER_NODE_ID=${nodeId} is in use by another live process (its Redis connection is open and its heartbeat current): ` +
        'every process needs its own id; stop the other one or give this one another CLUSTER_NODE_ID',
    );
    this.name = 'NodeIdInUseError';
  }
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export const createNodeRegistry = ({
  redis,
  log,
  nodeId = defaultNodeId(),
  ttlMs,
  heartbeatMs = Math.floor(ttlMs / 3),
}: NodeRegistryOptions): NodeRegistry => {
  const changeListeners = new Set<(live: string[]) => void>();
  const eventListeners = new Set<(event: ClusterEvent) => void>();
  let known: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let subscriber: RedisClientType | undefined;
  let failing = false;
  let predecessorGone = false;
  let inspected: Promise<boolean> | undefined;

  const emit = <T>(listeners: Set<(value: T) => void>, value: T) => {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (err) {
        log.error({ err }, 'a cluster listener threw');
      }
    }
  };
  const observe = (live: string[]) => {
    const sorted = [...live].sort();
    if (same(sorted, known)) return;
    known = sorted;
    emit(changeListeners, sorted);
  };

  const announce = async (type: ClusterEvent['type']) => {
    await redis.client.publish(CLUSTER_CHANNEL, JSON.stringify({ type, nodeId } satisfies ClusterEvent));
  };

  const heartbeat = async () => {
    try {
      const [added, live] = (await evalScript(redis.client, HEARTBEAT, [NODES], [nodeId, ttlMs])) as [number, string[]];
      if (failing) log.info('heartbeats reach Redis again');
      failing = false;
      observe(live);
      // Absent means new, or back after an outage long enough to drop out: either way the others should look again.
      if (added === 1) await announce('join');
    } catch (err) {
      if (!failing) log.warn({ err }, 'a heartbeat did not reach Redis');
      failing = true;
    }
  };

  const live = async () => {
    const ids = (await evalScript(redis.client, LIVE, [NODES], [])) as string[];
    observe(ids);
    return known;
  };

  /**
   * Another process's connections under this node id: none means any earlier process under it is gone (a killed
   * process's connections close with it). One that is open with a current heartbeat is a live twin: refused. One
   * open without a heartbeat (a host gone silent, a process paused for a ttl) is waited out, as leases are.
   */
  const lookForTwin = async () => {
    const own = redis.name;
    if (!own) return false;
    const prefix = own.slice(0, own.lastIndexOf(':') + 1);
    let listing: string;
    try {
      listing = String(await redis.client.sendCommand(['CLIENT', 'LIST', 'TYPE', 'normal']));
    } catch (err) {
      log.warn({ err }, 'Redis refused CLIENT LIST: a restart under this node id waits for its old leases to run out');
      return false;
    }
    const twins = listing
      .split('\n')
      .map((line) => /(?:^| )name=(\S+)/.exec(line)?.[1])
      .filter((name) => name?.startsWith(prefix) && name !== own);
    if (twins.length === 0) return true;
    if ((await live()).includes(nodeId)) {
      const error = new NodeIdInUseError(nodeId);
      log.error({ nodeId }, error.message);
      throw error;
    }
    log.warn({ nodeId }, 'a process under this node id still has a Redis connection open, but no heartbeat: its leases are waited out');
    return false;
  };

  const onMessage = (raw: string) => {
    const event = parseEvent(raw);
    if (!event) return log.warn({ raw }, 'an unreadable notice on the cluster channel');
    emit(eventListeners, event);
    if (event.type !== 'released') live().catch((err: unknown) => log.warn({ err }, 'the live nodes could not be read'));
  };

  /** Stops heartbeats and listening. Not awaited: the subscriber queues commands while Redis is away. */
  const silence = () => {
    clearInterval(timer);
    timer = undefined;
    void subscriber?.unsubscribe(CLUSTER_CHANNEL).catch(() => undefined);
    subscriber = undefined;
  };

  return {
    nodeId,
    async inspect() {
      predecessorGone = await (inspected ??= lookForTwin());
    },
    async start() {
      predecessorGone = await (inspected ??= lookForTwin());
      subscriber = await redis.subscriber();
      await subscriber.subscribe(CLUSTER_CHANNEL, onMessage);
      await heartbeat();
      timer = setInterval(() => void heartbeat(), heartbeatMs);
      timer.unref();
    },
    live,
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    announce,
    async leave() {
      silence();
      await redis.client.zRem(NODES, nodeId);
      await announce('leave');
    },
    crash: silence,
    predecessorGone: () => predecessorGone,
  };
};
