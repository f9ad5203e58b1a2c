import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { waitFor } from '../support/server.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import {
  createEndpoint,
  deliveries,
  endpoint,
  json,
  linkedSession,
  sendText,
  untilAll,
  WEBHOOK_TEST_ENV,
  serverWithReceiver,
} from './helpers.js';

const h = serverWithReceiver({ LOG_LEVEL: 'warn' });

const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];

test('SSRF: loopback, private and link-local URLs are refused without WEBHOOK_ALLOW_HOSTS, at creation and at each delivery', async () => {
  for (const url of [h.receiver.url, 'http://localhost:8080/x', 'http://10.0.0.7/x', 'http://169.254.169.254/latest', 'http://[::1]/x']) {
    assert.deepEqual(
      await errorOf(await h.server.api('/api/webhooks', { method: 'POST', json: { url, events: ['*'] } })),
      [400, 'webhook_url_refused'],
      url,
    );
  }
  await h.server.restart({ WEBHOOK_ALLOW_HOSTS: '127.0.0.1', WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_RETRY_MAX_MS: '100' });
  const hook = await createEndpoint(h.server, { url: h.receiver.url, events: ['session.state'] });
  // A PATCH to a refused URL is refused as well, and changes nothing.
  assert.deepEqual(
    await errorOf(await h.server.api(`/api/webhooks/${hook.id}`, { method: 'PATCH', json: { url: 'http://192.168.1.1/x' } })),
    [400, 'webhook_url_refused'],
  );
  assert.equal((await endpoint(h.server, hook.id)).url, h.receiver.url);

  // Allowed when it was created, refused at delivery once the operator takes loopback off the list.
  await h.server.restart({ WEBHOOK_ALLOW_HOSTS: '' });
  // The stopping process may have delivered its own session states; from the restart on, nothing reaches the receiver.
  const reached = h.receiver.requests.length;
  await h.server.api('/api/sessions', { method: 'POST', json: { id: 'ssrf', driver: 'sandbox' } });
  const refused = await waitFor('a refused attempt', async () =>
    (await deliveries(h.server, hook.id, 'pending')).find((d) => d.attempts > 0),
  );
  assert.equal(refused.lastError?.code, 'refused_ssrf');
  assert.match(refused.lastError?.message ?? '', /WEBHOOK_ALLOW_HOSTS/);
  assert.equal(h.receiver.requests.length, reached);
  assert.match(await (await h.server.api('/metrics')).text(), /hashsend_webhook_attempts_total\{outcome="refused_ssrf"\} [1-9]/);
  assert.equal((await h.server.api(`/api/webhooks/${hook.id}`, { method: 'DELETE' })).status, 204);
});

test('rotation: during the grace period each delivery carries both signatures, after it only the new one', async () => {
  await h.server.restart({ ...WEBHOOK_TEST_ENV, WEBHOOK_SECRET_GRACE_MS: '4000' });
  await linkedSession(h.server, 'rot');
  const hook = await createEndpoint(h.server, { url: h.receiver.url, events: ['message.sent'], sessionId: 'rot' });
  const rotated = await h.server.api(`/api/webhooks/${hook.id}/rotate-secret`, { method: 'POST' });
  assert.equal(rotated.status, 200);
  const { secret, previousSecretExpiresAt } = await json<{ secret: string; previousSecretExpiresAt: string }>(rotated);
  assert.notEqual(secret, hook.secret);
  assert.match(secret, /^whsec_/);

  const during = await sendText(h.server, 'rot', 'during the grace period');
  const first = await waitFor('the delivery during the grace period', async () =>
    h.receiver.accepted().find((r) => r.body.data.id === during),
  );
  const header = first.headers['x-hashsend-signature'] as string;
  assert.equal(header.match(/v1=/g)?.length, 2);
  for (const s of [secret, hook.secret]) assert.equal(verifyWebhookSignature({ payload: first.raw, header, secret: s }).ok, true);

  await waitFor('the grace period to end', async () => (Date.now() > Date.parse(previousSecretExpiresAt) ? true : undefined), 10_000);
  const later = await sendText(h.server, 'rot', 'after it');
  const second = await waitFor('the delivery after it', async () => h.receiver.accepted().find((r) => r.body.data.id === later));
  const after = second.headers['x-hashsend-signature'] as string;
  assert.equal(after.match(/v1=/g)?.length, 1);
  assert.equal(verifyWebhookSignature({ payload: second.raw, header: after, secret }).ok, true);
  assert.deepEqual(verifyWebhookSignature({ payload: second.raw, header: after, secret: hook.secret }), { ok: false, reason: 'mismatch' });
  assert.equal((await h.server.api(`/api/webhooks/${hook.id}`, { method: 'DELETE' })).status, 204);
});

test('an endpoint failing for WEBHOOK_DISABLE_AFTER_MS is disabled with a reason; its events wait, and re-enabling delivers them', async () => {
  await h.server.restart({ ...WEBHOOK_TEST_ENV, WEBHOOK_DISABLE_AFTER_MS: '400' });
  const failing = await startWebhookReceiver(() => 500);
  try {
    await linkedSession(h.server, 'dis');
    const hook = await createEndpoint(h.server, { url: failing.url, events: ['message.sent'], sessionId: 'dis' });
    const first = await sendText(h.server, 'dis', 'first');
    const disabled = await waitFor('the endpoint disabled', async () => {
      const e = await endpoint(h.server, hook.id);
      return e.enabled ? undefined : e;
    });
    assert.equal(disabled.disabledReason?.code, 'failing');
    assert.match(disabled.disabledReason?.message ?? '', /HTTP 500/);
    const [waiting] = await deliveries(h.server, hook.id);
    assert.equal(waiting.status, 'pending');

    // While disabled: new events are kept, none is attempted.
    const attempts = failing.requests.length;
    const second = await sendText(h.server, 'dis', 'second');
    await waitFor('the second event stored', async () => ((await endpoint(h.server, hook.id)).stats?.pending === 2 ? true : undefined));
    assert.equal(failing.requests.length, attempts);

    failing.answer = () => 200;
    const enabled = await h.server.api(`/api/webhooks/${hook.id}`, { method: 'PATCH', json: { enabled: true } });
    const body = await json<{ enabled: boolean; disabledReason?: unknown }>(enabled);
    assert.deepEqual([enabled.status, body.enabled, body.disabledReason], [200, true, undefined]);
    await untilAll(h.server, hook.id, 'delivered', 2);
    assert.deepEqual(
      failing.accepted().map((r) => r.body.data.id),
      [first, second],
    );
  } finally {
    await failing.close();
  }
});
