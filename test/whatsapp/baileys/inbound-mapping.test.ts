import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WAMessage } from '@whiskeysockets/baileys';
import { addressOf, readInbound, receiptEventsOf } from '../../../src/whatsapp/baileys/inbound.js';
import { downloadHost } from '../../../src/whatsapp/baileys/inbound-media.js';

// Groups are not simulated by the protocol simulator: their mapping is checked here on the shapes Baileys
// rc14 emits (decodeMessageNode for keys, handleReceipt for message-receipt.update).

const GROUP = '120363040000000001@g.us';
const msg = (key: WAMessage['key'], message: WAMessage['message'], extra: Partial<WAMessage> = {}): WAMessage => ({
  key,
  message,
  messageTimestamp: 1_790_000_000,
  ...extra,
});

test('group receipts: one per member, named by participant; read and played count as read', () => {
  const key = { remoteJid: GROUP, id: 'OURS1', fromMe: true, participant: undefined };
  assert.deepEqual(
    receiptEventsOf([
      { key, receipt: { userJid: '4915111111111@s.whatsapp.net', receiptTimestamp: 1 } },
      { key, receipt: { userJid: '4915122222222:3@s.whatsapp.net', readTimestamp: 2 } },
      { key, receipt: { userJid: '4915133333333@s.whatsapp.net', playedTimestamp: 3 } },
      // someone else's message, and a receipt naming nobody: not ours to report
      { key: { ...key, fromMe: false }, receipt: { userJid: '4915144444444@s.whatsapp.net', receiptTimestamp: 4 } },
      { key, receipt: { userJid: '', receiptTimestamp: 5 } },
    ]),
    [
      { type: 'receipt', waMessageId: 'OURS1', status: 'delivered', participant: '4915111111111@s.whatsapp.net' },
      { type: 'receipt', waMessageId: 'OURS1', status: 'read', participant: '4915122222222@s.whatsapp.net' },
      { type: 'receipt', waMessageId: 'OURS1', status: 'read', participant: '4915133333333@s.whatsapp.net' },
    ],
  );
});

test('a group message: the chat is the group, the sender its participant, by phone number when Baileys has it', () => {
  const plan = readInbound(
    msg(
      { remoteJid: GROUP, id: 'G1', fromMe: false, participant: '100000000000042@lid', participantAlt: '4915155555555@s.whatsapp.net' },
      { extendedTextMessage: { text: 'hi all', contextInfo: { stanzaId: 'EARLIER' } } },
      { pushName: 'Bo' },
    ),
  );
  assert.deepEqual(plan, {
    kind: 'ready',
    message: {
      waMessageId: 'G1',
      chat: GROUP,
      from: '4915155555555@s.whatsapp.net',
      pushName: 'Bo',
      timestamp: new Date(1_790_000_000_000).toISOString(),
      replyTo: 'EARLIER',
      content: { type: 'text', text: 'hi all' },
    },
  });
  // without the PN beside it, the LID is what there is
  assert.deepEqual(addressOf({ remoteJid: GROUP, participant: '100000000000042@lid' }), { chat: GROUP, from: '100000000000042@lid' });
});

test('not inbound: our own messages, status updates, newsletters, protocol messages; wrappers are unwrapped', () => {
  const text = { conversation: 'x' };
  assert.equal(readInbound(msg({ remoteJid: '4915166666666@s.whatsapp.net', id: 'A', fromMe: true }, text)), undefined);
  assert.equal(
    readInbound(msg({ remoteJid: 'status@broadcast', id: 'B', fromMe: false, participant: '4915166666666@s.whatsapp.net' }, text)),
    undefined,
  );
  assert.equal(readInbound(msg({ remoteJid: '1203630000@newsletter', id: 'C', fromMe: false }, text)), undefined);
  assert.equal(
    readInbound(msg({ remoteJid: '4915166666666@s.whatsapp.net', id: 'D', fromMe: false }, { protocolMessage: { type: 0 } })),
    undefined,
  );
  const ephemeral = readInbound(
    msg(
      { remoteJid: '4915166666666@s.whatsapp.net', id: 'E', fromMe: false },
      { ephemeralMessage: { message: { conversation: 'wrapped' } } },
    ),
  );
  assert.deepEqual(ephemeral?.kind === 'ready' && ephemeral.message.content, { type: 'text', text: 'wrapped' });
});

test('media is downloaded only from a host WhatsApp named: a sender-chosen URL host is replaced', () => {
  const hosts = ['mmg.whatsapp.net', '127.0.0.1:4443'];
  assert.equal(downloadHost('https://mmg.whatsapp.net/v/t62/x.enc', hosts), 'mmg.whatsapp.net');
  assert.equal(downloadHost('https://media-fra3-1.cdn.whatsapp.net/v/x', hosts), 'media-fra3-1.cdn.whatsapp.net');
  assert.equal(downloadHost('https://127.0.0.1:4443/v/x', hosts), '127.0.0.1:4443');
  assert.equal(downloadHost('https://169.254.169.254/latest/meta-data', hosts), 'mmg.whatsapp.net');
  assert.equal(downloadHost('https://evil.whatsapp.net.example/x', hosts), 'mmg.whatsapp.net');
  assert.equal(downloadHost('not a url', []), undefined);
});
