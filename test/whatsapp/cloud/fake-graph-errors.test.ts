import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeOf } from '../../support/fake-graph/meta-callback.ts';
import { makeWebp } from '../../support/media-fixtures.ts';
import { CUSTOMER, PNID, TOKEN, withGraph, type GraphAnswer } from './fake-graph-fixture.ts';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('jpeg')]);
const TEXT = { type: 'text', text: { body: 'hi' } };

const assertGraphError = (answer: GraphAnswer, status: number, code: number, details?: RegExp) => {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  const error = answer.body.error;
  assert.ok(error, 'an error body');
  assert.equal(error.code, code);
  assert.equal(typeof error.type, 'string');
  assert.equal(typeof error.message, 'string');
  assert.match(error.fbtrace_id, /^\S+$/);
  if (details) assert.match(error.error_data?.details ?? '', details);
};

test('failNext answers each code with Meta error shape and HTTP status, for `times` sends, then sends again', async () => {
  const table: [number, number][] = [
    [190, 401],
    [10, 403],
    [4, 400],
    [130429, 400],
    [131056, 400],
    [131048, 400],
    [131000, 500],
    [131016, 503],
    [131026, 400],
  ];
  await withGraph(async ({ graph, send }) => {
    for (const [code, status] of table) {
      graph.failNext(PNID, { code, details: `planned ${code}` });
      const answer = await send(TEXT);
      assertGraphError(answer, status, code, new RegExp(`planned ${code}`));
      assert.equal(answer.body.error?.type, 'OAuthException');
      assert.match(answer.body.error?.message ?? '', new RegExp(`^\\(#${code}\\) `));
    }
    graph.failNext(PNID, { code: 130429, times: 2 });
    assert.equal((await send(TEXT)).body.error?.code, 130429);
    assert.equal((await send(TEXT)).body.error?.code, 130429);
    assert.equal((await send(TEXT)).status, 200);
    assert.equal(graph.messages().length, 1);
  });
});

test('failNext async accepts the message, then sends one failed status webhook with that error', async () => {
  await withGraph(async ({ graph, callback, send }) => {
    graph.failNext(PNID, { code: 131026, async: true, details: 'undeliverable' });
    const answer = await send(TEXT);
    assert.equal(answer.status, 200);
    await graph.settled();
    const [status] = callback.posts.map((p) => changeOf(p).statuses?.[0]);
    assert.equal(callback.posts.length, 1);
    assert.equal(status?.id, answer.body.messages?.[0].id);
    assert.equal(status?.status, 'failed');
    assert.deepEqual(status?.errors, [
      {
        code: 131026,
        title: 'Message undeliverable',
        message: 'Message undeliverable',
        error_data: { details: 'undeliverable' },
        href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
      },
    ]);
    assert.equal(status?.pricing, undefined);
  });
});

test('tokens: expired is 401/190/463, unknown is 401/190, missing is 401/2500, another business is 403/10', async () => {
  await withGraph(async ({ graph, call, send }) => {
    const info = await call(`/${PNID}?fields=verified_name,display_phone_number,quality_rating`);
    assert.deepEqual(info, {
      status: 200,
      body: { verified_name: 'Shop', display_phone_number: '+1 555-0100', id: PNID, quality_rating: 'GREEN' },
    });
    assertGraphError(await call(`/${PNID}`, { token: 'nonsense' }), 401, 190);
    assertGraphError(await call(`/${PNID}`, { token: null }), 401, 2500);
    graph.addNumber({
      phoneNumberId: '2055550000',
      accessToken: 'other',
      appSecret: 's',
      displayPhoneNumber: '+1 555-0200',
      verifiedName: 'Other',
    });
    assertGraphError(await call(`/${PNID}`, { token: 'other' }), 403, 10);
    assertGraphError(await call(`/999000111`), 400, 100);
    graph.expireToken(TOKEN);
    for (const answer of [await call(`/${PNID}`), await send(TEXT)]) {
      assertGraphError(answer, 401, 190);
      assert.equal(answer.body.error?.error_subcode, 463);
      assert.match(answer.body.error?.message ?? '', /Session has expired/);
    }
    assert.equal(graph.messages().length, 0);
  });
});

