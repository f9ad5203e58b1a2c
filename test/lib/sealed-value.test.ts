import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { seal, SealingKey, unseal, UnsealError } from '../../src/lib/sealed-value.ts';

const key = new SealingKey(randomBytes(32));
const problem = (p: string) => (e: unknown) => e instanceof UnsealError && e.problem === p;

test('a sealed value opens under the same key and context, and shows nothing of the plaintext', () => {
  const sealed = seal(key, 'the secret token', 'hs:creds:a/options');
  assert.equal(unseal(key, sealed, 'hs:creds:a/options'), 'the secret token');
  assert.ok(sealed.startsWith(`v1:${key.id}:`));
  assert.ok(!sealed.includes('secret') && !Buffer.from(sealed.split(':')[2], 'base64').includes('secret'));
  assert.notEqual(seal(key, 'the secret token', 'c'), seal(key, 'the secret token', 'c'), 'a fresh nonce per value');
});

test('another context, another key or one altered byte does not open', () => {
  const sealed = seal(key, 'value', 'hs:creds:a/creds');
  assert.throws(() => unseal(key, sealed, 'hs:creds:b/creds'), problem('not_authentic'));
  const other = new SealingKey(randomBytes(32));
  assert.throws(
    () => unseal(other, sealed, 'hs:creds:a/creds'),
    (e: unknown) => problem('other_key')(e) && (e as Error).message.includes(key.id),
  );
  const raw = Buffer.from(sealed.split(':')[2], 'base64');
  raw[raw.length - 20] ^= 1;
  assert.throws(() => unseal(key, `v1:${key.id}:${raw.toString('base64')}`, 'hs:creds:a/creds'), problem('not_authentic'));
  // The key id is authenticated too: relabelling a value does not make another key try it.
  assert.throws(() => unseal(other, sealed.replace(key.id, other.id), 'hs:creds:a/creds'), problem('not_authentic'));
  assert.throws(() => unseal(key, '{"plain":"json"}', 'c'), problem('malformed'));
});

test('keys parse from 64 hex digits or base64 of 32 bytes, and never print their bytes', () => {
  const bytes = randomBytes(32);
  const hex = SealingKey.parse(bytes.toString('hex'));
  const b64 = SealingKey.parse(bytes.toString('base64'));
  const url = SealingKey.parse(bytes.toString('base64url'));
  assert.ok(hex && b64 && url);
  assert.equal(hex.id, b64.id);
  assert.equal(hex.id, url.id);
  for (const bad of ['', 'abc', bytes.toString('hex').slice(2), randomBytes(31).toString('base64'), randomBytes(33).toString('hex')]) {
    assert.equal(SealingKey.parse(bad), undefined, bad);
  }
  const shown = JSON.stringify({ key: hex }) + inspect({ key: hex }, { depth: 5 });
  assert.ok(!shown.includes(bytes.toString('hex')) && !shown.includes(bytes.toString('base64')), shown);
  assert.ok(shown.includes(hex.id));
});
