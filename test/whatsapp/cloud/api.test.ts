import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { startServer, waitFor, type StartedServer } from '../../support/server.js';
import { startOrigin, type Origin } from '../../support/origin.js';
import { makeJpeg } from '../../support/media-fixtures.js';
import { signature, startFakeGraph, type FakeGraph } from '../../support/fake-graph/index.js';

/**
 * The Cloud API driver end to end: hashsend as a process, Meta as the local fake Graph API, media from a local
 * origin. What a recipient gets is the fake's record of the bytes behind the media id (or link) it was sent.
 */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PNID = '106540352242922';
const TOKEN = 'EAAG-test-access-token-0123456789';
const SECRET = 'app-secret-4f2c9a';
const VERIFY = 'verify-me-please';

let server: StartedServer;
let origin: Origin;
let graph: FakeGraph;

const options = (extra: Record<string, unknown> = {}) => ({
  phoneNumberId: PNID,
  accessToken: TOKEN,
  appSecret: SECRET,
  verifyToken: VERIFY,
  ...extra,
});

const createCloudSession = async (id: string, extra: Record<string, unknown> = {}) => {
  const res = await server.api('/api/sessions', { method: 'POST', json: { id, driver: 'cloud', options: options(extra) } });
  assert.equal(res.status, 201, await res.clone().text());
  graph.setCallback(PNID, `${server.url}/hooks/${id}`);
  await waitFor(`${id} connected`, async () => {
    const s = (await (await server.api(`/api/sessions/${id}`)).json()) as { state: string };
    return s.state === 'connected' || undefined;
  });
};

const send = async (session: string, body: Record<string, unknown>) => {
  const res = await server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: body });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
};

type Message = { status: string; waMessageId: string | null; error?: { code: string }; media?: { sha256: string; sentSha256?: string } };
const message = async (id: string) => (await (await server.api(`/api/messages/${id}`)).json()) as Message;
const settledMessage = (id: string, statuses: string[]) =>
  waitFor(`message ${id} ${statuses.join('/')}`, async () => {
    const m = await message(id);
    return statuses.includes(m.status) ? m : undefined;
  });
/** What the recipient of our message got, as the fake Graph API recorded it. */
const delivered = (m: Message) => graph.waitFor((g) => g.messages().find((x) => x.id === m.waMessageId));

before(async () => {
  [origin, graph] = await Promise.all([startOrigin(), startFakeGraph()]);
  graph.addNumber({ phoneNumberId: PNID, accessToken: TOKEN, appSecret: SECRET, displayPhoneNumber: '+1 555-0100', verifiedName: 'Shop' });
  server = await startServer({ CLOUD_GRAPH_URL: graph.url, MEDIA_ALLOW_HOSTS: '127.0.0.1', QUEUE_RETRY_BASE_MS: '50' });
  await createCloudSession('cloud');
});
after(() => Promise.all([server.close(), origin.close(), graph.close()]));

describe('a cloud session', () => {
  test('keeps its options owner-only in the session folder, and has no QR to show', async () => {
    const file = await stat(path.join(server.sessionsDir, 'cloud', 'driver-options.json'));
    assert.equal(file.mode & 0o777, 0o600);
    const qr = await server.api('/api/sessions/cloud/qr');
    assert.deepEqual([qr.status, ((await qr.json()) as { error: { code: string } }).error.code], [422, 'unsupported_by_driver']);
    const pairing = await server.api('/api/sessions/cloud/pairing-code', { method: 'POST', json: { phone: '+15550100000' } });
    assert.deepEqual([pairing.status, ((await pairing.json()) as { error: { code: string } }).error.code], [422, 'unsupported_by_driver']);
  });

  test('a webhook signed with another secret, or not at all, is refused and changes nothing', async () => {
    const id = await send('cloud', { to: '+15550001001', text: 'hello' });
    graph.setStatuses(PNID, ['sent']);
    const sent = await settledMessage(id, ['sent']);
    graph.setStatuses(PNID, ['sent', 'delivered', 'read']);
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '1',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550100', phone_number_id: PNID },
                statuses: [{ id: sent.waMessageId, status: 'read', timestamp: '1700000000', recipient_id: '15550001001' }],
              },
            },
          ],
        },
      ],
    });
    for (const headers of [
      {} as Record<string, string>,
      { 'x-hub-signature-256': signature('another-secret', body) },
      { 'x-hub-signature-256': 'sha256=00' },
    ]) {
      const res = await fetch(`${server.url}/hooks/cloud`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_signature');
    }
    assert.equal((await message(id)).status, 'sent');
    const signed = await fetch(`${server.url}/hooks/cloud`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature(SECRET, body) },
      body,
    });
    assert.equal(signed.status, 200);
    await settledMessage(id, ['read']);
  });
});

