import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { HashsendError } from '../../errors.js';
import type { MessageRecord, Outbox } from '../../outbox/index.js';
import type { MessageService } from '../../messages/service.js';
import type { SessionManager } from '../../whatsapp/sessions.js';
import { authErrors, errors, json, sessionIdParam, type DescribeRoutes } from '../openapi.js';
import { parse } from '../validate.js';
import { idempotencyOf } from '../idempotency.js';
import { mediaRefSchema, withMediaResolutionErrors } from '../media-schemas.js';
import { messageView } from '../../messages/view.js';
import { templateSchema } from '../template-schemas.js';

export const SEND_AS = ['image', 'video', 'audio', 'voice', 'document', 'sticker'] as const;
const to = z.string().min(1).max(128).meta({
  description: 'A phone number in international form (`+4915123456789`), a user JID or a group JID (`…@g.us`)',
  example: '+4915123456789',
});

const replyTo = z.string().min(1).max(128).optional().meta({
  description:
    'The id of an inbound message (as the inbox lists it) this one answers: it is quoted, and goes out even if the customer opted out. It must have come from `to` on this session (`404 reply_target_not_found`).',
  example: 'in_5f2b9c1e0a7d4e3b8c6a',
});

export const textMessageSchema = z
  .object({ to, text: z.string().min(1).max(65_536), replyTo })
  .strict()
  .meta({ id: 'TextMessage', example: { to: '+4915123456789', text: 'Your order has shipped' } });

export const mediaMessageSchema = z
  .object({
    to,
    media: mediaRefSchema,
    caption: z.string().max(1024).optional(),
    filename: z.string().min(1).max(255).optional(),
    as: z.enum(SEND_AS).optional().meta({ description: 'How the recipient sees it; by default from the sniffed kind' }),
    replyTo,
  })
  .strict()
  .meta({
    id: 'MediaMessage',
    example: { to: '+4915123456789', media: { url: 'https://cdn.example.com/menu.pdf' }, caption: 'Our menu', as: 'document' },
  });

export const templateMessageSchema = z
  .object({ to, template: templateSchema, replyTo })
  .strict()
  .meta({
    id: 'TemplateMessage',
    example: {
      to: '+4915123456789',
      template: {
        name: 'order_shipped',
        language: 'en_US',
        components: [{ type: 'header', parameters: [{ type: 'image', image: { url: 'https://cdn.example.com/parcel.jpg' } }] }],
      },
    },
  });

export const MESSAGE_TYPES = ['text', 'media', 'contact', 'location', 'template'] as const;

const statusSchema = z.enum(['queued', 'sending', 'sent', 'delivered', 'read', 'failed']);
export const messageSchema = z
  .object({
    id: z.string(),
    sessionId: z.string(),
    to: z.string(),
    type: z.enum(MESSAGE_TYPES),
    status: statusSchema,
    error: z.object({ code: z.string(), message: z.string() }).optional().meta({ description: 'Why it failed (status `failed`)' }),
    lastError: z
      .object({ code: z.string(), message: z.string() })
      .optional()
      .meta({ description: 'Why the last attempt did not go out, while the message waits to be retried' }),
    waMessageId: z.string().nullable(),
    attempts: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
    sentAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    readAt: z.string().nullable(),
    media: z
      .object({
        sha256: z.string().meta({ description: 'The blob queued for sending' }),
        sentSha256: z.string().optional().meta({ description: 'What the hash guard saw leave' }),
        sourceSha256: z.string().optional().meta({ description: 'The content as given, when it was converted' }),
      })
      .optional(),
    replyTo: z.string().optional().meta({ description: 'The inbound message it answers (and quotes)' }),
  })
  .meta({
    id: 'Message',
    example: {
      id: '3EB0A1B2C3D4E5F60718',
      sessionId: 'default',
      to: '4915123456789@s.whatsapp.net',
      type: 'media',
      status: 'delivered',
      waMessageId: '3EB0A1B2C3D4E5F60718',
      attempts: 1,
      createdAt: '2025-01-01T10:00:00.000Z',
      updatedAt: '2025-01-01T10:00:01.200Z',
      sentAt: '2025-01-01T10:00:00.900Z',
      deliveredAt: '2025-01-01T10:00:01.200Z',
      readAt: null,
      media: {
        sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        sentSha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      },
    },
  });

export const acceptedSchema = z
  .object({
    id: z.string(),
    status: z.literal('queued'),
    sessionId: z.string(),
    sessionState: z.string(),
    waitsForSession: z.boolean().meta({ description: 'True when the session is not connected: the message waits in its queue' }),
    expiresAt: z.string().meta({ description: 'When a message still waiting fails as `expired`' }),
    to: z.string(),
    type: z.enum(MESSAGE_TYPES),
    createdAt: z.string(),
    media: messageSchema.shape.media,
    replyTo: messageSchema.shape.replyTo,
  })
  .meta({
    id: 'Accepted',
    example: {
      id: '3EB0A1B2C3D4E5F60718',
      status: 'queued',
      sessionId: 'default',
      sessionState: 'connected',
      waitsForSession: false,
      expiresAt: '2025-01-02T10:00:00.000Z',
      to: '4915123456789@s.whatsapp.net',
      type: 'text',
      createdAt: '2025-01-01T10:00:00.000Z',
    },
  });

