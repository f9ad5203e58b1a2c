import { Router } from 'express';

export type Readiness = 'starting' | 'ready' | 'stopping' | 'store_unreachable' | 'blobs_not_shared';

/**
 * `/healthz`: the process answers. `/readyz`: 200 `ready` once start-up has finished (stores open, sessions
 * restored); 503 `starting` before, 503 `stopping` from the moment a shutdown begins, so a load balancer sends
 * new work elsewhere while this process drains, 503 `store_unreachable` while Redis (REDIS_URL) does not answer, and
 * 503 `blobs_not_shared` on a node whose BLOBS_DIR is not the folder the other nodes use.
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
