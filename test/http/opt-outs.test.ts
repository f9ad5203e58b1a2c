import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type StartedServer } from '../support/server.js';
import { createBroadcast, deliveries, jidOf, linkedSession, numbers, report, untilStatus } from '../broadcasts/helpers.js';

let server: StartedServer;
before(async () => {
  server = await startServer();
  await linkedSession(server, 'shop');
});
after(() => server.close());

interface OptOutBody {
  sessionId: string;
  phone: string;
  jid: string;
  source: string;
  createdAt: string;
}
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
const add = (phone: string, session = 'shop') => server.api(`/api/sessions/${session}/opt-outs`, { method: 'POST', json: { phone } });

describe('opt-out list API', () => {
  test('POST adds (201), a repeat in another form answers 200 with the first entry; GET one and DELETE (204, then 404)', async () => {
    const first = await add('+49 (152) 000-0001');
    assert.equal(first.status, 201);
    const body = (await first.json()) as OptOutBody;
    assert.deepEqual(body, {
      sessionId: 'shop',
      phone: '491520000001',
      jid: '491520000001@s.whatsapp.net',
      source: 'api',
      createdAt: body.createdAt,
    });
    const again = await add('491520000001@s.whatsapp.net');
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), body);
    assert.deepEqual(await (await server.api('/api/sessions/shop/opt-outs/+491520000001')).json(), body);

    assert.equal((await server.api('/api/sessions/shop/opt-outs/491520000001', { method: 'DELETE' })).status, 204);
    const gone = await server.api('/api/sessions/shop/opt-outs/491520000001', { method: 'DELETE' });
    assert.deepEqual([gone.status, await errorCode(gone)], [404, 'opt_out_not_found']);
    const absent = await server.api('/api/sessions/shop/opt-outs/491520000001');
    assert.deepEqual([absent.status, await errorCode(absent)], [404, 'opt_out_not_found']);
  });

  test("GET lists the session's numbers in pages, in number order", async () => {
    const phones = numbers(7, 500);
    for (const p of [...phones].reverse()) assert.equal((await add(p, 'shop')).status, 201);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await server.api(`/api/sessions/shop/opt-outs?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200);
      const page = (await res.json()) as { items: OptOutBody[]; nextCursor: string | null };
      seen.push(...page.items.map((o) => `+${o.phone}`));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual([seen, pages], [phones, 3]);
    for (const p of phones) assert.equal((await server.api(`/api/sessions/shop/opt-outs/${p.slice(1)}`, { method: 'DELETE' })).status, 204);
  });

  test('bad input: a group, a non-number, an unknown session, a bad limit', async () => {
    for (const phone of ['120363000000000001@g.us', 'hello', '0301234567']) {
      const res = await add(phone);
      assert.deepEqual([res.status, await errorCode(res)], [400, 'invalid_recipient'], phone);
    }
    const noBody = await server.api('/api/sessions/shop/opt-outs', { method: 'POST', json: { phone: 4915 } });
    assert.deepEqual([noBody.status, await errorCode(noBody)], [400, 'invalid_request']);
    const unknown = await add('+4915200000001', 'nope');
    assert.deepEqual([unknown.status, await errorCode(unknown)], [404, 'session_not_found']);
    const list = await server.api('/api/sessions/nope/opt-outs');
    assert.deepEqual([list.status, await errorCode(list)], [404, 'session_not_found']);
    const limit = await server.api('/api/sessions/shop/opt-outs?limit=0');
    assert.deepEqual([limit.status, await errorCode(limit)], [400, 'invalid_request']);
  });
});

test('a broadcast to a list with an opted-out number skips it with the reason and delivers the rest; a send to it is 409', async () => {
  await linkedSession(server, 'promo');
  const phones = numbers(6, 700);
  const quitter = phones[4];
  assert.equal((await add(quitter, 'promo')).status, 201);
  const created = await createBroadcast(server, 'promo', {
    name: 'spring',
    recipients: phones.map((to) => ({ to })),
    message: { text: 'Spring sale' },
    pace: { perMinute: 0 },
  });
  assert.equal(created.counts.skipped, 1, 'counted as skipped from the start');
  const done = await untilStatus(server, created.id, 'completed');
  assert.deepEqual([done.counts.skipped, done.counts.pending + done.counts.queued, done.progress.done], [1, 0, 6]);
  const rows = await report(server, created.id);
  assert.deepEqual(
    rows.filter((r) => r.status === 'skipped').map((r) => [r.to, r.errorCode, r.messageId]),
    [[jidOf(quitter), 'opted_out', null]],
  );
  assert.deepEqual(
    (await deliveries(server, 'promo')).map((d) => d.to).sort(),
    phones
      .filter((p) => p !== quitter)
      .map(jidOf)
      .sort(),
  );

  const single = await server.api('/api/sessions/promo/messages', { method: 'POST', json: { to: quitter, text: 'hi' } });
  assert.deepEqual([single.status, await errorCode(single)], [409, 'opted_out']);
  // Before the inbox is wired, no inbound message is known: any replyTo names none.
  const reply = await server.api('/api/sessions/promo/messages', { method: 'POST', json: { to: quitter, text: 'hi', replyTo: 'in_x' } });
  assert.deepEqual([reply.status, await errorCode(reply)], [404, 'reply_target_not_found']);
  // Taken off the list, the number is reached again.
  assert.equal((await server.api(`/api/sessions/promo/opt-outs/${quitter.slice(1)}`, { method: 'DELETE' })).status, 204);
  assert.equal((await server.api('/api/sessions/promo/messages', { method: 'POST', json: { to: quitter, text: 'hi' } })).status, 202);
});

test('a broadcast whose every recipient opted out completes without sending, even one scheduled for later', async () => {
  await linkedSession(server, 'quiet');
  const phones = numbers(2, 900);
  for (const p of phones) assert.equal((await add(p, 'quiet')).status, 201);
  const created = await createBroadcast(server, 'quiet', {
    name: 'nobody',
    recipients: phones.map((to) => ({ to })),
    message: { text: 'anyone?' },
    schedule: { at: new Date(Date.now() + 3_600_000).toISOString() },
  });
  const done = await untilStatus(server, created.id, 'completed');
  assert.deepEqual(done.counts.skipped, 2);
  assert.deepEqual(await deliveries(server, 'quiet'), []);
});