test('a bad message body is refused with 100 (Graph parameters) or 131009 (WhatsApp values), details naming the field', async () => {
  const header = (image: unknown) => ({ type: 'header', parameters: [{ type: 'image', image }] });
  const cases: [Record<string, unknown>, number, RegExp][] = [
    [{ messaging_product: undefined, ...TEXT }, 100, /messaging_product is required/],
    [{ messaging_product: 'sms', ...TEXT }, 100, /messaging_product/],
    [{ to: undefined, ...TEXT }, 100, /to is required/],
    [{ to: 'bob', ...TEXT }, 100, /Param to/],
    [{ type: 'poll', poll: {} }, 100, /Param type/],
    [{ type: 'image' }, 100, /parameter image is required/],
    [{ type: 'text', text: { body: '' } }, 131009, /text\['body'\]/],
    [{ type: 'text', text: { body: 'x'.repeat(4097) } }, 131009, /4096/],
    [{ type: 'image', image: { id: '1', link: 'http://127.0.0.1/a.jpg' } }, 131009, /exactly one/],
    [{ type: 'image', image: { caption: 'x' } }, 131009, /exactly one/],
    [{ type: 'image', image: { link: 'not a url' } }, 131009, /link/],
    [{ type: 'audio', audio: { id: '1', caption: 'x' } }, 131009, /Unexpected key "caption" on param "audio"/],
    [{ type: 'sticker', sticker: { id: '1', caption: 'x' } }, 131009, /Unexpected key "caption"/],
    [{ type: 'image', image: { id: '1', filename: 'a.jpg' } }, 131009, /Unexpected key "filename"/],
    [{ type: 'template', template: { name: 'promo' } }, 131009, /language/],
    [{ type: 'template', template: { language: { code: 'en' } } }, 131009, /name/],
    [{ type: 'template', template: { name: 'p', language: { code: 'en' }, components: [{ type: 'footer' }] } }, 131009, /components/],
    [{ type: 'template', template: { name: 'p', language: { code: 'en' }, components: [header({})] } }, 131009, /exactly one/],
    [
      { type: 'template', template: { name: 'p', language: { code: 'en' }, components: [{ type: 'button', parameters: [] }] } },
      131009,
      /sub_type/,
    ],
    [{ ...TEXT, context: { id: 'x' } }, 131009, /context/],
  ];
  await withGraph(async ({ graph, callback, send }) => {
    for (const [body, code, details] of cases) {
      assertGraphError(await send(body), 400, code, details);
    }
    assert.equal(graph.messages().length, 0);
    await graph.settled();
    assert.equal(callback.posts.length, 0);
  });
});

test('a media id that is unknown, expired or deleted is refused with 131053 so the sender uploads again', async () => {
  await withGraph(async ({ graph, call, send, upload }) => {
    const expired = (await upload(JPEG, 'image/jpeg')).body.id as string;
    const deleted = (await upload(JPEG, 'image/jpeg')).body.id as string;
    graph.expireMedia(expired);
    assertGraphError(await call(`/${expired}`), 400, 100);
    assert.equal((await call(`/${expired}`)).body.error?.error_subcode, 33);
    assert.deepEqual((await call(`/${deleted}`, { method: 'DELETE' })).body, { success: true });
    for (const id of [expired, deleted, '1234567890123456']) {
      assertGraphError(await send({ type: 'image', image: { id } }), 400, 131053, /upload the media again/);
    }
    const pdf = (await upload(Buffer.from('%PDF-1.4'), 'application/pdf')).body.id as string;
    assertGraphError(await send({ type: 'image', image: { id: pdf } }), 400, 131009, /application\/pdf/);
    assert.equal((await send({ type: 'document', document: { id: pdf, filename: 'a.pdf' } })).status, 200);
    const header = { type: 'header', parameters: [{ type: 'image', image: { id: expired } }] };
    const template = { name: 'promo', language: { code: 'en_US' }, components: [header] };
    assertGraphError(await send({ type: 'template', template }), 400, 131053);
  });
});

