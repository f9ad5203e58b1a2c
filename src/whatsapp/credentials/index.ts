import type { RedisClientType } from '@redis/client';
import type { Config } from '../../config.js';
import { fileCredentials } from './file-records.js';
import type { CredentialStore } from './records.js';
import { redisCredentials } from './redis-records.js';

export type { CredentialStore, SessionRecords } from './records.js';

/** The store `CREDENTIALS_STORE` names; `redis` uses the node's Redis connection (config has checked the key is there). */
export const createCredentialStore = ({
  config,
  redis,
}: {
  config: Pick<Config, 'sessionsDir' | 'credentials'>;
  redis?: RedisClientType;
}): CredentialStore => {
  if (config.credentials.store === 'files') return fileCredentials(config.sessionsDir);
  const { key } = config.credentials;
  if (!redis || !key) throw new Error('CREDENTIALS_STORE=redis needs REDIS_URL and CREDENTIALS_KEY');
  return redisCredentials({ client: redis, key });
};
