import { z } from 'zod';
import { HashsendError, invalidRequest } from '../../errors.js';
import type { MediaResolver } from '../../media/resolver.js';
import type { SendAs } from '../../whatsapp/driver.js';
import { toJid } from '../../whatsapp/recipient.js';
import type { SandboxInbound } from '../../whatsapp/sandbox/inbound.js';
import { sha256Schema } from '../media-schemas.js';
import { parse } from '../validate.js';
import { SEND_AS } from './messages.js';

/** `POST /api/sessions/:id/sandbox/inbound`: what a simulated customer sends, and what the route answers. */
const sender = {
  from: z
    .string()
    .regex(/^\+?\d{7,15}$/, 'a phone number in international form')
    .meta({ description: 'The customer: a phone number in international form', example: '+4915123456789' }),
  pushName: z.string().min(1).max(64).optional().meta({ description: 'The name the customer gave WhatsApp' }),
  replyTo: z.string().min(1).max(128).optional().meta({ description: 'The WhatsApp id of the message this one quotes' }),
};

const inboundTextSchema = z
  .object({ ...sender, text: z.string().min(1).max(65_536) })
  .strict()
  .meta({ id: 'SandboxInboundText', example: { from: '+4915123456789', text: 'Where is my order?', pushName: 'Ada' } });

const inboundMediaSchema = z
  .object({
    ...sender,
    media: z.union([
      z.object({ sha256: sha256Schema }).strict().meta({ description: 'Media stored already (POST /api/media)' }),
      z
        .object({
          base64: z.base64().min(4).max(1_000_000),
          mimetype: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'a type/subtype media type'),
        })
        .strict()
        .meta({ description: "The bytes, sent along: stored under their sha256 as a phone's media would be" }),
    ]),
    caption: z.string().max(1024).optional(),
    filename: z.string().min(1).max(255).optional(),
    as: z.enum(SEND_AS).optional().meta({ description: "How the customer sent it; by default from the media's kind or type" }),
  })
  .strict()
  .meta({
    id: 'SandboxInboundMedia',
    example: {
      from: '+4915123456789',
      media: { sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' },
      caption: 'Broken on arrival',
    },
  });

const inboundReactionSchema = z
  .object({
    ...sender,
    reaction: z
      .object({
        messageId: z.string().min(1).max(128).meta({ description: 'The WhatsApp id of the message reacted to' }),
        emoji: z.string().max(32).meta({ description: 'Empty: the reaction is taken back' }),
      })
      .strict(),
  })
  .strict()
  .meta({
    id: 'SandboxInboundReaction',
    example: { from: '+4915123456789', reaction: { messageId: '3EB0A1B2C3D4E5F60718', emoji: '👍' } },
  });

export const sandboxInboundSchema = z.union([inboundTextSchema, inboundMediaSchema, inboundReactionSchema]);

/** The kind a type arrives as when the caller does not say. */
const asOfType = (mimetype: string): SendAs => {
  const family = mimetype.split('/')[0];
  return family === 'image' || family === 'video' || family === 'audio' ? family : 'document';
};

/** The body as the sandbox driver takes it; media named by hash must be stored already. */
export const sandboxInboundOf = async (body: unknown, mediaRecord: MediaResolver['get']): Promise<SandboxInbound> => {
  const has = (key: string) => !!body && typeof body === 'object' && key in body;
  const input = has('media')
    ? parse(inboundMediaSchema, body)
    : has('reaction')
      ? parse(inboundReactionSchema, body)
      : parse(inboundTextSchema, body);
  const common = {
    from: toJid(input.from),
    ...(input.pushName ? { pushName: input.pushName } : {}),
    ...(input.replyTo ? { replyTo: input.replyTo } : {}),
  };
  if ('text' in input) return { ...common, content: { type: 'text', text: input.text } };
  if ('reaction' in input) return { ...common, content: { type: 'reaction', ...input.reaction } };
  const { caption, filename, as } = input;
  const described = { ...(caption !== undefined ? { caption } : {}), ...(filename !== undefined ? { filename } : {}) };
  if ('sha256' in input.media) {
    const record = await mediaRecord(input.media.sha256);
    if (!record) throw new HashsendError('media_not_found', 404, `no media with sha256 ${input.media.sha256}`);
    const { sha256, mimetype, kind } = record;
    return { ...common, content: { type: 'media', as: as ?? kind, mimetype, sha256, ...described } };
  }
  const bytes = Buffer.from(input.media.base64, 'base64');
  if (bytes.length === 0) throw invalidRequest('media.base64 holds no bytes');
  const { mimetype } = input.media;
  return { ...common, content: { type: 'media', as: as ?? asOfType(mimetype), mimetype, bytes, ...described } };
};

export const sandboxReceivedSchema = z
  .object({
    waMessageId: z.string().meta({ description: "WhatsApp's id of the message that arrived" }),
    chat: z.string(),
    from: z.string(),
    timestamp: z.string(),
  })
  .meta({
    id: 'SandboxReceived',
    example: {
      waMessageId: '3A5F0C1D2E3F40516273',
      chat: '4915123456789@s.whatsapp.net',
      from: '4915123456789@s.whatsapp.net',
      timestamp: '2025-01-01T10:00:00.000Z',
    },
  });
