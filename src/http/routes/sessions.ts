import { Router, type Response } from 'express';
import QRCode from 'qrcode';
import { z } from 'zod';
import { HashsendError } from '../../errors.js';
import type { SessionManager } from '../../whatsapp/sessions.js';
import { SESSION_ID_PATTERN } from '../../whatsapp/sessions.js';
import { authErrors, errors, json, sessionIdParam, type DescribeRoutes } from '../openapi.js';
import { parse } from '../validate.js';
import { MESSAGE_TYPES, SEND_AS } from './messages.js';
import { createSessionEventLog, streamSessionEvents, type SessionEventLogOptions } from '../session-events.js';

const STATES = ['starting', 'qr', 'connected', 'reconnecting', 'logged_out', 'conflict', 'needs_relink', 'stopped'] as const;

export const sessionSchema = z
  .object({
    id: z.string(),
    driver: z.string(),
    state: z.enum(STATES),
    me: z.object({ id: z.string(), phone: z.string(), name: z.string().optional() }).optional(),
    lastError: z.object({ message: z.string(), code: z.number().optional(), at: z.string() }).optional(),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "The driver's options as given at creation, secrets (tokens, app secrets) left out" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({
    id: 'Session',
    example: {
      id: 'default',
      driver: 'baileys',
      state: 'connected',
      me: { id: '4915123456789@s.whatsapp.net', phone: '4915123456789', name: 'Shop' },
      createdAt: '2025-01-01T10:00:00.000Z',
      updatedAt: '2025-01-01T10:01:00.000Z',
    },
  });

const driverOptions = z.record(z.string(), z.unknown()).meta({
  description:
    "What the driver needs, checked against its own schema (`400 invalid_request` naming the field). `cloud`: `phoneNumberId`, `accessToken`, `appSecret`, `verifyToken`, optional `mediaMode` (`upload` or `link`). Stored owner-only beside the session's credentials; tokens and secrets are never shown again.",
  example: { phoneNumberId: '106540352242922', accessToken: 'EAAG…', appSecret: '9f2c…', verifyToken: 'pick-a-long-random-string' },
});

export const createSessionSchema = z
  .object({
    id: z.string().regex(SESSION_ID_PATTERN, '1-64 letters, digits, "_" or "-"').optional(),
    driver: z
      .string()
      .optional()
      .meta({ description: "`baileys` (a linked WhatsApp number), `cloud` (Meta's Cloud API) or `sandbox` (no phone; for tests)" }),
    options: driverOptions.optional(),
  })
  .strict()
  .meta({ id: 'CreateSession', example: { id: 'shop', driver: 'sandbox' } });

export const updateSessionSchema = z.object({ options: driverOptions }).strict().meta({ id: 'UpdateSession' });

const LINKING = ['qr', 'code'] as const;
export const capabilitiesSchema = z
  .object({
    linking: z.array(z.enum(LINKING)).meta({ description: 'How it is linked: QR scan, pairing code; none when its options link it' }),
    content: z.array(z.enum(MESSAGE_TYPES)),
    mediaAs: z.array(z.enum(SEND_AS)),
    mentions: z.boolean(),
    viewOnce: z.boolean(),
    quoting: z.boolean(),
    ownMessageIds: z.boolean().meta({ description: 'The platform chooses message ids (`waMessageId` differs from `id`)' }),
    inboundHttp: z.boolean().meta({ description: 'The platform sends its events to `/hooks/{id}`' }),
    onWhatsApp: z.boolean(),
    presence: z.boolean(),
  })
  .meta({ id: 'DriverCapabilities', description: 'What the driver can do; anything else is `422 unsupported_by_driver`' });

export const qrSchema = z
  .object({ qr: z.string(), expiresAt: z.string() })
  .meta({ id: 'Qr', example: { qr: '2@Xk3…,Lw9…,b2F…,Q1c…', expiresAt: '2025-01-01T10:00:20.000Z' } });

export const pairingRequestSchema = z
  .object({ phone: z.string().regex(/^\+?\d{7,15}$/, 'a phone number in international form, digits only') })
  .strict()
  .meta({ id: 'PairingCodeRequest', example: { phone: '+4915123456789' } });

const QR_TYPES = ['application/json', 'image/png', 'image/svg+xml', 'text/plain'];

const sendQr = async (res: Response, accept: string | false, qr: { qr: string; expiresAt: string }) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-QR-Expires-At', qr.expiresAt);
  if (accept === 'image/png') return res.type('png').send(await QRCode.toBuffer(qr.qr, { type: 'png', width: 320, margin: 2 }));
  if (accept === 'image/svg+xml') return res.type('image/svg+xml').send(await QRCode.toString(qr.qr, { type: 'svg', margin: 2 }));
  if (accept === 'text/plain') return res.type('text/plain').send(await QRCode.toString(qr.qr, { type: 'terminal', small: true }));
  return res.json(qr);
};

export const sessionRoutes = ({ sessions, broadcasts }: { sessions: SessionManager } & Pick<SessionEventLogOptions, 'broadcasts'>) => {
  const events = createSessionEventLog(sessions, { broadcasts });
  return Router()
    .post('/sessions', async (req, res) => {
      res.status(201).json(await sessions.create(parse(createSessionSchema, req.body)));
    })
    .get('/sessions', (_req, res) => {
      res.json({ items: sessions.list() });
    })
    .get('/sessions/:id', (req, res) => {
      res.json({ ...sessions.get(req.params.id), capabilities: sessions.capabilities(req.params.id).capabilities });
    })
    .patch('/sessions/:id', async (req, res) => {
      sessions.get(req.params.id);
      res.json(await sessions.configure(req.params.id, parse(updateSessionSchema, req.body).options));
    })
    .get('/sessions/:id/qr', async (req, res) => {
      const accept = req.accepts(QR_TYPES);
      if (!accept) throw new HashsendError('not_acceptable', 406, `the QR comes as ${QR_TYPES.join(', ')}`);
      await sendQr(res, accept, await sessions.qr(req.params.id));
    })
    .post('/sessions/:id/pairing-code', async (req, res) => {
      sessions.get(req.params.id);
      const { phone } = parse(pairingRequestSchema, req.body);
      res.json({ code: await sessions.pairingCode(req.params.id, phone.replace(/^\+/, '')) });
    })
    .post('/sessions/:id/logout', async (req, res) => {
      res.json(await sessions.logout(req.params.id));
    })
    .delete('/sessions/:id', async (req, res) => {
      await sessions.remove(req.params.id);
      res.status(204).end();
    })
    .get('/sessions/:id/events', (req, res) => {
      streamSessionEvents(req, res, req.params.id, sessions, events);
    });
};

const notFound = errors({ 404: ['session_not_found'] });

export const describeSessionRoutes: DescribeRoutes = (r) => {
  const tags = ['Sessions'];
  r.registerPath({
    method: 'post',
    path: '/api/sessions',
    tags,
    summary: 'Create a session',
    description: 'Starts it at once: a new session shows a QR code to scan (or asks for a pairing code).',
    request: { body: { content: { 'application/json': { schema: createSessionSchema } } } },
    responses: {
      201: json(sessionSchema, 'Created', {
        id: 'shop',
        driver: 'sandbox',
        state: 'qr',
        createdAt: '2025-01-01T10:00:00.000Z',
        updatedAt: '2025-01-01T10:00:00.000Z',
      }),
      ...errors({ 400: ['invalid_request', 'unknown_driver'], 409: ['session_exists'], 422: ['public_media_required'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions',
    tags,
    summary: 'List sessions',
    responses: { 200: json(z.object({ items: z.array(sessionSchema) }), 'Every session with its state'), ...authErrors },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}',
    tags,
    summary: 'Get a session',
    description: 'Its state, the linked number and name once linked, the last error, and what its driver can do.',
    request: { params: sessionIdParam },
    responses: { 200: json(sessionSchema.extend({ capabilities: capabilitiesSchema }), 'The session'), ...notFound, ...authErrors },
  });
  r.registerPath({
    method: 'patch',
    path: '/api/sessions/{id}',
    tags,
    summary: "Replace a session's driver options",
    description:
      'For drivers that take options (`cloud`): e.g. a new access token after the old one expired. The session is closed, the options stored, and it is opened again with them.',
    request: { params: sessionIdParam, body: { content: { 'application/json': { schema: updateSessionSchema } } } },
    responses: {
      200: json(sessionSchema, 'The session, reopened'),
      ...errors({ 400: ['invalid_request'], 404: ['session_not_found'], 422: ['unsupported_by_driver', 'public_media_required'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/qr',
    tags,
    summary: 'The QR code to link the session',
    description:
      'By `Accept`: JSON `{ qr, expiresAt }` (default), `image/png`, `image/svg+xml`, or `text/plain` for a terminal. A stopped or logged-out session is started again and its first QR returned.',
    request: { params: sessionIdParam },
    responses: {
      200: {
        description: 'The current QR code',
        content: {
          'application/json': { schema: qrSchema },
          'image/png': { schema: z.string().meta({ format: 'binary' }) },
          'image/svg+xml': { schema: z.string() },
          'text/plain': { schema: z.string() },
        },
      },
      ...errors({
        404: ['session_not_found'],
        406: ['not_acceptable'],
        409: ['not_awaiting_qr'],
        422: ['unsupported_by_driver'],
        504: ['qr_timeout'],
      }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/api/sessions/{id}/pairing-code',
    tags,
    summary: 'Link by a code typed on the phone',
    description: 'On the phone: Linked devices → Link with phone number instead, then type the code.',
    request: { params: sessionIdParam, body: { content: { 'application/json': { schema: pairingRequestSchema } } } },
    responses: {
      200: json(z.object({ code: z.string() }), 'The 8-character code', { code: 'K7QW2M9D' }),
      ...errors({
        400: ['invalid_request'],
        404: ['session_not_found'],
        409: ['already_linked', 'not_awaiting_qr'],
        422: ['unsupported_by_driver'],
      }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/api/sessions/{id}/logout',
    tags,
    summary: 'Log out',
    description:
      'Unlinks the number on WhatsApp and removes the credentials (for `cloud`, its stored options with the token); the session stays, `logged_out`, ready to link again (`cloud`: `PATCH` new options).',
    request: { params: sessionIdParam },
    responses: { 200: json(sessionSchema, 'The session, logged out'), ...notFound, ...authErrors },
  });
  r.registerPath({
    method: 'delete',
    path: '/api/sessions/{id}',
    tags,
    summary: 'Delete a session',
    description: 'Logs out, removes the credentials and forgets the session; messages still queued fail with `session_deleted`.',
    request: { params: sessionIdParam },
    responses: { 204: { description: 'Deleted' }, ...notFound, ...authErrors },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/events',
    tags,
    summary: 'Live session events (server-sent events)',
    description:
      'The first event is `state` with the session as it is now (then `qr` if one is showing). Afterwards: `state` on every change, `qr` for each new code, `receipt` for delivered/read messages, `deleted` before the stream ends. ' +
      'Every event has an `id`: reconnect with `Last-Event-ID` to get the events missed since (the last 100 per session are kept); an unknown or too old id, or a client that reads too slowly, gets the current `state` (and `qr`) again instead.',
    request: {
      params: sessionIdParam,
      headers: z.object({ 'last-event-id': z.string().optional().meta({ description: 'The `id` of the last event received' }) }),
    },
    responses: {
      200: {
        description: 'An endless event stream',
        content: {
          'text/event-stream': {
            schema: z.string(),
            example:
              'id: 5f3a9c01-12\nevent: state\ndata: {"id":"default","state":"qr",…}\n\nid: 5f3a9c01-12\nevent: qr\ndata: {"qr":"2@…","expiresAt":"…"}\n\n',
          },
        },
      },
      ...notFound,
      ...authErrors,
    },
  });
};
