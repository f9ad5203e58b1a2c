import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasender, verifyWasenderWebhookSignature } from 'wasenderapi';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startWebhookReceiver, type ReceivedDelivery, type WebhookReceiver } from '../support/webhook-receiver.js';
import { expectError, SESSION_INPUT, wasenderClient, type WaSession } from './support.js';

/** A WASender session's webhook through hashsend's engine, checked as its own SDK and a plain receiver see it. */
let server: StartedServer;
let receiver: WebhookReceiver;
let wa: ReturnType<typeof wasenderClient>;
before(async () => {
  receiver = await startWebhookReceiver();
  server = await startServer({
    LOG_LEVEL: 'warn',
    WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    WEBHOOK_RETRY_BASE_MS: '20',
    WEBHOOK_RETRY_MAX_MS: '100',
  });
  wa = wasenderClient(server);
});
after(async () => {
  await server.close();
  await receiver.close();
});

interface WaBody {
  event: string;
  timestamp: number;
  sessionId: string;
  data: Record<string, unknown> & {
    msgId?: number;
    key?: { id: string; fromMe: boolean; remoteJid: string };
    update?: { status: number };
    status?: string;
    qr?: string;
    messages?: unknown;
    messageBody?: string;
  };
}
const bodyOf = (d: ReceivedDelivery) => JSON.parse(d.raw) as WaBody;
/** The deliveries of one session (bodies carry its key as `sessionId`), in arrival order. */
const of = (session: WaSession) => receiver.requests.filter((d) => bodyOf(d).sessionId === session.api_key);
const until = (what: string, session: WaSession, match: (b: WaBody) => boolean) =>
  waitFor(what, async () => of(session).find((d) => match(bodyOf(d))), 15_000);

const createHooked = async (extra: Record<string, unknown> = {}) =>
  wa.create({ ...SESSION_INPUT, account_protection: false, webhook_url: receiver.url, webhook_enabled: true, ...extra });

const sendText = async (session: WaSession, text: string) => {
  const res = await wa.call('/send-message', { method: 'POST', token: session.api_key, json: { to: '+4915100000010', text } });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { data: { msgId: number } }).data.msgId;
};

