import { HashsendError } from '../errors.js';
import type { CardInput, MessageInput, MessageService, SendOptions } from '../messages/service.js';
import type { Outbox } from '../outbox/index.js';
import type { SendAs } from '../whatsapp/driver.js';
import { ownMediaHash } from '../media/content-urls.js';
import type { MessageIds } from './message-ids.js';
import { messageInfoOf, sendStatusOf } from './message-view.js';

/** A `POST /send-message` body as WASenderApi documents it, shape-checked already. */
export interface WasenderSendRequest {
  to: string;
  text?: string;
  imageUrl?: string;
  videoUrl?: string;
  documentUrl?: string;
  audioUrl?: string;
  stickerUrl?: string;
  fileName?: string;
  contact?: { name: string; phone: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  poll?: unknown;
  viewOnce?: boolean;
  mentions?: string[];
  /** A msgId (ours for every message), or an inbox id (`in_…`) as hashsend's own API names received messages. */
  replyTo?: number | string;
  /** hashsend's addition: the sha256 the media URL must have, or the send is refused. */
  sha256?: string;
}

/** Each media field and how its content is shown; `audioUrl` is a voice note, as WASenderApi sends it. */
const MEDIA_FIELDS = [
  ['imageUrl', 'image'],
  ['videoUrl', 'video'],
  ['documentUrl', 'document'],
  ['audioUrl', 'voice'],
  ['stickerUrl', 'sticker'],
] as const satisfies readonly (readonly [keyof WasenderSendRequest, SendAs])[];

/** Message kinds WASenderApi sends that hashsend's drivers do not yet: refused by name, never sent as something else. */
const NOT_BUILT = ['poll'] as const;

/** A 422 that WASenderApi's surface answers as Laravel does, `errors: { field: [message] }` (from `details.issues`). */
export const validationError = (field: string, message: string) =>
  new HashsendError('invalid_request', 422, message, { issues: [{ path: field, message }] });

const notSupported = (message: string) => new HashsendError('not_supported', 501, message);

export interface SendContext {
  /** Origins this server is reached at: a URL of ours there is resolved by hash, not fetched. */
  origins: string[];
}

export interface WasenderMessages {
  send(sessionId: string, request: WasenderSendRequest, context: SendContext): Promise<{ msgId: number; jid: string; status: string }>;
  info(sessionId: string, msgId: number): Promise<ReturnType<typeof messageInfoOf>>;
}

export interface WasenderMessagesDeps {
  messages: Pick<MessageService, 'send'>;
  outbox: Pick<Outbox, 'get'>;
  ids: MessageIds;
}

/**
 * WASenderApi's message calls on hashsend's message service: its one polymorphic body becomes a MessageInput (media
 * through the freshness pipeline like any other), its integer msgIds map onto our ids.
 */
export const createWasenderMessages = ({ messages, outbox, ids }: WasenderMessagesDeps): WasenderMessages => {
  const inputOf = (request: WasenderSendRequest, { origins }: SendContext): MessageInput | CardInput => {
    for (const field of NOT_BUILT) {
      if (request[field] !== undefined) throw notSupported(`${field} messages are not supported by hashsend yet`);
    }
    const media = MEDIA_FIELDS.filter(([field]) => request[field] !== undefined);
    const cards = (['contact', 'location'] as const).filter((field) => request[field] !== undefined);
    const kinds = [...media.map(([field]) => field), ...cards];
    if (kinds.length > 1)
      throw validationError(kinds[1], `Only one of a media URL, contact or location may be given, got ${kinds.join(', ')}.`);
    if (media.length === 0) {
      if (request.viewOnce) throw validationError('viewOnce', 'viewOnce applies to an image, video or audio URL.');
      if (request.sha256 !== undefined) throw validationError('sha256', 'sha256 pins the hash of a media URL; this message has none.');
    }
    if (cards.length) {
      // A card carries no caption: text beside it would be dropped on the way, so it is refused instead.
      if (request.text) throw validationError('text', `A ${cards[0]} message carries no text; send the text on its own.`);
      return request.contact ? { contact: request.contact } : { location: request.location! };
    }
    if (media.length === 0) {
      if (!request.text) throw validationError('text', 'The text field is required when no media is present.');
      return { text: request.text, ...(request.mentions?.length ? { mentions: request.mentions } : {}) };
    }
    const [field, as] = media[0];
    const url = request[field] as string;
    const pinned = request.sha256?.toLowerCase();
    const own = ownMediaHash(url, origins);
    if (own && pinned && own !== pinned) {
      throw new HashsendError('hash_mismatch', 422, `${field} names content with sha256 ${own}, not the ${pinned} pinned`, {
        expected: pinned,
        received: own,
      });
    }
    return {
      media: own ? { sha256: own } : { url, ...(pinned ? { sha256: pinned } : {}) },
      as,
      ...(request.text ? { caption: request.text } : {}),
      ...(field === 'documentUrl' && request.fileName ? { filename: request.fileName } : {}),
      ...(request.viewOnce ? { viewOnce: true } : {}),
    };
  };

  /** Our inbox id for a replyTo: a msgId must name a message this install received. */
  const replyTarget = async (replyTo: WasenderSendRequest['replyTo']): Promise<string | undefined> => {
    if (replyTo === undefined || typeof replyTo === 'string') return replyTo;
    const id = await ids.idOf(replyTo);
    if (id === undefined) throw new HashsendError('reply_target_not_found', 404, `replyTo ${replyTo} names no message`);
    if (!id.startsWith('in_'))
      throw notSupported(`replyTo ${replyTo} is a message this session sent; hashsend quotes only messages it received`);
    return id;
  };

  return {
    async send(sessionId, request, context) {
      const input = inputOf(request, context);
      const replyTo = await replyTarget(request.replyTo);
      const opts: SendOptions = replyTo ? { replyTo } : {};
      const { record } = await messages.send(sessionId, request.to, input, opts);
      return { msgId: await ids.numberOf(record.id), jid: request.to, status: sendStatusOf(record.status) };
    },

    async info(sessionId, msgId) {
      const id = await ids.idOf(msgId);
      const record = id === undefined ? undefined : await outbox.get(id);
      // Another session's message is as unknown as a number never given out.
      if (!record || record.sessionId !== sessionId)
        throw new HashsendError('message_not_found', 404, `no message ${msgId} on this session`);
      return messageInfoOf(msgId, record);
    },
  };
};
