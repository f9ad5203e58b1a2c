import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type StartedServer } from '../support/server.js';
import { createBroadcast, deliveries, jidOf, linkedSession, numbers, untilStatus } from './helpers.js';

let server: StartedServer;
before(async () => {
  server = await startServer({ LOG_LEVEL: 'warn' });
});
after(() => server.close());

test('an unpaced broadcast hands its recipients over many at a time, and they still go out in list order', async () => {
  await linkedSession(server, 'order');
  const phones = numbers(500);
  const created = await createBroadcast(server, 'order', {
    name: 'order',
    recipients: phones.map((to) => ({ to })),
    message: { text: 'In line' },
    pace: { perMinute: 0 },
  });
  await untilStatus(server, created.id, 'completed', 60_000);
  // The sandbox keeps deliveries in the order they first arrived.
  const got = await deliveries(server, 'order');
  assert.deepEqual(
    got.map((d) => d.to),
    phones.map(jidOf),
  );
});
