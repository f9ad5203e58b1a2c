import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preparingPublisher, renderBodies, type WebhookFormat } from '../../src/webhooks/formats.ts';
import { toWebhookEvent } from '../../src/webhooks/event-map.ts';
import { createLogger } from '../../src/log.ts';
import type { HashsendEvent, InboundMessage } from '../../src/events/types.ts';
import type { MessageRecord } from '../../src/outbox/types.ts';
import type { WebhookEndpoint } from '../../src/webhooks/types.ts';
import { createWasenderFormat, hashsendEventsOf } from '../../src/wasender/webhook-format.ts';

const log = createLogger('silent');
const endpoint = (format?: WebhookEndpoint['format'], sessionId = 'shop'): WebhookEndpoint => ({
  id: 'whe_1',
  url: 'http://127.0.0.1/hook',
  events: ['*'],
  sessionId,
  ...(format ? { format } : {}),
  enabled: true,
  secret: 's',
  createdAt: '2025-01-01T10:00:00.000Z',
  updatedAt: '2025-01-01T10:00:00.000Z',
});
const message = (id: string, status: MessageRecord['status']): HashsendEvent => ({
  type: 'message',
  message: {
    id,
    sessionId: 'shop',
    to: '4915100000010@s.whatsapp.net',
    type: 'text',
    content: { type: 'text', text: 'hi' },
    status,
    waMessageId: `WA-${id}`,
    attempts: 1,
    position: 0,
    createdAt: '2025-01-01T10:00:00.000Z',
    updatedAt: '2025-01-01T10:00:01.000Z',
    sentAt: '2025-01-01T10:00:01.000Z',
  },
});

test('events that wait for a format’s preparation, and every event after them, are published in the order they came', async () => {
  const releases: (() => void)[] = [];
  const slow: WebhookFormat = {
    render: () => [],
    // The first event's lookup is the slowest: it must still go first.
    prepare: (event) =>
      event.type === 'message' && event.message.id === 'a' ? new Promise<void>((resolve) => releases.push(resolve)) : Promise.resolve(),
  };
  const published: string[] = [];
  const done = new Promise<void>((resolve) => {
    const publish = preparingPublisher({
      formats: { slow },
      endpoints: () => [endpoint({ name: 'slow' })],
      publish: (e) => {
        published.push(e.type === 'message' ? e.message.id : e.type);
        if (published.length === 3) resolve();
      },
      log,
    });
    publish(message('a', 'queued'));
    publish(message('b', 'queued'));
    publish({ type: 'state', session: { id: 'shop', driver: 'sandbox', state: 'connected', createdAt: '', updatedAt: '' } });
  });
  assert.deepEqual(published, [], 'nothing overtakes the event that waits');
  releases[0]();
  await done;
  assert.deepEqual(published, ['a', 'b', 'state']);
});

test('with no endpoint of a format for the session, events go straight through, unprepared', () => {
  let prepared = 0;
  const published: string[] = [];
  const publish = preparingPublisher({
    formats: { slow: { render: () => [], prepare: () => (prepared++, Promise.resolve()) } },
    endpoints: () => [endpoint({ name: 'slow' }, 'other'), endpoint()],
    publish: (e) => published.push(e.type),
    log,
  });
  publish(message('a', 'sent'));
  assert.deepEqual(published, ['message']);
  assert.equal(prepared, 0);
});

test('hashsend’s body for a plain endpoint, the format’s bodies for one with a format, none for an unknown format', () => {
  const event = message('a', 'sent');
  const source = toWebhookEvent(event)!;
  const meta = { id: 'evt_1', createdAt: '2025-01-01T10:00:02.000Z' };
  const twice: WebhookFormat = { render: (_e, ev) => [`1:${ev.type}`, `2:${ev.type}`] };
  assert.deepEqual(renderBodies({ twice }, endpoint(), event, source, meta, 'ours'), ['ours']);
  assert.deepEqual(renderBodies({ twice }, endpoint({ name: 'twice' }), event, source, meta, 'ours'), ['1:message', '2:message']);
  assert.deepEqual(renderBodies({ twice }, endpoint({ name: 'gone' }), event, source, meta, 'ours'), []);
});

