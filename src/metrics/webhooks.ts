import { Counter, Gauge, type Registry } from 'prom-client';

/** Deliveries per endpoint and status, as the webhook store counts them. */
export type WebhookCounts = () => Promise<{ endpointId: string; status: string; count: number }[]>;

/**
 * `hashsend_webhook_backlog{endpoint}` (pending deliveries) and `hashsend_webhook_dead_letters{endpoint}` read
 * from the store when scraped; `hashsend_webhook_attempts_total{outcome}` and `hashsend_webhook_dead_total` counted
 * as attempts end.
 */
export const webhookMetrics = (registry: Registry, counts: WebhookCounts) => {
  const perEndpoint = (name: string, help: string, status: string) =>
    new Gauge({
      name,
      help,
      labelNames: ['endpoint'] as const,
      registers: [registry],
      async collect() {
        const rows = await counts();
        this.reset();
        // Every endpoint with deliveries gets a value, 0 included: an empty backlog is a reading, not a gap.
        for (const r of rows) this.inc({ endpoint: r.endpointId }, r.status === status ? r.count : 0);
      },
    });
  perEndpoint('hashsend_webhook_backlog', 'Webhook deliveries pending (not yet delivered, still retried), per endpoint', 'pending');
  perEndpoint('hashsend_webhook_dead_letters', 'Webhook deliveries whose retries ran out (replayable), per endpoint', 'dead');
  const attempts = new Counter({
    name: 'hashsend_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome: delivered, failed_status, timeout, connection_error, refused_ssrf',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const dead = new Counter({
    name: 'hashsend_webhook_dead_total',
    help: 'Webhook deliveries that went dead (retry period over)',
    registers: [registry],
  });
  return { attempt: (outcome: string) => attempts.inc({ outcome }), dead: () => dead.inc() };
};
