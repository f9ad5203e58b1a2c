import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openEventStream } from '../support/sse.js';
import { messageApi, type ApiMessage, type SandboxDelivery } from '../support/message-api.js';
import { waitFor } from '../support/server.js';
import { adopted, twoNodes, untilState } from './two-nodes.js';

// A lease that outlives its owner by 30 s: a session moving sooner was handed over, not taken after expiry.
const { ctx, ownerOf } = twoNodes({ CLUSTER_LEASE_TTL_MS: '30000' });
const SESSION = 'shop';

test('a session created and linked through the node that does not own it opens on its owner, and both nodes show it (state, SSE)', async () => {
  const { owner, other } = ownerOf(SESSION);
  const streams = await Promise.all(
    ctx.nodes.map((n) => openEventStream(`${n.url}/api/sessions/${SESSION}/events`, { authorization: `Bearer ${n.apiKey}` })),
  );
  // The stream of a session not created yet is 404: create first, then follow.
  for (const s of streams) await s.close();

  assert.equal((await other.api('/api/sessions', { method: 'POST', json: { id: SESSION, driver: 'sandbox' } })).status, 201);
  await untilState(owner, SESSION, 'qr');
  await untilState(other, SESSION, 'qr');
  // The QR the owner shows, from the other node too.
  const qr = (await (await other.api(`/api/sessions/${SESSION}/qr`, { headers: { accept: 'application/json' } })).json()) as {
    qr?: string;
  };
  assert.ok(qr.qr, JSON.stringify(qr));

  const follow = await Promise.all(
    ctx.nodes.map((n) => openEventStream(`${n.url}/api/sessions/${SESSION}/events`, { authorization: `Bearer ${n.apiKey}` })),
  );
  assert.deepEqual(
    follow.map((s) => s.status),
    [200, 200],
  );
  const linked = await other.api(`/api/sessions/${SESSION}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } });
  assert.equal(linked.status, 200);
  assert.equal(((await linked.json()) as { state: string }).state, 'connected');
  for (const s of follow) {
    const connected = await s.next((e) => e.event === 'state' && (e.data as { state: string }).state === 'connected', 10_000);
    assert.equal((connected.data as { me?: { phone: string } }).me?.phone, '4915100000001');
    await s.close();
  }
  for (const n of ctx.nodes)
    assert.equal(((await (await n.api(`/api/sessions/${SESSION}`)).json()) as { state: string }).state, 'connected');
  // The owner opened it from the shared folder; the other node never did.
  assert.equal(adopted(owner, SESSION), 1);
  assert.equal(adopted(other, SESSION), 0);
});

test('1,000 sends split across both nodes are each delivered exactly once, in order per recipient; any node reads any message', async () => {
  const { owner, other } = ownerOf(SESSION);
  const apis = ctx.nodes.map(messageApi);
  const follow = await openEventStream(`${other.url}/api/sessions/${SESSION}/events`, { authorization: `Bearer ${other.apiKey}` });
  const recipients = Array.from({ length: 10 }, (_, r) => `+4915200000${String(r).padStart(3, '0')}`);
  const ids = new Map<string, string>();
  // Each recipient's messages one after another (their order is the order they were accepted), alternating nodes.
  await Promise.all(
    recipients.map(async (to, r) => {
      for (let k = 0; k < 100; k++) {
        const node = ctx.nodes[(r + k) % 2]!;
        const res = await node.api(`/api/sessions/${SESSION}/messages`, { method: 'POST', json: { to, text: `${r}:${k}` } });
        assert.equal(res.status, 202);
        ids.set(`${r}:${k}`, ((await res.json()) as { id: string }).id);
      }
    }),
  );
  assert.equal(ids.size, 1000);

  const got = await waitFor(
    '1,000 deliveries',
    async () => {
      const items = await apis[1]!.deliveries(SESSION);
      return items.length >= 1000 ? items : undefined;
    },
    120_000,
  );
  assert.equal(got.length, 1000);
  assert.deepEqual(
    got.filter((d) => d.sendAttempts !== 1),
    [],
  );
  const byText = new Map<string, SandboxDelivery>(got.map((d) => [d.text!, d]));
  assert.equal(byText.size, 1000);
  // Deliveries are listed in the order they arrived: per recipient, the order the messages were accepted.
  for (let r = 0; r < 10; r++) {
    const seen = got.filter((d) => d.text!.startsWith(`${r}:`)).map((d) => Number(d.text!.split(':')[1]));
    assert.deepEqual(
      seen,
      Array.from({ length: 100 }, (_, k) => k),
    );
  }
  // Any message from either node, the same record.
  for (const key of ['0:0', '3:51', '9:99']) {
    const id = ids.get(key)!;
    const [a, b] = await Promise.all(
      apis.map((api) => api.until(id, (m: ApiMessage) => m.status === 'delivered' || m.status === 'read', key)),
    );
    assert.equal(a.waMessageId, b.waMessageId);
    assert.equal(a.waMessageId, byText.get(key)?.messageId);
  }
  // The owner's receipts reach a client following the session on the other node.
  const receipt = await follow.next(
    (e) => e.event === 'receipt' && (e.data as { waMessageId: string }).waMessageId === byText.get('9:99')?.messageId,
    10_000,
  );
  assert.ok(receipt);
  await follow.close();
  assert.equal(adopted(owner, SESSION), 1);
});

test('a session deleted through the node that does not own it is gone on both, and its id can be used again', async () => {
  const id = 'gone';
  const { owner, other } = ownerOf(id);
  assert.equal((await other.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);
  await untilState(owner, id, 'qr');
  await untilState(other, id, 'qr');
  assert.equal((await other.api(`/api/sessions/${id}`, { method: 'DELETE' })).status, 204);
  for (const n of ctx.nodes) {
    const res = await n.api(`/api/sessions/${id}`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'session_not_found');
  }
  assert.equal((await owner.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);
  // Open again on its owner (which may still have held the old one's lease): both show its QR.
  await untilState(owner, id, 'qr');
  await untilState(other, id, 'qr');
  assert.equal(adopted(other, id), 0);
});

test('a node stopped gracefully hands its sessions over at once: the other node sends for them well before their lease could have run out', async () => {
  const { owner, other } = ownerOf(SESSION);
  const api = messageApi(other);
  // The lease would outlive the owner by 30 s, longer than this test waits: only a handover moves it in time.
  await owner.kill('SIGTERM');
  assert.match(owner.output(), /"why":"node stopping"/);
  const id = await api.send(SESSION, 'after the handover');
  const m = await api.until(id, (x) => x.status === 'delivered' || x.status === 'read', 'delivered by the new owner', 20_000);
  assert.ok(m.waMessageId);
  assert.equal(adopted(other, SESSION), 1);
  await untilState(other, SESSION, 'connected');
});