test('with mediaIdErrors async, an expired media id is accepted and then fails with 131053', async () => {
  await withGraph(
    async ({ graph, callback, send, upload }) => {
      const id = (await upload(JPEG, 'image/jpeg')).body.id as string;
      graph.expireMedia(id);
      assert.equal((await send({ type: 'image', image: { id } })).status, 200);
      await graph.settled();
      assert.deepEqual(
        callback.posts.map((p) => [changeOf(p).statuses?.[0].status, changeOf(p).statuses?.[0].errors?.[0].code]),
        [['failed', 131053]],
      );
    },
    { mediaIdErrors: 'async' },
  );
});

test('uploads are checked against Meta types and size table', async () => {
  await withGraph(async ({ graph, upload }) => {
    assertGraphError(await upload(Buffer.from('GIF89a'), 'image/gif'), 400, 131053, /image\/jpeg.*Received file of type 'image\/gif'/);
    assertGraphError(await upload(Buffer.alloc(5 * 1024 * 1024 + 1, 1), 'image/jpeg'), 400, 131053, /maximum is 5242880/);
    const staticWebp = Buffer.concat([await makeWebp(), Buffer.alloc(100 * 1024)]);
    assertGraphError(await upload(staticWebp, 'image/webp'), 400, 131053, /maximum is 102400/);
    const animated = await makeWebp({ animated: true });
    assert.equal((await upload(Buffer.concat([animated, Buffer.alloc(150 * 1024)]), 'image/webp')).status, 200);
    assertGraphError(await upload(JPEG, 'image/jpeg', { messaging_product: undefined }), 400, 100, /messaging_product is required/);
    assertGraphError(await upload(JPEG, 'image/jpeg', { type: undefined }), 400, 100, /type is required/);
    assert.equal(graph.uploads().length, 1);
  });
});

test('allowRecipients refuses other numbers with 131030', async () => {
  await withGraph(async ({ graph, send }) => {
    graph.allowRecipients(PNID, ['+1 555 000 2222']);
    assertGraphError(await send(TEXT), 400, 131030, /not in the allowed list/);
    assert.equal((await send({ ...TEXT, to: '15550002222' })).status, 200);
    graph.allowRecipients(PNID, undefined);
    assert.equal((await send(TEXT)).status, 200);
  });
});

test('enforceServiceWindow fails free-form messages to customers silent for 24 h with 131047, not templates', async () => {
  let now = Date.parse('2026-12-01T10:00:00Z');
  await withGraph(
    async ({ graph, callback, send }) => {
      graph.enforceServiceWindow(PNID, true);
      graph.setStatuses(PNID, ['sent']);
      await send(TEXT);
      await send({ type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } });
      await graph.receive(PNID, { from: CUSTOMER, text: 'hello?' });
      await send(TEXT);
      now += 25 * 3600 * 1000;
      await send(TEXT);
      await graph.settled();
      const statuses = callback.posts.map((p) => changeOf(p).statuses?.[0]).filter((s) => s !== undefined);
      assert.deepEqual(
        statuses.map((s) => [s.status, s.errors?.[0].code]),
        [
          ['failed', 131047],
          ['sent', undefined],
          ['sent', undefined],
          ['failed', 131047],
        ],
      );
      assert.deepEqual(
        graph.messages().map((m) => m.status),
        ['failed', 'sent', 'sent', 'failed'],
      );
    },
    { now: () => now },
  );
});
