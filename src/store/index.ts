import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import KeyvSqlite from '@keyv/sqlite';

export type Store = Keyv;

/**
 * One Keyv namespace per concern (`media`, `messages`, `outbox`, …), all on the same backend: a SQLite file in
 * DATA_DIR by default, so `npm start` needs nothing else; Redis when REDIS_URL is set, for several nodes.
 */
export interface StoreFactory {
  namespace(name: string): Store;
  close(): Promise<void>;
}

type Backend = (table: string) => KeyvStoreAdapter;

/**
 * WAL lets a reader and the writer work at once and is kept in the file, so it is set once, from one connection,
 * before the namespaces open theirs. `synchronous=NORMAL` is per connection: in WAL mode a commit survives the
 * process crashing or being killed (what the outbox promises); only a power cut can lose the last commits.
 */
const sqliteBackend = async (dataDir: string): Promise<Backend> => {
  await mkdir(dataDir, { recursive: true });
  const uri = `sqlite://${path.resolve(dataDir, 'hashsend.sqlite')}`;
  const setup = new KeyvSqlite({ uri, table: 'hs_meta', busyTimeout: 5000 });
  await setup.query('PRAGMA journal_mode=WAL');
  await setup.close();
  return (table) => {
    const store = new KeyvSqlite({ uri, table, busyTimeout: 5000 });
    void store.query('PRAGMA synchronous=NORMAL');
    return store;
  };
};

/** Loaded only when REDIS_URL is set: the Redis client is large and most installs never need it. */
const redisBackend = async (redisUrl: string): Promise<Backend> => {
  const { default: KeyvRedis } = await import('@keyv/redis');
  return () => new KeyvRedis(redisUrl);
};

export const createStoreFactory = async ({ dataDir, redisUrl }: { dataDir: string; redisUrl?: string }): Promise<StoreFactory> => {
  const opened: Store[] = [];
  const backend = redisUrl ? await redisBackend(redisUrl) : await sqliteBackend(dataDir);
  return {
    namespace(name) {
      // A table per namespace: Keyv writes its namespace onto the store object, so a shared one would mix them.
      const keyv = new Keyv({ store: backend(`hs_${name}`), namespace: name, useKeyPrefix: !!redisUrl });
      opened.push(keyv);
      return keyv;
    },
    async close() {
      await Promise.allSettled(opened.map((k) => k.disconnect()));
    },
  };
};
