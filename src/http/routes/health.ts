import { Router } from 'express';

/** `/healthz`: the process answers. `/readyz`: start-up has finished (stores open, sessions restored). */
export const healthRoutes = ({ isReady }: { isReady: () => boolean }) =>
  Router()
    .get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    })
    .get('/readyz', (_req, res) => {
      const ready = isReady();
      res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'starting' });
    });
