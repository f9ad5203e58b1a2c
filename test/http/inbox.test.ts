import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { expectError, sha } from '../support/media-api.js';
import { makeJpeg, makePdf } from '../support/media-fixtures.js';

let server: StartedServer;
const linked = async (id: string) => {
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);
  assert.equal((await server.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } })).status, 200);
};
before(async () => {
  server = await startServer();
  await linked('shop');
});
after(() => server.close());

interface Inbound {
  id: string;
  sessionId: string;
  waMessageId: string;
  chat: string;
  from: string;
  pushName?: string;
  timestamp: string;
  receivedAt: string;
  replyTo?: string;
  content: Record<string, unknown>;
  media?: { sha256: string; url: string };
}
interface Page {
  items: Inbound[];
  nextCursor: string | null;
}

const CUSTOMER = '4915100000002@s.whatsapp.net';
const arrive = async (body: unknown, session = 'shop') => {
  const res = await server.api(`/api/sessions/${session}/sandbox/inbound`, { method: 'POST', json: body });
  assert.equal(res.status, 202, await res.clone().text());
  return (await res.json()) as { waMessageId: string; chat: string; from: string; timestamp: string };
};
const page = async (session: string, query = '') => {
  const res = await server.api(`/api/sessions/${session}/inbox${query}`);
  assert.equal(res.status, 200);
  return (await res.json()) as Page;
};
/** The inbox stores what arrives just after the 202: wait (bounded) until it lists `count` messages. */
const inboxOf = (session: string, count: number) =>
  waitFor(`${count} inbound messages in ${session}`, async () => {
    const { items } = await page(session, '?limit=100');
    return items.length >= count ? items : undefined;
  });

