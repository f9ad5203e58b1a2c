import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { broadcast, createBroadcast, deliveries, jidOf, linkedSession, numbers, report, untilStatus } from './helpers.js';

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

  const done = await untilStatus(server, created.id, 'completed', 120_000);
  assert.equal(done.total, 1000);
  const got = await deliveries(server, 'bulk');
  // Every recipient once, with its own text; a second send of one id is the transport's retry of the message in
  // flight at the kill (WhatsApp shows it once), never a second message.
  assert.equal(got.length, 1000);
  assert.deepEqual(new Set(got.map((d) => d.to)), new Set(phones.map(jidOf)));
  const byTo = new Map(got.map((d) => [d.to, d]));
  phones.forEach((p, i) => assert.equal(byTo.get(jidOf(p))?.text, `Offer ${i}`));
  const resent = got.filter((d) => d.sendAttempts !== 1);
  assert.ok(resent.length <= 1 && resent.every((d) => d.sendAttempts === 2), JSON.stringify(resent));

  const rows = await report(server, created.id);
  assert.equal(rows.length, 1000);
  for (const r of rows) {
    assert.ok(['sent', 'delivered', 'read'].includes(r.status), `${r.index} is ${r.status}`);
    assert.equal(r.messageId, byTo.get(r.to)?.messageId);
  }
  const counts = (await broadcast(server, created.id)).counts;
  assert.equal(counts.sent + counts.delivered + counts.read, 1000);
});
