import { badParam, badValue } from './errors.ts';

/**
 * Checks a POST /messages body as the Cloud API messages reference documents it. Graph-level parameters
 * (messaging_product, to, type, the object named by type) fail with code 100 as Graph words them; values inside
 * a WhatsApp object fail with 131009 and `details` naming the field.
 */

export const MESSAGE_TYPES = [
  'text',
  'image',
  'video',
  'audio',
  'document',
  'sticker',
  'template',
  'location',
  'contacts',
  'reaction',
  'interactive',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
type MediaType = (typeof MEDIA_TYPES)[number];

/** Keys each media object may have: audio and sticker take no caption, only a document takes a filename. */
const MEDIA_KEYS: Record<MediaType, string[]> = {
  image: ['id', 'link', 'caption'],
  video: ['id', 'link', 'caption'],
  audio: ['id', 'link'],
  sticker: ['id', 'link'],
  document: ['id', 'link', 'caption', 'filename'],
};
const COMPONENT_TYPES = ['header', 'body', 'button'];
const PARAMETER_TYPES = ['text', 'currency', 'date_time', 'image', 'video', 'document', 'payload', 'location', 'action', 'coupon_code'];

export interface MediaRef {
  /** The media kind as the message names it (a template header parameter's type for templates). */
  kind: MediaType;
  id?: string;
  link?: string;
}

export interface ValidMessage {
  /** Digits only, as Meta's `wa_id`. */
  to: string;
  type: MessageType;
  media?: MediaRef;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

const checkMedia = (kind: MediaType, value: unknown, where: string): MediaRef => {
  if (!isObject(value)) throw badValue(`Param ${where} must be an object.`);
  for (const key of Object.keys(value)) {
    if (!MEDIA_KEYS[kind].includes(key)) throw badValue(`Unexpected key "${key}" on param "${where}".`);
  }
  const hasId = value.id !== undefined;
  const hasLink = value.link !== undefined;
  if (hasId === hasLink) throw badValue(`Param ${where} must contain exactly one of the keys 'id' or 'link'.`);
  if (hasId && !isText(value.id)) throw badValue(`Param ${where}['id'] must be a non-empty string.`);
  if (hasLink) {
    if (!isText(value.link) || !/^https?:\/\//i.test(value.link) || !URL.canParse(value.link)) {
      throw badValue(`Param ${where}['link'] is not a valid URI.`);
    }
  }
  if (value.caption !== undefined && (typeof value.caption !== 'string' || value.caption.length > 1024)) {
    throw badValue(`Param ${where}['caption'] must be a string of at most 1024 characters.`);
  }
  if (value.filename !== undefined && !isText(value.filename)) throw badValue(`Param ${where}['filename'] must be a non-empty string.`);
  return { kind, ...(hasId ? { id: value.id as string } : { link: value.link as string }) };
};

const checkText = (text: unknown) => {
  if (!isObject(text)) throw badValue(`Param text must be an object.`);
  if (typeof text.body !== 'string' || text.body.length === 0) throw badValue(`Param text['body'] is required and must be non-empty.`);
  if (text.body.length > 4096) throw badValue(`Param text['body'] must be at most 4096 characters long.`);
  if (text.preview_url !== undefined && typeof text.preview_url !== 'boolean')
    throw badValue(`Param text['preview_url'] must be a boolean.`);
};

const checkParameter = (p: unknown, where: string, inHeader: boolean): MediaRef | undefined => {
  if (!isObject(p) || typeof p.type !== 'string') throw badValue(`Param ${where}['type'] is required.`);
  if (!PARAMETER_TYPES.includes(p.type)) throw badValue(`Param ${where}['type'] must be one of {${PARAMETER_TYPES.join(', ')}}.`);
  if (p.type === 'text' && typeof p.text !== 'string') throw badValue(`Param ${where}['text'] is required.`);
  if (p.type === 'image' || p.type === 'video' || p.type === 'document') {
    if (!inHeader) throw badValue(`Param ${where}: media parameters are only allowed in the header component.`);
    return checkMedia(p.type, p[p.type], `${where}['${p.type}']`);
  }
  return undefined;
};

const checkTemplate = (template: unknown): MediaRef | undefined => {
  if (!isObject(template)) throw badValue(`Param template must be an object.`);
  if (!isText(template.name)) throw badValue(`Param template['name'] is required.`);
  if (!isObject(template.language) || !isText(template.language.code)) throw badValue(`Param template['language']['code'] is required.`);
  if (template.components === undefined) return undefined;
  if (!Array.isArray(template.components)) throw badValue(`Param template['components'] must be an array.`);
  let media: MediaRef | undefined;
  template.components.forEach((c: unknown, i) => {
    const where = `template['components'][${i}]`;
    if (!isObject(c) || typeof c.type !== 'string' || !COMPONENT_TYPES.includes(c.type)) {
      throw badValue(`Param ${where}['type'] must be one of {${COMPONENT_TYPES.join(', ')}}.`);
    }
    if (c.type === 'button' && (!isText(c.sub_type) || c.index === undefined)) {
      throw badValue(`Param ${where} of type button requires 'sub_type' and 'index'.`);
    }
    if (c.parameters === undefined) return;
    if (!Array.isArray(c.parameters)) throw badValue(`Param ${where}['parameters'] must be an array.`);
    c.parameters.forEach((p: unknown, j) => {
      const found = checkParameter(p, `${where}['parameters'][${j}]`, c.type === 'header');
      if (found) media = found;
    });
  });
  return media;
};

const checkOther = (type: MessageType, value: unknown) => {
  if (type === 'location' && (!isObject(value) || typeof value.latitude !== 'number' || typeof value.longitude !== 'number')) {
    throw badValue(`Param location requires numeric 'latitude' and 'longitude'.`);
  }
  if (type === 'contacts' && (!Array.isArray(value) || value.length === 0)) throw badValue(`Param contacts must be a non-empty array.`);
  if (type === 'reaction' && (!isObject(value) || !isText(value.message_id) || typeof value.emoji !== 'string')) {
    throw badValue(`Param reaction requires 'message_id' and 'emoji'.`);
  }
  if (type === 'interactive' && !isObject(value)) throw badValue(`Param interactive must be an object.`);
};

export const validateMessage = (body: unknown): ValidMessage => {
  if (!isObject(body)) throw badParam('Invalid parameter');
  if (body.messaging_product === undefined) throw badParam('The parameter messaging_product is required.');
  if (body.messaging_product !== 'whatsapp') {
    throw badParam(`Param messaging_product must be one of {WHATSAPP} - got "${String(body.messaging_product)}".`);
  }
  if (body.recipient_type !== undefined && body.recipient_type !== 'individual') {
    throw badParam(`Param recipient_type must be one of {INDIVIDUAL} - got "${String(body.recipient_type)}".`);
  }
  if (body.to === undefined) throw badParam('The parameter to is required.');
  if (typeof body.to !== 'string' || !/^\+?[\d\s()-]{5,24}$/.test(body.to))
    throw badParam(`Param to must be a phone number - got "${String(body.to)}".`);
  const type = (body.type ?? 'text') as MessageType;
  if (!MESSAGE_TYPES.includes(type))
    throw badParam(`Param type must be one of {${MESSAGE_TYPES.join(', ')}} - got "${String(body.type)}".`);
  if (body[type] === undefined) throw badParam(`The parameter ${type} is required.`);
  if (body.context !== undefined && (!isObject(body.context) || !isText(body.context.message_id))) {
    throw badValue(`Param context['message_id'] must be a non-empty string.`);
  }
  const to = body.to.replace(/\D/g, '');
  if (type === 'text') checkText(body.text);
  else if ((MEDIA_TYPES as readonly string[]).includes(type)) return { to, type, media: checkMedia(type as MediaType, body[type], type) };
  else if (type === 'template') return { to, type, media: checkTemplate(body.template) };
  else checkOther(type, body[type]);
  return { to, type };
};
