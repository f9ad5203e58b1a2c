import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';

let server: StartedServer;
before(async () => {
  server = await startServer();
  await server.api('/api/sessions', { method: 'POST', json: { id: 'shop' } });
  await server.api('/api/sessions/shop/sandbox/link', { method: 'POST', json: { phone: '+4915100000001' } });
});
after(() => server.close());

interface Message {
  id: string;
  status: string;
  to: string;
  waMessageId: string | null;
  error?: { code: string };
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
}
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
const send = (body: unknown, headers: Record<string, string> = {}, session = 'shop') =>
  server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: body, headers });
const message = async (id: string) => (await (await server.api(`/api/messages/${id}`)).json()) as Message;
const deliveries = async (session = 'shop') =>
  (
    (await (await server.api(`/api/sessions/${session}/sandbox/deliveries`)).json()) as {
      items: { messageId: string; to: string; text?: string; sendAttempts: number }[];
    }
  ).items;

describe('messages', () => {
  test('a text is accepted 202 queued, then sent, delivered and read; the sandbox shows it once', async () => {
    const res = await send({ to: '+49 151 2345 6789', text: 'Your order has shipped' });
    assert.equal(res.status, 202);
    const accepted = (await res.json()) as { id: string; status: string; sessionState: string; waitsForSession: boolean; to: string };
    assert.deepEqual(
      [accepted.status, accepted.sessionState, accepted.waitsForSession, accepted.to],
      ['queued', 'connected', false, '4915123456789@s.whatsapp.net'],
    );
    const read = await waitFor('read receipt', async () => {
      const m = await message(accepted.id);
      return m.status === 'read' ? m : undefined;
    });
    assert.equal(read.waMessageId, accepted.id);
    assert.ok(read.sentAt && read.deliveredAt && read.readAt);
    const got = (await deliveries()).filter((d) => d.messageId === accepted.id);
    assert.deepEqual(
      got.map((d) => [d.to, d.text, d.sendAttempts]),
      [['4915123456789@s.whatsapp.net', 'Your order has shipped', 1]],
    );
  });

  test('recipients: JIDs and group JIDs pass; anything else is 400 invalid_recipient', async () => {
    for (const to of ['4915123456789@s.whatsapp.net', '120363041234567890@g.us'])
      assert.equal((await send({ to, text: 'hi' })).status, 202, to);
    for (const to of ['hello', '+0049', '12', 'a@b.c', '+49 151 abc']) {
      const res = await send({ to, text: 'hi' });
      assert.deepEqual([res.status, await errorCode(res)], [400, 'invalid_recipient'], to);
    }
  });

  test('bad bodies are 400 invalid_request; unknown session 404; unknown message 404', async () => {
    for (const body of [
      {},
      { to: '+4915123456789' },
      { to: '+4915123456789', text: '' },
      { to: '+4915123456789', text: 'x', extra: 1 },
      { to: '+4915123456789', media: {} },
      { to: '+4915123456789', media: { url: 'ftp://x/y' } },
      { to: '+4915123456789', media: { sha256: 'abc' } },
      { to: '+4915123456789', media: { sha256: 'a'.repeat(64) }, as: 'hologram' },
    ]) {
      const res = await send(body);
      assert.deepEqual([res.status, await errorCode(res)], [400, 'invalid_request'], JSON.stringify(body));
    }
    const unknown = await send({ to: '+4915123456789', text: 'hi' }, {}, 'nope');
    assert.deepEqual([unknown.status, await errorCode(unknown)], [404, 'session_not_found']);
    const missing = await server.api('/api/messages/3EB0000000');
    assert.deepEqual([missing.status, await errorCode(missing)], [404, 'message_not_found']);
    const badPage = await server.api('/api/sessions/shop/messages?limit=1000');
    assert.deepEqual([badPage.status, await errorCode(badPage)], [400, 'invalid_request']);
  });

  test('Idempotency-Key: a repeat gets the first answer and sends nothing; a different body is 409', async () => {
    const headers = { 'idempotency-key': 'order-1042' };
    const body = { to: '+4915199999999', text: 'once' };
    const [first, second] = await Promise.all([send(body, headers), send({ text: 'once', to: '+4915199999999' }, headers)]);
    assert.deepEqual([first.status, second.status], [202, 202]);
    const [a, b] = [(await first.json()) as { id: string }, (await second.json()) as { id: string }];
    assert.equal(a.id, b.id);
    const conflict = await send({ to: '+4915199999999', text: 'twice' }, headers);
    assert.deepEqual([conflict.status, await errorCode(conflict)], [409, 'idempotency_conflict']);
    await waitFor('delivery', async () => ((await message(a.id)).status === 'read' ? true : undefined));
    assert.deepEqual(
      (await deliveries()).filter((d) => d.to === '4915199999999@s.whatsapp.net').map((d) => [d.messageId, d.sendAttempts]),
      [[a.id, 1]],
    );
  });

  test('list: newest first, paged by cursor', async () => {
    await server.api('/api/sessions', { method: 'POST', json: { id: 'paged' } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(((await (await send({ to: '+4915123456789', text: `n${i}` }, {}, 'paged')).json()) as { id: string }).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await server.api(`/api/sessions/paged/messages?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await res.json()) as { items: Message[]; nextCursor: string | null };
      seen.push(...page.items.map((m) => m.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
  });

  test('a session not connected: the answer says the message waits; it is sent once linked', async () => {
    await server.api('/api/sessions', { method: 'POST', json: { id: 'later' } });
    const res = await send({ to: '+4915123456789', text: 'wait for me' }, {}, 'later');
    const accepted = (await res.json()) as { id: string; sessionState: string; waitsForSession: boolean };
    assert.deepEqual([res.status, accepted.sessionState, accepted.waitsForSession], [202, 'qr', true]);
    assert.equal((await message(accepted.id)).status, 'queued');
    await server.api('/api/sessions/later/sandbox/link', { method: 'POST', json: {} });
    await waitFor('delivered', async () => (['delivered', 'read'].includes((await message(accepted.id)).status) ? true : undefined));
  });

  test('transient failures are retried; a permanent one fails the message with its code', async () => {
    await server.api('/api/sessions/shop/sandbox/failures', {
      method: 'POST',
      json: { count: 2, code: 'upstream_unavailable', status: 503 },
    });
    const retried = ((await (await send({ to: '+4915100000010', text: 'retry me' })).json()) as { id: string }).id;
    const waiting = await waitFor('the reason it waits', async () => {
      const m = (await message(retried)) as Message & { lastError?: { code: string } };
      return m.lastError ? m : undefined;
    });
    assert.equal(waiting.lastError?.code, 'upstream_unavailable');
    const ok = await waitFor('sent after retries', async () => {
      const m = await message(retried);
      return ['sent', 'delivered', 'read'].includes(m.status) ? m : undefined;
    });
    assert.equal((ok as Message & { attempts: number }).attempts, 3);
    // The two injected failures never reached the recipient: one transport send.
    assert.deepEqual(
      (await deliveries()).filter((d) => d.messageId === retried).map((d) => d.sendAttempts),
      [1],
    );
    await server.api('/api/sessions/shop/sandbox/failures', { method: 'POST', json: { count: 1, code: 'recipient_blocked', status: 422 } });
    const failed = ((await (await send({ to: '+4915100000011', text: 'no' })).json()) as { id: string }).id;
    const m = await waitFor('failed', async () => {
      const r = await message(failed);
      return r.status === 'failed' ? r : undefined;
    });
    assert.equal(m.error?.code, 'recipient_blocked');
    assert.equal((await deliveries()).filter((d) => d.to === '4915100000011@s.whatsapp.net').length, 0);
  });

  test('deleting a session fails what it still had queued with session_deleted', async () => {
    await server.api('/api/sessions', { method: 'POST', json: { id: 'doomed' } });
    const id = ((await (await send({ to: '+4915123456789', text: 'never' }, {}, 'doomed')).json()) as { id: string }).id;
    await server.api('/api/sessions/doomed', { method: 'DELETE' });
    const m = await waitFor('failed', async () => {
      const r = await message(id);
      return r.status === 'failed' ? r : undefined;
    });
    assert.equal(m.error?.code, 'session_deleted');
  });
});