describe('inbox', () => {
  test('text, media (uploaded, or sent along), a reply and a reaction arrive; the inbox lists them newest first, media linked by hash', async () => {
    const jpeg = await makeJpeg({ seed: 31 });
    const upload = await server.api('/api/media', {
      method: 'POST',
      body: new Uint8Array(jpeg),
      headers: { 'content-type': 'image/jpeg' },
    });
    assert.equal(upload.status, 201);
    const pdf = makePdf(31);

    const text = await arrive({ from: '+4915100000002', text: 'Where is my order?', pushName: 'Ada' });
    const photo = await arrive({ from: '+4915100000002', media: { sha256: sha(jpeg) }, caption: 'It arrived broken' });
    const invoice = await arrive({
      from: '+4915100000002',
      media: { base64: pdf.toString('base64'), mimetype: 'application/pdf' },
      filename: 'invoice.pdf',
    });
    const reply = await arrive({ from: '+4915100000002', text: 'This one', replyTo: photo.waMessageId });
    const reaction = await arrive({ from: '+4915100000002', reaction: { messageId: '3EB0A1B2C3D4E5F60718', emoji: '👍' } });
    assert.deepEqual([text.chat, text.from], [CUSTOMER, CUSTOMER]);
    assert.equal(new Set([text, photo, invoice, reply, reaction].map((m) => m.waMessageId)).size, 5);

    const items = await inboxOf('shop', 5);
    assert.deepEqual(
      items.map((m) => m.waMessageId),
      [reaction, reply, invoice, photo, text].map((m) => m.waMessageId),
    );
    const [r, q, i, p, t] = items;
    assert.deepEqual(
      [t.sessionId, t.chat, t.from, t.pushName, t.content],
      ['shop', CUSTOMER, CUSTOMER, 'Ada', { type: 'text', text: 'Where is my order?' }],
    );
    assert.match(t.id, /^in_/);
    assert.ok(Date.parse(t.receivedAt) >= Date.parse(t.timestamp));
    assert.deepEqual(p.content, {
      type: 'media',
      as: 'image',
      sha256: sha(jpeg),
      mimetype: 'image/jpeg',
      size: jpeg.length,
      caption: 'It arrived broken',
    });
    assert.deepEqual(i.content, {
      type: 'media',
      as: 'document',
      sha256: sha(pdf),
      mimetype: 'application/pdf',
      size: pdf.length,
      filename: 'invoice.pdf',
    });
    assert.deepEqual([q.content, q.replyTo], [{ type: 'text', text: 'This one' }, photo.waMessageId]);
    assert.deepEqual(r.content, { type: 'reaction', messageId: '3EB0A1B2C3D4E5F60718', emoji: '👍' });
    assert.equal(t.media, undefined);

    for (const [item, bytes] of [
      [p, jpeg],
      [i, pdf],
    ] as const) {
      assert.deepEqual(item.media, { sha256: sha(bytes), url: `/api/media/${sha(bytes)}/content` });
      const content = await server.api(item.media!.url);
      assert.equal(content.status, 200);
      assert.equal(sha(Buffer.from(await content.arrayBuffer())), sha(bytes));
      // Behind the key, as every /api route.
      assert.equal((await fetch(`${server.url}${item.media!.url}`)).status, 401);
    }
  });

  test('media that is no media we could send (a "video" of random bytes) is kept and served, as an octet-stream download', async () => {
    await linked('odd');
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
    await arrive({ from: '+4915100000004', media: { base64: bytes.toString('base64'), mimetype: 'video/mp4' } }, 'odd');
    const [item] = await inboxOf('odd', 1);
    assert.deepEqual(item.content, { type: 'media', as: 'video', sha256: sha(bytes), mimetype: 'video/mp4', size: bytes.length });
    const content = await server.api(item.media!.url);
    assert.deepEqual(
      [content.status, content.headers.get('content-type'), content.headers.get('content-disposition')],
      [200, 'application/octet-stream', 'attachment'],
    );
    assert.equal(sha(Buffer.from(await content.arrayBuffer())), sha(bytes));
  });

  test('pages newest first: nextCursor goes back as `before`, null on the last page', async () => {
    await linked('paged');
    for (let n = 0; n < 7; n++) await arrive({ from: '+4915100000003', text: `m${n}` }, 'paged');
    await inboxOf('paged', 7);
    const texts: unknown[] = [];
    const cursors: Array<string | null> = [];
    let query = '?limit=3';
    for (;;) {
      const { items, nextCursor } = await page('paged', query);
      texts.push(...items.map((m) => m.content.text));
      cursors.push(nextCursor);
      if (nextCursor === null) break;
      query = `?limit=3&before=${nextCursor}`;
    }
    assert.deepEqual(texts, ['m6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
    assert.deepEqual(cursors, ['4', '1', null]);
    assert.equal((await page('paged')).items.length, 7, 'the default limit holds them all');
  });

  test('unknown or deleted session: 404 session_not_found; a session not linked: 503 session_not_connected', async () => {
    await expectError(await server.api('/api/sessions/nope/inbox'), 404, 'session_not_found');
    await expectError(
      await server.api('/api/sessions/nope/sandbox/inbound', { method: 'POST', json: { from: '+4915100000002', text: 'hi' } }),
      404,
      'session_not_found',
    );
    await linked('gone');
    await arrive({ from: '+4915100000002', text: 'before deletion' }, 'gone');
    await inboxOf('gone', 1);
    assert.equal((await server.api('/api/sessions/gone', { method: 'DELETE' })).status, 204);
    await expectError(await server.api('/api/sessions/gone/inbox'), 404, 'session_not_found');

    assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id: 'unlinked', driver: 'sandbox' } })).status, 201);
    await expectError(
      await server.api('/api/sessions/unlinked/sandbox/inbound', { method: 'POST', json: { from: '+4915100000002', text: 'hi' } }),
      503,
      'session_not_connected',
    );
  });

  test('bad queries and bodies: 400 invalid_request; media named by an unknown hash: 404 media_not_found', async () => {
    for (const query of ['?limit=0', '?limit=101', '?limit=x', '?before=x', '?before=-1', '?before=1.5', `?before=${'9'.repeat(40)}`])
      await expectError(await server.api(`/api/sessions/shop/inbox${query}`), 400, 'invalid_request');
    const from = '+4915100000002';
    const bad: unknown[] = [
      {},
      { text: 'no sender' },
      { from: '12', text: 'short number' },
      { from: 'Ada', text: 'a name' },
      { from, text: '' },
      { from, text: 'hi', to: 'someone' },
      { from, text: 42 },
      { from, media: {} },
      { from, media: { sha256: 'abc' } },
      { from, media: { sha256: sha(Buffer.from('x')), url: 'https://example.com/x' } },
      { from, media: { base64: 'not base64!', mimetype: 'image/jpeg' } },
      { from, media: { base64: 'AAAA' } },
      { from, media: { base64: 'AAAA', mimetype: 'jpeg' } },
      { from, media: { base64: 'AAAA', mimetype: 'image/jpeg' }, as: 'hologram' },
      { from, reaction: { emoji: '👍' } },
      { from, reaction: { messageId: '', emoji: '👍' } },
      { from, text: 'hi', replyTo: '' },
      [],
      'text',
    ];
    for (const body of bad) {
      const res = await server.api('/api/sessions/shop/sandbox/inbound', { method: 'POST', json: body });
      await expectError(res, 400, 'invalid_request');
    }
    await expectError(
      await server.api('/api/sessions/shop/sandbox/inbound', {
        method: 'POST',
        json: { from, media: { sha256: sha(Buffer.from('never uploaded')) } },
      }),
      404,
      'media_not_found',
    );
  });

  test('/openapi.json describes the inbox and sandbox inbound', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    assert.ok(doc.paths['/api/sessions/{id}/inbox']?.get);
    assert.ok(doc.paths['/api/sessions/{id}/sandbox/inbound']?.post);
  });
});
