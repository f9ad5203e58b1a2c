import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { hostileRequests, type OpenApiDocument } from '../support/hostile-requests.js';
import { mapLimit, sendRaw } from '../support/raw-http.js';
import { makeJpeg } from '../support/media-fixtures.js';

let server: StartedServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
const linkedSession = async (id: string) => {
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);
  assert.equal((await server.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000009' } })).status, 200);
};
const sendText = async (session: string, text: string) => {
  const res = await server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: { to: '+4915100000010', text } });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
};

describe('bad input that used to be a 500', () => {
  test('multipart without a boundary, or with an empty one: 400 invalid_request', async () => {
    for (const type of ['multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; boundary="abc']) {
      const res = await server.api('/api/media', { method: 'POST', headers: { 'content-type': type }, body: 'GIF89a' });
      assert.deepEqual([res.status, await errorCode(res)], [400, 'invalid_request'], type);
    }
  });

  test('JSON nested 3,000 deep with an Idempotency-Key: 400 invalid_request; 64 levels of a plain body are still read', async () => {
    await linkedSession('deep');
    for (const body of ['['.repeat(3000) + ']'.repeat(3000), '{"a":'.repeat(3000) + '1' + '}'.repeat(3000)]) {
      const res = await server.api('/api/sessions/deep/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `deep-${body.length}` },
        body,
      });
      assert.deepEqual([res.status, await errorCode(res)], [400, 'invalid_request']);
    }
    // Within the limit the body reaches validation, which refuses the shape, not the depth.
    const shallow = await server.api('/api/sessions/deep/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'shallow' },
      body: `{"to":"+4915100000010","text":${'['.repeat(60)}${']'.repeat(60)}}`,
    });
    assert.equal(shallow.status, 400);
    assert.match(((await shallow.json()) as { error: { message: string } }).error.message, /text/);
    assert.doesNotMatch(server.output(), /unhandled error/);
  });
});

test('1,000+ hostile requests made from /openapi.json: no 5xx, no crash, and a text still goes out', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument;
  await linkedSession('robust');
  const upload = await server.api('/api/media', {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: await makeJpeg({ seed: 77 }),
  });
  assert.equal(upload.status, 201);
  const { sha256 } = (await upload.json()) as { sha256: string };
  const messageId = await sendText('robust', 'before');

  const cases = hostileRequests(doc, {
    auth: { authorization: `Bearer ${server.apiKey}` },
    // What exists, so the odd input reaches the handlers behind the lookups; never for requests that destroy it.
    pathValue: (route, param, method) =>
      method === 'DELETE' || route.endsWith('/logout')
        ? undefined
        : param === 'sha256'
          ? sha256
          : route.startsWith('/api/messages/')
            ? messageId
            : 'robust',
  });
  const operations = Object.values(doc.paths).flatMap((ops) => Object.keys(ops)).length;
  assert.ok(cases.length >= 1000, `only ${cases.length} cases`);
  const covered = new Set(cases.map((c) => c.label.split(':')[0]));
  assert.equal(covered.size, operations, 'every operation of the document has cases');

  const answers = await mapLimit(cases, 8, (c) => sendRaw(server.url, c));
  const serverErrors = answers.flatMap((a, i) => (a.status >= 500 ? [`${a.status} ${cases[i].label}: ${a.body.slice(0, 200)}`] : []));
  assert.deepEqual(serverErrors, []);
  const unanswered = answers.flatMap((a, i) => (a.status === 0 ? [`${cases[i].label}: ${a.error}`] : []));
  assert.deepEqual(unanswered, []);

  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  assert.doesNotMatch(server.output(), /unhandled|uncaught/i);

  await linkedSession('after');
  const id = await sendText('after', 'still sending');
  // Delivered as the message's own record says, and once: the sandbox counts what arrived by message id.
  await waitFor('the text delivered', async () => {
    const { status } = (await (await server.api(`/api/messages/${id}`)).json()) as { status: string };
    return ['delivered', 'read'].includes(status) ? status : undefined;
  });
  const { items } = (await (await server.api('/api/sessions/after/sandbox/deliveries')).json()) as {
    items: { messageId: string; text?: string; sendAttempts: number }[];
  };
  assert.deepEqual(
    items.map((d) => [d.text, d.sendAttempts]),
    [['still sending', 1]],
  );
});
