import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { refuseWrites } from '../support/sqlite-faults.js';

interface Message {
  id: string;
  to: string;
  status: string;
}
interface Delivery {
  messageId: string;
  to: string;
  sendAttempts: number;
}

let server: StartedServer;
before(async () => {
  server = await startServer();
  await server.api('/api/sessions', { method: 'POST', json: { id: 'shop' } });
  await server.api('/api/sessions/shop/sandbox/link', { method: 'POST', json: {} });
});
after(() => server.close());

const send = (to: string, key: string) =>
  server.api('/api/sessions/shop/messages', { method: 'POST', json: { to, text: 'exactly once' }, headers: { 'idempotency-key': key } });
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
const messagesTo = async (jid: string) =>
  ((await (await server.api('/api/sessions/shop/messages?limit=100')).json()) as { items: Message[] }).items.filter((m) => m.to === jid);
const deliveriesTo = async (jid: string) =>
  ((await (await server.api('/api/sessions/shop/sandbox/deliveries')).json()) as { items: Delivery[] }).items.filter((d) => d.to === jid);
/** Waits until every message to `jid` is read or failed: nothing of theirs is still queued or being sent. */
const drained = (jid: string) =>
  waitFor(`the queue to ${jid} to drain`, async () => {
    const all = await messagesTo(jid);
    return all.every((m) => m.status === 'read' || m.status === 'failed') ? all : undefined;
  });

test('killed right after the message is stored: the retry with the same key gets that message; one send goes out', async () => {
  await server.restart({ HASHSEND_TEST_CRASH_AFTER: 'message-stored' });
  const first = await send('+4915100000101', 'crash-window-1').catch((err: Error) => err);
  assert.ok(first instanceof Error, 'the process died before it could answer');
  await server.restart({ HASHSEND_TEST_CRASH_AFTER: '' });

  const retry = await send('+4915100000101', 'crash-window-1');
  assert.equal(retry.status, 202);
  const { id } = (await retry.json()) as { id: string };
  const jid = '4915100000101@s.whatsapp.net';
  const messages = await drained(jid);
  assert.deepEqual(
    messages.map((m) => [m.id, m.status]),
    [[id, 'read']],
    'one message, the one stored before the kill',
  );
  assert.deepEqual(
    (await deliveriesTo(jid)).map((d) => [d.messageId, d.sendAttempts]),
    [[id, 1]],
  );
});

test('a store that refuses the idempotency record: 503 store_unavailable and nothing queued; the retry sends once', async () => {
  const lift = await refuseWrites(server.dataDir, 'idem', `NEW.key LIKE '%idem:%'`);
  const jid = '4915100000102@s.whatsapp.net';
  try {
    const refused = await send('+4915100000102', 'refused-1');
    assert.deepEqual([refused.status, await errorCode(refused)], [503, 'store_unavailable']);
    assert.deepEqual(await messagesTo(jid), [], 'no message was queued');
  } finally {
    await lift();
  }
  const retry = await send('+4915100000102', 'refused-1');
  assert.equal(retry.status, 202);
  const { id } = (await retry.json()) as { id: string };
  assert.deepEqual(
    (await drained(jid)).map((m) => m.id),
    [id],
  );
  assert.deepEqual(
    (await deliveriesTo(jid)).map((d) => [d.messageId, d.sendAttempts]),
    [[id, 1]],
  );
});
