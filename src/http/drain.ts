import { Router } from 'express';
import { HashsendError } from '../errors.js';

/** Reads change nothing; every other method may start work (a send, an upload, a session) that must finish. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The API's side of a graceful shutdown. Once `start()` is called, a request that would start work is answered
 * `503 shutting_down` (reads still answer, so a client can follow its messages to the end), and `idle()` resolves
 * when the requests that were let in before have been answered: nothing they accepted is left half done.
 */
export const createDrain = () => {
  let draining = false;
  let inProgress = 0;
  let onIdle: (() => void) | undefined;
  const finished = () => {
    inProgress -= 1;
    if (inProgress === 0) onIdle?.();
  };
  const guard = Router().use((req, res, next) => {
    if (READS.has(req.method)) return next();
    if (draining) {
      return next(
        new HashsendError('shutting_down', 503, 'the server is shutting down; retry against another instance or after it restarts'),
      );
    }
    inProgress += 1;
    res.once('close', finished);
    next();
  });
  return {
    /** Mounted first among the API's routers. */
    guard,
    get draining() {
      return draining;
    },
    /** Requests that start work, let in and not answered yet. */
    get inProgress() {
      return inProgress;
    },
    start() {
      draining = true;
    },
    idle: () =>
      new Promise<void>((resolve) => {
        if (inProgress === 0) return resolve();
        onIdle = resolve;
      }),
  };
};

export type Drain = ReturnType<typeof createDrain>;
