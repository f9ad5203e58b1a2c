import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { messageApi, reached, type ApiMessage } from '../support/message-api.js';
import { makeJpeg, makePdf } from '../support/media-fixtures.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { adopted, twoNodes, untilState } from './two-nodes.js';

let origin: Origin;
// Each node keeps its own DATA_DIR; their blobs live on one shared BLOBS_DIR (ctx.blobsDir), as the README tells.
const { ctx, ownerOf } = twoNodes({ MEDIA_ALLOW_HOSTS: '127.0.0.1' });
before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const TO = '+4915123456789';
type Sent = ApiMessage & { media?: { sha256: string; sentSha256?: string }; error?: { code: string; message?: string } };
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

const sendOn = async (node: StartedServer, session: string, body: Record<string, unknown>) => {
  const res = await node.api(`/api/sessions/${session}/messages`, { method: 'POST', json: { to: TO, ...body } });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
};
const deliveredSha = async (node: StartedServer, session: string, id: string) =>
  (
    await messageApi(node).json<{ items: { messageId: string; sha256?: string }[] }>(
      await node.api(`/api/sessions/${session}/sandbox/deliveries`),
    )
  ).items.find((d) => d.messageId === id)?.sha256;

test('media accepted on the node that does not own the session (by URL, uploaded, by hash) is delivered by its owner with those bytes', async () => {
  const session = 'media';
  const { owner, other } = ownerOf(session);
  assert.equal((await other.api('/api/sessions', { method: 'POST', json: { id: session, driver: 'sandbox' } })).status, 201);
  await untilState(owner, session, 'qr');
  assert.equal((await other.api(`/api/sessions/${session}/sandbox/link`, { method: 'POST', json: {} })).status, 200);
  await untilState(other, session, 'connected');

  const photo = await makeJpeg({ seed: 31 });
  origin.put('photo.jpg', photo, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const byUrl = await sendOn(other, session, { media: { url: `${origin.url}/photo.jpg` }, caption: 'menu' });

  const pdf = makePdf(7);
  const upload = await other.api('/api/media', {
    method: 'POST',
    body: new Uint8Array(pdf),
    headers: { 'content-type': 'application/pdf' },
  });
  assert.equal(upload.status, 201);
  assert.equal(((await upload.json()) as { sha256: string }).sha256, sha(pdf));
  const byHash = await sendOn(other, session, { media: { sha256: sha(pdf) }, as: 'document', filename: 'menu.pdf' });

  const api = messageApi(other);
  for (const [id, bytes] of [
    [byUrl, photo],
    [byHash, pdf],
  ] as const) {
    const m = (await api.until(id, (x) => reached(x) || x.status === 'failed', `delivery of ${id}`, 20_000)) as Sent;
    assert.equal(m.status === 'failed' ? JSON.stringify(m.error) : 'reached', 'reached');
    assert.deepEqual(m.media, { sha256: sha(bytes), sentSha256: sha(bytes) });
    // What the owner's sandbox recorded as sent: the bytes asked for.
    assert.equal(await deliveredSha(owner, session, id), sha(bytes));
  }
  assert.equal(adopted(other, session), 0);
});

test('a blob the message pins that its owner cannot find fails the message blob_missing, and nothing is sent', async () => {
  const session = 'lost';
  const { owner, other } = ownerOf(session);
  assert.equal((await other.api('/api/sessions', { method: 'POST', json: { id: session, driver: 'sandbox' } })).status, 201);
  await untilState(owner, session, 'qr');
  const pdf = makePdf(8);
  const hash = sha(pdf);
  assert.equal(
    (await other.api('/api/media', { method: 'POST', body: new Uint8Array(pdf), headers: { 'content-type': 'application/pdf' } })).status,
    201,
  );
  // Accepted while the session waits to be linked; the file goes before the owner gets to send it.
  const id = await sendOn(other, session, { media: { sha256: hash }, as: 'document' });
  await rm(path.join(ctx.blobsDir, hash.slice(0, 2), hash));
  assert.equal((await other.api(`/api/sessions/${session}/sandbox/link`, { method: 'POST', json: {} })).status, 200);

  const m = (await messageApi(other).until(id, (x) => x.status === 'failed' || reached(x), 'the message settled', 20_000)) as Sent;
  assert.equal(m.status, 'failed');
  assert.equal(m.error?.code, 'blob_missing');
  assert.match(m.error?.message ?? '', /BLOBS_DIR/);
  assert.equal(await deliveredSha(owner, session, id), undefined);
});

test('a node whose BLOBS_DIR is not the shared folder says what to set, is not ready (blobs_not_shared) and refuses work', async () => {
  // Its own DATA_DIR/blobs, the default: the mistake the check is for.
  const stray = await startServer(
    { REDIS_URL: ctx.redis.url, CLUSTER_NODE_ID: 'node-c', CLUSTER_LEASE_TTL_MS: '2000', MEDIA_ALLOW_HOSTS: '127.0.0.1' },
    { sessionsDir: ctx.sessionsDir, until: 'listening' },
  );
  try {
    const status = await waitFor('node-c settled', async () => {
      const body = (await (await fetch(`${stray.url}/readyz`)).json()) as { status: string };
      return body.status === 'starting' ? undefined : body.status;
    });
    assert.equal(status, 'blobs_not_shared');
    const lines = stray
      .output()
      .split('\n')
      .filter((l) => l.includes('BLOBS_DIR is not the folder the other nodes share'));
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.includes(`BLOBS_DIR=${path.resolve(ctx.blobsDir)}`), lines[0]);

    const send = await stray.api('/api/sessions/media/messages', { method: 'POST', json: { to: TO, text: 'hi' } });
    assert.deepEqual([send.status, await errorCode(send)], [503, 'blobs_not_shared']);
    const upload = await stray.api('/api/media', {
      method: 'POST',
      body: new Uint8Array(makePdf(9)),
      headers: { 'content-type': 'application/pdf' },
    });
    assert.deepEqual([upload.status, await errorCode(upload)], [503, 'blobs_not_shared']);
    // It opens no session: the others keep them all.
    assert.ok(!stray.output().includes('"msg":"session adopted"'));
  } finally {
    await stray.close();
  }
});
