import type { RedisClientType } from '@redis/client';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import { fileCredentials } from './file-records.js';
import { importingFrom } from './import-files.js';
import type { CredentialStore } from './records.js';
import { leaseCheck, type Fence } from './fenced-write.js';
import { credentialsKey, redisCredentials } from './redis-records.js';

export type { CredentialStore, SessionRecords } from './records.js';
export { FencedWriteError, type Fence } from './fenced-write.js';

/**
 * The store `CREDENTIALS_STORE` names. `redis` uses the node's Redis connection (config has checked the key is
 * there) and takes in a session's files from SESSIONS_DIR the first time it finds nothing for it.
 */
export const createCredentialStore = ({
  config,
  redis,
  log,
  fence,
}: {
  config: Pick<Config, 'sessionsDir' | 'credentials'>;
  redis?: RedisClientType;
  log: Logger;
  /**
   * For the sessions' owner only (the Baileys driver), not for API calls any node serves (drivers' options): writes
   * land only while this node holds the session's lease under the token it opened the session with. Redis checks
   * it in the write itself; files are checked just before (see `leaseCheck`).
   */
  fence?: Fence;
}): CredentialStore => {
  const files = fileCredentials(config.sessionsDir);
  if (config.credentials.store === 'files') return fence && redis ? fileCredentials(config.sessionsDir, leaseCheck(redis, fence)) : files;
  const { key } = config.credentials;
  if (!redis || !key) throw new Error('CREDENTIALS_STORE=redis needs REDIS_URL and CREDENTIALS_KEY');
  return importingFrom({
    target: redisCredentials({ client: redis, key, fence }),
    source: files,
    isEmpty: async (sessionId) => (await redis.exists(credentialsKey(sessionId))) === 0,
    log,
  });
};
