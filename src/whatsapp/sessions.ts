import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { HashsendError } from '../errors.js';
import { createEventBus, type SubscribeOptions } from '../events/bus.js';
import type { DriverEvent, SendRequest, SentRef, SessionState } from './driver.js';
import { acquireOwner } from './owner-lock.js';
import { NO_CAPABILITIES, unsupportedByDriver } from './capabilities.js';
import { fileCredentials } from './credentials/file-records.js';
import { parseDriverOptions, readDriverOptions, removeDriverOptions, writeDriverOptions } from './session-options.js';
import { isLinking, waitForLinkable } from './link-wait.js';
import {
  isSessionEvent,
  type SessionManagerOptions,
  type LocalSessionManager,
  type SessionEvent,
  type SessionInfo,
  type SessionManager,
} from './session-types.js';
import { storedIds } from './session-ids.js';
import { sessionNotFound as notFound, type Entry, type Meta } from './session-entry.js';

export type { SessionEvent, SessionInfo, SessionManager, LocalSessionManager, SessionManagerOptions };

export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const metaKey = (id: string) => `session:${id}`;
const phoneOf = (jid: string) => jid.split('@')[0].split(':')[0];

/**
 * Owns every WhatsApp session of this process: creates, restores at start-up, tracks state, QR and account, runs
 * lifecycle operations one at a time per session, and fans driver events out to subscribers (SSE, the outbox).
 */
