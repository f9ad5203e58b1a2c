import { Router } from 'express';
import { z } from 'zod';
import type { OptOut } from '../../events/types.js';
import type { OptOutService } from '../../optouts/service.js';
import { authErrors, errors, json, sessionIdParam, type DescribeRoutes } from '../openapi.js';
import { parse } from '../validate.js';

const phone = z.string().min(1).max(128).meta({
  description: 'A phone number in international form (`+4915123456789`, `4915123456789`) or a user JID',
  example: '+4915123456789',
});

export const addOptOutSchema = z
  .object({ phone })
  .strict()
  .meta({ id: 'AddOptOut', example: { phone: '+4915123456789' } });

export const optOutSchema = z
  .object({
    sessionId: z.string(),
    phone: z.string().meta({ description: 'Digits only, in international form' }),
    jid: z.string(),
    source: z.enum(['keyword', 'api']).meta({ description: '`keyword`: the customer wrote one of OPTOUT_KEYWORDS; `api`: added here' }),
    messageId: z.string().optional().meta({ description: 'The inbound message that opted out (source `keyword`)' }),
    createdAt: z.string(),
  })
  .meta({
    id: 'OptOut',
    example: {
      sessionId: 'shop',
      phone: '4915123456789',
      jid: '4915123456789@s.whatsapp.net',
      source: 'keyword',
      messageId: 'in_5f2b9c1e0a7d4e3b8c6a',
      createdAt: '2025-01-01T10:00:00.000Z',
    },
  });

export const optOutListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(128).optional().meta({ description: '`nextCursor` of the previous page' }),
});

const optOutPageSchema = z
  .object({ items: z.array(optOutSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'OptOutPage', description: 'In number order; `nextCursor` is null on the last page' });

const phoneParams = sessionIdParam.extend({ phone: phone.meta({ example: '4915123456789' }) });

const view = (o: OptOut) => ({
  sessionId: o.sessionId,
  phone: o.phone,
  jid: o.jid,
  source: o.source,
  ...(o.messageId ? { messageId: o.messageId } : {}),
  createdAt: o.createdAt,
});

/** A session's suppression list: who gets no broadcast and no send that is not a reply. */
export const optOutRoutes = ({ optOuts }: { optOuts: OptOutService }) =>
  Router()
    .get('/sessions/:id/opt-outs', async (req, res) => {
      const { limit, cursor } = parse(optOutListQuerySchema, req.query, 'query');
      const page = await optOuts.list(req.params.id, { limit, ...(cursor ? { after: cursor } : {}) });
      res.json({ items: page.items.map(view), nextCursor: page.nextCursor });
    })
    .post('/sessions/:id/opt-outs', async (req, res) => {
      const body = parse(addOptOutSchema, req.body);
      const { optOut, added } = await optOuts.add(req.params.id, body.phone, { source: 'api' });
      res.status(added ? 201 : 200).json(view(optOut));
    })
    .get('/sessions/:id/opt-outs/:phone', async (req, res) => {
      res.json(view(await optOuts.get(req.params.id, req.params.phone)));
    })
    .delete('/sessions/:id/opt-outs/:phone', async (req, res) => {
      await optOuts.remove(req.params.id, req.params.phone);
      res.status(204).end();
    });

export const describeOptOutRoutes: DescribeRoutes = (r) => {
  const tags = ['Opt-outs'];
  const absent = errors({ 400: ['invalid_recipient'], 404: ['opt_out_not_found', 'session_not_found'] });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/opt-outs',
    tags,
    summary: "A session's opt-out list",
    description:
      'Numbers that get no broadcast (their recipients are `skipped` with `opted_out`) and no single send unless it replies to one of their messages (`replyTo`); others answer `409 opted_out`.',
    request: { params: sessionIdParam, query: optOutListQuerySchema },
    responses: {
      200: json(optOutPageSchema, 'A page of the list'),
      ...errors({ 400: ['invalid_request'], 404: ['session_not_found'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/api/sessions/{id}/opt-outs',
    tags,
    summary: 'Add a number to the opt-out list',
    description: 'Idempotent: a number already on the list answers 200 with its first entry, and `optout` is not announced again.',
    request: { params: sessionIdParam, body: { content: { 'application/json': { schema: addOptOutSchema } } } },
    responses: {
      201: json(optOutSchema, 'Added'),
      200: json(optOutSchema, 'Already on the list; unchanged'),
      ...errors({ 400: ['invalid_request', 'invalid_recipient'], 404: ['session_not_found'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/opt-outs/{phone}',
    tags,
    summary: 'Whether a number opted out, and how',
    request: { params: phoneParams },
    responses: { 200: json(optOutSchema, 'On the list'), ...absent, ...authErrors },
  });
  r.registerPath({
    method: 'delete',
    path: '/api/sessions/{id}/opt-outs/{phone}',
    tags,
    summary: 'Take a number off the opt-out list',
    description: 'Only when the customer asked to hear from you again: broadcasts and sends reach it once more.',
    request: { params: phoneParams },
    responses: { 204: { description: 'Removed' }, ...absent, ...authErrors },
  });
};
