import { Router } from 'express';
import { z } from 'zod';
import { inboundView } from '../../messages/inbound-view.js';
import type { Inbox } from '../../messages/inbox.js';
import type { SessionManager } from '../../whatsapp/sessions.js';
import { authErrors, errors, json, sessionIdParam, type DescribeRoutes } from '../openapi.js';
import { parse } from '../validate.js';
import { SEND_AS } from './messages.js';

const EXAMPLE_SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

const inboundContentSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({
    type: z.literal('media'),
    as: z.enum(SEND_AS).meta({ description: 'How the sender sent it' }),
    sha256: z.string().meta({ description: "sha256 of the bytes, checked against the sender's own hash" }),
    mimetype: z.string().meta({ description: 'As the sender declared it' }),
    size: z.number(),
    caption: z.string().optional(),
    filename: z.string().optional(),
  }),
  z.object({
    type: z.literal('reaction'),
    messageId: z.string().meta({ description: 'The WhatsApp id of the message reacted to' }),
    emoji: z.string().meta({ description: 'Empty when the reaction was taken back' }),
  }),
]);

export const inboundMessageSchema = z
  .object({
    id: z.string().meta({ description: 'Ours, unique across sessions' }),
    sessionId: z.string(),
    waMessageId: z.string().meta({ description: "WhatsApp's id of the message (unique per sender)" }),
    chat: z.string().meta({ description: "The sender's JID for a direct message, the group's for a group message" }),
    from: z.string().meta({ description: 'Who sent it: in a group, the member' }),
    pushName: z.string().optional().meta({ description: 'The name the sender gave WhatsApp' }),
    timestamp: z.string().meta({ description: 'When the sender sent it' }),
    receivedAt: z.string().meta({ description: 'When hashsend stored it' }),
    content: inboundContentSchema,
    replyTo: z.string().optional().meta({ description: 'The WhatsApp id of the message this one quotes' }),
    media: z
      .object({ sha256: z.string(), url: z.string().meta({ description: 'The content by hash, behind the API key' }) })
      .optional()
      .meta({ description: 'Media messages: where their content is' }),
  })
  .meta({
    id: 'InboundMessage',
    example: {
      id: 'in_5f0c1d2e3f4051627384',
      sessionId: 'default',
      waMessageId: '3A5F0C1D2E3F40516273',
      chat: '4915123456789@s.whatsapp.net',
      from: '4915123456789@s.whatsapp.net',
      pushName: 'Ada',
      timestamp: '2025-01-01T10:00:00.000Z',
      receivedAt: '2025-01-01T10:00:00.120Z',
      content: { type: 'media', as: 'image', sha256: EXAMPLE_SHA, mimetype: 'image/jpeg', size: 48213, caption: 'Broken on arrival' },
      media: { sha256: EXAMPLE_SHA, url: `/api/media/${EXAMPLE_SHA}/content` },
    },
  });

export const inboxQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: z
    .string()
    .regex(/^\d{1,15}$/, 'a cursor from nextCursor')
    .optional(),
});

export const inboxRoutes = ({ sessions, inbox }: { sessions: SessionManager; inbox: Pick<Inbox, 'list'> }) =>
  Router().get('/sessions/:id/inbox', async (req, res) => {
    sessions.get(req.params.id);
    const { limit, before } = parse(inboxQuerySchema, req.query, 'query');
    const page = await inbox.list(req.params.id, { limit, ...(before ? { before: Number(before) } : {}) });
    res.json({ items: page.items.map(inboundView), nextCursor: page.nextCursor === null ? null : String(page.nextCursor) });
  });

export const describeInboxRoutes: DescribeRoutes = (r) => {
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/inbox',
    tags: ['Inbox'],
    summary: 'Messages that arrived for a session',
    description:
      'Newest first, each stored once however often WhatsApp delivered it. Pass `nextCursor` back as `before` for the page after; it is null on the last page. Media is stored under its sha256 and linked as `media.url`.',
    request: { params: sessionIdParam, query: inboxQuerySchema },
    responses: {
      200: json(z.object({ items: z.array(inboundMessageSchema), nextCursor: z.string().nullable() }), 'A page of inbound messages'),
      ...errors({ 400: ['invalid_request'], 404: ['session_not_found'] }),
      ...authErrors,
    },
  });
};
