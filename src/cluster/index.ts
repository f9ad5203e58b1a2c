import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createRedisFailureLimiter } from './auth-failures.js';
import { openClusterRedis } from './redis.js';

/**
 * What a node on Redis (`REDIS_URL`) shares with the others, as the composition root builds it: the connection
 * whose health decides readiness, and the failed-authentication allowances kept in Redis.
 */
export const openCluster = async ({ url, config, log }: { url: string; config: Pick<Config, 'auth'>; log: Logger }) => {
  const redis = await openClusterRedis({ url, log: log.child({ component: 'cluster' }) });
  return {
    redis,
    /** The allowance of one surface (`api`, `wasender`), shared by every node. */
    failureLimiter: (surface: string) => createRedisFailureLimiter({ client: redis.client, surface, ...config.auth }),
    close: () => redis.close(),
  };
};

export type Cluster = Awaited<ReturnType<typeof openCluster>>;
