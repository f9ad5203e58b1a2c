import type { HashsendEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import { toWebhookEvent, type WebhookEventSource } from './event-map.js';
import type { WebhookEndpoint } from './types.js';

/** The event being rendered: its id and time, the same for every endpoint. */
export interface RenderedEvent {
  id: string;
  createdAt: string;
}

/**
 * A body shape a compatible surface asks for (`EndpointFormat.name` on the endpoint). Rendering happens once per
 * endpoint when the event is published, so every attempt and replay sends the same bytes.
 */
export interface WebhookFormat {
  /** The bodies this endpoint gets for the event, in the order they are to arrive; none: it gets nothing. */
  render(endpoint: WebhookEndpoint, event: HashsendEvent, source: WebhookEventSource, rendered: RenderedEvent): string[];
  /**
   * Lookups the render needs that cannot be made synchronously (an integer message id in a store). Events wait for
   * them in the order they were published, so an endpoint's deliveries keep the order of its events.
   */
  prepare?(event: HashsendEvent): Promise<unknown> | undefined;
}

export type WebhookFormats = Readonly<Record<string, WebhookFormat>>;

/** The bodies of one endpoint's deliveries of an event: hashsend's own, or what its format renders. */
export const renderBodies = (
  formats: WebhookFormats,
  endpoint: WebhookEndpoint,
  event: HashsendEvent,
  source: WebhookEventSource,
  rendered: RenderedEvent,
  hashsendBody: string,
): string[] => {
  if (!endpoint.format) return [hashsendBody];
  // A format nobody renders any more (its surface gone): nothing, rather than a body its receiver cannot read.
  return formats[endpoint.format.name]?.render(endpoint, event, source, rendered) ?? [];
};

export interface PreparingPublisherOptions {
  formats: WebhookFormats;
  endpoints(): Iterable<WebhookEndpoint>;
  publish(event: HashsendEvent): void;
  log: Logger;
}

/**
 * `publish` behind the formats' `prepare`: an event some format must prepare for waits for it, and every event
 * after it waits its turn; while none waits, events go straight through, as without formats.
 */
export const preparingPublisher = ({ formats, endpoints, publish, log }: PreparingPublisherOptions) => {
  let tail: Promise<void> = Promise.resolve();
  let waiting = 0;
  const preparations = (event: HashsendEvent, source: WebhookEventSource) => {
    const names = new Set<string>();
    for (const e of endpoints()) {
      if (e.format && (e.sessionId === undefined || e.sessionId === source.sessionId)) names.add(e.format.name);
    }
    return [...names].flatMap((name) => formats[name]?.prepare?.(event) ?? []);
  };
  return (event: HashsendEvent) => {
    const source = toWebhookEvent(event);
    const work = source ? preparations(event, source) : [];
    if (work.length === 0 && waiting === 0) return publish(event);
    waiting++;
    tail = tail
      .then(() => Promise.all(work))
      .then(
        () => publish(event),
        (err: unknown) => {
          log.error({ err, type: event.type }, 'a webhook format could not prepare an event; rendered without it');
          publish(event);
        },
      )
      .catch((err: unknown) => log.error({ err, type: event.type }, 'a webhook event could not be published'))
      .finally(() => void waiting--);
  };
};
