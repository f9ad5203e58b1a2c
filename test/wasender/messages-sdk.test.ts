import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Wasender, WasenderAPIError } from 'wasenderapi';
import { startServer, waitFor, type StartedServer } from '../support/server.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { makeJpeg, makePng } from '../support/media-fixtures.js';
import { deliveryOf, linkedSession, sha, type LinkedSession } from './messages-rig.js';

/** The npm SDK `wasenderapi` as a real client: only its base URL points at hashsend. */
let server: StartedServer;
let origin: Origin;
let shop: LinkedSession;
let sdk: Wasender;
before(async () => {
  [server, origin] = await Promise.all([startServer({ MEDIA_ALLOW_HOSTS: '127.0.0.1' }), startOrigin()]);
  shop = await linkedSession(server);
  sdk = new Wasender(shop.apiKey, undefined, `${server.url}/wasender/api`);
});
after(async () => {
  await Promise.all([server.close(), origin.close()]);
});

interface Sent {
  msgId: number;
  jid: string;
  status: string;
}
const sentOf = (result: { response: unknown }) => (result.response as { data: Sent }).data;

test('sendText, then getMessageInfo: an integer msgId and WhatsApp numeric status', async () => {
  const sent = sentOf(await sdk.sendText({ to: '+4915123456789', text: 'Hello from the SDK' }));
  assert.ok(Number.isSafeInteger(sent.msgId));
  assert.equal(sent.status, 'in_progress');
  const info = await waitFor('the message delivered', async () => {
    const { response } = await sdk.getMessageInfo(sent.msgId);
    const data = response.data as { status: number; message: { conversation: string } };
    return data.status >= 3 ? data : undefined;
  });
  assert.equal(info.message.conversation, 'Hello from the SDK');
});

test('sendImage by URL: the recipient gets exactly the bytes at the URL', async () => {
  const photo = await makeJpeg({ seed: 51 });
  origin.put('sdk.jpg', photo, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  const sent = sentOf(await sdk.sendImage({ to: '+4915123456789', imageUrl: `${origin.url}/sdk.jpg`, text: 'Look' }));
  assert.equal((await deliveryOf(server, shop, sent.msgId)).sha256, sha(photo));
});

test('uploadMediaFile (base64), then sendImage with the publicUrl it answered', async () => {
  const png = await makePng({ seed: 52 });
  const { response } = await sdk.uploadMediaFile({ base64: png.toString('base64'), mimetype: 'image/png' });
  const url = (response as { publicUrl: string }).publicUrl;
  assert.match(url, new RegExp(`/wasender/api/media/${sha(png)}\\.png$`));
  const sent = sentOf(await sdk.sendImage({ to: '+4915123456789', imageUrl: url }));
  assert.equal((await deliveryOf(server, shop, sent.msgId)).sha256, sha(png));
});

test('checkIfOnWhatsapp and sendPresenceUpdate', async () => {
  const { response } = await sdk.checkIfOnWhatsapp('+4915123456789');
  assert.deepEqual((response as unknown as { data: { exists: boolean } }).data.exists, true);
  const presence = await sdk.sendPresenceUpdate('+4915123456789', 'recording');
  assert.equal(presence.response.success, true);
});

test('errors surface as WasenderAPIError: a media URL refused (pinned hash), a 429 with retryAfter and rate limit', async () => {
  const other = await makeJpeg({ seed: 53 });
  origin.put('other.jpg', other, { contentType: 'image/jpeg', cacheControl: 'no-store' });
  // The SDK sends fields it does not know as they are: hashsend's `sha256` pin rides along.
  const mismatch = await sdk
    .send({ messageType: 'image', to: '+4915123456789', imageUrl: `${origin.url}/other.jpg`, sha256: 'ab'.repeat(32) } as never)
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  assert.ok(mismatch instanceof WasenderAPIError);
  assert.equal(mismatch.statusCode, 422);
  assert.match(mismatch.apiMessage, /sha256|hash/i);

  const careful = await linkedSession(server, { accountProtection: true });
  const paced = new Wasender(careful.apiKey, undefined, `${server.url}/wasender/api`);
  const first = await paced.sendText({ to: '+4915123456789', text: 'one' });
  assert.deepEqual([first.rateLimit?.limit, first.rateLimit?.remaining], [1, 0]);
  const refused = await paced.sendText({ to: '+4915123456789', text: 'two' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(refused instanceof WasenderAPIError);
  assert.equal(refused.statusCode, 429);
  assert.ok(refused.retryAfter && refused.retryAfter >= 1);
  assert.equal(refused.rateLimit?.limit, 1);
});
