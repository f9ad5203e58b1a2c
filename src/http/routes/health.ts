import { Router } from 'express';

export type Readiness = 'starting' | 'ready' | 'stopping' | 'store_unreachable';

/**
 * `/healthz`: the process answers. `/readyz`: 200 `ready` once start-up has finished (stores open, sessions
 * restored); 503 `starting` before, 503 `stopping` from the moment a shutdown begins, so a load balancer sends
 * new work elsewhere while this process drains, and 503 `store_unreachable` while Redis (REDIS_URL) does not answer.
 */
export const healthRoutes = ({ readiness }: { readiness: () => Readiness }) =>
  Router()
    .get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    })
    .get('/readyz', (_req, res) => {
      const status = readiness();
      res.status(status === 'ready' ? 200 : 503).json({ status });
    });
