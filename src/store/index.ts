import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import KeyvRedis from '@keyv/redis';

export type Store = Keyv;

/**
 * One Keyv namespace per concern (`media`, `messages`, `outbox`, …), all on the same backend: a SQLite file in
 * DATA_DIR by default, so `npm start` needs nothing else; Redis when REDIS_URL is set, for several nodes.
 */
export interface StoreFactory {
  namespace(name: string): Store;
  close(): Promise<void>;
}

export const createStoreFactory = async ({ dataDir, redisUrl }: { dataDir: string; redisUrl?: string }): Promise<StoreFactory> => {
  const opened: Store[] = [];
  if (!redisUrl) await mkdir(dataDir, { recursive: true });
  const sqliteUri = `sqlite://${path.resolve(dataDir, 'hashsend.sqlite')}`;
  return {
    namespace(name) {
      // A table per namespace: Keyv writes its namespace onto the store object, so a shared one would mix them.
      const store = redisUrl
        ? new KeyvRedis(redisUrl)
        : new KeyvSqlite({ uri: sqliteUri, table: `hs_${name}`, busyTimeout: 5000 });
      const keyv = new Keyv({ store, namespace: name, useKeyPrefix: !!redisUrl });
      opened.push(keyv);
      return keyv;
    },
    async close() {
      await Promise.allSettled(opened.map((k) => k.disconnect()));
    },
  };
};