describe('template media never goes stale', () => {
  const template = (url: string) => ({
    name: 'spring_sale',
    language: 'en_US',
    components: [
      { type: 'header', parameters: [{ type: 'image', image: { url } }] },
      { type: 'body', parameters: [{ type: 'text', text: 'Ada' }] },
    ],
  });

  test('a header image is sent by media id; replaced under the same URL, recipients get the new hash — where a plain link through Meta gets the stale copy', async () => {
    const first = await makeJpeg({ seed: 401 });
    const second = await makeJpeg({ seed: 402 });
    origin.put('sale.jpg', first, { contentType: 'image/jpeg' });
    const url = `${origin.url}/sale.jpg`;

    const a = await settledMessage(await send('cloud', { to: '+15550002001', template: template(url) }), ['read']);
    const gotA = await delivered(a);
    assert.equal(gotA.type, 'template');
    assert.equal(gotA.media?.via, 'id');
    assert.equal(gotA.media?.sha256, sha(first));
    assert.equal(a.media?.sha256, sha(first));
    assert.equal(a.media?.sentSha256, sha(first));

    // The business replaces the file under the same URL.
    origin.put('sale.jpg', second, { contentType: 'image/jpeg' });
    const b = await settledMessage(await send('cloud', { to: '+15550002002', template: template(url) }), ['read']);
    assert.equal((await delivered(b)).media?.sha256, sha(second));

    // The same two sends by `link`, straight to Meta: its cache keyed by URL keeps the first file.
    const viaLink = async (to: string) => {
      const res = await fetch(`${graph.url}/v23.0/${PNID}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messaging_product: 'whatsapp', to, type: 'image', image: { link: url } }),
      });
      assert.equal(res.status, 200);
      const wamid = ((await res.json()) as { messages: { id: string }[] }).messages[0].id;
      return graph.waitFor((g) => g.messages().find((m) => m.id === wamid && m.media));
    };
    origin.put('sale.jpg', first, { contentType: 'image/jpeg' });
    assert.equal((await viaLink('15550002003')).media?.sha256, sha(first));
    origin.put('sale.jpg', second, { contentType: 'image/jpeg' });
    assert.equal((await viaLink('15550002004')).media?.sha256, sha(first), 'Meta served its cached, stale copy');
  });

  test('one upload for many messages of one content; an expired media id is uploaded again', async () => {
    const bytes = await makeJpeg({ seed: 403 });
    origin.put('menu.jpg', bytes, { contentType: 'image/jpeg' });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await send('cloud', { to: `+1555000300${i}`, media: { url: `${origin.url}/menu.jpg` } }));
    const sent = await Promise.all(ids.map((id) => settledMessage(id, ['delivered', 'read'])));
    const uploads = () => graph.uploads().filter((u) => u.sha256 === sha(bytes));
    assert.equal(uploads().length, 1);
    for (const m of sent) assert.equal((await delivered(m)).media?.sha256, sha(bytes));

    graph.expireMedia(uploads()[0].id);
    const again = await settledMessage(await send('cloud', { to: '+15550003009', media: { sha256: sha(bytes) } }), ['delivered', 'read']);
    assert.equal(uploads().length, 2);
    assert.equal((await delivered(again)).media?.mediaId, uploads()[1].id);
  });
});

test('a template broadcast: one header upload, each recipient its own {{name}}, the report naming the sha256 sent', async () => {
  const banner = await makeJpeg({ seed: 404 });
  origin.put('banner.jpg', banner, { contentType: 'image/jpeg' });
  const recipients = ['Ada', 'Grace', 'Linus'].map((name, i) => ({ to: `+1555000800${i}`, vars: { name } }));
  const res = await server.api('/api/sessions/cloud/broadcasts', {
    method: 'POST',
    json: {
      name: 'spring',
      pace: { perMinute: 0 },
      recipients,
      message: {
        template: {
          name: 'spring_sale',
          language: 'en_US',
          components: [
            { type: 'header', parameters: [{ type: 'image', image: { url: `${origin.url}/banner.jpg` } }] },
            { type: 'body', parameters: [{ type: 'text', text: 'Hello {{name}}' }] },
          ],
        },
      },
    },
  });
  assert.equal(res.status, 202, await res.clone().text());
  const { id } = (await res.json()) as { id: string };
  const got = await graph.waitFor((g) => {
    const sent = g.messages().filter((m) => m.to.startsWith('1555000800'));
    return sent.length === 3 ? sent : undefined;
  });
  const bodyText = (m: (typeof got)[number]) =>
    (m.body.template as { components: { type: string; parameters: { text?: string }[] }[] }).components.find((c) => c.type === 'body')
      ?.parameters[0].text;
  assert.deepEqual(got.map(bodyText).sort(), ['Hello Ada', 'Hello Grace', 'Hello Linus']);
  assert.deepEqual(new Set(got.map((m) => m.media?.sha256)), new Set([sha(banner)]));
  assert.equal(graph.uploads().filter((u) => u.sha256 === sha(banner)).length, 1);
  const report = await waitFor('the report', async () => {
    const rows = (
      (await (await server.api(`/api/broadcasts/${id}/report`)).json()) as { items: { status: string; sha256: string | null }[] }
    ).items;
    return rows.every((r) => ['delivered', 'read'].includes(r.status)) ? rows : undefined;
  });
  assert.deepEqual(new Set(report.map((r) => r.sha256)), new Set([sha(banner)]));
});

describe("Meta's errors as hashsend's codes", () => {
  const cases: [label: string, code: number, async: boolean, expected: string][] = [
    ['recipient not allowed', 131030, false, 'recipient_not_allowed'],
    ['parameter invalid', 131009, false, 'invalid_parameter'],
    ['media download failed', 131052, true, 'media_download_failed'],
    ['media upload failed', 131053, true, 'media_upload_failed'],
    ['outside the service window', 131047, true, 'outside_service_window'],
  ];
  for (const [label, code, async, expected] of cases) {
    test(`${label} (${code}${async ? ', in a failed status' : ''}) → failed with ${expected}`, async () => {
      graph.failNext(PNID, { code, async, ...(code === 131053 || code === 131009 ? { times: 1 } : {}) });
      const m = await settledMessage(await send('cloud', { to: '+15550004001', text: label }), ['failed']);
      assert.equal(m.error?.code, expected);
    });
  }

  for (const code of [130429, 131056]) {
    test(`rate limit ${code}: retried with backoff, then sent once`, async () => {
      graph.failNext(PNID, { code, times: 2 });
      const id = await send('cloud', { to: '+15550005001', text: `limited ${code}` });
      const m = await settledMessage(id, ['delivered', 'read']);
      assert.equal(graph.messages().filter((x) => x.id === m.waMessageId).length, 1);
      const { attempts } = (await (await server.api(`/api/messages/${id}`)).json()) as { attempts: number };
      assert.equal(attempts, 3);
    });
  }

  test('an expired token (190): the session needs a new one, the message waits for it and then goes', async () => {
    const fresh = `${TOKEN}-rotated`;
    graph.addNumber({
      phoneNumberId: '106540352249999',
      accessToken: TOKEN,
      appSecret: SECRET,
      displayPhoneNumber: '+1 555-0199',
      verifiedName: 'Shop 2',
    });
    const res = await server.api('/api/sessions', {
      method: 'POST',
      json: { id: 'expiring', driver: 'cloud', options: options({ phoneNumberId: '106540352249999' }) },
    });
    assert.equal(res.status, 201);
    await waitFor(
      'connected',
      async () => ((await (await server.api('/api/sessions/expiring')).json()) as { state: string }).state === 'connected' || undefined,
    );
    graph.expireToken(TOKEN);
    const id = await send('expiring', { to: '+15550006001', text: 'after the token expired' });
    const session = await waitFor('needs_relink', async () => {
      const s = (await (await server.api('/api/sessions/expiring')).json()) as { state: string; lastError?: { message: string } };
      return s.state === 'needs_relink' ? s : undefined;
    });
    assert.match(session.lastError?.message ?? '', /PATCH \/api\/sessions\/expiring/);
    assert.equal((await message(id)).status, 'queued');

    graph.addNumber({
      phoneNumberId: '106540352249999',
      accessToken: fresh,
      appSecret: SECRET,
      displayPhoneNumber: '+1 555-0199',
      verifiedName: 'Shop 2',
    });
    const patch = await server.api('/api/sessions/expiring', {
      method: 'PATCH',
      json: { options: options({ phoneNumberId: '106540352249999', accessToken: fresh }) },
    });
    assert.equal(patch.status, 200);
    await settledMessage(id, ['sent', 'delivered', 'read']);
  });
});

test('logging a cloud session out forgets its token: it needs new options to send again', async () => {
  const out = await server.api('/api/sessions/expiring/logout', { method: 'POST' });
  const session = (await out.json()) as { state: string; options?: unknown };
  assert.deepEqual([out.status, session.state, session.options], [200, 'logged_out', undefined]);
  await assert.rejects(stat(path.join(server.sessionsDir, 'expiring', 'driver-options.json')), { code: 'ENOENT' });
  const qr = await server.api('/api/sessions/expiring/qr');
  assert.equal(qr.status, 422);
});

test('link mode: Meta is given the content-addressed /m/<sha256>.<ext> URL, so a replaced file is never served stale', async () => {
  await server.restart({ CLOUD_GRAPH_URL: graph.url, MEDIA_ALLOW_HOSTS: '127.0.0.1', PUBLIC_MEDIA: 'true', PUBLIC_URL: server.url });
  graph.addNumber({
    phoneNumberId: '106540352240001',
    accessToken: TOKEN + 'L',
    appSecret: SECRET,
    displayPhoneNumber: '+1 555-0101',
    verifiedName: 'Link shop',
  });
  const res = await server.api('/api/sessions', {
    method: 'POST',
    json: {
      id: 'linked',
      driver: 'cloud',
      options: options({ phoneNumberId: '106540352240001', accessToken: TOKEN + 'L', mediaMode: 'link' }),
    },
  });
  assert.equal(res.status, 201);
  graph.setCallback('106540352240001', `${server.url}/hooks/linked`);
  await waitFor(
    'connected',
    async () => ((await (await server.api('/api/sessions/linked')).json()) as { state: string }).state === 'connected' || undefined,
  );
  const first = await makeJpeg({ seed: 501 });
  const second = await makeJpeg({ seed: 502 });
  origin.put('flyer.jpg', first, { contentType: 'image/jpeg' });
  const a = await settledMessage(await send('linked', { to: '+15550007001', media: { url: `${origin.url}/flyer.jpg` } }), [
    'delivered',
    'read',
  ]);
  origin.put('flyer.jpg', second, { contentType: 'image/jpeg' });
  const b = await settledMessage(await send('linked', { to: '+15550007002', media: { url: `${origin.url}/flyer.jpg` } }), [
    'delivered',
    'read',
  ]);
  const [gotA, gotB] = [await delivered(a), await delivered(b)];
  assert.equal(gotA.media?.via, 'link');
  assert.equal(gotA.media?.link, `${server.url}/m/${sha(first)}.jpg`);
  assert.deepEqual([gotA.media?.sha256, gotB.media?.sha256], [sha(first), sha(second)]);
});
