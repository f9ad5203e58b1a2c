import type { Logger } from '../log.js';

/** A listener may be async; its promise is not awaited. */
export type Listener<E> = (event: E) => unknown;

/**
 * Which events a listener hears. `local` (the default): only this process's own, so a listener that acts on an
 * event (delivers a webhook, records a receipt) acts once in a cluster. `all`: another node's too, as the event
 * bridge republishes them, for listeners that only show state (server-sent events, a session's mirrored state).
 */
export interface SubscribeOptions {
  from?: 'local' | 'all' | 'remote';
}

/** Typed in-process events: session lifecycle and message status today, broadcasts and webhooks listen to them. */
export interface EventBus<E extends { type: string }> {
  /** `remote`: the event happened on another node and was carried here by the bridge. */
  publish(event: E, origin?: { remote: boolean }): void;
  /** Calls `listener` with every event published (this node's own, by default) until the returned function is called. */
  subscribe(listener: Listener<E>, options?: SubscribeOptions): () => void;
}

/**
 * Each listener runs on its own: one that throws, or whose promise rejects, is logged and every other listener
 * still gets the event; an async listener is not awaited, so a slow one never holds up the publisher (the sender).
 */
export const createEventBus = <E extends { type: string }>({ log }: { log: Logger }): EventBus<E> => {
  const listeners = new Map<Listener<E>, NonNullable<SubscribeOptions['from']>>();
  const failed = (event: E) => (err: unknown) => log.error({ err, event: event.type }, 'an event listener failed');
  return {
    publish(event, { remote } = { remote: false }) {
      for (const [listener, from] of listeners) {
        if (remote ? from === 'local' : from === 'remote') continue;
        try {
          const result = listener(event);
          if (result instanceof Promise) result.catch(failed(event));
        } catch (err) {
          failed(event)(err);
        }
      }
    },
    subscribe(listener, { from = 'local' } = {}) {
      listeners.set(listener, from);
      return () => void listeners.delete(listener);
    },
  };
};
