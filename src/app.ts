import type { Server } from 'node:http';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createStoreFactory } from './store/index.js';
import { ensureApiKey } from './api-key.js';
import { createHttpApp } from './http/app.js';
import { healthRoutes } from './http/routes/health.js';

export interface AppOptions {
  config: Config;
  log: Logger;
}

/**
 * The composition root: the one place that builds stores, media, sessions, the outbox and HTTP, and the one
 * place that closes them in order.
 */
export const createApp = async ({ config, log }: AppOptions) => {
  let ready = false;
  const stores = await createStoreFactory({ dataDir: config.dataDir, redisUrl: config.redisUrl });
  const apiKey = await ensureApiKey({ apiKey: config.apiKey, dataDir: config.dataDir });

  const http = createHttpApp({
    log,
    auth: { apiKey: apiKey.key, maxFailures: config.auth.maxFailures, failureWindowMs: config.auth.failureWindowMs },
    health: healthRoutes({ isReady: () => ready }),
    open: [],
    api: [],
  });

  let server: Server | undefined;
  return {
    apiKey,
    http,
    /** Listens, then restores what was running; `/readyz` answers 200 once that is done. */
    async start(): Promise<Server> {
      server = await new Promise<Server>((resolve, reject) => {
        const s = http.listen(config.port, config.host, () => resolve(s)).once('error', reject);
      });
      ready = true;
      return server;
    },
    async stop() {
      ready = false;
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections();
      await stores.close();
    },
  };
};

export type App = Awaited<ReturnType<typeof createApp>>;
