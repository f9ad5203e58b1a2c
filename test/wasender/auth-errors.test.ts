import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type StartedServer } from '../support/server.js';
import { hostileRequests, type OpenApiDocument } from '../support/hostile-requests.js';
import { mapLimit, sendRaw } from '../support/raw-http.js';
import { expectError, wasenderClient, type WaSession } from './support.js';

const EXTRA_TOKEN = 'pat-extra-0123456789abcdef';
let server: StartedServer;
let wa: ReturnType<typeof wasenderClient>;
let session: WaSession;
before(async () => {
  server = await startServer({ WASENDER_ACCESS_TOKENS: `other-token-1, ${EXTRA_TOKEN}`, AUTH_MAX_FAILURES: '100000' });
  wa = wasenderClient(server);
  session = await wa.create();
});
after(() => server.close());

describe('two kinds of bearer token', () => {
  test('/whatsapp-sessions: none or an unknown token is 401, a session key 403; the API key and WASENDER_ACCESS_TOKENS pass', async () => {
    await expectError(await wa.call('/whatsapp-sessions', { token: null }), 401, 'unauthorized');
    await expectError(await wa.call('/whatsapp-sessions', { token: 'nope' }), 401, 'unauthorized');
    await expectError(
      await wa.call('/whatsapp-sessions', { token: null, headers: { authorization: `Basic ${btoa('a:b')}` } }),
      401,
      'unauthorized',
    );
    await expectError(await wa.call('/whatsapp-sessions', { token: session.api_key }), 403, 'wrong_token_kind');
    await expectError(
      await wa.call(`/whatsapp-sessions/${session.id}/connect`, { method: 'POST', token: session.api_key }),
      403,
      'wrong_token_kind',
    );
    // hashsend's X-Api-Key is not WASenderApi's: only the bearer token counts here.
    await expectError(await wa.call('/whatsapp-sessions', { token: null, headers: { 'x-api-key': server.apiKey } }), 401, 'unauthorized');
    for (const token of [server.apiKey, EXTRA_TOKEN, 'other-token-1'])
      assert.equal((await wa.call('/whatsapp-sessions', { token })).status, 200, token);
  });

  test('session-key routes: none or an unknown key is 401, a personal access token 403; the key selects its session', async () => {
    await expectError(await wa.call('/status', { token: null }), 401, 'unauthorized');
    await expectError(await wa.call('/status', { token: 'f'.repeat(64) }), 401, 'unauthorized');
    await expectError(await wa.call('/status', { token: server.apiKey }), 403, 'wrong_token_kind');
    await expectError(await wa.call('/status', { token: EXTRA_TOKEN }), 403, 'wrong_token_kind');
    assert.deepEqual(await (await wa.call('/status', { token: session.api_key })).json(), { status: 'disconnected' });
  });

  test("a session key opens nothing on hashsend's own /api", async () => {
    const res = await fetch(`${server.url}/api/sessions`, { headers: { authorization: `Bearer ${session.api_key}` } });
    assert.equal(res.status, 403);
  });
});

