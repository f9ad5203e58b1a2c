import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signatureHeader, verifyWebhookSignature } from '../../src/webhooks/signature.ts';

// The README's snippet itself, taken from README.md: a receiver with node:crypto only must agree with the
// documented check, so a change to either shows here.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const snippet = /```js\n(import \{ createHmac, timingSafeEqual \} from 'node:crypto';\n[\s\S]*?function verifyHashsend[\s\S]*?)```/.exec(
  readme,
)?.[1];
const verifyHashsend = new Function('createHmac', 'timingSafeEqual', `${snippet?.replace(/^import .*$/m, '')}; return verifyHashsend;`)(
  createHmac,
  timingSafeEqual,
) as (rawBody: string | Buffer, header: string | undefined, secret: string, toleranceSeconds?: number) => boolean;

const body = JSON.stringify({
  id: 'evt_1',
  type: 'message.sent',
  createdAt: '2025-01-01T10:00:00.000Z',
  data: { id: 'm1', text: 'ünïcode' },
});
const now = Math.floor(Date.now() / 1000);

test('a signed body verifies with its secret; a changed body, another secret or an old timestamp does not', () => {
  const header = signatureHeader(body, ['whsec_a'], now);
  assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.deepEqual(verifyWebhookSignature({ payload: body, header, secret: 'whsec_a' }), { ok: true, timestamp: now });
  assert.deepEqual(verifyWebhookSignature({ payload: Buffer.from(body), header, secret: 'whsec_a' }), { ok: true, timestamp: now });
  assert.deepEqual(verifyWebhookSignature({ payload: body.replace('m1', 'm2'), header, secret: 'whsec_a' }), {
    ok: false,
    reason: 'mismatch',
  });
  assert.deepEqual(verifyWebhookSignature({ payload: body, header, secret: 'whsec_b' }), { ok: false, reason: 'mismatch' });
  // A capture replayed later than the tolerance, or signed in the future, is refused even though it is genuine.
  assert.deepEqual(verifyWebhookSignature({ payload: body, header, secret: 'whsec_a', now: now + 301 }), { ok: false, reason: 'stale' });
  assert.deepEqual(verifyWebhookSignature({ payload: body, header, secret: 'whsec_a', now: now - 301 }), { ok: false, reason: 'stale' });
  assert.equal(verifyWebhookSignature({ payload: body, header, secret: 'whsec_a', now: now + 301, toleranceSeconds: 600 }).ok, true);
  // The timestamp is signed: moving it forward breaks the signature.
  assert.equal(verifyWebhookSignature({ payload: body, header: header.replace(`t=${now}`, `t=${now + 1}`), secret: 'whsec_a' }).ok, false);
  for (const bad of [undefined, '', 'v1=abc', `t=${now}`, `t=x,v1=${'0'.repeat(64)}`, 'garbage'])
    assert.deepEqual(verifyWebhookSignature({ payload: body, header: bad, secret: 'whsec_a' }), { ok: false, reason: 'malformed' }, bad);
});

test('during a rotation the header carries a v1 per secret: either secret verifies', () => {
  const header = signatureHeader(body, ['whsec_new', 'whsec_old'], now);
  assert.equal(header.split(',').length, 3);
  for (const secret of ['whsec_new', 'whsec_old']) assert.equal(verifyWebhookSignature({ payload: body, header, secret }).ok, true);
  assert.equal(verifyWebhookSignature({ payload: body, header, secret: 'whsec_other' }).ok, false);
});

test("the README's node:crypto snippet agrees with verifyWebhookSignature", () => {
  assert.ok(snippet, 'the README has the node:crypto snippet');
  const cases: [string | Buffer, string | undefined, string][] = [
    [body, signatureHeader(body, ['whsec_a'], now), 'whsec_a'],
    [Buffer.from(body), signatureHeader(body, ['whsec_new', 'whsec_a'], now), 'whsec_a'],
    [body, signatureHeader(body, ['whsec_a'], now), 'whsec_b'],
    [body, signatureHeader(body, ['whsec_a'], now - 1000), 'whsec_a'],
    [body + ' ', signatureHeader(body, ['whsec_a'], now), 'whsec_a'],
    [body, 'garbage', 'whsec_a'],
    [body, undefined, 'whsec_a'],
  ];
  for (const [payload, header, secret] of cases) {
    assert.equal(verifyHashsend(payload, header, secret), verifyWebhookSignature({ payload, header, secret }).ok, `${header} ${secret}`);
  }
});
