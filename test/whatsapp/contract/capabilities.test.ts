import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type StartedServer } from '../../support/server.js';
import { startOrigin, type Origin } from '../../support/origin.js';
import { makeJpeg } from '../../support/media-fixtures.js';

let server: StartedServer;
let origin: Origin;
before(async () => {
  [server, origin] = await Promise.all([startServer({ MEDIA_ALLOW_HOSTS: '127.0.0.1' }), startOrigin()]);
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id: 'web', driver: 'sandbox' } })).status, 201);
  assert.equal((await server.api('/api/sessions/web/sandbox/link', { method: 'POST', json: { phone: '+4915100000001' } })).status, 200);
});
after(() => Promise.all([server.close(), origin.close()]));

const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];

test('a session shows what its driver can do', async () => {
  const session = (await (await server.api('/api/sessions/web')).json()) as { capabilities: Record<string, unknown> };
  assert.deepEqual(session.capabilities.linking, ['qr', 'code']);
  assert.deepEqual(session.capabilities.content, ['text', 'media', 'contact', 'location']);
  assert.equal(session.capabilities.ownMessageIds, false);
  assert.equal(session.capabilities.inboundHttp, false);
});

test('a template to a WhatsApp Web session: 422 unsupported_by_driver, and its header image is never fetched', async () => {
  origin.put('banner.jpg', await makeJpeg({ seed: 12 }), { contentType: 'image/jpeg' });
  const template = {
    name: 'order_shipped',
    language: 'en_US',
    components: [{ type: 'header', parameters: [{ type: 'image', image: { url: `${origin.url}/banner.jpg` } }] }],
  };
  const send = await server.api('/api/sessions/web/messages', { method: 'POST', json: { to: '+4915100000002', template } });
  assert.deepEqual(await errorOf(send), [422, 'unsupported_by_driver']);
  const broadcast = await server.api('/api/sessions/web/broadcasts', {
    method: 'POST',
    json: { name: 'launch', message: { template }, recipients: [{ to: '+4915100000002' }] },
  });
  assert.deepEqual(await errorOf(broadcast), [422, 'unsupported_by_driver']);
  assert.equal(origin.requests.length, 0);
  const { items } = (await (await server.api('/api/sessions/web/messages')).json()) as { items: unknown[] };
  assert.deepEqual(items, []);
});

test('options to a driver that takes none: 400 naming the field; replacing them: 422; its hooks: 404', async () => {
  const create = await server.api('/api/sessions', {
    method: 'POST',
    json: { id: 'opts', driver: 'sandbox', options: { phoneNumberId: '1' } },
  });
  const body = (await create.json()) as { error: { code: string; details: { issues: { path: string }[] } } };
  assert.deepEqual([create.status, body.error.code, body.error.details.issues[0].path], [400, 'invalid_request', 'options']);
  assert.equal((await server.api('/api/sessions/opts')).status, 404);
  assert.deepEqual(await errorOf(await server.api('/api/sessions/web', { method: 'PATCH', json: { options: {} } })), [
    422,
    'unsupported_by_driver',
  ]);
  assert.deepEqual(await errorOf(await fetch(`${server.url}/hooks/web`, { method: 'POST', body: '{}' })), [404, 'not_found']);
  assert.deepEqual(await errorOf(await fetch(`${server.url}/hooks/nobody?hub.mode=subscribe`)), [404, 'session_not_found']);
});