test('a session with webhook_url and webhook_enabled gets its status, QR, message updates and inbound messages in WASender’s format', async () => {
  const session = await createHooked();
  const connect = await wa.call(`/whatsapp-sessions/${session.id}/connect`, { method: 'POST', json: {} });
  const qrCode = ((await connect.json()) as { data: { qrCode: string } }).data.qrCode;

  const qr = await until('qrcode.updated', session, (b) => b.event === 'qrcode.updated');
  assert.equal(bodyOf(qr).data.qr, qrCode);
  await until('session.status need_scan', session, (b) => b.event === 'session.status' && b.data.status === 'need_scan');
  await wa.link(session);
  await until('session.status connected', session, (b) => b.event === 'session.status' && b.data.status === 'connected');

  const msgId = await sendText(session, 'hello by webhook');
  assert.ok(Number.isSafeInteger(msgId));
  const read = await until(
    'messages.update read',
    session,
    (b) => b.event === 'messages.update' && b.data.msgId === msgId && b.data.update?.status === 4,
  );
  // One message's updates arrive one at a time, in order: queued, sent (server ack), delivered, read.
  const statuses = of(session)
    .map(bodyOf)
    .filter((b) => b.event === 'messages.update' && b.data.msgId === msgId)
    .map((b) => b.data.update!.status);
  assert.deepEqual(statuses, [1, 2, 3, 4]);
  assert.equal(bodyOf(read).data.key?.fromMe, true);
  assert.equal(bodyOf(read).data.key?.remoteJid, '4915100000010@s.whatsapp.net');
  const sent = of(session)
    .map(bodyOf)
    .find((b) => b.event === 'message.sent' && b.data.msgId === msgId);
  assert.deepEqual(sent?.data.message, { conversation: 'hello by webhook' });
  // The key's id is WhatsApp's, as `GET /messages/{msgId}/info` shows it.
  const info = (await (await wa.call(`/messages/${msgId}/info`, { token: session.api_key })).json()) as { data: { key: { id: string } } };
  assert.equal(bodyOf(read).data.key?.id, info.data.key.id);

  const inbound = await server.api(`/api/sessions/${session.hashsend_session_id}/sandbox/inbound`, {
    method: 'POST',
    json: { from: '+4915100000002', text: 'a question', pushName: 'Ana' },
  });
  assert.equal(inbound.status, 202, await inbound.clone().text());
  const received = bodyOf(await until('messages.received', session, (b) => b.event === 'messages.received'));
  const upsert = bodyOf(
    await until('messages.upsert (inbound)', session, (b) => b.event === 'messages.upsert' && b.data.key?.fromMe === false),
  );
  for (const b of [received, upsert]) {
    assert.equal(b.data.messageBody, 'a question');
    assert.deepEqual(b.data.message, { conversation: 'a question' });
    assert.equal(b.data.key?.remoteJid, '4915100000002@s.whatsapp.net');
    assert.ok(Number.isSafeInteger(b.data.msgId));
  }
  // Its docs nest the message under `messages` (a list for upsert), its SDK types read it from `data`: both hold.
  assert.equal((received.data.messages as { messageBody: string }).messageBody, 'a question');
  assert.equal((upsert.data.messages as { messageBody: string }[])[0].messageBody, 'a question');

  const sdk = createWasender(session.api_key, undefined, wa.base, undefined, undefined, session.webhook_secret);
  for (const d of of(session)) {
    const body = bodyOf(d);
    assert.equal(typeof body.timestamp, 'number');
    assert.equal(body.sessionId, session.api_key);
    // WASender's header, as its SDK verifies it, and hashsend's HMAC beside it under the same secret.
    assert.equal(verifyWasenderWebhookSignature(d.headers['x-webhook-signature'] as string, session.webhook_secret), true);
    const event = await sdk.handleWebhookEvent({ getHeader: (name) => d.headers[name.toLowerCase()] as string, getRawBody: () => d.raw });
    assert.equal(event.event, body.event);
    const ours = verifyWebhookSignature({
      payload: d.raw,
      header: d.headers['x-hashsend-signature'] as string,
      secret: session.webhook_secret,
    });
    assert.equal(ours.ok, true);
  }
});

test('webhook_events picks which of its events a session gets; the endpoint is on hashsend’s API, scoped to the session', async () => {
  const session = await createHooked({ webhook_events: ['messages.update'] });
  await wa.call(`/whatsapp-sessions/${session.id}/connect`, { method: 'POST', json: {} });
  await wa.link(session);
  const msgId = await sendText(session, 'only updates');
  await until(
    'messages.update read',
    session,
    (b) => b.event === 'messages.update' && b.data.msgId === msgId && b.data.update?.status === 4,
  );
  assert.deepEqual([...new Set(of(session).map((d) => bodyOf(d).event))], ['messages.update']);

  const { items } = (await (await server.api('/api/webhooks')).json()) as {
    items: { id: string; sessionId?: string; format?: string; url: string }[];
  };
  const mine = items.find((e) => e.sessionId === session.hashsend_session_id);
  assert.equal(mine?.format, 'wasender');
  assert.equal(mine?.url, receiver.url);

  // Its URL, events, secret and existence follow the session: changed through it, not through hashsend's API.
  const managed = async (res: Response) => {
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'webhook_managed');
  };
  await managed(await server.api(`/api/webhooks/${mine!.id}`, { method: 'PATCH', json: { url: `${receiver.url}/other` } }));
  await managed(await server.api(`/api/webhooks/${mine!.id}/rotate-secret`, { method: 'POST' }));
  await managed(await server.api(`/api/webhooks/${mine!.id}`, { method: 'DELETE' }));
  assert.equal((await server.api(`/api/webhooks/${mine!.id}`, { method: 'PATCH', json: { enabled: true } })).status, 200);
});

