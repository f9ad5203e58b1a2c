import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asReply } from '../../../src/whatsapp/baileys/quote.js';

test('a reply in a group names the group as the quoted chat; the prepared message is not changed', () => {
  const prepared = { imageMessage: { mimetype: 'image/jpeg', caption: 'new stock' } };
  const quoted = { waMessageId: 'Q1', from: '4915111111111@s.whatsapp.net', chat: '120363040000000001@g.us' };
  assert.deepEqual(asReply(prepared, quoted), {
    imageMessage: {
      mimetype: 'image/jpeg',
      caption: 'new stock',
      contextInfo: { stanzaId: 'Q1', participant: quoted.from, quotedMessage: { conversation: '' }, remoteJid: quoted.chat },
    },
  });
  assert.deepEqual(prepared, { imageMessage: { mimetype: 'image/jpeg', caption: 'new stock' } });
  assert.equal(asReply(prepared, undefined), prepared);
});

test('a reply that mentions someone keeps its mentions beside the quote', () => {
  const text = { extendedTextMessage: { text: 'Hi @4915122222222', contextInfo: { mentionedJid: ['4915122222222@s.whatsapp.net'] } } };
  const quoted = { waMessageId: 'Q2', from: '4915111111111@s.whatsapp.net', chat: '4915111111111@s.whatsapp.net' };
  assert.deepEqual(asReply(text, quoted).extendedTextMessage?.contextInfo, {
    mentionedJid: ['4915122222222@s.whatsapp.net'],
    stanzaId: 'Q2',
    participant: quoted.from,
    quotedMessage: { conversation: '' },
  });
});
