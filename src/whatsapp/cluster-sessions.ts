import { setTimeout as delay } from 'node:timers/promises';
import { HashsendError, isHashsendError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import { unsupportedByDriver } from './capabilities.js';
import type { DriverSession } from './driver.js';
import { remoteDriverSession } from './remote-driver.js';
import type { SessionIds } from './session-ids.js';
import { createSessionMirror, type MirrorRedis } from './session-mirror.js';
import type { LocalSessionManager, SessionInfo, SessionManager } from './session-types.js';

/** What the manager needs of the cluster: who holds a session's lease, who is live, and calls to another node. */
export interface ClusterLink {
  nodeId: string;
  holder(sessionId: string): Promise<{ nodeId: string } | undefined>;
  live(): Promise<string[]>;
  /** Runs `method` on `node`, failing `503 owner_unreachable` without an answer `within` ms. */
  callWithin<T>(within: number, node: string, method: string, ...args: unknown[]): Promise<T>;
  /** Where this node's answers to the others' calls are looked up, by method name. */
  handlers: Record<string, (...args: unknown[]) => Promise<unknown>>;
}

export interface ClusterSessionsOptions {
  local: LocalSessionManager;
  ids: SessionIds;
  cluster: ClusterLink;
  client: MirrorRedis;
  events: EventBus<{ type: string }>;
  log: Logger;
  /** Asks every node's ownership loop to look now (a session was created). */
  poke(): void;
  /** How long a call waits for some node to own the session before `503 session_unowned`. */
  ownerWaitMs: number;
  /**
   * How long the owner may take to answer: a QR or pairing code may wait for the session to show one (`linking`),
   * the rest answer at once (`quick`), so a call to an owner that just died soon asks the next one.
   * @default { quick: 5000, linking: 20_000 }
   */
  callMs?: { quick: number; linking: number };
}

/** The several-nodes manager adds what the ownership loop drives. */
export interface ClusterSessionManager extends SessionManager {
  /** Opens the session here: this node holds its lease now. */
  adopt(id: string): Promise<void>;
  /** Closes it here, keeping its credentials: the lease goes to another node. */
  release(id: string): Promise<void>;
  /** Every session of the install, made known here (created elsewhere) or forgotten (deleted elsewhere). */
  sessionIds(): Promise<string[]>;
  owned(): string[];
  /** Whether this node has the session open. */
  owns(id: string): boolean;
}

/** Driver methods another node may call on the owner (the sandbox's controls, the session tools). */
const DRIVER_CALLS = new Set([
  'link',
  'deliveries',
  'presences',
  'injectFailures',
  'receive',
  'onWhatsApp',
  'sendPresence',
  'requestPairingCode',
]);

/** How long a create or delete waits for each other live node to know of it. */
const REGISTER_WAIT_MS = 1000;

const notOwner = (id: string) => new HashsendError('not_owner', 503, `this node does not own session "${id}" (any more); retry`);
const unowned = (id: string) =>
  new HashsendError('session_unowned', 503, `no node has session "${id}" open right now (one is taking it over); retry shortly`);

/**
 * Sessions on several nodes: each is open on the node holding its lease (`adopt`/`release`, driven by the
 * ownership loop); every node knows every session, shows the owner's view of those it does not own
 * (src/whatsapp/session-mirror.ts), and passes what only the owner can do (QR, pairing code, logout, delete,
 * options, Meta's webhooks, driver controls) to it over the cluster's calls.
 */
export const createClusterSessions = ({
  local,
  ids,
  cluster,
  client,
  events,
  log,
  poke,
  ownerWaitMs,
  callMs = { quick: 5000, linking: 20_000 },
}: ClusterSessionsOptions): ClusterSessionManager => {
  const mine = new Set<string>();
  /** The ids the last pass found stored: one missing now was deleted; one created here since is not forgotten. */
  let listed = new Set<string>();
  const mirror = createSessionMirror({ client, events, log, onDeleted: (id) => local.forget(id) });

  const viewOf = (session: SessionInfo) => (mine.has(session.id) ? session : (mirror.view(session.id)?.session ?? session));

  const driverCall = async (id: string, method: string, args: unknown[]) => {
    if (!DRIVER_CALLS.has(method)) throw new HashsendError('not_found', 404, `no driver control "${method.slice(0, 64)}"`);
    const driver = local.driverSession(id);
    const info = local.get(id);
    if (!driver) throw new HashsendError('session_not_connected', 503, `session "${id}" is ${info.state}`, { state: info.state });
    const fn = (driver as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw unsupportedByDriver(info.driver, method);
    return (fn as (...a: unknown[]) => unknown).apply(driver, args);
  };

  /** What only the owner does, by name: run here when this node owns the session, else asked of its owner. */
  const ownerOnly = {
    qr: (id: string) => local.qr(id),
    pairingCode: (id: string, phone: string) => local.pairingCode(id, phone),
    logout: (id: string) => local.logout(id),
    remove: (id: string) => local.remove(id),
    configure: (id: string, options: unknown) => local.configure(id, options),
    handleHttp: (id: string, request: Parameters<SessionManager['handleHttp']>[1]) => local.handleHttp(id, request),
    driverCall,
  };
  type Method = keyof typeof ownerOnly;
  for (const [name, fn] of Object.entries(ownerOnly)) {
    cluster.handlers[`sessions.${name}`] = (id, ...args) => {
      if (!mine.has(id as string)) throw notOwner(id as string);
      return (fn as (...a: unknown[]) => Promise<unknown>)(id, ...args);
    };
  }

  // A node learns of a session created or deleted elsewhere at its next ownership pass (or from an event pub/sub
  // may deliver late), too late for a client whose next call the load balancer sends there: a create or delete
  // answers once every live node knows. One that does not answer in time (dying) catches up at its next pass.
  cluster.handlers['sessions.register'] = async (id) => void (await local.register(id as string));
  cluster.handlers['sessions.forget'] = async (id) => void (mine.has(id as string) || local.forget(id as string));
  const tellOthers = async (method: 'register' | 'forget', id: string) => {
    const live = await cluster.live().catch(() => [] as string[]);
    const others = live.filter((node) => node !== cluster.nodeId);
    await Promise.all(
      others.map((node) =>
        cluster
          .callWithin(REGISTER_WAIT_MS, node, `sessions.${method}`, id)
          .catch((err: unknown) =>
            log.warn({ err, sessionId: id, node, method }, 'a node was not told of a session change; it catches up at its next pass'),
          ),
      ),
    );
  };

  const onOwner = async <M extends Method>(
    method: M,
    id: string,
    ...args: Parameters<(typeof ownerOnly)[M]> extends [string, ...infer R] ? R : never
  ): Promise<Awaited<ReturnType<(typeof ownerOnly)[M]>>> => {
    local.get(id);
    const deadline = Date.now() + ownerWaitMs;
    for (;;) {
      if (mine.has(id)) return (ownerOnly[method] as (...a: unknown[]) => Promise<never>)(id, ...args);
      const holder = await cluster.holder(id);
      // A holder whose heartbeat ran out is dead: its lease is about to expire, asking it would only time out.
      if (holder && holder.nodeId !== cluster.nodeId && (await cluster.live()).includes(holder.nodeId)) {
        try {
          const within = method === 'qr' || method === 'pairingCode' ? callMs.linking : callMs.quick;
          return await cluster.callWithin<Awaited<ReturnType<(typeof ownerOnly)[M]>>>(
            within,
            holder.nodeId,
            `sessions.${method}`,
            id,
            ...args,
          );
        } catch (err) {
          // Moved on, or died before its heartbeat ran out: ask whoever holds the lease next.
          const retry = isHashsendError(err) && (err.code === 'not_owner' || err.code === 'owner_unreachable');
          if (!retry || Date.now() > deadline) throw err;
        }
      } else if (Date.now() > deadline) throw unowned(id);
      await delay(100);
    }
  };

  const remoteDrivers = new Map<string, DriverSession>();
  const remoteDriver = (id: string) => {
    let driver = remoteDrivers.get(id);
    if (!driver) remoteDrivers.set(id, (driver = remoteDriverSession((method, args) => onOwner('driverCall', id, method, args))));
    return driver;
  };

  return {
    async restore() {
      await local.restore();
    },
    async create(request) {
      const created = await local.create(request);
      await tellOthers('register', created.id);
      // Deleted and created again before this node's ownership loop let the old lease go: it still holds it.
      if (mine.has(created.id)) await local.adopt(created.id);
      else poke();
      return mine.has(created.id) ? local.get(created.id) : created;
    },
    configure: (id, options) => onOwner('configure', id, options),
    capabilities: (id) => local.capabilities(id),
    list: () => local.list().map(viewOf),
    get: (id) => viewOf(local.get(id)),
    has: (id) => local.has(id),
    qr: (id) => onOwner('qr', id),
    pairingCode: (id, phone) => onOwner('pairingCode', id, phone),
    logout: (id) => onOwner('logout', id),
    async remove(id) {
      await onOwner('remove', id);
      await tellOthers('forget', id);
    },
    currentQr(id) {
      if (mine.has(id)) return local.currentQr(id);
      const view = mirror.view(local.get(id).id);
      return view?.session.state === 'qr' && view.qr && Date.parse(view.qr.expiresAt) > Date.now() ? { ...view.qr } : undefined;
    },
    driverSession(id) {
      if (mine.has(id)) return local.driverSession(id);
      local.get(id);
      return remoteDriver(id);
    },
    handleHttp: (id, request) => onOwner('handleHttp', id, request),
    // The outbox sends from the owner only; elsewhere the local entry is not connected and says so.
    send: (id, request) => local.send(id, request),
    subscribe: (listener, options) => local.subscribe(listener, options),
    async stop() {
      await local.stop();
      await mirror.close();
    },

    async adopt(id) {
      try {
        await local.adopt(id);
      } catch (err) {
        await local.release(id).catch(() => undefined);
        throw err;
      }
      // Only once open: a call meanwhile (a link right after creating) waits for it rather than finding no driver.
      mine.add(id);
    },
    async release(id) {
      if (!mine.delete(id)) return;
      if (local.has(id)) mirror.seed(local.get(id));
      await local.release(id);
    },
    async sessionIds() {
      const all = await ids.list();
      const known = new Set(all);
      for (const { id } of local.list()) if (listed.has(id) && !known.has(id) && !mine.has(id)) local.forget(id);
      listed = known;
      await Promise.all(all.filter((id) => !local.has(id)).map((id) => local.register(id)));
      await mirror.refresh(
        all.filter((id) => !mine.has(id)),
        known,
      );
      return all;
    },
    owned: () => [...mine].sort(),
    owns: (id) => mine.has(id),
  };
};
