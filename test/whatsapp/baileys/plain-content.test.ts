import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainContent, viewOnce } from '../../../src/whatsapp/baileys/sender.js';

test('text with mentions, a contact card and a location as the message fields WhatsApp reads', () => {
  assert.deepEqual(plainContent({ type: 'text', text: 'Hi @4915122222222', mentions: ['4915122222222@s.whatsapp.net'] }), {
    extendedTextMessage: { text: 'Hi @4915122222222', contextInfo: { mentionedJid: ['4915122222222@s.whatsapp.net'] } },
  });
  assert.deepEqual(plainContent({ type: 'text', text: 'plain' }), { extendedTextMessage: { text: 'plain' } });
  assert.deepEqual(plainContent({ type: 'contact', name: 'Ann, Sales', phone: '+49 151 0000 0002' }), {
    contactMessage: {
      displayName: 'Ann, Sales',
      vcard: 'BEGIN:VCARD\nVERSION:3.0\nFN:Ann\\, Sales\nTEL;type=CELL;type=VOICE;waid=4915100000002:+4915100000002\nEND:VCARD',
    },
  });
  assert.deepEqual(plainContent({ type: 'location', latitude: 52.52, longitude: 13.405, name: 'Shop' }), {
    locationMessage: { degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Shop' },
  });
});

test('view-once media is wrapped in viewOnceMessage; other media is sent as it is', () => {
  const image = { imageMessage: { mimetype: 'image/jpeg', caption: 'once' } };
  const media = { type: 'media' as const, as: 'image' as const, sha256: 'a'.repeat(64), mimetype: 'image/jpeg', size: 1 };
  assert.deepEqual(viewOnce(image, { ...media, viewOnce: true }), { viewOnceMessage: { message: image } });
  assert.equal(viewOnce(image, media), image);
});
