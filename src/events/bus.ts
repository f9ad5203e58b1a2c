import type { Logger } from '../log.js';

/** A listener may be async; its promise is not awaited. */
export type Listener<E> = (event: E) => unknown;

/** Typed in-process events: session lifecycle and message status today, broadcasts and webhooks listen to them. */
export interface EventBus<E extends { type: string }> {
  publish(event: E): void;
  /** Calls `listener` with every event published until the returned function is called. */
  subscribe(listener: Listener<E>): () => void;
}

/**
 * Each listener runs on its own: one that throws, or whose promise rejects, is logged and every other listener
 * still gets the event; an async listener is not awaited, so a slow one never holds up the publisher (the sender).
 */
export const createEventBus = <E extends { type: string }>({ log }: { log: Logger }): EventBus<E> => {
  const listeners = new Set<Listener<E>>();
  const failed = (event: E) => (err: unknown) => log.error({ err, event: event.type }, 'an event listener failed');
  return {
    publish(event) {
      for (const listener of listeners) {
        try {
          const result = listener(event);
          if (result instanceof Promise) result.catch(failed(event));
        } catch (err) {
          failed(event)(err);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
};
