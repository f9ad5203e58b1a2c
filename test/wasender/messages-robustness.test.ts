import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { presenceBody, sendMessageBody } from '../../src/http/wasender/messages.js';
import { uploadBody } from '../../src/http/wasender/upload.js';
import { startServer, type StartedServer } from '../support/server.js';
import { hostileRequests, type OpenApiDocument } from '../support/hostile-requests.js';
import { mapLimit, sendRaw } from '../support/raw-http.js';
import { makePng } from '../support/media-fixtures.js';
import { answer, linkedSession, sha, wasender, type LinkedSession } from './messages-rig.js';

/** Hostile requests on WASenderApi's message routes: never a 500, always its error shape, and sending still works. */
let server: StartedServer;
let shop: LinkedSession;
before(async () => {
  server = await startServer();
  shop = await linkedSession(server);
});
after(() => server.close());

const jsonBody = (schema: z.ZodType, example: unknown) => ({
  content: { 'application/json': { schema: { ...(z.toJSONSchema(schema, { io: 'input' }) as object), example } } },
});
const pathParam = (name: string) => ({ name, in: 'path' as const, schema: { type: 'string' } });

/** The routes of this surface's messages, as an OpenAPI document the hostile generator reads. */
const doc = (): OpenApiDocument => ({
  paths: {
    '/wasender/api/send-message': { post: { requestBody: jsonBody(sendMessageBody, { to: '+4915123456789', text: 'hi' }) } },
    '/wasender/api/messages/{msgId}/info': { get: { parameters: [pathParam('msgId')] } },
    '/wasender/api/on-whatsapp/{phone}': { get: { parameters: [pathParam('phone')] } },
    '/wasender/api/send-presence-update': {
      post: { requestBody: jsonBody(presenceBody, { jid: '+4915123456789', type: 'composing' }) },
    },
    '/wasender/api/upload': {
      post: {
        requestBody: {
          content: {
            ...jsonBody(uploadBody, { base64: Buffer.from('GIF89a').toString('base64') }).content,
            'multipart/form-data': { schema: { type: 'object' } },
            'application/octet-stream': { schema: { type: 'string' } },
          },
        },
      },
    },
    '/wasender/api/media/{file}': { get: { parameters: [pathParam('file')] } },
  },
});

test('hundreds of hostile requests on the message routes: no 5xx, every refusal in its shape, a text still goes out', async () => {
  const call = wasender(server);
  const png = await makePng({ seed: 61 });
  const uploaded = await answer(await call(shop.apiKey, '/upload', { method: 'POST', json: { base64: png.toString('base64') } }));
  assert.equal(uploaded.sha256, sha(png));
  const sent = (await answer(await call(shop.apiKey, '/send-message', { method: 'POST', json: { to: '+4915123456789', text: 'before' } })))
    .data as { msgId: number };

  const cases = hostileRequests(doc(), {
    auth: { authorization: `Bearer ${shop.apiKey}` },
    pathValue: (_route, param) =>
      param === 'msgId' ? String(sent.msgId) : param === 'phone' ? '+4915123456789' : param === 'file' ? `${sha(png)}.png` : undefined,
  });
  assert.ok(cases.length >= 400, `only ${cases.length} cases`);
  const answers = await mapLimit(cases, 8, (c) => sendRaw(server.url, c));
  const serverErrors = answers.flatMap((a, i) =>
    a.status >= 500 && a.status !== 501 ? [`${a.status} ${cases[i].label}: ${a.body.slice(0, 200)}`] : [],
  );
  assert.deepEqual(serverErrors, []);
  const unanswered = answers.flatMap((a, i) => (a.status === 0 ? [`${cases[i].label}: ${a.error}`] : []));
  assert.deepEqual(unanswered, []);
  // Refusals are WASenderApi's JSON, never hashsend's envelope or an HTML page.
  const foreign = answers.flatMap((a, i) => {
    if (a.status < 400 || a.status === 416 || !a.body) return [];
    try {
      const body = JSON.parse(a.body) as { success?: unknown; message?: unknown };
      return body.success === false && typeof body.message === 'string' ? [] : [`${a.status} ${cases[i].label}: ${a.body.slice(0, 120)}`];
    } catch {
      return [`${a.status} ${cases[i].label}: not JSON: ${a.body.slice(0, 120)}`];
    }
  });
  assert.deepEqual(foreign, []);
  assert.doesNotMatch(server.output(), /unhandled|uncaught/i);

  const after = await call(shop.apiKey, '/send-message', { method: 'POST', json: { to: '+4915123456789', text: 'still sending' } });
  assert.equal(after.status, 200);
});
