import { Counter, type Registry } from 'prom-client';

/** The events this listens to: a message's status as it is queued and each time it moves. */
interface MessageEventLike {
  type: string;
  message?: { status?: unknown };
}

/**
 * `hashsend_message_status_total{status}`: every status a message enters (`queued`, `sending`, `sent`,
 * `delivered`, `read`, `failed`), counted from the outbox's events. A retry counts `sending` again.
 */
export const messageStatusMetrics = (registry: Registry) => {
  const transitions = new Counter({
    name: 'hashsend_message_status_total',
    help: 'Message status changes by the status entered (a retry enters sending again)',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  return (event: MessageEventLike) => {
    if (event.type === 'message' && typeof event.message?.status === 'string') transitions.inc({ status: event.message.status });
  };
};