test('WASender: a sent message is message.sent, messages.update (status 2) and messages.upsert with its msgId; webhook_events filters', async () => {
  const format = createWasenderFormat({ ids: { numberOf: async () => 42 } });
  const event = message('a', 'sent');
  await format.prepare!(event);
  const options = { name: 'wasender', events: null, sessionKey: 'KEY' };
  const bodies = format
    .render(endpoint(options), event, toWebhookEvent(event)!, { id: 'evt_1', createdAt: '2025-01-01T10:00:02.000Z' })
    .map((b) => JSON.parse(b) as { event: string; timestamp: number; sessionId: string; data: Record<string, unknown> });
  assert.deepEqual(
    bodies.map((b) => b.event),
    ['message.sent', 'messages.update', 'messages.upsert'],
  );
  for (const b of bodies) {
    assert.equal(b.sessionId, 'KEY');
    assert.equal(b.timestamp, Date.parse('2025-01-01T10:00:02.000Z'));
    assert.equal(b.data.msgId, 42);
    assert.deepEqual(b.data.key, { id: 'WA-a', remoteJid: '4915100000010@s.whatsapp.net', fromMe: true });
  }
  assert.deepEqual(bodies[1].data.update, { status: 2 });

  const only = format.render(endpoint({ ...options, events: ['messages.update'] }), event, toWebhookEvent(event)!, {
    id: 'evt_1',
    createdAt: '2025-01-01T10:00:02.000Z',
  });
  assert.deepEqual(
    only.map((b) => (JSON.parse(b) as { event: string }).event),
    ['messages.update'],
  );
  // The engine stores for an endpoint only the hashsend events its WASender events are made from.
  assert.deepEqual(hashsendEventsOf(['messages.received', 'chats.upsert']), ['message.received']);
  assert.deepEqual(hashsendEventsOf(['session.status', 'qrcode.updated']), ['session.state', 'session.qr']);
});

test('WASender: an inbound image in a group names its participant and its content by WhatsApp’s field names', async () => {
  const inbound: InboundMessage = {
    id: 'in_1',
    sessionId: 'shop',
    receivedAt: '2025-01-01T10:00:00.000Z',
    waMessageId: 'W1',
    chat: '120363000000000000@g.us',
    from: '4915100000002@s.whatsapp.net',
    pushName: 'Ana',
    timestamp: '2025-01-01T09:59:59.000Z',
    content: { type: 'media', as: 'image', sha256: 'ab'.repeat(32), mimetype: 'image/jpeg', size: 10, caption: 'look' },
  };
  const event: HashsendEvent = { type: 'received', message: inbound };
  const format = createWasenderFormat({ ids: { numberOf: async () => 7 } });
  await format.prepare!(event);
  const bodies = format
    .render(endpoint({ name: 'wasender', events: null, sessionKey: 'KEY' }), event, toWebhookEvent(event)!, {
      id: 'evt_1',
      createdAt: '2025-01-01T10:00:02.000Z',
    })
    .map((b) => JSON.parse(b) as { event: string; data: Record<string, unknown> });
  assert.deepEqual(
    bodies.map((b) => b.event),
    ['messages.upsert', 'messages.received', 'messages-group.received'],
  );
  const { data } = bodies[1];
  assert.equal(data.messageBody, 'look');
  assert.equal(data.msgId, 7);
  assert.equal(data.pushName, 'Ana');
  assert.equal((data.key as { participant: string }).participant, '4915100000002@s.whatsapp.net');
  assert.deepEqual(data.message, {
    imageMessage: {
      mimetype: 'image/jpeg',
      fileLength: '10',
      fileSha256: Buffer.from('ab'.repeat(32), 'hex').toString('base64'),
      caption: 'look',
    },
  });
});
