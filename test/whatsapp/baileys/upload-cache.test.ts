import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { proto } from '@whiskeysockets/baileys';
import { UploadCache } from '../../../src/whatsapp/baileys/upload-cache.js';
import { assertPreparedHash } from '../../../src/whatsapp/baileys/hash-guard.js';

const bytes = Buffer.from('the picture');
const sha256 = createHash('sha256').update(bytes).digest('hex');
const prepared = (fileSha256: Buffer): proto.IMessage => ({ imageMessage: { url: 'https://mmg/x', fileSha256 } });

test('one upload serves concurrent and later sends of the same (sha256, as) until it expires', async () => {
  let now = 1000;
  let uploads = 0;
  const cache = new UploadCache({ ttlMs: 500, now: () => now });
  const prepare = async () => {
    uploads += 1;
    return prepared(createHash('sha256').update(bytes).digest());
  };
  const first = await Promise.all(Array.from({ length: 5 }, () => cache.get(sha256, 'image', prepare)));
  assert.equal(uploads, 1);
  assert.deepEqual(
    first.map((r) => r.reused),
    [false, true, true, true, true],
  );
  await cache.get(sha256, 'document', prepare);
  assert.equal(uploads, 2, 'another presentation is another upload');
  now += 499;
  await cache.get(sha256, 'image', prepare);
  assert.equal(uploads, 2);
  now += 1;
  assert.equal((await cache.get(sha256, 'image', prepare)).reused, false);
  assert.equal(uploads, 3, 'expired entries upload again');
  cache.invalidate(sha256, 'image');
  await cache.get(sha256, 'image', prepare);
  assert.equal(uploads, 4, 'a refused upload is not reused');
});

test('a failed upload is not cached', async () => {
  const cache = new UploadCache({ ttlMs: 500 });
  await assert.rejects(
    cache.get(sha256, 'image', async () => {
      throw new Error('Media upload failed on all hosts');
    }),
  );
  const again = await cache.get(sha256, 'image', async () => prepared(Buffer.from(sha256, 'hex')));
  assert.equal(again.reused, false);
});

test('the hash guard passes the blob hash and refuses any other', () => {
  assert.equal(assertPreparedHash(prepared(Buffer.from(sha256, 'hex')), 'imageMessage', sha256), sha256);
  assert.throws(() => assertPreparedHash(prepared(createHash('sha256').update('stale').digest()), 'imageMessage', sha256), {
    code: 'hash_mismatch',
    status: 422,
  });
  assert.throws(() => assertPreparedHash({ imageMessage: {} }, 'imageMessage', sha256), { code: 'hash_mismatch' });
  assert.throws(() => assertPreparedHash(prepared(Buffer.from(sha256, 'hex')), 'videoMessage', sha256), { code: 'hash_mismatch' });
});

test("Baileys' prepared fileSha256 is the plaintext hash the guard compares", async () => {
  const { prepareWAMessageMedia } = await import('@whiskeysockets/baileys');
  const { uploadContent } = await import('../../../src/whatsapp/baileys/media-content.js');
  const doc = Buffer.from('%PDF-1.4 a small document');
  const docSha = createHash('sha256').update(doc).digest('hex');
  const message = await prepareWAMessageMedia(
    uploadContent({ type: 'media', as: 'document', sha256: docSha, mimetype: 'application/pdf', size: doc.length }, doc),
    // Stands in for WhatsApp's media host, which cannot be reached from here; it only names a path.
    { upload: async () => ({ mediaUrl: 'https://mmg.invalid/d', directPath: '/d' }) },
  );
  assert.equal(assertPreparedHash(message, 'documentMessage', docSha), docSha);
});
