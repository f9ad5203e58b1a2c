import { Gauge, type Registry } from 'prom-client';
import type { SessionBacklog } from '../outbox/index.js';

/**
 * `hashsend_queue_depth{session}` and `hashsend_queue_oldest_age_seconds{session}`: read from the outbox when
 * scraped, so they are exact at that moment and cost nothing between scrapes.
 */
export const queueMetrics = (registry: Registry, backlog: () => Promise<SessionBacklog[]>) => {
  const perSession = (name: string, help: string, value: (queue: SessionBacklog, now: number) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['session'] as const,
      registers: [registry],
      async collect() {
        const queues = await backlog();
        const now = Date.now();
        // Cleared after the read, not before: a deleted session's queue disappears, a concurrent scrape sees no gap.
        this.reset();
        for (const queue of queues) this.set({ session: queue.sessionId }, value(queue, now));
      },
    });
  perSession('hashsend_queue_depth', 'Messages accepted and not finished (queued or being sent), per session', (q) => q.depth);
  perSession('hashsend_queue_oldest_age_seconds', 'Age of the oldest message not finished, per session (0 when none)', (q, now) =>
    q.oldest ? Math.max(0, (now - Date.parse(q.oldest.createdAt)) / 1000) : 0,
  );
};
