import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toWebhookEvent } from '../../src/webhooks/event-map.ts';
import type { BroadcastView } from '../../src/broadcasts/view.ts';
import type { InboundMessage } from '../../src/events/types.ts';
import type { MessageRecord } from '../../src/outbox/types.ts';
import { messageView } from '../../src/messages/view.ts';

const message = (status: MessageRecord['status']): MessageRecord => ({
  id: '3EB0AA',
  sessionId: 'shop',
  to: '4915100000010@s.whatsapp.net',
  type: 'text',
  content: { type: 'text', text: 'hi' },
  status,
  attempts: 1,
  position: 0,
  createdAt: '2025-01-01T10:00:00.000Z',
  updatedAt: '2025-01-01T10:00:01.000Z',
});

test('message statuses map to message.* (none for sending), with the API view of the message, ordered per message', () => {
  for (const status of ['queued', 'sent', 'delivered', 'read', 'failed'] as const) {
    const m = message(status);
    assert.deepEqual(toWebhookEvent({ type: 'message', message: m }), {
      type: `message.${status}`,
      data: messageView(m),
      sessionId: 'shop',
      orderingKey: 'message:3EB0AA',
    });
  }
  assert.equal(toWebhookEvent({ type: 'message', message: message('sending'), previousStatus: 'queued' }), undefined);
});

test('received, session, broadcast and opt-out events map to their types and keys; receipts and inbound driver events to none', () => {
  const inbound: InboundMessage = {
    id: 'in_1',
    sessionId: 'shop',
    receivedAt: '2025-01-01T10:00:00.000Z',
    waMessageId: 'W1',
    chat: '4915100000010@s.whatsapp.net',
    from: '4915100000010@s.whatsapp.net',
    timestamp: '2025-01-01T09:59:59.000Z',
    content: { type: 'media', as: 'image', sha256: 'ab'.repeat(32), mimetype: 'image/jpeg', size: 10 },
  };
  const received = toWebhookEvent({ type: 'received', message: inbound });
  assert.deepEqual([received?.type, received?.orderingKey, received?.sessionId], ['message.received', 'received:in_1', 'shop']);
  assert.deepEqual((received?.data as { media: unknown }).media, { sha256: 'ab'.repeat(32), url: `/api/media/${'ab'.repeat(32)}/content` });

  const session = { id: 'shop', driver: 'sandbox', state: 'connected' as const, createdAt: 'x', updatedAt: 'y' };
  assert.deepEqual(toWebhookEvent({ type: 'state', session }), {
    type: 'session.state',
    data: session,
    sessionId: 'shop',
    orderingKey: 'session:shop',
  });
  assert.deepEqual(toWebhookEvent({ type: 'qr', sessionId: 'shop', qr: 'Q', expiresAt: 'E' }), {
    type: 'session.qr',
    data: { sessionId: 'shop', qr: 'Q', expiresAt: 'E' },
    sessionId: 'shop',
    orderingKey: 'session:shop',
  });
  for (const [status, type] of [
    ['running', 'broadcast.progress'],
    ['scheduled', 'broadcast.progress'],
    ['cancelled', 'broadcast.progress'],
    ['paused', 'broadcast.paused'],
    ['completed', 'broadcast.completed'],
  ]) {
    const broadcast = { id: 'bc_1', sessionId: 'shop', status } as BroadcastView;
    assert.deepEqual(toWebhookEvent({ type: 'broadcast', broadcast }), {
      type,
      data: broadcast,
      sessionId: 'shop',
      orderingKey: 'broadcast:bc_1',
    });
  }
  const optOut = { sessionId: 'shop', phone: '4915100000010', jid: 'j', source: 'keyword' as const, createdAt: 'c' };
  assert.deepEqual(toWebhookEvent({ type: 'optout', optOut }), {
    type: 'optout.added',
    data: optOut,
    sessionId: 'shop',
    orderingKey: 'optout:shop:4915100000010',
  });
  assert.equal(toWebhookEvent({ type: 'receipt', sessionId: 'shop', waMessageId: 'W', status: 'read' }), undefined);
  assert.equal(toWebhookEvent({ type: 'deleted', sessionId: 'shop' }), undefined);
});