export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d+$/, 'a cursor from nextCursor').optional(),
});

export { messageView };

export interface MessageRouteDeps {
  sessions: SessionManager;
  outbox: Outbox;
  messages: Pick<MessageService, 'send'>;
  /** Applied to the send route: `Idempotency-Key`. */
  idempotency: RequestHandler;
}

export const messageRoutes = ({ sessions, outbox, messages, idempotency }: MessageRouteDeps) => {
  /** The 202 for a queued message; the session's state is read now, the state a waiting message waits on. */
  const accepted = (m: MessageRecord) => {
    const { state } = sessions.get(m.sessionId);
    return {
      id: m.id,
      status: 'queued',
      sessionId: m.sessionId,
      sessionState: state,
      waitsForSession: state !== 'connected',
      expiresAt: outbox.expiresAt(m),
      to: m.to,
      type: m.type,
      createdAt: m.createdAt,
      ...(m.media ? { media: m.media } : {}),
      ...(m.replyTo ? { replyTo: m.replyTo } : {}),
    };
  };
  return Router()
    .post('/sessions/:id/messages', idempotency, async (req, res) => {
      const body: unknown = req.body;
      const has = (field: string) => !!body && typeof body === 'object' && field in body;
      const input = has('media')
        ? parse(mediaMessageSchema, body)
        : has('template')
          ? parse(templateMessageSchema, body)
          : parse(textMessageSchema, body);
      const { to, replyTo, ...message } = input;
      const { record, replayed } = await messages.send(String(req.params.id), to, message, {
        idempotency: idempotencyOf(res),
        ...(replyTo ? { replyTo } : {}),
      });
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(202).json(accepted(record));
    })
    .get('/messages/:id', async (req, res) => {
      const message = await outbox.get(req.params.id);
      if (!message) throw new HashsendError('message_not_found', 404, `no message "${req.params.id.slice(0, 64)}"`);
      res.json(messageView(message));
    })
    .get('/sessions/:id/messages', async (req, res) => {
      sessions.get(req.params.id);
      const { limit, cursor } = parse(listQuerySchema, req.query, 'query');
      const page = await outbox.list(req.params.id, { limit, ...(cursor ? { before: Number(cursor) } : {}) });
      res.json({ items: page.items.map(messageView), nextCursor: page.nextCursor === null ? null : String(page.nextCursor) });
    });
};

export const describeMessageRoutes: DescribeRoutes = (r) => {
  const tags = ['Messages'];
  r.registerPath({
    method: 'post',
    path: '/api/sessions/{id}/messages',
    tags,
    summary: 'Send a text, media or template message',
    description:
      "Media is resolved before the answer, so a stale, mismatched, too large or unsupported file fails this request with the media core's error. The message is stored, then sent by the session's queue in order; when the session is not connected it waits (`waitsForSession`) until `expiresAt`. With `Idempotency-Key`, a repeat of the request gets the first answer and sends nothing more. A number on the session's opt-out list answers `409 opted_out`, unless the message is a reply (`replyTo`) to one of that customer's messages.",
    request: {
      params: sessionIdParam,
      headers: z.object({ 'Idempotency-Key': z.string().optional().meta({ example: 'order-1042-shipped' }) }),
      body: { content: { 'application/json': { schema: z.union([textMessageSchema, mediaMessageSchema, templateMessageSchema]) } } },
    },
    responses: {
      202: json(acceptedSchema, 'Accepted and queued'),
      ...errors(
        withMediaResolutionErrors({
          400: ['invalid_recipient'],
          404: ['session_not_found', 'reply_target_not_found'],
          409: ['idempotency_conflict', 'opted_out'],
          422: ['unsupported_by_driver'],
          503: ['store_unavailable'],
        }),
      ),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/messages/{id}',
    tags,
    summary: 'A message and its status',
    description: '`queued` → `sending` → `sent` → `delivered` → `read`, or `failed` with an error code (e.g. `expired`, `hash_mismatch`).',
    request: { params: z.object({ id: z.string().meta({ example: '3EB0A1B2C3D4E5F60718' }) }) },
    responses: { 200: json(messageSchema, 'The message'), ...errors({ 404: ['message_not_found'] }), ...authErrors },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/messages',
    tags,
    summary: "A session's recent messages",
    description: 'Newest first. Pass `nextCursor` back as `cursor` for the page after; it is null on the last page.',
    request: { params: sessionIdParam, query: listQuerySchema },
    responses: {
      200: json(z.object({ items: z.array(messageSchema), nextCursor: z.string().nullable() }), 'A page of messages'),
      ...errors({ 400: ['invalid_request'], 404: ['session_not_found'] }),
      ...authErrors,
    },
  });
};
