import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { messageApi, reached } from '../support/message-api.js';
import { signature, startFakeGraph, type FakeGraph } from '../support/fake-graph/index.js';
import type { StartedServer } from '../support/server.js';
import { wasenderClient } from '../wasender/support.js';
import { adopted, twoNodes, untilState } from './two-nodes.js';

/**
 * Calls only a session's owner can answer, made through the node that does not own it: each is passed to the
 * owner and its answer (or its error, code and status unchanged) comes back as if the owner had been asked.
 */
const PNID = '106540352242922';
const TOKEN = 'EAAG-test-access-token-0123456789';
const SECRET = 'app-secret-4f2c9a';
const VERIFY = 'verify-me-please';
const cloudOptions = { phoneNumberId: PNID, accessToken: TOKEN, appSecret: SECRET, verifyToken: VERIFY };

let graph: FakeGraph;
// A lease far longer than this file: a session never moves on its own here, every call below is a call to its owner.
const { ctx, ownerOf } = twoNodes(async () => {
  graph = await startFakeGraph();
  graph.addNumber({ phoneNumberId: PNID, accessToken: TOKEN, appSecret: SECRET, displayPhoneNumber: '+1 555-0100', verifiedName: 'Shop' });
  return { CLUSTER_LEASE_TTL_MS: '30000', CLOUD_GRAPH_URL: graph.url };
});
after(() => graph?.close());

type ErrorBody = { error?: { code: string; message: string; details?: Record<string, unknown> } };
const errorOf = async (res: Response) => {
  const body = (await res.json()) as ErrorBody;
  return [res.status, body.error?.code] as const;
};
const state = async (node: StartedServer, id: string) =>
  ((await (await node.api(`/api/sessions/${id}`)).json()) as { state: string }).state;

test('a session created on one node is known on the other at once (a send through it right after the 201 is accepted); deleted on one, it is gone on the other at once', async () => {
  const [a, b] = ctx.nodes as [StartedServer, StartedServer];
  for (let i = 0; i < 8; i++) {
    const id = `fresh${i}`;
    const [first, second] = i % 2 ? [b, a] : [a, b];
    assert.equal((await first.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);
    const sent = await second.api(`/api/sessions/${id}/messages`, { method: 'POST', json: { to: '+4915100000009', text: 'hi' } });
    assert.equal(sent.status, 202, `${id}: ${await sent.clone().text()}`);
    assert.equal((await second.api(`/api/sessions/${id}`)).status, 200);
  }
  // Deleted through its owner, then asked of the other node.
  for (let i = 0; i < 8; i++) {
    const id = `fresh${i}`;
    const { owner, other } = ownerOf(id);
    await untilState(owner, id, 'qr');
    assert.equal((await owner.api(`/api/sessions/${id}`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await errorOf(await other.api(`/api/sessions/${id}`)), [404, 'session_not_found'], id);
  }
});

test('sandbox controls through the non-owner: pairing code, link, options refused, QR/pairing after linking refused, logout, QR again', async () => {
  const id = 'remote';
  const { owner, other } = ownerOf(id);
  assert.equal((await other.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);
  await untilState(other, id, 'qr');

  const pairing = await other.api(`/api/sessions/${id}/pairing-code`, { method: 'POST', json: { phone: '+4915100000001' } });
  assert.equal(pairing.status, 200);
  assert.match(((await pairing.json()) as { code: string }).code, /^[A-Z0-9]{8}$/);

  // The sandbox takes no options: the owner's refusal, as the owner gives it.
  const patched = await other.api(`/api/sessions/${id}`, { method: 'PATCH', json: { options: { anything: 1 } } });
  const patchedBody = (await patched.json()) as ErrorBody;
  assert.deepEqual(
    [patched.status, patchedBody.error?.code, patchedBody.error?.details],
    [422, 'unsupported_by_driver', { driver: 'sandbox' }],
  );

  assert.equal((await other.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } })).status, 200);
  await untilState(other, id, 'connected');
  assert.deepEqual(await errorOf(await other.api(`/api/sessions/${id}/qr`)), [409, 'not_awaiting_qr']);
  assert.deepEqual(
    await errorOf(await other.api(`/api/sessions/${id}/pairing-code`, { method: 'POST', json: { phone: '+4915100000001' } })),
    [409, 'already_linked'],
  );
  assert.deepEqual(await errorOf(await other.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: {} })), [
    409,
    'already_linked',
  ]);

  const out = await other.api(`/api/sessions/${id}/logout`, { method: 'POST' });
  assert.equal(out.status, 200);
  assert.equal(((await out.json()) as { state: string }).state, 'logged_out');
  await untilState(owner, id, 'logged_out');
  await untilState(other, id, 'logged_out');
  // Linking again starts from a QR, asked of the owner.
  const qr = await other.api(`/api/sessions/${id}/qr`);
  assert.equal(qr.status, 200);
  assert.ok(((await qr.json()) as { qr?: string }).qr);
  assert.equal(adopted(owner, id), 1);
  assert.equal(adopted(other, id), 0);
});

