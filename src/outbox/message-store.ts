import type { Store } from '../store/index.js';
import type { MessageRecord } from './types.js';

/**
 * Messages and, per session, their order. Keyv cannot iterate on SQLite, so each session keeps an explicit index:
 * ids in chunks of CHUNK (`idx:<session>:<n>`), the number of the last chunk (`idxhead:<session>`), and the
 * position of the first message not yet finished (`cursor:<session>`), where dispatch resumes after a restart.
 */
const CHUNK = 100;
const msgKey = (id: string) => `msg:${id}`;
const chunkKey = (sessionId: string, n: number) => `idx:${sessionId}:${n}`;
const headKey = (sessionId: string) => `idxhead:${sessionId}`;
const cursorKey = (sessionId: string) => `cursor:${sessionId}`;
const waKey = (sessionId: string, waMessageId: string) => `wa:${sessionId}:${waMessageId}`;

interface SessionIndex {
  head: number;
  last: string[];
  /** Chunk writes in order: each holds every id appended so far. */
  writes: Promise<unknown>;
  /** The last chunk write in that chain if it has not started: appends that arrive meanwhile ride on it. */
  queued?: { n: number; ids: string[]; count: number; done: Promise<unknown> };
}

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

export const createMessageStore = (store: Store, onChange: MessageChange = () => undefined) => {
  const live = new Map<string, MessageRecord>();
  const remember = (record: MessageRecord) => {
    live.delete(record.id);
    if (record.status === 'read' || record.status === 'failed') return;
    live.set(record.id, record);
    if (live.size > LIVE_MAX) live.delete(live.keys().next().value!);
  };
  const indexes = new Map<string, Promise<SessionIndex>>();
  const cursors = new Map<string, CursorWrites>();
  const locks = new Map<string, Promise<unknown>>();

  const chunk = async (sessionId: string, n: number) => ((await store.get(chunkKey(sessionId, n))) as string[] | undefined) ?? [];
  const index = (sessionId: string) => {
    let loaded = indexes.get(sessionId);
    if (!loaded) {
      loaded = (async () => {
        const head = ((await store.get(headKey(sessionId))) as number | undefined) ?? 0;
        return { head, last: await chunk(sessionId, head), writes: Promise.resolve() };
      })();
      indexes.set(sessionId, loaded);
    }
    return loaded;
  };
  const idsAt = async (sessionId: string, from: number, to: number) => {
    const ids: string[] = [];
    for (let n = Math.floor(from / CHUNK); n * CHUNK < to; n++) {
      const inChunk = await chunk(sessionId, n);
      inChunk.forEach((id, i) => {
        const pos = n * CHUNK + i;
        if (pos >= from && pos < to) ids.push(id);
      });
    }
    return ids;
  };

  /**
   * Queues a write of chunk n holding its first `count` ids (`ids` is the chunk's list, which later appends
   * extend). Under load many appends wait while one chunk write runs; they share the next write (holding the
   * longest of their prefixes) instead of writing the chunk once each. Each append asks for its record's write
   * before this one, so every id in the prefix has its record stored by then or in the same commit.
   */
  const writeChunk = (i: SessionIndex, sessionId: string, n: number, ids: string[], count: number) => {
    if (i.queued?.n === n) {
      i.queued.count = Math.max(i.queued.count, count);
      return i.queued.done;
    }
    const queued: NonNullable<SessionIndex['queued']> = { n, ids, count, done: Promise.resolve() };
    queued.done = i.writes.then(() => {
      if (i.queued === queued) i.queued = undefined;
      return store.set(chunkKey(sessionId, n), queued.ids.slice(0, queued.count));
    });
    i.queued = queued;
    // One failed write must not fail every later one of this session: the chain goes on, the caller sees the error.
    i.writes = queued.done.catch(() => undefined);
    return queued.done;
  };

  const api = {
    get: async (id: string) => live.get(id) ?? ((await store.get(msgKey(id))) as MessageRecord | undefined),

    async count(sessionId: string) {
      const i = await index(sessionId);
      return i.head * CHUNK + i.last.length;
    },

    /** Persists the record and appends it to its session's order; resolves once both are stored. */
    async append(record: Omit<MessageRecord, 'position'>): Promise<MessageRecord> {
      const i = await index(record.sessionId);
      if (i.last.length === CHUNK) {
        i.head += 1;
        i.last = [];
        const head = i.head;
        const headWritten = i.writes.then(() => store.set(headKey(record.sessionId), head));
        i.writes = headWritten.catch(() => undefined);
      }
      const full: MessageRecord = { ...record, position: i.head * CHUNK + i.last.length };
      const ids = i.last;
      const count = ids.push(full.id);
      const n = i.head;
      // Asked for together, the record first: the store keeps a table's writes in the order they are asked for,
      // so the chunk goes in the record's commit or a later one, and an id in the index always has its record.
      await Promise.all([store.set(msgKey(full.id), full), writeChunk(i, record.sessionId, n, ids, count)]);
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
        await store.set(msgKey(id), next);
        remember(next);
        onChange(next, current);
        return next;
      });
      const settled = run.catch(() => undefined);
      locks.set(id, settled);
      void settled.then(() => locks.get(id) === settled && locks.delete(id));
      return run;
    },

    /** Whether the record is in its session's order, so a worker will find it: a crash can leave a record without. */
    isQueued: async (record: MessageRecord) => (await idsAt(record.sessionId, record.position, record.position + 1))[0] === record.id,

    /** Newest first; `before` is a position (exclusive), as returned in `nextCursor`. */
    async list(sessionId: string, { limit, before }: { limit: number; before?: number }) {
      const total = await api.count(sessionId);
      const to = Math.min(before ?? total, total);
      const from = Math.max(0, to - limit);
      const ids = (await idsAt(sessionId, from, to)).reverse();
      const items = (await Promise.all(ids.map(api.get))).filter((r): r is MessageRecord => !!r);
      return { items, nextCursor: from > 0 ? from : null };
    },

    /** The records from `from` on, in queue order: what a restarted worker looks through. */
    async from(sessionId: string, from: number) {
      const ids = await idsAt(sessionId, from, await api.count(sessionId));
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
