import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { waitFor } from '../../support/server.js';
import { sha256, startHarness, type Harness } from './harness.js';

// The simulator's phones against hashsend as a process: what the inbox and webhook tests build on. Each call
// resolves only once hashsend's Baileys receipted the message, i.e. decrypted it.
const LINKED = '15550100041';
const CUSTOMER = '15557790041';
let h: Harness;
before(async () => {
  h = await startHarness();
  await h.link('shop', LINKED);
});
after(() => h.close());

test("a phone's text, reply, reaction and image reach a session linked through the API; the image is downloaded", async () => {
  const text = await h.sim.sendText(CUSTOMER, LINKED, 'hi, is this the shop?', { pushName: 'Ana' });
  assert.match(text.id, /^3A[0-9A-F]{18}$/);
  const reply = await h.sim.sendText(CUSTOMER, LINKED, 'hello?', { quotedId: text.id });
  const reaction = await h.sim.sendReaction(CUSTOMER, LINKED, text.id, '👍');
  assert.equal(new Set([text.id, reply.id, reaction.id]).size, 3);

  const before = h.sim.downloads;
  const bytes = randomBytes(20_000);
  const image = await h.sim.sendMedia(CUSTOMER, LINKED, { bytes, mimetype: 'image/jpeg', kind: 'image', caption: 'this one' });
  assert.equal(image.sha256, sha256(bytes));
  await waitFor('hashsend to download the image', async () => (h.sim.downloads > before ? true : undefined));
});
