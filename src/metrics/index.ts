import { collectDefaultMetrics, Registry } from 'prom-client';
import type { SessionBacklog } from '../outbox/index.js';
import type { SessionState } from '../whatsapp/driver.js';
import { broadcastMetrics } from './broadcasts.js';
import { mediaFetchMetrics } from './media.js';
import { messageStatusMetrics } from './messages.js';
import { queueMetrics } from './queue.js';
import { sessionMetrics } from './sessions.js';
import { webhookMetrics, type WebhookCounts } from './webhooks.js';

export interface MetricsSources {
  /** The bus the outbox, the session manager and broadcasts publish on: counters follow it, nothing polls. */
  events: { subscribe(listener: (event: { type: string }) => void): () => void };
  /** Read when scraped. */
  sessions: () => { state: SessionState }[];
  /** Read when scraped. */
  backlog: () => Promise<SessionBacklog[]>;
  /** Read when scraped: webhook deliveries per endpoint and status. @default none */
  webhooks?: WebhookCounts;
}

/**
 * The Prometheus registry of one app: its own (not prom-client's global one), so two apps in one process (tests)
 * count apart. Holds the process metrics prom-client collects by default beside ours.
 */
export const createMetrics = ({ events, sessions, backlog, webhooks = async () => [] }: MetricsSources) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const fetched = mediaFetchMetrics(registry);
  const onMessage = messageStatusMetrics(registry);
  const onBroadcast = broadcastMetrics(registry);
  queueMetrics(registry, backlog);
  sessionMetrics(registry, sessions);
  const webhookCounters = webhookMetrics(registry, webhooks);
  const unsubscribe = events.subscribe((event) => {
    onMessage(event);
    onBroadcast(event);
  });
  return {
    registry,
    /** The media resolver's `onFetch`. */
    fetched,
    /** The webhook engine's `onAttempt` and `onDead`. */
    webhooks: webhookCounters,
    close: unsubscribe,
  };
};

export type Metrics = ReturnType<typeof createMetrics>;
