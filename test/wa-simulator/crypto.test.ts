import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Curve } from '@whiskeysockets/baileys';
import { verifyXEdDSA } from '../support/wa-simulator/xeddsa.js';

test('the simulator checks signatures for real, where Baileys rc14 Curve.verify accepts anything', () => {
  const key = Curve.generateKeyPair();
  const signature = Curve.sign(key.private, Buffer.from('device identity'));
  assert.equal(verifyXEdDSA(key.public, Buffer.from('device identity'), signature), true);
  assert.equal(verifyXEdDSA(key.public, Buffer.from('something else'), signature), false);
  assert.equal(verifyXEdDSA(Curve.generateKeyPair().public, Buffer.from('device identity'), signature), false);
  // upstream behaviour this guards against: a wrong message still "verifies" in Baileys
  assert.equal(Curve.verify(key.public, Buffer.from('something else'), signature), true);
});
