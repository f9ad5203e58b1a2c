import { HashsendError } from '../errors.js';

export interface Deadline {
  /** Aborted when the deadline passes (with a `fetch_timeout` HashsendError as reason) or the caller cancels. */
  signal: AbortSignal;
  /** Stops the timer; call when the fetch is over, whichever way. */
  clear(): void;
}

/**
 * The overall time one fetch may take, all its requests together. The idle timeouts cannot bound it: an
 * origin that trickles a byte every few seconds never stays silent long enough to trip one.
 */
export const startDeadline = (ms: number, url: string, outer?: AbortSignal): Deadline => {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    const message = `fetching ${url} took longer than the ${ms} ms deadline per fetch (MEDIA_FETCH_DEADLINE_MS)`;
    controller.abort(new HashsendError('fetch_timeout', 504, message, { url, deadlineMs: ms }));
  }, ms);
  const onOuter = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
};
