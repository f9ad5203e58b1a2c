import type { StoreFactory } from '../store/index.js';
import type { BroadcastStore } from './store.js';

/** What store-sqlite.ts offers; named by a variable below so this module compiles on its own. */
type SqliteModule = { openSqliteBroadcastStore(file: string): Promise<BroadcastStore> };
const SQLITE_MODULE = './store-sqlite.js';

/**
 * The broadcast store where the Keyv state lives: the same SQLite file, or the same Redis. Each backend loads only
 * when chosen, so an install without REDIS_URL never loads the Redis client.
 */
export const openBroadcastStore = async (backend: StoreFactory['backend']): Promise<BroadcastStore> => {
  if (backend.kind === 'redis') {
    const { openRedisBroadcastStore } = await import('./store-redis.js');
    return openRedisBroadcastStore(backend.url);
  }
  const { openSqliteBroadcastStore } = (await import(SQLITE_MODULE)) as SqliteModule;
  return openSqliteBroadcastStore(backend.file);
};
