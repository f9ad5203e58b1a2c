import type { DriverBlobs, InboundContent, InboundDriverMessage, SendAs } from '../driver.js';
import type { GraphClient } from './graph-client.js';
import { metaSha256 } from './meta-sha256.js';
import { isObject, list, text, type Json } from '../../lib/json.js';

const MEDIA: readonly SendAs[] = ['image', 'video', 'audio', 'document', 'sticker'];

export interface InboundDeps {
  graph: GraphClient;
  blobs: DriverBlobs;
  /** Media ids are asked for as this number's (Meta's `phone_number_id` parameter). */
  phoneNumberId: string;
  /** Attachments larger than this are not downloaded. */
  maxBytes: number;
}

/** Why an inbound message was left out; logged with its id. */
export class InboundSkipped extends Error {
  override name = 'InboundSkipped';
}

/**
 * An attachment fetched from Meta (`GET /{media-id}`, then its URL with the same token) and stored only under the
 * sha256 the webhook declared for it: bytes that hash to anything else are refused by the blob store.
 */
const storeMedia = async ({ graph, blobs, maxBytes, phoneNumberId }: InboundDeps, as: SendAs, media: Json) => {
  const id = text(media.id);
  if (!id) throw new InboundSkipped(`the ${as} has no media id`);
  const info = await graph.get<Json>(`${id}?phone_number_id=${phoneNumberId}`);
  const sha256 = metaSha256(media.sha256) ?? metaSha256(info.sha256);
  const url = text(info.url);
  if (!sha256 || !url) throw new InboundSkipped(`Meta gave no ${sha256 ? 'url' : 'sha256'} for media ${id}`);
  const bytes = await graph.download(url, maxBytes);
  await blobs.write(bytes, sha256);
  const mimetype = (text(media.mime_type) ?? text(info.mime_type) ?? 'application/octet-stream').split(';')[0].trim();
  return { sha256, mimetype, size: bytes.length };
};

const contentOf = async (deps: InboundDeps, m: Json): Promise<InboundContent | undefined> => {
  const type = text(m.type);
  if (type === 'text' && isObject(m.text)) return { type: 'text', text: text(m.text.body) ?? '' };
  if (type === 'reaction' && isObject(m.reaction) && text(m.reaction.message_id)) {
    return { type: 'reaction', messageId: text(m.reaction.message_id) as string, emoji: text(m.reaction.emoji) ?? '' };
  }
  // A tap on a template's quick-reply button reads like the text on it.
  if (type === 'button' && isObject(m.button)) return { type: 'text', text: text(m.button.text) ?? text(m.button.payload) ?? '' };
  if (type && (MEDIA as string[]).includes(type) && isObject(m[type])) {
    const media = m[type] as Json;
    const as = type === 'audio' && media.voice === true ? 'voice' : (type as SendAs);
    const stored = await storeMedia(deps, as, media);
    const caption = text(media.caption);
    const filename = text(media.filename);
    return { type: 'media', as, ...stored, ...(caption ? { caption } : {}), ...(filename ? { filename } : {}) };
  }
  return undefined;
};

/**
 * One of a change's `messages[]` as the driver emits it, or undefined for a kind hashsend does not take (location,
 * contacts, interactive, system notices). The sender's profile name comes from the change's `contacts[]`.
 */
export const inboundOf = async (deps: InboundDeps, value: Json, m: Json): Promise<InboundDriverMessage | undefined> => {
  const from = text(m.from);
  const id = text(m.id);
  if (!from || !id) return undefined;
  const content = await contentOf(deps, m);
  if (!content) return undefined;
  const jid = `${from.replace(/\D/g, '')}@s.whatsapp.net`;
  const contact = list(value.contacts).find((c) => c.wa_id === from) ?? list(value.contacts)[0];
  const pushName = isObject(contact?.profile) ? text(contact.profile.name) : undefined;
  const seconds = Number(text(m.timestamp));
  const replyTo = isObject(m.context) ? text(m.context.id) : undefined;
  return {
    waMessageId: id,
    chat: jid,
    from: jid,
    ...(pushName ? { pushName } : {}),
    timestamp: new Date(Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : Date.now()).toISOString(),
    content,
    ...(replyTo ? { replyTo } : {}),
  };
};

/** A change's `messages[]`. */
export const messagesOf = (value: Json) => list(value.messages);
