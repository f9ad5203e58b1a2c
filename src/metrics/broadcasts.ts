import { Gauge, type Registry } from 'prom-client';

/** A `broadcast` event as the broadcasts module publishes it; read defensively, as its shape is theirs to grow. */
interface BroadcastEventLike {
  type: string;
  broadcast?: { id?: unknown; status?: unknown };
}

/**
 * `hashsend_broadcasts_running`: broadcasts whose last event said `running`, counted from the event bus. A
 * broadcast that was running at the last stop counts again once it publishes its first event after the restart.
 */
export const broadcastMetrics = (registry: Registry) => {
  const running = new Set<string>();
  new Gauge({
    name: 'hashsend_broadcasts_running',
    help: 'Broadcasts running now',
    registers: [registry],
    collect() {
      this.set(running.size);
    },
  });
  return (event: BroadcastEventLike) => {
    const { id, status } = event.broadcast ?? {};
    if (event.type !== 'broadcast' || typeof id !== 'string') return;
    if (status === 'running') running.add(id);
    else running.delete(id);
  };
};
