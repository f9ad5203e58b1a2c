import type { HashsendEvent, InboundMessage } from '../events/types.js';
import type { MessageRecord } from '../outbox/types.js';
import type { EndpointFormat, WebhookEventType } from '../webhooks/types.js';
import type { WebhookFormat } from '../webhooks/formats.js';
import type { MessageIds } from './message-ids.js';
import { WA_STATUS, waMediaMessage, waMessageOf } from './message-view.js';
import { wasenderStatus } from './status.js';

export const WASENDER_FORMAT = 'wasender';

/** What a WASender session's endpoint keeps for its bodies: which of its events it wants, and its session key. */
export interface WasenderFormatOptions extends EndpointFormat {
  name: typeof WASENDER_FORMAT;
  /** WASenderApi's event names; null or empty: every one hashsend makes. */
  events: string[] | null;
  /** WASenderApi puts the session's API key in every body's `sessionId`. */
  sessionKey: string;
}

/** The WASenderApi events hashsend makes, and the hashsend events each is made from. */
const SOURCES = {
  'session.status': ['session.state'],
  'qrcode.updated': ['session.qr'],
  'message.sent': ['message.sent'],
  'messages.update': ['message.queued', 'message.sent', 'message.delivered', 'message.read', 'message.failed'],
  'message-receipt.update': ['message.delivered', 'message.read'],
  // Its docs: every message of the session, sent and received alike.
  'messages.upsert': ['message.sent', 'message.received'],
  'messages.received': ['message.received'],
  'messages-personal.received': ['message.received'],
  'messages-group.received': ['message.received'],
} as const satisfies Record<string, readonly WebhookEventType[]>;

export type WasenderEventName = keyof typeof SOURCES;
export const WASENDER_EVENTS = Object.keys(SOURCES) as WasenderEventName[];

/** The hashsend events an endpoint subscribes to, so the engine stores nothing its format would drop. */
export const hashsendEventsOf = (events: string[] | null): WebhookEventType[] => {
  const names = events?.length ? WASENDER_EVENTS.filter((n) => events.includes(n)) : WASENDER_EVENTS;
  return [...new Set(names.flatMap((n) => SOURCES[n]))];
};

type Rendered = [WasenderEventName, unknown];

const digits = (jid: string) => jid.split('@')[0].split(':')[0].replace(/\D/g, '');
const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

const outgoing = (m: MessageRecord, msgId: number | undefined): Rendered[] => {
  const key = { id: m.waMessageId ?? m.id, remoteJid: m.to, fromMe: true };
  const ids = msgId === undefined ? {} : { msgId };
  const update: Rendered = ['messages.update', { key, update: { status: WA_STATUS[m.status] }, ...ids }];
  const at = m.readAt ?? m.deliveredAt ?? m.updatedAt;
  switch (m.status) {
    case 'sent': {
      const message = waMessageOf(m);
      const entry = { key, message, messageTimestamp: seconds(m.sentAt ?? m.updatedAt), status: 'sent', ...ids };
      return [['message.sent', entry], update, ['messages.upsert', { ...entry, messages: [entry] }]];
    }
    case 'delivered':
    case 'read':
      return [
        update,
        [
          'message-receipt.update',
          { message: { key, receipt: { userJid: m.to, status: m.status, t: seconds(at), receiptTimestamp: seconds(at) } }, ...ids },
        ],
      ];
    case 'queued':
    case 'failed':
      return [update];
    default:
      return [];
  }
};

const inboundMessage = ({ content }: InboundMessage): Record<string, unknown> => {
  if (content.type === 'text') return { conversation: content.text };
  if (content.type === 'reaction') return { reactionMessage: { key: { id: content.messageId }, text: content.emoji } };
  // WhatsApp's own field: the plaintext sha256 in base64. hashsend serves the bytes at /api/media/<hex>/content.
  return waMediaMessage(content, { fileSha256: Buffer.from(content.sha256, 'hex').toString('base64') });
};

const incoming = (m: InboundMessage, msgId: number | undefined): Rendered[] => {
  const group = m.chat.endsWith('@g.us');
  const key = {
    id: m.waMessageId,
    fromMe: false,
    remoteJid: m.chat,
    ...(group ? { participant: m.from, participantPn: m.from, cleanParticipantPn: digits(m.from) } : {}),
    senderPn: m.from,
    cleanedSenderPn: digits(m.from),
    cleanSenderPn: digits(m.from),
  };
  const { content } = m;
  const body = content.type === 'text' ? content.text : content.type === 'media' ? (content.caption ?? '') : content.emoji;
  const entry = {
    key,
    messageBody: body,
    message: inboundMessage(m),
    ...(m.pushName ? { pushName: m.pushName } : {}),
    messageTimestamp: seconds(m.timestamp),
    ...(msgId === undefined ? {} : { msgId }),
  };
  // Its docs put the message under `messages` (a list for upsert); its SDK types read it from `data` itself: both.
  return [
    ['messages.upsert', { ...entry, messages: [entry] }],
    ['messages.received', { ...entry, messages: entry }],
    [group ? 'messages-group.received' : 'messages-personal.received', { ...entry, messages: entry }],
  ];
};

/**
 * WASenderApi's webhook bodies, `{ event, timestamp, data, sessionId }`, from hashsend's events: a status change of
 * a message is `messages.update` with WhatsApp's numeric status and the message's integer msgId (its SDK's
 * `message.sent` and `messages.upsert` too), an inbound message `messages.upsert` and `messages.received`, a
 * session's state `session.status`, a QR `qrcode.updated`. `prepare` gives each message its msgId first.
 */
export const createWasenderFormat = ({ ids }: { ids: Pick<MessageIds, 'numberOf'> }): WebhookFormat => {
  // Filled by `prepare` just before the event is rendered; kept small, it is read at once.
  const msgIds = new Map<string, number>();
  const remember = (id: string, n: number) => {
    msgIds.delete(id);
    msgIds.set(id, n);
    if (msgIds.size > 10_000) msgIds.delete(msgIds.keys().next().value!);
  };
  const messageId = (event: HashsendEvent) => (event.type === 'message' || event.type === 'received' ? event.message.id : undefined);

  const bodiesOf = (event: HashsendEvent, options: WasenderFormatOptions): Rendered[] => {
    switch (event.type) {
      case 'state':
        return [['session.status', { status: wasenderStatus(event.session.state), session_id: options.sessionKey }]];
      case 'qr':
        return [['qrcode.updated', { qr: event.qr, session_id: options.sessionKey }]];
      case 'message':
        return outgoing(event.message, msgIds.get(event.message.id));
      case 'received':
        return incoming(event.message, msgIds.get(event.message.id));
      default:
        return [];
    }
  };

  return {
    prepare(event) {
      const id = messageId(event);
      if (id === undefined || msgIds.has(id)) return undefined;
      return ids.numberOf(id).then((n) => remember(id, n));
    },
    render(endpoint, event, _source, { createdAt }) {
      const options = endpoint.format as WasenderFormatOptions;
      const wanted = (name: string) => !options.events?.length || options.events.includes(name);
      const timestamp = Date.parse(createdAt);
      return bodiesOf(event, options)
        .filter(([name]) => wanted(name))
        .map(([name, data]) => JSON.stringify({ event: name, timestamp, data, sessionId: options.sessionKey }));
    },
  };
};