export const createSessionManager = ({
  sessionsDir,
  store,
  drivers,
  defaultDriver,
  blobs,
  log,
  events = createEventBus({ log }),
  linkWaitMs = 15_000,
  credentials = fileCredentials(sessionsDir),
  leased = false,
  ids = storedIds(store),
}: SessionManagerOptions): LocalSessionManager => {
  const entries = new Map<string, Entry>();
  // Own keys only: a stored name like "constructor" must not find Object.prototype's function.
  const driverOf = (name: string) => (Object.hasOwn(drivers, name) ? drivers[name] : undefined);

  const emit = (event: SessionEvent) => events.publish(event);
  const on = (listener: (event: SessionEvent) => void, options?: SubscribeOptions) =>
    events.subscribe((event) => (isSessionEvent(event) ? listener(event) : undefined), options);
  const info = (e: Entry): SessionInfo => ({
    id: e.meta.id,
    driver: e.meta.driver,
    state: e.state,
    ...(e.meta.me ? { me: { id: e.meta.me.id, phone: phoneOf(e.meta.me.id), ...(e.meta.me.name ? { name: e.meta.me.name } : {}) } } : {}),
    ...(e.meta.lastError ? { lastError: e.meta.lastError } : {}),
    ...(e.options !== undefined ? { options: driverOf(e.meta.driver)?.options?.view(e.options, e.meta.id) } : {}),
    createdAt: e.meta.createdAt,
    updatedAt: e.updatedAt,
  });
  const entryOf = (id: string) => {
    const e = entries.get(id);
    if (!e) throw notFound(id);
    return e;
  };
  const serial = <T>(e: Entry, op: () => Promise<T>): Promise<T> => {
    const run = e.ops.then(op, op);
    e.ops = run.catch(() => undefined);
    return run;
  };
  const saveMeta = (e: Entry) => store.set(metaKey(e.meta.id), e.meta);
  const setState = (e: Entry, state: SessionState) => {
    e.state = state;
    e.updatedAt = new Date().toISOString();
    if (state !== 'qr') e.qr = undefined;
    emit({ type: 'state', session: info(e) });
  };

  const onDriverEvent = (e: Entry, generation: number, event: DriverEvent) => {
    if (e.generation !== generation) return;
    switch (event.type) {
      case 'state':
        if (event.reason && event.state !== 'connected') {
          e.meta.lastError = { message: event.reason, ...(event.code ? { code: event.code } : {}), at: new Date().toISOString() };
          persistMeta(e);
        }
        if (event.state === 'logged_out' && e.meta.me) {
          delete e.meta.me;
          persistMeta(e);
        }
        return setState(e, event.state);
      case 'qr':
        if (e.state !== 'qr') setState(e, 'qr');
        e.qr = { qr: event.qr, expiresAt: event.expiresAt };
        return emit({ type: 'qr', sessionId: e.meta.id, ...e.qr });
      case 'me':
        e.meta.me = { id: event.id, ...(event.name ? { name: event.name } : {}) };
        persistMeta(e);
        return;
      case 'receipt':
        return emit({
          type: 'receipt',
          sessionId: e.meta.id,
          waMessageId: event.waMessageId,
          status: event.status,
          ...(event.participant ? { participant: event.participant } : {}),
          ...(event.error ? { error: event.error } : {}),
        });
      case 'inbound':
        return emit({ type: 'inbound', sessionId: e.meta.id, message: event.message });
    }
  };

  /** Saves from an event handler, where nobody awaits: a failed write is logged, never an unhandled rejection. */
  const persistMeta = (e: Entry) => {
    saveMeta(e).catch((err: unknown) => log.error({ err, sessionId: e.meta.id }, 'session metadata could not be saved'));
  };

  const open = async (e: Entry) => {
    const driver = driverOf(e.meta.driver);
    const dir = path.join(sessionsDir, e.meta.id);
    if (!driver) {
      e.meta.lastError = { message: `driver "${e.meta.driver}" is not available in this build`, at: new Date().toISOString() };
      return setState(e, 'stopped');
    }
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // Claimed again at every open: logging out or a 401 wipes the folder, the lock file with it. On several
      // nodes the folder is shared and a pid means nothing there: the session's lease is the lock.
      if (!leased) e.release = await acquireOwner(dir);
    } catch (err) {
      log.error({ err, sessionId: e.meta.id }, 'session folder could not be claimed');
      e.meta.lastError = { message: err instanceof Error ? err.message : String(err), at: new Date().toISOString() };
      return setState(e, 'stopped');
    }
    const { options, problem } = await readDriverOptions(credentials.session(e.meta.id), driver).catch((err: unknown) => ({
      options: undefined,
      problem: `the stored options could not be read: ${err instanceof Error ? err.message : String(err)}`,
    }));
    e.options = options;
    if (problem) {
      e.meta.lastError = { message: `${problem}; give them again with PATCH /api/sessions/${e.meta.id}`, at: new Date().toISOString() };
      return setState(e, 'needs_relink');
    }
    const generation = ++e.generation;
    setState(e, 'starting');
    e.driver = driver.open({
      sessionId: e.meta.id,
      ...(options !== undefined ? { options } : {}),
      dir,
      log: log.child({ sessionId: e.meta.id, driver: driver.name }),
      blobs,
      onEvent: (event) => onDriverEvent(e, generation, event),
    });
    try {
      await e.driver.start();
    } catch (err) {
      log.error({ err, sessionId: e.meta.id }, 'session failed to start');
      e.meta.lastError = { message: err instanceof Error ? err.message : String(err), at: new Date().toISOString() };
      setState(e, 'stopped');
    }
  };

  const close = async (e: Entry) => {
    e.generation++;
    const current = e.driver;
    e.driver = undefined;
    await current?.stop();
  };

  /** Resolves once the session shows a QR (or is linked): an idle session is started again first. */
  const awaitLinkable = async (e: Entry) => {
    if (e.state === 'connected') return;
    if (e.state === 'qr' && e.qr && Date.parse(e.qr.expiresAt) > Date.now()) return;
    if (!isLinking(e.state)) {
      await serial(e, async () => {
        await close(e);
        await open(e);
      });
      // Reopened and settled at once (needs_relink, stopped): no QR is coming, and waiting for one would only time out.
      if (!isLinking(e.state)) return;
    }
    if (e.state === 'qr' && e.qr) return;
    await waitForLinkable(on, e.meta.id, linkWaitMs);
  };

  const storeOptions = (id: string, options: unknown) => writeDriverOptions(credentials.session(id), options);

  const requireLinking = (e: Entry, how: 'qr' | 'code') => {
    if (!driverOf(e.meta.driver)?.capabilities.linking.includes(how))
      throw unsupportedByDriver(e.meta.driver, how === 'qr' ? 'link by QR code' : 'link by pairing code');
  };

  /** A stored session made known here as `starting`, once; the entry when it is new. */
  const registerMeta = async (id: string) => {
    const meta = (await store.get(metaKey(id))) as Meta | undefined;
    if (!meta || entries.has(meta.id)) return undefined;
    const e: Entry = { meta, state: 'starting', updatedAt: new Date().toISOString(), generation: 0, ops: Promise.resolve() };
    entries.set(meta.id, e);
    return e;
  };

  const notAwaiting = (e: Entry) =>
    new HashsendError('not_awaiting_qr', 409, `session "${e.meta.id}" is ${e.state}, not waiting for a QR scan`, { state: e.state });

  return {
    /**
     * Makes every known session known again (`starting`), then opens them all side by side without waiting: a
     * driver that takes long to start (a Baileys session that cannot reach WhatsApp) delays no other session, and
     * none is ever `session_not_found` once this resolves. Each reports its progress through its state.
     */
    async restore() {
      const restored = (await Promise.all((await ids.list()).map(registerMeta))).filter((e) => e !== undefined);
      if (leased) return;
      for (const e of restored) {
        serial(e, () => open(e)).catch((err) => log.error({ err, sessionId: e.meta.id }, 'session could not be restored'));
      }
    },

    async create({
      id = `s${randomBytes(5).toString('hex')}`,
      driver = defaultDriver,
      options,
    }: Parameters<SessionManager['create']>[0] = {}) {
      if (!SESSION_ID_PATTERN.test(id)) throw new HashsendError('invalid_request', 400, 'session id: 1-64 letters, digits, "_" or "-"');
      const found = driverOf(driver);
      if (!found) {
        throw new HashsendError('unknown_driver', 400, `unknown driver "${driver}"; available: ${Object.keys(drivers).join(', ')}`);
      }
      const parsed = parseDriverOptions(found, options);
      if (entries.has(id)) throw new HashsendError('session_exists', 409, `session "${id}" already exists`);
      const e: Entry = {
        meta: { id, driver, createdAt: new Date().toISOString() },
        state: 'starting',
        updatedAt: new Date().toISOString(),
        generation: 0,
        ops: Promise.resolve(),
      };
      entries.set(id, e);
      if (parsed !== undefined) await storeOptions(id, parsed);
      await saveMeta(e);
      await ids.add(id);
      // Leased: the node the session's lease goes to opens it.
      if (leased) e.options = parsed;
      else await serial(e, () => open(e));
      return info(e);
    },

    async configure(id, options) {
      const e = entryOf(id);
      const driver = driverOf(e.meta.driver);
      if (!driver?.options) throw unsupportedByDriver(e.meta.driver, 'take options');
      const parsed = parseDriverOptions(driver, options);
      await serial(e, async () => {
        await close(e);
        await e.release?.();
        await storeOptions(id, parsed);
        await open(e);
      });
      return info(e);
    },

    capabilities(id) {
      const e = entryOf(id);
      return { name: e.meta.driver, capabilities: driverOf(e.meta.driver)?.capabilities ?? NO_CAPABILITIES };
    },

    list: () => [...entries.values()].map(info),
    get: (id: string) => info(entryOf(id)),
    has: (id: string) => entries.has(id),

    async qr(id: string) {
      const e = entryOf(id);
      requireLinking(e, 'qr');
      if (e.state === 'connected') throw notAwaiting(e);
      await awaitLinkable(e);
      if (!e.qr) throw notAwaiting(e);
      return { ...e.qr };
    },

    async pairingCode(id: string, phone: string) {
      const e = entryOf(id);
      requireLinking(e, 'code');
      if (e.state === 'connected') throw new HashsendError('already_linked', 409, `session "${id}" is already linked`);
      await awaitLinkable(e);
      if (!e.driver || e.state !== 'qr') throw notAwaiting(e);
      return e.driver.requestPairingCode(phone);
    },

    async logout(id: string) {
      const e = entryOf(id);
      await serial(e, async () => {
        await e.driver?.logout();
        await close(e);
        // Its options hold the credentials (the Cloud API's token): logging out forgets them too.
        if (e.options !== undefined) await removeDriverOptions(credentials.session(id));
        e.options = undefined;
        delete e.meta.me;
        await saveMeta(e);
        setState(e, 'logged_out');
      });
      return info(e);
    },

    async remove(id: string) {
      const e = entryOf(id);
      await serial(e, async () => {
        await e.driver
          ?.logout()
          .catch((err) => log.warn({ err, sessionId: id }, 'logout during delete failed; removing credentials anyway'));
        await close(e);
        await e.release?.();
        await rm(path.join(sessionsDir, id), { recursive: true, force: true });
        await credentials.session(id).wipe();
        entries.delete(id);
        await ids.remove(id);
        await store.delete(metaKey(id));
      });
      emit({ type: 'deleted', sessionId: id });
    },

    currentQr(id: string) {
      const e = entryOf(id);
      return e.state === 'qr' && e.qr ? { ...e.qr } : undefined;
    },

    driverSession(id: string) {
      return entryOf(id).driver;
    },

    async handleHttp(id, request) {
      const e = entryOf(id);
      const handle = e.driver?.handleHttp;
      if (!driverOf(e.meta.driver)?.capabilities.inboundHttp)
        throw new HashsendError('not_found', 404, `session "${id}" takes no calls here`);
      if (!e.driver || !handle) throw new HashsendError('session_not_connected', 503, `session "${id}" is ${e.state}`, { state: e.state });
      return handle.call(e.driver, request);
    },

    async send(id: string, request: SendRequest): Promise<SentRef> {
      const e = entryOf(id);
      if (e.state !== 'connected' || !e.driver) {
        throw new HashsendError('session_not_connected', 503, `session "${id}" is ${e.state}`);
      }
      return e.driver.send(request);
    },

    subscribe: on,

    async adopt(id) {
      const e = entries.get(id) ?? (await registerMeta(id)) ?? entries.get(id);
      if (!e) throw notFound(id);
      await serial(e, () => open(e));
    },
    async release(id) {
      const e = entries.get(id);
      if (e) await serial(e, () => close(e));
    },
    register: async (id) => entries.has(id) || (await registerMeta(id)) !== undefined,
    forget: (id) => void entries.delete(id),

    async stop() {
      await Promise.allSettled(
        [...entries.values()].map((e) =>
          serial(e, async () => {
            await close(e);
            await e.release?.();
            e.release = undefined;
          }),
        ),
      );
    },
  };
};
