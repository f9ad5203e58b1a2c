import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { changeOf } from '../../support/fake-graph/meta-callback.ts';
import { startOrigin } from '../../support/origin.ts';
import { CUSTOMER, PNID, SECRET, sha, TOKEN, withGraph } from './fake-graph-fixture.ts';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('a tiny jpeg body')]);

test('an upload is described by GET /{media-id} and downloads through its url with the bearer token, same sha256', async () => {
  await withGraph(async ({ graph, call, upload }) => {
    const up = await upload(JPEG, 'image/jpeg');
    assert.equal(up.status, 200);
    assert.match(up.body.id ?? '', /^\d{15,16}$/);
    const info = await call(`/${up.body.id}`);
    assert.equal(info.status, 200);
    assert.deepEqual(
      { ...info.body, url: undefined },
      { messaging_product: 'whatsapp', url: undefined, mime_type: 'image/jpeg', sha256: sha(JPEG), file_size: JPEG.length, id: up.body.id },
    );
    assert.ok(info.body.url?.startsWith(graph.url));
    const anonymous = await fetch(info.body.url as string);
    assert.equal(anonymous.status, 401);
    const download = await fetch(info.body.url as string, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'image/jpeg');
    assert.equal(sha(Buffer.from(await download.arrayBuffer())), sha(JPEG));
    assert.deepEqual(
      graph.uploads().map((u) => [u.id, u.phoneNumberId, u.sha256, u.mimeType, u.size]),
      [[up.body.id, PNID, sha(JPEG), 'image/jpeg', JPEG.length]],
    );
    assert.equal(graph.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/media')).length, 1);
  });
});

test('a media URL lasts 5 minutes; GET /{media-id} again gives a fresh one; phone_number_id guards ownership', async () => {
  let now = Date.parse('2026-12-01T10:00:00Z');
  await withGraph(
    async ({ call, upload }) => {
      const id = (await upload(JPEG, 'image/jpeg')).body.id as string;
      const stale = (await call(`/${id}`)).body.url as string;
      now += 6 * 60 * 1000;
      const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
      assert.equal((await fetch(stale, auth)).status, 404);
      const fresh = (await call(`/${id}?phone_number_id=${PNID}`)).body.url as string;
      assert.equal((await fetch(fresh, auth)).status, 200);
      const foreign = await call(`/${id}?phone_number_id=999`);
      assert.equal(foreign.status, 400);
      assert.equal(foreign.body.error?.code, 100);
    },
    { now: () => now },
  );
});

test('a message by media id is answered in Meta shape and records the sha256 of the uploaded bytes', async () => {
  await withGraph(async ({ graph, send, upload }) => {
    const id = (await upload(JPEG, 'image/jpeg')).body.id as string;
    const sent = await send({ to: '+1 555-000-1111', type: 'image', image: { id, caption: 'new menu' } });
    assert.equal(sent.status, 200);
    assert.equal(sent.body.messaging_product, 'whatsapp');
    assert.deepEqual(sent.body.contacts, [{ input: '+1 555-000-1111', wa_id: CUSTOMER }]);
    const wamid = sent.body.messages?.[0].id as string;
    assert.match(wamid, /^wamid\.[A-Za-z0-9+/=]+$/);
    const [message] = graph.messages();
    assert.equal(message.id, wamid);
    assert.equal(message.to, CUSTOMER);
    assert.equal(message.type, 'image');
    assert.deepEqual(message.media, { sha256: sha(JPEG), via: 'id', mediaId: id, mimeType: 'image/jpeg' });
  });
});

test('status webhooks arrive sent, delivered, read, each signed with the app secret over the raw body', async () => {
  await withGraph(async ({ graph, callback, send }) => {
    const sent = await send({ type: 'text', text: { body: 'hello' }, biz_opaque_callback_data: 'job-7' });
    const wamid = sent.body.messages?.[0].id;
    await graph.waitFor((g) => g.messages()[0].status === 'read');
    await graph.settled();
    assert.deepEqual(
      callback.posts.map((p) => changeOf(p).statuses?.[0].status),
      ['sent', 'delivered', 'read'],
    );
    for (const post of callback.posts) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(post.raw).digest('hex')}`;
      assert.equal(post.headers['x-hub-signature-256'], expected);
      assert.equal(post.body.object, 'whatsapp_business_account');
      assert.equal(post.body.entry[0].changes[0].field, 'messages');
      const value = changeOf(post);
      assert.deepEqual(value.metadata, { display_phone_number: '15550100', phone_number_id: PNID });
      const status = value.statuses?.[0];
      assert.equal(status?.id, wamid);
      assert.equal(status?.recipient_id, CUSTOMER);
      assert.equal(status?.biz_opaque_callback_data, 'job-7');
      assert.match(status?.timestamp ?? '', /^\d+$/);
      assert.equal(status?.pricing?.category, 'service');
    }
    assert.deepEqual(
      graph.webhookPosts().map((p) => [p.status, p.answered]),
      [
        ['sent', 200],
        ['delivered', 200],
        ['read', 200],
      ],
    );
  });
});

test('setStatuses limits which status webhooks a number sends', async () => {
  await withGraph(async ({ graph, callback, send }) => {
    graph.setStatuses(PNID, ['sent', 'delivered']);
    await send({ text: { body: 'no type means text' } });
    await graph.settled();
    assert.deepEqual(
      callback.posts.map((p) => changeOf(p).statuses?.[0].status),
      ['sent', 'delivered'],
    );
    assert.equal(graph.messages()[0].status, 'delivered');
  });
});

test('a refused webhook is retried a bounded number of times, then the next status still goes out', async () => {
  await withGraph(
    async ({ graph, callback, send }) => {
      callback.answer = (n) => (n <= 3 ? 500 : 200);
      await send({ type: 'text', text: { body: 'hi' } });
      await graph.settled();
      assert.deepEqual(
        graph.webhookPosts().map((p) => [p.status, p.attempt, p.answered]),
        [
          ['sent', 1, 500],
          ['sent', 2, 500],
          ['sent', 3, 500],
          ['delivered', 1, 200],
          ['read', 1, 200],
        ],
      );
    },
    { webhookAttempts: 3 },
  );
});

test('link mode fetches a URL once and keeps serving the cached bytes after the origin file changed', async () => {
  const origin = await startOrigin();
  try {
    await withGraph(async ({ graph, send }) => {
      const v1 = Buffer.concat([JPEG, Buffer.from('version 1')]);
      const v2 = Buffer.concat([JPEG, Buffer.from('version 2')]);
      const link = `${origin.url}/banner.jpg`;
      origin.put('banner.jpg', v1, { contentType: 'image/jpeg' });
      assert.equal((await send({ type: 'image', image: { link } })).status, 200);
      origin.put('banner.jpg', v2, { contentType: 'image/jpeg' });
      assert.equal((await send({ type: 'image', image: { link } })).status, 200);
      const header = { type: 'header', parameters: [{ type: 'image', image: { link } }] };
      const template = { name: 'promo', language: { code: 'en_US' }, components: [header] };
      assert.equal((await send({ type: 'template', template })).status, 200);
      assert.deepEqual(
        graph.messages().map((m) => [m.media?.via, m.media?.link, m.media?.sha256]),
        [
          ['link', link, sha(v1)],
          ['link', link, sha(v1)],
          ['link', link, sha(v1)],
        ],
      );
      assert.equal(origin.requests.length, 1);
      assert.deepEqual(graph.linkFetches(), [link]);
      // A different URL (content-addressed, or cache-busted) is a different cache key: the new bytes go out.
      await send({ type: 'image', image: { link: `${link}?v=2` } });
      assert.equal(graph.messages()[3].media?.sha256, sha(v2));
      await graph.settled();
      assert.ok(graph.messages().every((m) => m.status === 'read'));
    });
  } finally {
    await origin.close();
  }
});

test('link mode follows loopback redirects and refuses to leave loopback', async () => {
  const origin = await startOrigin();
  try {
    await withGraph(async ({ graph, callback, send }) => {
      origin.put('real.jpg', JPEG, { contentType: 'image/jpeg' });
      origin.redirect('moved.jpg', `${origin.url}/real.jpg`, 302);
      origin.redirect('away.jpg', 'http://example.com/real.jpg', 302);
      await send({ type: 'image', image: { link: `${origin.url}/moved.jpg` } });
      await send({ type: 'image', image: { link: `${origin.url}/away.jpg` } });
      await send({ type: 'image', image: { link: 'http://example.com/x.jpg' } });
      await graph.settled();
      assert.deepEqual(
        graph.messages().map((m) => [m.status, m.media?.sha256, m.errors?.[0].code]),
        [
          ['read', sha(JPEG), undefined],
          ['failed', undefined, 131053],
          ['failed', undefined, 131053],
        ],
      );
      const failed = callback.posts.map((p) => changeOf(p).statuses?.[0]).filter((st) => st?.status === 'failed');
      assert.ok(failed.every((st) => /loopback only/.test(st?.errors?.[0].error_data.details ?? '')));
    });
  } finally {
    await origin.close();
  }
});

test('a link the fake cannot fetch is accepted, then fails with a 131053 status webhook', async () => {
  const origin = await startOrigin();
  try {
    await withGraph(async ({ graph, callback, send }) => {
      const sent = await send({ type: 'document', document: { link: `${origin.url}/missing.pdf`, filename: 'menu.pdf' } });
      assert.equal(sent.status, 200);
      await graph.settled();
      const statuses = callback.posts.map((p) => changeOf(p).statuses?.[0]);
      assert.deepEqual(
        statuses.map((s) => [s?.status, s?.errors?.[0].code]),
        [['failed', 131053]],
      );
      assert.match(statuses[0]?.errors?.[0].error_data.details ?? '', /http code 404/);
      assert.equal(graph.messages()[0].status, 'failed');
      assert.equal(graph.messages()[0].media, undefined);
    });
  } finally {
    await origin.close();
  }
});

test('a customer message posts a signed messages webhook; its media downloads by id with the same sha256', async () => {
  await withGraph(async ({ graph, callback, call }) => {
    const text = await graph.receive(PNID, { from: '+1 555 000 1111', text: 'hi shop', name: 'Ann' });
    const pdf = Buffer.from('%PDF-1.4 invoice');
    const doc = await graph.receive(PNID, {
      from: CUSTOMER,
      media: { bytes: pdf, mimeType: 'application/pdf', type: 'document', filename: 'invoice.pdf', caption: 'mine' },
    });
    assert.equal(callback.posts.length, 2);
    const [first, second] = callback.posts.map(changeOf);
    assert.deepEqual(first.contacts, [{ profile: { name: 'Ann' }, wa_id: CUSTOMER }]);
    assert.deepEqual(first.messages?.[0].text, { body: 'hi shop' });
    assert.equal(first.messages?.[0].id, text.id);
    assert.equal(first.messages?.[0].from, CUSTOMER);
    assert.deepEqual(second.messages?.[0].document, {
      caption: 'mine',
      filename: 'invoice.pdf',
      mime_type: 'application/pdf',
      sha256: Buffer.from(sha(pdf), 'hex').toString('base64'),
      id: doc.mediaId,
    });
    for (const post of callback.posts) {
      assert.equal(post.headers['x-hub-signature-256'], `sha256=${createHmac('sha256', SECRET).update(post.raw).digest('hex')}`);
    }
    const info = await call(`/${doc.mediaId}`);
    assert.equal(info.body.sha256, sha(pdf));
    const bytes = await fetch(info.body.url as string, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(sha(Buffer.from(await bytes.arrayBuffer())), sha(pdf));
  });
});

test('verifyCallback does the hub.challenge handshake and tells an echo from a refusal', async () => {
  await withGraph(async ({ graph, callback }) => {
    const ok = await graph.verifyCallback(PNID, 'my-verify-token');
    assert.equal(ok.ok, true);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^\d+$/);
    callback.handshake = 'wrong';
    assert.deepEqual(await graph.verifyCallback(PNID, 'my-verify-token'), { ok: false, status: 403, body: 'no' });
  });
});

test('close() returns while a callback hangs on a webhook, and waiters are told', async () => {
  await withGraph(async ({ graph, callback, send }) => {
    callback.answer = () => 'hang';
    const waiting = assert.rejects(
      graph.waitFor((g) => g.messages()[0]?.status === 'read'),
      /closed/,
    );
    await send({ type: 'text', text: { body: 'hi' } });
    await callback.received(1);
    await graph.close();
    await waiting;
    assert.deepEqual(
      graph.webhookPosts().map((p) => [p.status, p.answered]),
      [['sent', 0]],
    );
  });
});
