import { unsupportedByDriver } from '../capabilities.js';
import type { OutboundContent, SendAs, SendRequest, TemplateComponent, TemplateParameter } from '../driver.js';
import type { UploadableMedia } from './media-upload.js';
import { type Json } from '../../lib/json.js';

/** How Meta is to find a media file: by the id of an upload, or by a URL it fetches. */
export type MetaMediaRef = { id: string } | { link: string };

/** Gives the reference for one blob, and the sha256 that will go out under it. */
export type ResolveMedia = (media: UploadableMedia) => Promise<{ ref: MetaMediaRef; sha256: string }>;

/** Meta addresses people by number (`wa_id`): a user JID's digits. Groups and LIDs are not the Cloud API's. */
export const recipientOf = (to: string) => {
  const user = /^(\d{6,15})(?::\d+)?@s\.whatsapp\.net$/.exec(to);
  if (!user) throw unsupportedByDriver('cloud', 'send to groups or to LIDs, only to phone numbers');
  return user[1];
};

/** Meta's message types per presentation: a voice note goes as audio (Meta plays it as a voice message when it is OGG-Opus). */
const TYPE: Record<SendAs, 'image' | 'video' | 'audio' | 'document' | 'sticker'> = {
  image: 'image',
  video: 'video',
  audio: 'audio',
  voice: 'audio',
  document: 'document',
  sticker: 'sticker',
};

const templateParameter = async (p: TemplateParameter, resolve: ResolveMedia, sent: string[]): Promise<Json> => {
  if (p.type !== 'image' && p.type !== 'video' && p.type !== 'document') return { ...p };
  const media = p.type === 'image' ? p.image : p.type === 'video' ? p.video : p.document;
  const { ref, sha256 } = await resolve({ sha256: media.sha256, mimetype: media.mimetype, as: p.type, filename: media.filename });
  sent.push(sha256);
  return { type: p.type, [p.type]: { ...ref, ...(p.type === 'document' && media.filename ? { filename: media.filename } : {}) } };
};

const templateComponent = async (c: TemplateComponent, resolve: ResolveMedia, sent: string[]): Promise<Json> => {
  const parameters: Json[] = [];
  // One after another: a header's media is uploaded once, and errors come in the template's order.
  for (const p of c.parameters) parameters.push(await templateParameter(p, resolve, sent));
  return { ...c, parameters };
};

/** The object Meta's message type carries, and the sha256 of the media in it (if any). */
const contentObject = async (
  content: OutboundContent,
  resolve: ResolveMedia,
): Promise<{ type: string; value: unknown; sha256?: string }> => {
  switch (content.type) {
    case 'text':
      return { type: 'text', value: { body: content.text, preview_url: false } };
    case 'contact': {
      const digits = content.phone.replace(/\D/g, '');
      return {
        type: 'contacts',
        value: [
          {
            name: { formatted_name: content.name, first_name: content.name },
            phones: [{ phone: `+${digits}`, type: 'CELL', wa_id: digits }],
          },
        ],
      };
    }
    case 'location': {
      const { latitude, longitude, name, address } = content;
      return { type: 'location', value: { latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) } };
    }
    case 'media': {
      const type = TYPE[content.as];
      const { ref, sha256 } = await resolve(content);
      const caption = content.caption && (type === 'image' || type === 'video' || type === 'document') ? { caption: content.caption } : {};
      const filename = type === 'document' && content.filename ? { filename: content.filename } : {};
      return { type, value: { ...ref, ...caption, ...filename }, sha256 };
    }
    case 'template': {
      const sent: string[] = [];
      const components: Json[] = [];
      for (const c of content.components) components.push(await templateComponent(c, resolve, sent));
      return {
        type: 'template',
        value: { name: content.name, language: { code: content.language }, ...(components.length ? { components } : {}) },
        ...(sent.length ? { sha256: sent[0] } : {}),
      };
    }
  }
};

/** `POST /{phone-number-id}/messages`'s body for one send, with the sha256 of the media it carries. */
export const messageBody = async (request: SendRequest, resolve: ResolveMedia): Promise<{ body: Json; sha256?: string }> => {
  const to = recipientOf(request.to);
  const { type, value, sha256 } = await contentObject(request.content, resolve);
  return {
    body: {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to,
      type,
      [type]: value,
      ...(request.quoted ? { context: { message_id: request.quoted.waMessageId } } : {}),
    },
    ...(sha256 ? { sha256 } : {}),
  };
};
