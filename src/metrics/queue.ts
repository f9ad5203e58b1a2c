import { Gauge, type Registry } from 'prom-client';
import type { SessionBacklog } from '../outbox/index.js';

/**
 * `hashsend_queue_depth{session}` and `hashsend_queue_oldest_age_seconds{session}`: read from the outbox when
 * scraped, so they are exact at that moment and cost nothing between scrapes.
 */
export const queueMetrics = (registry: Registry, backlog: () => Promise<SessionBacklog[]>) => {
  new Gauge({
    name: 'hashsend_queue_depth',
    help: 'Messages accepted and not finished (queued or being sent), per session',
    labelNames: ['session'] as const,
    registers: [registry],
    async collect() {
      const queues = await backlog();
      this.reset();
      for (const { sessionId, depth } of queues) this.set({ session: sessionId }, depth);
    },
  });
  new Gauge({
    name: 'hashsend_queue_oldest_age_seconds',
    help: 'Age of the oldest message not finished, per session (0 when the queue is empty)',
    labelNames: ['session'] as const,
    registers: [registry],
    async collect() {
      const queues = await backlog();
      const now = Date.now();
      this.reset();
      for (const { sessionId, oldest } of queues) {
        this.set({ session: sessionId }, oldest ? Math.max(0, (now - Date.parse(oldest.createdAt)) / 1000) : 0);
      }
    },
  });
};
