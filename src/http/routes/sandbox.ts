import { Router } from 'express';
import { z } from 'zod';
import { HashsendError } from '../../errors.js';
import type { MediaResolver } from '../../media/resolver.js';
import { isSandboxSession, type SandboxSession } from '../../whatsapp/sandbox/driver.js';
import type { SessionManager } from '../../whatsapp/sessions.js';
import { isRemoteDriverSession } from '../../whatsapp/remote-driver.js';
import { authErrors, errors, json, sessionIdParam, type DescribeRoutes } from '../openapi.js';
import { parse } from '../validate.js';
import { sandboxInboundOf, sandboxInboundSchema, sandboxReceivedSchema } from './sandbox-inbound.js';
import { sessionSchema } from './sessions.js';

export const linkSchema = z
  .object({
    phone: z
      .string()
      .regex(/^\+?\d{7,15}$/, 'a phone number in international form')
      .optional(),
    name: z.string().max(64).optional(),
  })
  .strict()
  .meta({ id: 'SandboxLink', example: { phone: '+4915100000001', name: 'Test shop' } });

export const failuresSchema = z
  .object({
    count: z.int().min(1).max(1000),
    code: z
      .string()
      .regex(/^[a-z_]{1,64}$/)
      .default('send_failed'),
    status: z.int().min(400).max(599).default(502),
    mode: z.enum(['error', 'hang', 'hang_after_delivery']).default('error').meta({
      description: '`error`: the send fails with `code`; `hang`: it never answers; `hang_after_delivery`: delivered, then never answers',
    }),
  })
  .strict()
  .meta({ id: 'SandboxFailures', example: { count: 2, code: 'send_failed', status: 502 } });

export const deliverySchema = z
  .object({
    messageId: z.string(),
    to: z.string(),
    type: z.enum(['text', 'media', 'contact', 'location']),
    text: z.string().optional(),
    mentions: z.array(z.string()).optional().meta({ description: 'JIDs the text mentions' }),
    contact: z.object({ name: z.string(), phone: z.string() }).optional(),
    location: z
      .object({ latitude: z.number(), longitude: z.number(), name: z.string().optional(), address: z.string().optional() })
      .optional(),
    as: z.string().optional(),
    sha256: z.string().optional().meta({ description: 'sha256 of the bytes the recipient got' }),
    mimetype: z.string().optional(),
    size: z.number().optional(),
    caption: z.string().optional(),
    filename: z.string().optional(),
    sendAttempts: z.number().meta({ description: 'Sends that arrived with this message id; shown once whatever it says' }),
    receivedAt: z.string(),
    deliveredAt: z.string().optional(),
    readAt: z.string().optional(),
  })
  .meta({ id: 'SandboxDelivery' });

const sandboxOf = (sessions: SessionManager, id: string): SandboxSession => {
  const info = sessions.get(id);
  const session = sessions.driverSession(id);
  if (info.driver !== 'sandbox') throw new HashsendError('not_sandbox', 400, `session "${id}" uses the ${info.driver} driver, not sandbox`);
  // Open on another node: each control is a call to it (src/whatsapp/remote-driver.ts).
  if (session && isRemoteDriverSession(session)) return session as SandboxSession;
  if (!session || !isSandboxSession(session)) throw new HashsendError('session_not_connected', 503, `session "${id}" is ${info.state}`);
  return session;
};

export interface SandboxRouteDeps {
  sessions: SessionManager;
  /** Inbound media named by hash is media stored already (POST /api/media). */
  media: Pick<MediaResolver, 'get'>;
}

/**
 * Controls for sandbox sessions: stand in for the phone (link), for WhatsApp (deliveries, failures) and for the
 * customers who write to the number (inbound).
 */
