import type { StoreFactory } from '../store/index.js';
import type { BroadcastStore } from './store.js';

/**
 * The broadcast store where the Keyv state lives: the same SQLite file, or the same Redis. Each backend loads only
 * when chosen, so an install without REDIS_URL never loads the Redis client.
 */
export const openBroadcastStore = async (backend: StoreFactory['backend']): Promise<BroadcastStore> => {
  if (backend.kind === 'redis') {
    const { openRedisBroadcastStore } = await import('./store-redis.js');
    return openRedisBroadcastStore(backend.url);
  }
  const { openSqliteBroadcastStore } = await import('./store-sqlite.js');
  return openSqliteBroadcastStore(backend.file);
};