test('session tools (WASender on-whatsapp, presence) through the non-owner reach the owner’s socket', async () => {
  const client = wasenderClient(ctx.nodes[0]!);
  const created = await client.create();
  const id = created.hashsend_session_id;
  const { owner, other } = ownerOf(id);
  assert.equal((await client.call(`/whatsapp-sessions/${created.id}/connect`, { method: 'POST', json: {} })).status, 200);
  await untilState(other, id, 'qr');
  const call = (route: string, init: RequestInit & { json?: unknown } = {}) =>
    wasenderClient(other).call(route, { ...init, token: created.api_key });

  // Not connected yet: the tools say so, on either node.
  const early = await call(`/on-whatsapp/${encodeURIComponent('+4915123456789')}`);
  assert.equal(early.status, 503);

  assert.equal((await other.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000002' } })).status, 200);
  await untilState(other, id, 'connected');
  const found = await call(`/on-whatsapp/${encodeURIComponent('+4915123456789')}`);
  assert.equal(found.status, 200);
  assert.deepEqual(await found.json(), { success: true, data: { exists: true, jid: '4915123456789@s.whatsapp.net' } });

  const shown = await call('/send-presence-update', { method: 'POST', json: { jid: '+4915123456789', type: 'available' } });
  assert.equal(shown.status, 200);
  for (const node of [owner, other]) {
    const items = (
      (await (await node.api(`/api/sessions/${id}/sandbox/presences`)).json()) as { items: { presence: string; jid: string }[] }
    ).items;
    assert.deepEqual(
      items.map((p) => [p.presence, p.jid]),
      [['available', '4915123456789@s.whatsapp.net']],
    );
  }
});

test("a Cloud API session's Meta webhooks through the non-owner: the verify handshake, a wrong token, unsigned and signed events; its options through the non-owner", async () => {
  const id = 'meta';
  const { owner, other } = ownerOf(id);
  const created = await other.api('/api/sessions', { method: 'POST', json: { id, driver: 'cloud', options: cloudOptions } });
  assert.equal(created.status, 201, await created.clone().text());
  await untilState(other, id, 'connected');
  // Meta calls whichever node the load balancer picks: here, the one without the session.
  graph.setCallback(PNID, `${other.url}/hooks/${id}`);

  assert.equal((await graph.verifyCallback(PNID, VERIFY)).ok, true);
  const wrong = await graph.verifyCallback(PNID, 'not-the-token');
  assert.deepEqual([wrong.ok, wrong.status, JSON.parse(wrong.body).error.code], [false, 403, 'verify_token_mismatch']);
  assert.deepEqual(await errorOf(await other.api(`/api/sessions/${id}/qr`)), [422, 'unsupported_by_driver']);

  // Sent by the owner; its statuses arrive as signed POSTs at the other node and are checked over the exact bytes.
  const api = messageApi(other);
  graph.setStatuses(PNID, ['sent', 'delivered', 'read']);
  const sent = await api.send(id, 'via meta');
  const read = await api.until(sent, (m) => m.status === 'read', 'read, from the signed webhooks through the non-owner');
  assert.ok(read.waMessageId);
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [] });
  const unsigned = await fetch(`${other.url}/hooks/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.deepEqual(await errorOf(unsigned), [401, 'invalid_signature']);
  const signed = await fetch(`${other.url}/hooks/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature(SECRET, body) },
    body,
  });
  assert.equal(signed.status, 200);

  // Options are checked and stored by the owner: an invalid set is its 400, naming the field; a valid one reopens.
  const invalid = await other.api(`/api/sessions/${id}`, {
    method: 'PATCH',
    json: { options: { ...cloudOptions, phoneNumberId: undefined } },
  });
  const invalidBody = (await invalid.json()) as ErrorBody;
  assert.deepEqual([invalid.status, invalidBody.error?.code], [400, 'invalid_request']);
  assert.match(JSON.stringify(invalidBody.error?.details), /phoneNumberId/);
  const patched = await other.api(`/api/sessions/${id}`, { method: 'PATCH', json: { options: cloudOptions } });
  assert.equal(patched.status, 200, await patched.clone().text());
  assert.equal(((await patched.json()) as { options?: { phoneNumberId?: string } }).options?.phoneNumberId, PNID);
  await untilState(other, id, 'connected');
  const again = await api.send(id, 'after new options');
  await api.until(again, reached, 'delivered after the options changed');
  assert.equal(adopted(owner, id), 1);
  assert.equal(adopted(other, id), 0);
  assert.equal(await state(owner, id), 'connected');
});

test('a session unknown to the install is 404 session_not_found on both nodes, for owner-only calls too', async () => {
  for (const node of ctx.nodes) {
    assert.deepEqual(await errorOf(await node.api('/api/sessions/nobody/qr')), [404, 'session_not_found']);
    assert.deepEqual(await errorOf(await node.api('/api/sessions/nobody/logout', { method: 'POST' })), [404, 'session_not_found']);
    const hook = await fetch(`${node.url}/hooks/nobody?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1`);
    assert.deepEqual(await errorOf(hook), [404, 'session_not_found']);
  }
});
