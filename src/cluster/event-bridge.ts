import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';

/** What the bridge needs of Redis: publish on one connection, subscribe on another (a subscribed one can do nothing else). */
export interface BridgeRedis {
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

export interface EventBridgeOptions<E extends { type: string }> {
  bus: EventBus<E>;
  publisher: Pick<BridgeRedis, 'publish'>;
  subscriber: Pick<BridgeRedis, 'subscribe' | 'unsubscribe'>;
  nodeId: string;
  /** The event types other nodes show (server-sent events, mirrored session state); the rest stay on their node. */
  types: ReadonlySet<string>;
  log: Logger;
  /** @default 'hs:events' */
  channel?: string;
}

interface Envelope<E> {
  origin: string;
  event: E;
}

/**
 * Carries this node's events of `types` to every other node on one Redis channel, and theirs onto this node's bus
 * marked remote: a client following a session on any node sees what its owner sees, while whatever acts on an
 * event (webhooks, receipts) still hears it once, on the node where it happened. Pub/sub delivers to those
 * listening now: an event missed while a node was away is state it reads from the store, never lost work.
 */
export const bridgeEvents = async <E extends { type: string }>({
  bus,
  publisher,
  subscriber,
  nodeId,
  types,
  log,
  channel = 'hs:events',
}: EventBridgeOptions<E>) => {
  await subscriber.subscribe(channel, (message) => {
    let envelope: Envelope<E>;
    try {
      envelope = JSON.parse(message) as Envelope<E>;
    } catch (err) {
      log.warn({ err }, 'an unreadable event on the cluster channel was passed over');
      return;
    }
    if (envelope.origin !== nodeId && types.has(envelope.event?.type)) bus.publish(envelope.event, { remote: true });
  });
  const off = bus.subscribe((event) => {
    if (!types.has(event.type)) return;
    publisher
      .publish(channel, JSON.stringify({ origin: nodeId, event } satisfies Envelope<E>))
      .catch((err: unknown) => log.warn({ err, event: event.type }, 'an event could not be shown to the other nodes'));
  });
  return {
    async close() {
      off();
      await subscriber.unsubscribe(channel);
    },
  };
};
