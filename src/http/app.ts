import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../log.js';
import { requireApiKey, type AuthOptions } from './auth.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { jsonBody } from './json-body.js';

export interface HttpAppOptions {
  log: Logger;
  auth: AuthOptions;
  /** Answered without a key: liveness and readiness. */
  health: Router;
  /** Served without a key before auth: the operator page, `/docs`, `/openapi.json`, public media. */
  open: Router[];
  /** Everything under `/api`, behind the key. */
  api: Router[];
  /** Express's `trust proxy` (TRUST_PROXY). */
  trustProxy: boolean | number | string;
  /** `GET /metrics`, behind the same key (and failure count) as `/api`. */
  metrics?: RequestHandler;
}

export const createHttpApp = ({ log, auth, health, open, api, trustProxy, metrics }: HttpAppOptions) => {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxy);
  const requestId = (req: IncomingMessage, res: ServerResponse) => {
    const id = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 128)) || randomUUID();
    res.setHeader('X-Request-Id', id);
    return id;
  };
  const httpLog = pinoHttp({
    logger: log,
    genReqId: requestId,
    // Health checks every few seconds would drown the log.
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
  });
  if (log.isLevelEnabled('info')) app.use(httpLog);
  else {
    // pino-http logs requests at info, so above it its per-request work (two child loggers, listeners on the
    // response) writes nothing. Here each request gets its id as before, and `req.log` (the same child logger,
    // with pino-http's serializers) is made on first use: on an error, not on every request.
    Object.defineProperty(app.request, 'log', {
      configurable: true,
      get(this: Request) {
        const child = httpLog.logger.child({ req: this });
        Object.defineProperty(this, 'log', { value: child, configurable: true, writable: true });
        return child;
      },
    });
    app.use((req, res, next) => {
      req.id = requestId(req, res);
      next();
    });
  }
  app.use(health);
  for (const router of open) app.use(router);
  const keyed = requireApiKey(auth);
  if (metrics) app.get('/metrics', keyed, metrics);
  app.use('/api', keyed, jsonBody(), ...api);
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
};
