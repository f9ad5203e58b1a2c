import type { Store } from './index.js';

/**
 * Append-only lists of ids, one per key (a session), on a Keyv store. Keyv cannot iterate on SQLite, so each list
 * is kept explicitly: ids in chunks of CHUNK (`idx:<key>:<n>`) and the number of the last chunk (`idxhead:<key>`).
 * A position is an id's place in its list, from 0; it never changes.
 */
const CHUNK = 100;
const chunkKey = (key: string, n: number) => `idx:${key}:${n}`;
const headKey = (key: string) => `idxhead:${key}`;

export interface ChunkedList {
  count(key: string): Promise<number>;
  /**
   * Appends `id` at the next position. `writeItem(position)` is asked to store the item before the chunk naming it
   * is written: the store keeps a table's writes in the order they are asked for, so the chunk goes in the item's
   * commit or a later one, and an id in a list always has its item. Resolves once both are stored.
   */
  append<T>(key: string, id: string, writeItem: (position: number) => Promise<T>): Promise<T>;
  /** The ids at positions `from` (inclusive) to `to` (exclusive), in list order. */
  ids(key: string, from: number, to: number): Promise<string[]>;
  /** Newest first: up to `limit` ids before position `before` (exclusive; the end when absent). */
  newest(key: string, page: { limit: number; before?: number }): Promise<{ ids: string[]; nextCursor: number | null }>;
}

interface ListState {
  head: number;
  last: string[];
  /** Chunk writes in order: each holds every id appended so far. */
  writes: Promise<unknown>;
  /** The last chunk write in that chain if it has not started: appends that arrive meanwhile ride on it. */
  queued?: { n: number; ids: string[]; count: number; done: Promise<unknown> };
}

/** Only this process appends to a key's list (the session's owner), so its state is read once and kept. */
export const createChunkedList = (store: Store): ChunkedList => {
  const lists = new Map<string, Promise<ListState>>();

  const chunk = async (key: string, n: number) => ((await store.get(chunkKey(key, n))) as string[] | undefined) ?? [];
  const state = (key: string) => {
    let loaded = lists.get(key);
    if (!loaded) {
      loaded = (async () => {
        const head = ((await store.get(headKey(key))) as number | undefined) ?? 0;
        return { head, last: await chunk(key, head), writes: Promise.resolve() };
      })();
      // A failed read must not stay cached: the next call reads again.
      loaded.catch(() => lists.get(key) === loaded && lists.delete(key));
      lists.set(key, loaded);
    }
    return loaded;
  };

  /**
   * Queues a write of chunk n holding its first `count` ids (`ids` is the chunk's list, which later appends
   * extend). Under load many appends wait while one chunk write runs; they share the next write (holding the
   * longest of their prefixes) instead of writing the chunk once each.
   */
  const writeChunk = (s: ListState, key: string, n: number, ids: string[], count: number) => {
    if (s.queued?.n === n) {
      s.queued.count = Math.max(s.queued.count, count);
      return s.queued.done;
    }
    const queued: NonNullable<ListState['queued']> = { n, ids, count, done: Promise.resolve() };
    queued.done = s.writes.then(() => {
      if (s.queued === queued) s.queued = undefined;
      return store.set(chunkKey(key, n), queued.ids.slice(0, queued.count));
    });
    s.queued = queued;
    // One failed write must not fail every later one of this list: the chain goes on, the caller sees the error.
    s.writes = queued.done.catch(() => undefined);
    return queued.done;
  };

  const api: ChunkedList = {
    async count(key) {
      const s = await state(key);
      return s.head * CHUNK + s.last.length;
    },

    async append(key, id, writeItem) {
      const s = await state(key);
      if (s.last.length === CHUNK) {
        s.head += 1;
        s.last = [];
        const head = s.head;
        const headWritten = s.writes.then(() => store.set(headKey(key), head));
        s.writes = headWritten.catch(() => undefined);
      }
      const position = s.head * CHUNK + s.last.length;
      const ids = s.last;
      const count = ids.push(id);
      const n = s.head;
      const [item] = await Promise.all([writeItem(position), writeChunk(s, key, n, ids, count)]);
      return item;
    },

    async ids(key, from, to) {
      const found: string[] = [];
      for (let n = Math.floor(from / CHUNK); n * CHUNK < to; n++) {
        const inChunk = await chunk(key, n);
        inChunk.forEach((id, i) => {
          const position = n * CHUNK + i;
          if (position >= from && position < to) found.push(id);
        });
      }
      return found;
    },

    async newest(key, { limit, before }) {
      const total = await api.count(key);
      const to = Math.min(before ?? total, total);
      const from = Math.max(0, to - limit);
      return { ids: (await api.ids(key, from, to)).reverse(), nextCursor: from > 0 ? from : null };
    },
  };
  return api;
};
