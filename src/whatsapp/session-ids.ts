import type { Store } from '../store/index.js';

/** The ids of every session of the install. */
export interface SessionIds {
  list(): Promise<string[]>;
  add(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** The embedded list's key in the sessions store. */
export const IDS_KEY = 'ids';
/** The embedded list: one process writes it, so reading it back and writing it whole is safe. */
export const storedIds = (store: Store): SessionIds => {
  let ids: string[] | undefined;
  const load = async () => (ids ??= ((await store.get(IDS_KEY)) as string[] | undefined) ?? []);
  return {
    list: async () => [...(await load())],
    add: async (id) => store.set(IDS_KEY, (ids = [...(await load()), id])).then(() => undefined),
    remove: async (id) => store.set(IDS_KEY, (ids = (await load()).filter((x) => x !== id))).then(() => undefined),
  };
};

export interface SetRedis {
  sAdd(key: string, members: string[]): Promise<unknown>;
  sRem(key: string, member: string): Promise<unknown>;
  sMembers(key: string): Promise<string[]>;
}

/**
 * Several nodes create and delete sessions at once: the ids are a Redis set (`hs:session-ids`), each change one
 * command. A list left by a single node on Redis before (`ids` in the sessions store) is moved into it once.
 */
export const redisSessionIds = (client: SetRedis, store: Store, key = 'hs:session-ids'): SessionIds => {
  let moved = false;
  const moveLegacy = async () => {
    if (moved) return;
    const legacy = (await store.get(IDS_KEY)) as string[] | undefined;
    if (legacy?.length) await client.sAdd(key, legacy);
    if (legacy) await store.delete(IDS_KEY);
    moved = true;
  };
  return {
    async list() {
      await moveLegacy();
      return (await client.sMembers(key)).sort();
    },
    add: async (id) => void (await client.sAdd(key, [id])),
    remove: async (id) => void (await client.sRem(key, id)),
  };
};
