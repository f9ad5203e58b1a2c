import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toJid } from '../../src/whatsapp/recipient.js';

test('phone numbers in international form become user JIDs', () => {
  for (const to of ['+4915123456789', '4915123456789', '+49 151 2345 6789', '+49 (151) 2345-6789', '+1.415.555.0101']) {
    assert.match(toJid(to), /^\d+@s\.whatsapp\.net$/, to);
  }
  assert.equal(toJid('+49 151 2345 6789'), '4915123456789@s.whatsapp.net');
});

test('user, device, legacy and group JIDs are kept (devices and c.us folded)', () => {
  assert.equal(toJid('4915123456789@s.whatsapp.net'), '4915123456789@s.whatsapp.net');
  assert.equal(toJid('4915123456789:12@s.whatsapp.net'), '4915123456789@s.whatsapp.net');
  assert.equal(toJid('4915123456789@c.us'), '4915123456789@s.whatsapp.net');
  assert.equal(toJid('120363041234567890@g.us'), '120363041234567890@g.us');
  assert.equal(toJid('4915123456789-1600000000@g.us'), '4915123456789-1600000000@g.us');
});

test('anything else is invalid_recipient (400)', () => {
  for (const to of ['', 'hello', '+0049151', '123', '+49151234567890123', 'a@b.c', '4915123456789@g.us.evil', '+49 151 abc']) {
    assert.throws(() => toJid(to), { code: 'invalid_recipient', status: 400 }, to);
  }
});
