import type { OptOut } from '../events/types.js';
import { KeyedQueue } from '../lib/keyed-queue.js';
import type { Store } from '../store/index.js';

/** What a sender asks of the list before a message leaves: is this JID on the session's suppression list? */
export interface OptOutLookup {
  get(sessionId: string, jid: string): Promise<OptOut | undefined>;
}

/** A page of a session's list, in JID order; `nextCursor` (the last JID) is passed back as `after`. */
export interface OptOutPage {
  items: OptOut[];
  nextCursor: string | null;
}

/** Per session, the numbers that opted out: on the Keyv store, so SQLite by default and Redis with REDIS_URL. */
export interface OptOutStore extends OptOutLookup {
  /** Stores `optOut` unless its JID is there already; `added` false (and the first record) when it was. */
  add(optOut: OptOut): Promise<{ optOut: OptOut; added: boolean }>;
  /** False when the JID was not on the list. */
  remove(sessionId: string, jid: string): Promise<boolean>;
  list(sessionId: string, page: { limit: number; after?: string }): Promise<OptOutPage>;
  /** Every JID on the session's list: one read, for checking a whole broadcast list at creation. */
  jids(sessionId: string): Promise<Set<string>>;
}

/**
 * Keyv cannot iterate on SQLite, so each session keeps its JIDs, sorted, under `idx:<session>` beside a record per
 * JID (`o:<session>:<jid>`). The record is what suppression goes by: it is written before the index and deleted
 * before it, so a write lost between the two can only leave the list view short, never let a send through.
 */
const recordKey = (sessionId: string, jid: string) => `o:${sessionId}:${jid}`;
const indexKey = (sessionId: string) => `idx:${sessionId}`;

/** Where `jid` is, or would go, in the sorted index. */
const place = (sorted: string[], jid: string) => {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < jid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

export const createOptOutStore = (store: Store): OptOutStore => {
  // Changes of one session's list run one at a time: two adds of one number store and announce it once.
  const writes = new KeyedQueue();
  const index = async (sessionId: string) => ((await store.get(indexKey(sessionId))) as string[] | undefined) ?? [];
  const get = async (sessionId: string, jid: string) => (await store.get(recordKey(sessionId, jid))) as OptOut | undefined;

  return {
    get,
    add: (optOut) =>
      writes.run(optOut.sessionId, async () => {
        const existing = await get(optOut.sessionId, optOut.jid);
        if (existing) return { optOut: existing, added: false };
        await store.set(recordKey(optOut.sessionId, optOut.jid), optOut);
        const jids = await index(optOut.sessionId);
        const at = place(jids, optOut.jid);
        if (jids[at] !== optOut.jid) {
          jids.splice(at, 0, optOut.jid);
          await store.set(indexKey(optOut.sessionId), jids);
        }
        return { optOut, added: true };
      }),
    remove: (sessionId, jid) =>
      writes.run(sessionId, async () => {
        const deleted = await store.delete(recordKey(sessionId, jid));
        const jids = await index(sessionId);
        const at = place(jids, jid);
        if (jids[at] === jid) {
          jids.splice(at, 1);
          await store.set(indexKey(sessionId), jids);
          return true;
        }
        return deleted;
      }),
    async list(sessionId, { limit, after }) {
      const jids = await index(sessionId);
      const from = after === undefined ? 0 : place(jids, after) + (jids[place(jids, after)] === after ? 1 : 0);
      const slice = jids.slice(from, from + limit);
      const items = (await Promise.all(slice.map((jid) => get(sessionId, jid)))).filter((o): o is OptOut => !!o);
      return { items, nextCursor: from + limit < jids.length ? slice[slice.length - 1] : null };
    },
    jids: async (sessionId) => new Set(await index(sessionId)),
  };
};
