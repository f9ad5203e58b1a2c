import type { Store } from '../store/index.js';
import { createChunkedList, type ChunkedList } from '../store/chunked-list.js';
import type { MessageRecord } from './types.js';

/**
 * Messages and, per session, their order (src/store/chunked-list.ts), plus the position of the first message not
 * yet finished (`cursor:<session>`), where dispatch resumes after a restart.
 */
const msgKey = (id: string) => `msg:${id}`;
const cursorKey = (sessionId: string) => `cursor:${sessionId}`;
const waKey = (sessionId: string, waMessageId: string) => `wa:${sessionId}:${waMessageId}`;

interface CursorWrites {
  writes: Promise<unknown>;
  queued?: { position: number; done: Promise<unknown> };
}

/**
 * Records of messages still moving (accepted, sending, sent, delivered) are kept here as last stored, so the
 * worker and receipts read them from memory and only write to the store. Only this process changes a session's
 * messages (its owner), so the copy cannot go stale; it is bounded, and a record evicted is read from the store.
 */
const LIVE_MAX = 10_000;

/** Told of every message once stored: just queued (`previous` absent), or changed from `previous`. */
export type MessageChange = (record: MessageRecord, previous?: MessageRecord) => void;

/** Where records are kept, when not in `store`: `append` stores a new one and takes its place in the order in one step. */
export interface MessageRecords {
  get(id: string): Promise<MessageRecord | undefined>;
  set(record: MessageRecord): Promise<unknown>;
  append(record: Omit<MessageRecord, 'position'>): Promise<MessageRecord>;
}

interface LiveOption {
  /**
   * Whether records are read from the copy kept in memory, for all or for some. Off where other processes change
   * messages too (several nodes), except for those only this process changes now: a copy here would go stale.
   * @default true
   */
  live?: boolean | ((record: MessageRecord) => boolean);
}

export type MessageStoreOptions = LiveOption &
  (
    | {
        /** Where each session's order is kept. @default chunked lists on `store` (one process appends per session) */
        order?: ChunkedList;
        records?: undefined;
      }
    | {
        /** Where each session's order is read; `records.append` writes it. */
        order: Omit<ChunkedList, 'append'>;
        /** Where records are kept and appended. */
        records: MessageRecords;
      }
  );

/** Records in `store` (`msg:<id>`), appended through `order`. */
const storeRecords = (store: Store, order: ChunkedList): MessageRecords => ({
  get: async (id) => (await store.get(msgKey(id))) as MessageRecord | undefined,
  set: (record) => store.set(msgKey(record.id), record),
  append: (record) =>
    order.append(record.sessionId, record.id, async (position) => {
      const positioned: MessageRecord = { ...record, position };
      await store.set(msgKey(positioned.id), positioned);
      return positioned;
    }),
});

export const createMessageStore = (store: Store, onChange: MessageChange = () => undefined, options: MessageStoreOptions = {}) => {
  const live = new Map<string, MessageRecord>();
  const keepLive = options.live ?? true;
  const remember = (record: MessageRecord) => {
    live.delete(record.id);
    if (typeof keepLive === 'function' ? !keepLive(record) : !keepLive) return;
    if (record.status === 'read' || record.status === 'failed') return;
    live.set(record.id, record);
    if (live.size > LIVE_MAX) live.delete(live.keys().next().value!);
  };
  const { order, records } = options.records
    ? options
    : (() => {
        const chunked = options.order ?? createChunkedList(store);
        return { order: chunked, records: storeRecords(store, chunked) };
      })();
  const cursors = new Map<string, CursorWrites>();
  const locks = new Map<string, Promise<unknown>>();

  const api = {
    get: async (id: string) => live.get(id) ?? (await records.get(id)),

    count: (sessionId: string) => order.count(sessionId),

    /** Persists the record and appends it to its session's order; resolves once both are stored. */
    async append(record: Omit<MessageRecord, 'position'>): Promise<MessageRecord> {
      const full = await records.append(record);
      remember(full);
      onChange(full);
      return full;
    },

    /** Applies `change` to the stored record, one change at a time per message. */
    update(id: string, change: (record: MessageRecord) => MessageRecord | undefined): Promise<MessageRecord | undefined> {
      const run = (locks.get(id) ?? Promise.resolve()).then(async () => {
        const current = await api.get(id);
        const next = current && change(current);
        if (!next) return current;
        next.updatedAt = new Date().toISOString();
        await records.set(next);
        remember(next);
        onChange(next, current);
        return next;
      });
      const settled = run.catch(() => undefined);
      locks.set(id, settled);
      void settled.then(() => locks.get(id) === settled && locks.delete(id));
      return run;
    },

    /** Records read elsewhere (a batch) that later reads may take from memory, as `live` allows. */
    keep: (found: MessageRecord[]) => found.forEach((r) => live.has(r.id) || remember(r)),
    /** Drops the copies of a session's records (another process may change them from now on). */
    forget(sessionId: string) {
      for (const [id, r] of live) if (r.sessionId === sessionId) live.delete(id);
    },

    /** Whether the record is in its session's order, so a worker will find it: a crash can leave a record without. */
    isQueued: async (record: MessageRecord) => (await order.ids(record.sessionId, record.position, record.position + 1))[0] === record.id,

    /** Newest first; `before` is a position (exclusive), as returned in `nextCursor`. */
    async list(sessionId: string, page: { limit: number; before?: number }) {
      const { ids, nextCursor } = await order.newest(sessionId, page);
      const items = (await Promise.all(ids.map(api.get))).filter((r): r is MessageRecord => !!r);
      return { items, nextCursor };
    },

    /** The records from `from` on, in queue order: what a restarted worker looks through. */
    async from(sessionId: string, from: number) {
      const ids = await order.ids(sessionId, from, await api.count(sessionId));
      return (await Promise.all(ids.map(api.get))).filter((r): r is MessageRecord => !!r);
    },

    getCursor: async (sessionId: string) => ((await store.get(cursorKey(sessionId))) as number | undefined) ?? 0,
    /**
     * Moves the restart point. Calls made while a write of it runs share the next write, holding the furthest
     * position: a cursor only ever lags, and a lagging one just makes a restart look past finished messages again.
     */
    setCursor(sessionId: string, position: number): Promise<unknown> {
      const c = cursors.get(sessionId) ?? { writes: Promise.resolve() };
      cursors.set(sessionId, c);
      if (c.queued) {
        c.queued.position = Math.max(c.queued.position, position);
        return c.queued.done;
      }
      const queued: NonNullable<CursorWrites['queued']> = { position, done: Promise.resolve() };
      queued.done = c.writes.then(() => {
        if (c.queued === queued) c.queued = undefined;
        return store.set(cursorKey(sessionId), queued.position);
      });
      c.queued = queued;
      c.writes = queued.done.catch(() => undefined);
      return queued.done;
    },

    /** For drivers whose WhatsApp id is not ours (none today): receipts name WhatsApp's id. */
    mapWaId: (sessionId: string, waMessageId: string, id: string) => store.set(waKey(sessionId, waMessageId), id),
    byWaId: async (sessionId: string, waMessageId: string) => (await store.get(waKey(sessionId, waMessageId))) as string | undefined,
  };
  return api;
};

export type MessageStore = ReturnType<typeof createMessageStore>;
