import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { assertEachOnceAfterCrash, createBroadcast, deliveries, linkedSession, numbers } from './helpers.js';

let server: StartedServer;
before(async () => {
  server = await startServer({ LOG_LEVEL: 'warn' });
});
after(() => server.close());

test('SIGKILL in the middle of a 1,000-recipient broadcast: after a restart each recipient gets it exactly once, and the report agrees', async () => {
  await linkedSession(server, 'bulk');
  const phones = numbers(1000);
  const created = await createBroadcast(server, 'bulk', {
    name: 'bulk',
    recipients: phones.map((to, i) => ({ to, vars: { n: String(i) } })),
    message: { text: 'Offer {{n}}' },
    pace: { perMinute: 0 },
  });
  // Killed once some, but not all, have gone out.
  await waitFor('a third of the list delivered', async () => ((await deliveries(server, 'bulk')).length >= 300 ? true : undefined), 60_000);
  await server.kill('SIGKILL');
  await server.restart();
  // The session opens in the background after a restart; its deliveries are readable once it has.
  const before = (await waitFor('the session open again', () => deliveries(server, 'bulk'))).length;
  assert.ok(before < 1000, `the broadcast had finished before the kill (${before})`);

  await assertEachOnceAfterCrash(server, 'bulk', created.id, phones);
});
