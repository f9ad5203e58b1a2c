// A session's event stream, kept open: after a drop it reconnects with a growing, jittered pause.
import { ApiError, readEvents } from './api.js';

const RETRY_MAX_MS = 15000;

/**
 * Follows `path` until the returned controller is aborted. `onLive('on' | 'retrying' | 'off')` tells how the stream
 * stands; `onOpen` runs on each (re)connection, a moment to catch up on what happened while it was down.
 * A refused key or a session that is gone (401, 403, 404) ends it, with `onGone(err)` for the 404.
 */
export const followEvents = (path, { onOpen, onEvent, onLive, onGone }) => {
  const controller = new AbortController();
  let delay = 1000;
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        await readEvents(path, {
          signal: controller.signal,
          onOpen: () => {
            delay = 1000;
            onLive('on');
            onOpen();
          },
          onEvent,
        });
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && [401, 403, 404].includes(err.status)) {
          onLive('off');
          if (err.status === 404) onGone(err);
          return;
        }
      }
      if (controller.signal.aborted) return;
      onLive('retrying');
      await new Promise((resolve) => setTimeout(resolve, delay * (0.75 + Math.random() * 0.5)));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  };
  run();
  return controller;
};
