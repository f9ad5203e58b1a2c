import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../../support/server.ts';
import { signature, startFakeGraph, type FakeGraph } from '../../support/fake-graph/index.ts';
import { ACCESS_TOKEN, APP_SECRET, CUSTOMER, PHONE_NUMBER_ID, VERIFY_TOKEN } from './harness.ts';

/** hashsend as a process with a `cloud` session against the fake Graph API: the wiring from settings to Meta's webhooks. */
let graph: FakeGraph;
let server: StartedServer;
const options = { phoneNumberId: PHONE_NUMBER_ID, accessToken: ACCESS_TOKEN, appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN };

before(async () => {
  graph = await startFakeGraph();
  graph.addNumber({
    phoneNumberId: PHONE_NUMBER_ID,
    accessToken: ACCESS_TOKEN,
    appSecret: APP_SECRET,
    displayPhoneNumber: '+1 555-010-0199',
    verifiedName: 'Shop',
  });
  server = await startServer({ CLOUD_GRAPH_URL: graph.url, LOG_LEVEL: 'debug' });
  graph.setCallback(PHONE_NUMBER_ID, `${server.url}/hooks/shop`);
});
after(async () => {
  await server?.close();
  await graph?.close();
});

test('a cloud session is created with its options, connects on its token and shows no secret', async () => {
  const res = await server.api('/api/sessions', { method: 'POST', json: { id: 'shop', driver: 'cloud', options } });
  assert.equal(res.status, 201);
  const session = (await res.json()) as Record<string, unknown>;
  assert.equal(session.state, 'connected');
  assert.deepEqual(session.me, { id: '15550100199@s.whatsapp.net', phone: '15550100199', name: 'Shop' });
  assert.deepEqual(session.options, {
    phoneNumberId: PHONE_NUMBER_ID,
    mediaMode: 'upload',
    verifyToken: VERIFY_TOKEN,
    webhookPath: '/hooks/shop',
  });
  const listed = await (await server.api('/api/sessions')).text();
  assert.ok(!listed.includes(ACCESS_TOKEN) && !listed.includes(APP_SECRET));
  const { capabilities: caps } = (await (await server.api('/api/sessions/shop')).json()) as { capabilities: Record<string, unknown> };
  assert.deepEqual(
    [caps.linking, caps.content, caps.ownMessageIds, caps.inboundHttp],
    [[], ['text', 'media', 'contact', 'location', 'template'], true, true],
  );
});

test('link mode on a server without PUBLIC_MEDIA is refused when the session is created', async () => {
  const res = await server.api('/api/sessions', {
    method: 'POST',
    json: { id: 'linked', driver: 'cloud', options: { ...options, mediaMode: 'link' } },
  });
  assert.equal(res.status, 422);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'public_media_required');
  assert.equal((await server.api('/api/sessions/linked')).status, 404);
});

test("Meta's webhook setup at /hooks/<id> passes with the verify token; unsigned posts are refused", async () => {
  assert.equal((await graph.verifyCallback(PHONE_NUMBER_ID, VERIFY_TOKEN)).ok, true);
  const wrong = await graph.verifyCallback(PHONE_NUMBER_ID, 'wrong-token-123');
  assert.equal(wrong.status, 403);
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [] });
  const unsigned = await fetch(`${server.url}/hooks/shop`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  assert.equal(unsigned.status, 401);
  assert.equal(((await unsigned.json()) as { error: { code: string } }).error.code, 'invalid_signature');
  const signed = await fetch(`${server.url}/hooks/shop`, {
    method: 'POST',
    body,
    headers: { 'x-hub-signature-256': signature(APP_SECRET, body) },
  });
  assert.equal(signed.status, 200);
});

test("a text goes out under Meta's id and Meta's status webhooks take it to read", async () => {
  const res = await server.api('/api/sessions/shop/messages', { method: 'POST', json: { to: `+${CUSTOMER}`, text: 'your order shipped' } });
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  const read = await waitFor('the message to be read', async () => {
    const m = (await (await server.api(`/api/messages/${id}`)).json()) as { status: string; waMessageId?: string };
    return m.status === 'read' ? m : undefined;
  });
  assert.equal(read.waMessageId, graph.messages()[0].id);
  assert.deepEqual(graph.messages()[0].body.text, { body: 'your order shipped', preview_url: false });
});

test("a customer's message reaches the inbox, and the token never reached the log", async () => {
  await graph.receive(PHONE_NUMBER_ID, { from: CUSTOMER, text: 'thanks!', name: 'Ada' });
  const item = await waitFor('the inbound message', async () => {
    const page = (await (await server.api('/api/sessions/shop/inbox')).json()) as { items: { pushName?: string; content: unknown }[] };
    return page.items[0];
  });
  assert.deepEqual([item.pushName, item.content], ['Ada', { type: 'text', text: 'thanks!' }]);
  assert.ok(server.output().length > 0);
  assert.ok(!server.output().includes(ACCESS_TOKEN), 'no access token in the log');
  assert.ok(!server.output().includes(APP_SECRET), 'no app secret in the log');
});
