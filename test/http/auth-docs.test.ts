import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type StartedServer } from '../support/server.js';

let server: StartedServer;
before(async () => {
  server = await startServer({ AUTH_MAX_FAILURES: '4' });
});
after(() => server.close());

const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
const WRONG = 'wrong-key-must-not-be-logged-7f3a';

describe('auth', () => {
  test('Bearer and X-Api-Key both work', async () => {
    assert.equal((await fetch(`${server.url}/api/sessions`, { headers: { authorization: `Bearer ${server.apiKey}` } })).status, 200);
    assert.equal((await fetch(`${server.url}/api/sessions`, { headers: { 'x-api-key': server.apiKey } })).status, 200);
  });

  test('no key 401, wrong key 403, then 429 after repeated failures; keys never reach the log', async () => {
    const none = await fetch(`${server.url}/api/sessions`, { method: 'POST' });
    assert.deepEqual([none.status, await errorCode(none)], [401, 'unauthorized']);
    const wrong = await fetch(`${server.url}/api/sessions`, { headers: { authorization: `Bearer ${WRONG}` } });
    assert.deepEqual([wrong.status, await errorCode(wrong)], [403, 'forbidden']);
    const wrongHeader = await fetch(`${server.url}/api/messages/x`, { headers: { 'x-api-key': WRONG } });
    assert.deepEqual([wrongHeader.status, await errorCode(wrongHeader)], [403, 'forbidden']);
    await fetch(`${server.url}/api/sessions`, { headers: { 'x-api-key': WRONG } });
    const limited = await fetch(`${server.url}/api/sessions`, { headers: { 'x-api-key': WRONG } });
    assert.deepEqual([limited.status, await errorCode(limited)], [429, 'rate_limited']);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    const rightKeyStillWorks = await fetch(`${server.url}/api/sessions`, { headers: { 'x-api-key': server.apiKey } });
    assert.equal(rightKeyStillWorks.status, 200, 'a guesser on the same address does not lock the real key out');

    const log = server.output();
    assert.match(log, /"statusCode":403/, 'the refused requests are logged');
    assert.ok(!log.includes(WRONG), 'a wrong key is not in the log');
    assert.ok(!log.includes(server.apiKey), 'the real key is not in the log');
  });
});

describe('docs', () => {
  test('/openapi.json without a key: every route, with examples', async () => {
    const res = await fetch(`${server.url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { example?: unknown }> };
    };
    assert.equal(doc.openapi, '3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    for (const route of [
      'POST /api/sessions',
      'GET /api/sessions',
      'GET /api/sessions/{id}',
      'GET /api/sessions/{id}/qr',
      'POST /api/sessions/{id}/pairing-code',
      'POST /api/sessions/{id}/logout',
      'DELETE /api/sessions/{id}',
      'GET /api/sessions/{id}/events',
      'POST /api/sessions/{id}/messages',
      'GET /api/messages/{id}',
      'GET /api/sessions/{id}/messages',
      'POST /api/sessions/{id}/sandbox/link',
      'GET /api/sessions/{id}/sandbox/deliveries',
      'POST /api/sessions/{id}/sandbox/failures',
      'POST /api/media',
      'POST /api/media/check',
      'GET /api/media/{sha256}',
      'GET /api/media/{sha256}/content',
      'DELETE /api/media/{sha256}',
    ]) {
      assert.ok(routes.includes(route), `${route} is documented`);
    }
    for (const name of [
      'Session',
      'TextMessage',
      'MediaMessage',
      'MediaRef',
      'Message',
      'Accepted',
      'Error',
      'MediaRecord',
      'MediaUrlRequest',
    ]) {
      assert.ok(doc.components.schemas[name]?.example !== undefined, `${name} has an example`);
    }
    assert.ok(doc.paths['/api/sessions/{id}/messages'].post.responses['401'], 'auth errors are documented');
    const refusesWhileStopping = (r: { description?: string } | undefined) => /`shutting_down`/.test(r?.description ?? '');
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const expected = p.startsWith('/api/') && method !== 'get';
        const got = refusesWhileStopping(operation.responses['503'] as { description?: string } | undefined);
        assert.equal(got, expected, `${method.toUpperCase()} ${p}: 503 shutting_down ${expected ? 'documented' : 'not claimed'}`);
      }
    }
    assert.match(
      (doc.paths['/api/sessions/{id}/messages'].post.responses['503'] as { description: string }).description,
      /`store_unavailable`, `shutting_down`/,
      "added beside the route's own 503 codes",
    );
  });

  test('/docs without a key: a page that lists the routes', async () => {
    const res = await fetch(`${server.url}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<h1>hashsend API/);
    assert.match(html, /POST<\/span> <code>\/api\/sessions\/\{id\}\/messages<\/code>/);
  });
});
