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