test('turning webhook_enabled off stops deliveries; on again, only what happens from then on is sent', async () => {
  const session = await createHooked({ webhook_events: ['messages.update'] });
  await wa.call(`/whatsapp-sessions/${session.id}/connect`, { method: 'POST', json: {} });
  await wa.link(session);
  const first = await sendText(session, 'while enabled');
  await until('the first message read', session, (b) => b.data.msgId === first && b.data.update?.status === 4);

  const off = await wa.call(`/whatsapp-sessions/${session.id}`, { method: 'PUT', json: { webhook_enabled: false } });
  assert.equal(off.status, 200);
  const endpoints = async () =>
    ((await (await server.api('/api/webhooks')).json()) as { items: { sessionId?: string }[] }).items.filter(
      (e) => e.sessionId === session.hashsend_session_id,
    );
  assert.equal((await endpoints()).length, 0, 'no endpoint, so nothing is stored for it');
  const quiet = await sendText(session, 'while disabled');
  const info = async (msgId: number) =>
    ((await (await wa.call(`/messages/${msgId}/info`, { token: session.api_key })).json()) as { data: { status: number } }).data.status;
  await waitFor('the quiet message read', async () => ((await info(quiet)) === 4 ? true : undefined));

  assert.equal((await wa.call(`/whatsapp-sessions/${session.id}`, { method: 'PUT', json: { webhook_enabled: true } })).status, 200);
  const third = await sendText(session, 'enabled again');
  await until('the third message read', session, (b) => b.data.msgId === third && b.data.update?.status === 4);
  assert.equal(
    of(session).some((d) => bodyOf(d).data.msgId === quiet),
    false,
    'nothing of the time it was disabled',
  );

  assert.equal((await wa.call(`/whatsapp-sessions/${session.id}`, { method: 'DELETE' })).status, 200);
  assert.equal((await endpoints()).length, 0, 'a deleted session leaves no endpoint behind');
});

test('a webhook_url at a private address not in WEBHOOK_ALLOW_HOSTS is refused in WASender’s error shape', async () => {
  const refused = await wa.call('/whatsapp-sessions', {
    method: 'POST',
    json: { ...SESSION_INPUT, webhook_url: 'http://10.1.2.3/hook', webhook_enabled: true },
  });
  const body = await expectError(refused, 422, 'webhook_url_refused');
  assert.ok(body.errors?.webhook_url?.length);

  const session = await wa.create();
  const update = await wa.call(`/whatsapp-sessions/${session.id}`, { method: 'PUT', json: { webhook_url: 'http://192.168.0.10/x' } });
  assert.ok((await expectError(update, 422, 'webhook_url_refused')).errors?.webhook_url);
  assert.equal((await wa.get(session.id)).webhook_url, null, 'nothing was stored');
});

test('after a restart the session’s endpoint keeps its format: deliveries are still WASender’s, signed both ways', async () => {
  const session = await createHooked({ webhook_events: ['messages.update'] });
  await wa.call(`/whatsapp-sessions/${session.id}/connect`, { method: 'POST', json: {} });
  await wa.link(session);
  await server.restart();
  await waitFor('the session linked again', async () => ((await wa.get(session.id)).status === 'connected' ? true : undefined));
  const msgId = await sendText(session, 'after a restart');
  const d = await until('messages.update after the restart', session, (b) => b.data.msgId === msgId && b.data.update?.status === 2);
  assert.equal(verifyWasenderWebhookSignature(d.headers['x-webhook-signature'] as string, session.webhook_secret), true);
  const ours = verifyWebhookSignature({
    payload: d.raw,
    header: d.headers['x-hashsend-signature'] as string,
    secret: session.webhook_secret,
  });
  assert.equal(ours.ok, true);
});
