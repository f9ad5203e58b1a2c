import { Router } from 'express';
import { HashsendError } from '../errors.js';

/**
 * While the store is unreachable (Redis down, with REDIS_URL), every request is answered `503 store_unavailable`
 * at once: nothing can be accepted that would not be kept, and no request waits on a connection that is not there.
 * It lets requests through again the moment the store answers, with no restart.
 */
export const storeGuard = (reachable: () => boolean) =>
  Router().use((_req, _res, next) =>
    next(
      reachable()
        ? undefined
        : new HashsendError('store_unavailable', 503, 'the store (Redis) is unreachable; nothing was done, retry shortly'),
    ),
  );
