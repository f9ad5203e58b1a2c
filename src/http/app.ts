import { randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../log.js';
import { requireApiKey, type AuthOptions } from './auth.js';
import { errorHandler, notFoundHandler } from './errors.js';

export interface HttpAppOptions {
  log: Logger;
  auth: AuthOptions;
  /** Answered without a key: liveness and readiness. */
  health: Router;
  /** Served without a key before auth: the operator page, `/docs`, `/openapi.json`, public media. */
  open: Router[];
  /** Everything under `/api`, behind the key. */
  api: Router[];
}

export const createHttpApp = ({ log, auth, health, open, api }: HttpAppOptions) => {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req, res) => {
        const id = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 128)) || randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Health checks every few seconds would drown the log.
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  app.use(health);
  for (const router of open) app.use(router);
  app.use('/api', requireApiKey(auth), express.json({ limit: '1mb' }), ...api);
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
};
