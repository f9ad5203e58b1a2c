import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEventBus } from '../../src/events/bus.js';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/index.js';

const running = async (registry: ReturnType<typeof createMetrics>['registry']) =>
  (await registry.getSingleMetric('hashsend_broadcasts_running')!.get()).values[0].value;

test('broadcasts running follows the broadcast events on the bus; odd events are ignored, not fatal', async () => {
  const events = createEventBus<{ type: string }>({ log: createLogger('silent') });
  const metrics = createMetrics({ events, sessions: () => [], backlog: async () => [] });
  try {
    const broadcast = (id: unknown, status: unknown) =>
      events.publish({ type: 'broadcast', broadcast: { id, status } } as { type: string });
    assert.equal(await running(metrics.registry), 0);
    broadcast('b1', 'running');
    broadcast('b2', 'running');
    broadcast('b1', 'running'); // progress of a broadcast already counted
    assert.equal(await running(metrics.registry), 2);
    broadcast('b1', 'paused');
    assert.equal(await running(metrics.registry), 1);
    broadcast('b1', 'running');
    broadcast('b2', 'completed');
    broadcast('b1', 'cancelled');
    assert.equal(await running(metrics.registry), 0);
    events.publish({ type: 'broadcast' });
    broadcast(42, 'running');
    events.publish({ type: 'message', broadcast: { id: 'b3', status: 'running' } } as { type: string });
    assert.equal(await running(metrics.registry), 0);
    metrics.close();
    broadcast('b4', 'running');
    assert.equal(await running(metrics.registry), 0, 'after close the bus is no longer followed');
  } finally {
    metrics.close();
  }
});
