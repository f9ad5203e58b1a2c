import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import { KeyedQueue } from '../lib/keyed-queue.js';
import { isSessionEvent, type SessionEvent, type SessionInfo } from './session-types.js';

/*
 * Keys:
 *   hs:session-view:<id>   JSON MirrorView: the owner's view of the session, written at each state change and QR
 */
const viewKey = (id: string) => `hs:session-view:${id}`;

export interface MirrorView {
  session: SessionInfo;
  qr?: { qr: string; expiresAt: string };
}

export interface MirrorRedis {
  set(key: string, value: string): Promise<unknown>;
  del(key: string): Promise<unknown>;
  mGet(keys: string[]): Promise<(string | null)[]>;
}

export interface SessionMirrorOptions {
  client: MirrorRedis;
  events: EventBus<{ type: string }>;
  log: Logger;
  /** A session deleted on another node. */
  onDeleted(id: string): void;
}

const newer = (next: SessionInfo, known?: MirrorView) => !known || next.updatedAt >= known.session.updatedAt;

/**
 * What this node knows of the sessions other nodes own: their owner's `state` and `qr` events as the bridge brings
 * them, and the snapshot each owner keeps in Redis, read on every ownership pass, for a node that started later or
 * missed an event (pub/sub keeps nothing). On the owner, its own events write that snapshot.
 */
export const createSessionMirror = ({ client, events, log, onDeleted }: SessionMirrorOptions) => {
  const views = new Map<string, MirrorView>();
  /** The snapshots this node writes, as last written: a QR is kept beside the state it came with. */
  const own = new Map<string, MirrorView>();
  const writes = new KeyedQueue();

  const write = (id: string, task: () => Promise<unknown>) =>
    void writes.run(id, task).catch((err: unknown) => log.warn({ err, sessionId: id }, 'the session snapshot could not be written'));

  const offLocal = events.subscribe((event) => {
    if (!isSessionEvent(event)) return;
    if (event.type === 'state') {
      const view: MirrorView = { session: event.session, ...(event.session.state === 'qr' ? { qr: own.get(event.session.id)?.qr } : {}) };
      own.set(event.session.id, view);
      write(event.session.id, () => client.set(viewKey(event.session.id), JSON.stringify(view)));
    } else if (event.type === 'qr') {
      const view = own.get(event.sessionId);
      if (!view) return;
      view.qr = { qr: event.qr, expiresAt: event.expiresAt };
      write(event.sessionId, () => client.set(viewKey(event.sessionId), JSON.stringify(view)));
    } else if (event.type === 'deleted') {
      own.delete(event.sessionId);
      write(event.sessionId, () => client.del(viewKey(event.sessionId)));
    }
  });

  const offRemote = events.subscribe(
    (event) => {
      if (!isSessionEvent(event)) return;
      if (event.type === 'state') {
        const known = views.get(event.session.id);
        if (newer(event.session, known))
          views.set(event.session.id, { session: event.session, ...(event.session.state === 'qr' ? { qr: known?.qr } : {}) });
      } else if (event.type === 'qr') {
        const known = views.get(event.sessionId);
        if (known) known.qr = { qr: event.qr, expiresAt: event.expiresAt };
      } else if (event.type === 'deleted') {
        views.delete(event.sessionId);
        onDeleted(event.sessionId);
      }
    },
    { from: 'remote' },
  );

  /** An event of the owner's this node learns of from its snapshot, published as the bridge would have. */
  const heard = (event: SessionEvent) => events.publish(event, { remote: true });

  return {
    view: (id: string) => views.get(id),
    /** Reads the snapshots of the sessions owned elsewhere; forgets views of sessions no longer there. */
    async refresh(ids: string[], all: ReadonlySet<string>) {
      for (const id of views.keys()) if (!all.has(id)) views.delete(id);
      if (ids.length === 0) return;
      const values = await client.mGet(ids.map(viewKey));
      ids.forEach((id, i) => {
        const raw = values[i];
        if (!raw) return;
        try {
          const view = JSON.parse(raw) as MirrorView;
          const known = views.get(id);
          if (!newer(view.session, known)) return;
          // Newer than any event heard: one was lost (pub/sub keeps nothing for a node reconnecting). Clients
          // following the session here hear it now, as they would have from the bridge.
          if (!known || view.session.updatedAt > known.session.updatedAt) heard({ type: 'state', session: view.session });
          if (view.qr && view.session.state === 'qr' && view.qr.qr !== known?.qr?.qr) heard({ type: 'qr', sessionId: id, ...view.qr });
          views.set(id, view);
        } catch (err) {
          log.warn({ err, sessionId: id }, 'an unreadable session snapshot was passed over');
        }
      });
    },
    /** This node stops owning the session: what it last showed stands until the next owner says otherwise. */
    seed(session: SessionInfo) {
      views.set(session.id, { session });
      own.delete(session.id);
    },
    close() {
      offLocal();
      offRemote();
      return writes.drain();
    },
  };
};

export type SessionMirror = ReturnType<typeof createSessionMirror>;