describe('errors in its shape, never hashsend’s, never HTML', () => {
  test('malformed JSON is 400, a huge body 413, an unknown route 404 (with or without a token)', async () => {
    await expectError(
      await wa.call('/whatsapp-sessions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' }),
      400,
      'invalid_json',
    );
    await expectError(await wa.call('/whatsapp-sessions', { method: 'POST', json: { name: 'x'.repeat(2_000_000) } }), 413, 'too_large');
    await expectError(await wa.call('/no-such-route'), 404, 'not_found');
    await expectError(await wa.call('/no-such-route', { token: null }), 404, 'not_found');
    await expectError(await wa.call(`/whatsapp-sessions/${session.id}/nope`), 404, 'not_found');
    await expectError(await fetch(`${server.url}/wasender/api`), 404, 'not_found');
  });

  test('routes WASenderApi has and hashsend does not: 501 naming the route, after the key is checked', async () => {
    const routes: [string, string][] = [
      ['GET', '/groups'],
      ['POST', '/groups'],
      ['GET', '/groups/123@g.us/metadata'],
      ['GET', '/groups/123@g.us/participants'],
      ['POST', '/groups/123@g.us/participants/add'],
      ['POST', '/groups/123@g.us/participants/remove'],
      ['PUT', '/groups/123@g.us/settings'],
      ['POST', '/groups/123@g.us/leave'],
      ['GET', '/groups/123@g.us/invite-link'],
      ['GET', '/groups/123@g.us/picture'],
      ['GET', '/groups/invite/abc'],
      ['POST', '/groups/invite/accept'],
      ['GET', '/contacts'],
      ['GET', '/contacts/4915100000001'],
      ['GET', '/contacts/4915100000001/picture'],
      ['POST', '/contacts/4915100000001/block'],
      ['POST', '/contacts/4915100000001/unblock'],
      ['PUT', '/messages/12'],
      ['DELETE', '/messages/12'],
      ['GET', '/channels'],
      ['POST', '/decrypt-media'],
      ['GET', '/user'],
    ];
    for (const [method, route] of routes) {
      const body = await expectError(
        await wa.call(route, { method, token: session.api_key, ...(method === 'GET' ? {} : { json: {} }) }),
        501,
        'not_implemented',
      );
      const template = route.split('/')[1];
      assert.match(body.message, new RegExp(`^${method} /${template}`), route);
      await expectError(await wa.call(route, { method, token: null }), 401, 'unauthorized');
    }
  });

  test('hostile requests to every route: no 5xx, every refusal JSON in its shape, and the session still answers', async () => {
    const id = { name: 'id', in: 'path' as const, schema: { type: 'string' } };
    const sessionBody = {
      requestBody: {
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['name', 'phone_number', 'account_protection', 'log_messages', 'webhook_url', 'webhook_enabled', 'webhook_events'],
              properties: {
                name: { type: 'string', example: 'Shop' },
                phone_number: { type: 'string', example: '+4915123456789' },
                account_protection: { type: 'boolean' },
                log_messages: { type: 'boolean' },
                webhook_url: { type: 'string', example: 'https://hooks.example.com/x' },
                webhook_enabled: { type: 'boolean' },
                webhook_events: { type: 'array', items: { type: 'string', example: 'messages.upsert' } },
              },
            },
          },
        },
      },
    };
    const connectBody = {
      requestBody: {
        content: {
          'application/json': { schema: { type: 'object', required: ['qr_as_image'], properties: { qr_as_image: { type: 'boolean' } } } },
        },
      },
    };
    const byToken: OpenApiDocument = {
      paths: {
        '/wasender/api/whatsapp-sessions': { get: {}, post: sessionBody },
        '/wasender/api/whatsapp-sessions/{id}': {
          get: { parameters: [id] },
          put: { parameters: [id], ...sessionBody },
          patch: { parameters: [id], ...sessionBody },
          delete: { parameters: [id] },
        },
        '/wasender/api/whatsapp-sessions/{id}/connect': { post: { parameters: [id], ...connectBody } },
        '/wasender/api/whatsapp-sessions/{id}/qrcode': { get: { parameters: [id] } },
        '/wasender/api/whatsapp-sessions/{id}/qr-code': { get: { parameters: [id] } },
        '/wasender/api/whatsapp-sessions/{id}/disconnect': { post: { parameters: [id] } },
        '/wasender/api/whatsapp-sessions/{id}/regenerate-key': { post: { parameters: [id] } },
        '/wasender/api/whatsapp-sessions/{id}/status': { get: { parameters: [id] } },
      },
    };
    const byKey: OpenApiDocument = {
      paths: {
        '/wasender/api/status': { get: {} },
        '/wasender/api/sessions/{id}/status': { get: { parameters: [id] } },
        '/wasender/api/groups': { get: {}, post: sessionBody },
      },
    };
    const target = await wa.create({ name: 'Target', phone_number: '+4915100000077', account_protection: false, log_messages: false });
    const keep = (route: string, method: string) =>
      // Requests that would remove or unlink the session get an id that does not exist.
      method === 'DELETE' || /disconnect|regenerate/.test(route) ? '987654' : String(target.id);
    const cases = [
      ...hostileRequests(byToken, {
        auth: { authorization: `Bearer ${server.apiKey}` },
        pathValue: (route, _p, method) => keep(route, method),
      }),
      ...hostileRequests(byKey, {
        auth: { authorization: `Bearer ${target.api_key}` },
        pathValue: (route, _p, method) => keep(route, method),
      }),
    ];
    assert.ok(cases.length >= 500, `only ${cases.length} cases`);
    const answers = await mapLimit(cases, 8, (c) => sendRaw(server.url, c));
    const bad = answers.flatMap((a, i) => {
      const label = `${a.status} ${cases[i].label}: ${a.body.slice(0, 160)}`;
      if (a.status === 0 || (a.status >= 500 && a.status !== 501)) return [label];
      if (a.status < 400) return [];
      if (!/application\/json/.test(a.contentType ?? '')) return [`not JSON: ${label}`];
      const body = JSON.parse(a.body) as { success?: unknown; message?: unknown; error?: unknown };
      return body.success === false && typeof body.message === 'string' && body.error === undefined ? [] : [`not its shape: ${label}`];
    });
    assert.deepEqual(bad, []);
    assert.doesNotMatch(server.output(), /unhandled error/);
    const still = await wa.call('/status', { token: target.api_key });
    assert.equal(still.status, 200);
    assert.ok(['disconnected', 'need_scan'].includes(((await still.json()) as { status: string }).status));
  });
});

test('guessing keys is throttled: 429 with retry_after past AUTH_MAX_FAILURES, shared by both kinds; the right key still passes', async () => {
  const limited = await startServer({ AUTH_MAX_FAILURES: '3', AUTH_FAILURE_WINDOW_MS: '600000' });
  try {
    const client = wasenderClient(limited);
    const own = await client.create();
    await expectError(await client.call('/status', { token: 'guess-1' }), 401, 'unauthorized');
    await expectError(await client.call('/whatsapp-sessions', { token: 'guess-2' }), 401, 'unauthorized');
    await expectError(await client.call('/status', { token: limited.apiKey }), 403, 'wrong_token_kind');
    for (const [route, token] of [
      ['/status', 'guess-4'],
      ['/whatsapp-sessions', 'guess-5'],
    ]) {
      const res = await client.call(route, { token });
      const body = await expectError(res, 429, 'rate_limited');
      assert.ok(Number(body.retry_after) > 0);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    }
    assert.deepEqual(await (await client.call('/status', { token: own.api_key })).json(), { status: 'disconnected' });
    assert.equal((await client.call('/whatsapp-sessions')).status, 200);
  } finally {
    await limited.close();
  }
});
