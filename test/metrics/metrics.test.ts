import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { makeJpeg } from '../support/media-fixtures.js';
import { sha } from '../support/media-api.js';

let server: StartedServer;
let origin: Origin;
before(async () => {
  [server, origin] = await Promise.all([startServer({ MEDIA_ALLOW_HOSTS: '127.0.0.1' }), startOrigin()]);
});
after(() => Promise.all([server.close(), origin.close()]));

const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

/** `name{a="x",b="y"}` → value, from the Prometheus text format; labels are sorted so lookups need no order. */
const parse = (text: string) => {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels = (m[2] ?? '').match(/\w+="[^"]*"/g) ?? [];
    samples.set(`${m[1]}{${labels.sort().join(',')}}`, Number(m[3]));
  }
  return samples;
};
const scrape = async () => {
  const res = await server.api('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
};

const send = async (session: string, body: unknown) => {
  const res = await server.api(`/api/sessions/${session}/messages`, {
    method: 'POST',
    json: { to: '+4915100000031', ...(body as object) },
  });
  return res;
};
const read = (id: string) =>
  waitFor(`${id} read`, async () => {
    const m = (await (await server.api(`/api/messages/${id}`)).json()) as { status: string };
    return m.status === 'read' ? m : undefined;
  });

test('after sends and media fetches, /metrics counts each with its labels; the gauges say what is queued and how sessions stand', async () => {
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id: 'shop' } })).status, 201);
  assert.equal((await server.api('/api/sessions/shop/sandbox/link', { method: 'POST', json: {} })).status, 200);

  // A text, and an image by URL from an origin that says nothing about caching: confirmed by a cache-busted request.
  const photo = await makeJpeg({ seed: 301 });
  origin.put('photo.jpg', photo, { contentType: 'image/jpeg' });
  const text = await send('shop', { text: 'hello' });
  const image = await send('shop', { media: { url: `${origin.url}/photo.jpg` } });
  assert.deepEqual([text.status, image.status], [202, 202]);
  for (const res of [text, image]) await read(((await res.json()) as { id: string }).id);

  // A pinned hash the origin's bytes do not have (and that is not held, which would cost no fetch): refused.
  const other = await makeJpeg({ seed: 302 });
  origin.put('moved.jpg', other, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const mismatch = await server.api('/api/media', {
    method: 'POST',
    json: { url: `${origin.url}/moved.jpg`, sha256: sha(Buffer.from('never served')) },
  });
  assert.deepEqual([mismatch.status, await errorCode(mismatch)], [422, 'hash_mismatch']);
  // The same file pinned to its own hash: the first answer matches the pin, no busting needed.
  const pinned = await server.api('/api/media', { method: 'POST', json: { url: `${origin.url}/moved.jpg`, sha256: sha(other) } });
  assert.equal(pinned.status, 201);

  // A session never linked holds its message in the queue.
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id: 'idle' } })).status, 201);
  assert.equal((await send('idle', { text: 'waiting' })).status, 202);

  const m = await scrape();
  for (const status of ['queued', 'sending', 'sent', 'delivered', 'read']) {
    assert.equal(m.get(`hashsend_message_status_total{status="${status}"}`), 3 - (status === 'queued' ? 0 : 1), status);
  }
  assert.equal(m.get('hashsend_message_status_total{status="failed"}'), undefined, 'no message failed');
  assert.equal(m.get('hashsend_media_fetches_total{busted="true",outcome="confirmed"}'), 1);
  assert.equal(m.get('hashsend_media_fetches_total{busted="false",outcome="fresh"}'), 1);
  assert.equal(m.get('hashsend_media_fetches_total{busted="true",outcome="hash_mismatch"}'), 1);

  assert.equal(m.get('hashsend_queue_depth{session="idle"}'), 1);
  assert.equal(m.get('hashsend_queue_depth{session="shop"}'), 0);
  assert.ok((m.get('hashsend_queue_oldest_age_seconds{session="idle"}') ?? -1) >= 0);
  assert.equal(m.get('hashsend_queue_oldest_age_seconds{session="shop"}'), 0);

  const sessions = (await (await server.api('/api/sessions')).json()) as { items?: { state: string }[] } | { state: string }[];
  const list = Array.isArray(sessions) ? sessions : (sessions.items ?? []);
  assert.equal(m.get('hashsend_sessions{state="connected"}'), 1);
  assert.equal(m.get('hashsend_sessions{state="logged_out"}'), 0, 'every state is there, 0 when no session is in it');
  const byState = [...m].filter(([k]) => k.startsWith('hashsend_sessions{')).reduce((n, [, v]) => n + v, 0);
  assert.equal(byState, list.length);
  assert.equal(m.get('hashsend_broadcasts_running{}'), 0);

  // The process metrics prom-client collects by default.
  assert.ok(m.has('process_cpu_user_seconds_total{}'));
  assert.ok([...m.keys()].some((k) => k.startsWith('nodejs_heap_size_used_bytes')));
});

test('/metrics needs the API key: 401 without, 403 with a wrong one; it is in /openapi.json as text/plain', async () => {
  const none = await fetch(`${server.url}/metrics`);
  assert.deepEqual([none.status, await errorCode(none)], [401, 'unauthorized']);
  const wrong = await fetch(`${server.url}/metrics`, { headers: { 'x-api-key': 'not-the-key' } });
  assert.deepEqual([wrong.status, await errorCode(wrong)], [403, 'forbidden']);
  assert.equal((await fetch(`${server.url}/metrics`, { headers: { 'x-api-key': server.apiKey } })).status, 200);

  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
    paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
  };
  const op = doc.paths['/metrics']?.get;
  assert.ok(op?.responses['200'].content?.['text/plain'], 'documented with a text/plain answer');
  assert.ok(op?.responses['401'], 'with its auth errors');
});
