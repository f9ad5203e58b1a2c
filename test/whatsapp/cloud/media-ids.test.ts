import { test } from 'node:test';
import assert from 'node:assert/strict';
import Keyv from 'keyv';
import { MediaIdCache } from '../../../src/whatsapp/cloud/media-ids.ts';
import { metaSha256 } from '../../../src/whatsapp/cloud/meta-sha256.ts';

const DAY = 24 * 3600_000;
const SHA = 'c0ffee'.padEnd(64, '0');

test('an id is reused until a day before it expires, then uploaded again; kept across a restart', async () => {
  let now = 0;
  let uploads = 0;
  const store = new Keyv();
  const cache = new MediaIdCache({ store, ttlMs: 29 * DAY, now: () => now });
  const upload = async () => ({ mediaId: `id${++uploads}`, sha256: SHA });
  assert.equal((await cache.get('1', SHA, upload)).reused, false);
  now = 28 * DAY - 1;
  assert.deepEqual(await cache.get('1', SHA, upload), { entry: { mediaId: 'id1', sha256: SHA, expiresAt: 29 * DAY }, reused: true });
  const restarted = new MediaIdCache({ store, ttlMs: 29 * DAY, now: () => now });
  assert.equal((await restarted.get('1', SHA, upload)).entry.mediaId, 'id1', 'a restart does not upload again');
  assert.equal((await cache.get('2', SHA, upload)).entry.mediaId, 'id2', 'another number has its own uploads');
  now = 28 * DAY;
  assert.deepEqual((await cache.get('1', SHA, upload)).entry, { mediaId: 'id3', sha256: SHA, expiresAt: 57 * DAY });
});

test('a failed upload is not remembered; invalidate forgets only the id it names', async () => {
  const cache = new MediaIdCache({ store: new Keyv(), ttlMs: DAY });
  await assert.rejects(
    cache.get('1', SHA, async () => Promise.reject(new Error('refused'))),
    /refused/,
  );
  const { entry } = await cache.get('1', SHA, async () => ({ mediaId: 'a', sha256: SHA }));
  await cache.invalidate('1', SHA, 'stale-other-id');
  assert.equal((await cache.get('1', SHA, async () => ({ mediaId: 'b', sha256: SHA }))).entry.mediaId, entry.mediaId);
  await cache.invalidate('1', SHA, 'a');
  assert.equal((await cache.get('1', SHA, async () => ({ mediaId: 'b', sha256: SHA }))).entry.mediaId, 'b');
});

test("Meta's sha256 is read as hex (media info) or base64 (inbound webhooks), nothing else", () => {
  const hex = 'ab'.repeat(32);
  assert.equal(metaSha256(hex.toUpperCase()), hex);
  assert.equal(metaSha256(Buffer.from(hex, 'hex').toString('base64')), hex);
  assert.equal(metaSha256('abc'), undefined);
  assert.equal(metaSha256(42), undefined);
});