export const sandboxRoutes = ({ sessions, media }: SandboxRouteDeps) =>
  Router()
    .post('/sessions/:id/sandbox/link', async (req, res) => {
      const sandbox = sandboxOf(sessions, req.params.id);
      const { phone, name } = parse(linkSchema, req.body);
      await sandbox.link(phone, name);
      res.json(sessions.get(req.params.id));
    })
    .get('/sessions/:id/sandbox/deliveries', async (req, res) => {
      res.json({ items: await sandboxOf(sessions, req.params.id).deliveries() });
    })
    .get('/sessions/:id/sandbox/presences', async (req, res) => {
      res.json({ items: await sandboxOf(sessions, req.params.id).presences() });
    })
    .post('/sessions/:id/sandbox/failures', async (req, res) => {
      const sandbox = sandboxOf(sessions, req.params.id);
      const { count, ...failure } = parse(failuresSchema, req.body);
      res.json({ pending: await sandbox.injectFailures(count, failure) });
    })
    .post('/sessions/:id/sandbox/inbound', async (req, res) => {
      const sandbox = sandboxOf(sessions, req.params.id);
      const inbound = await sandboxInboundOf(req.body, (sha256) => media.get(sha256));
      const { waMessageId, chat, from, timestamp } = await sandbox.receive(inbound);
      res.status(202).json({ waMessageId, chat, from, timestamp });
    });

export const describeSandboxRoutes: DescribeRoutes = (r) => {
  const tags = ['Sandbox'];
  const sandboxErrors = errors({ 400: ['not_sandbox', 'invalid_request'], 404: ['session_not_found'] });
  r.registerPath({
    method: 'post',
    path: '/api/sessions/{id}/sandbox/link',
    tags,
    summary: 'Scan the QR (sandbox sessions)',
    description: 'What a phone does when it scans the QR or enters the pairing code: the session becomes `connected`.',
    request: { params: sessionIdParam, body: { content: { 'application/json': { schema: linkSchema } } } },
    responses: {
      200: json(sessionSchema, 'The session, connected'),
      ...sandboxErrors,
      ...errors({ 409: ['already_linked', 'not_awaiting_qr'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/sandbox/deliveries',
    tags,
    summary: 'What recipients received (sandbox sessions)',
    description: 'Every message the sandbox delivered, once per message id, with the sha256 of the bytes it read.',
    request: { params: sessionIdParam },
    responses: {
      200: json(z.object({ items: z.array(deliverySchema) }), 'Deliveries, oldest first', {
        items: [
          {
            messageId: '3EB0A1B2C3D4E5F60718',
            to: '4915123456789@s.whatsapp.net',
            type: 'text',
            text: 'Your order has shipped',
            sendAttempts: 1,
            receivedAt: '2025-01-01T10:00:00.000Z',
            deliveredAt: '2025-01-01T10:00:00.050Z',
          },
        ],
      }),
      ...sandboxErrors,
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/sandbox/presences',
    tags,
    summary: 'Presence updates shown (sandbox sessions)',
    description: 'Typing, recording, online and offline indicators the session showed since it opened, oldest first.',
    request: { params: sessionIdParam },
    responses: {
      200: json(
        z.object({ items: z.array(z.object({ presence: z.string(), jid: z.string().optional(), at: z.string() })) }),
        'Presence updates, oldest first',
        { items: [{ presence: 'composing', jid: '4915123456789@s.whatsapp.net', at: '2025-01-01T10:00:00.000Z' }] },
      ),
      ...sandboxErrors,
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/api/sessions/{id}/sandbox/failures',
    tags,
    summary: 'Make the next sends fail (sandbox sessions)',
    description: 'Errors with status ≥ 500 are retried by the outbox; 4xx fail the message with that code.',
    request: { params: sessionIdParam, body: { content: { 'application/json': { schema: failuresSchema } } } },
    responses: {
      200: json(z.object({ pending: z.number() }), 'Failures now waiting for sends', { pending: 2 }),
      ...sandboxErrors,
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/api/sessions/{id}/sandbox/inbound',
    tags,
    summary: 'A customer writes to the number (sandbox sessions)',
    description:
      'Text, media (stored already, by `sha256`, or sent along as `base64`) or a reaction, optionally quoting a message (`replyTo`, a WhatsApp message id). The session receives it as a real one would: it is stored in the inbox (`GET /api/sessions/{id}/inbox`) and `message.received` follows, shortly after this answer.',
    request: { params: sessionIdParam, body: { content: { 'application/json': { schema: sandboxInboundSchema } } } },
    responses: {
      202: json(sandboxReceivedSchema, 'Arrived; stored in the inbox shortly'),
      ...sandboxErrors,
      ...errors({ 404: ['session_not_found', 'media_not_found'], 503: ['session_not_connected'] }),
      ...authErrors,
    },
  });
};
