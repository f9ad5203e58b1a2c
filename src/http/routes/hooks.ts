import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { InboundHttpRequest } from '../../whatsapp/driver.js';
import type { SessionManager } from '../../whatsapp/sessions.js';
import { errors, sessionIdParam, type DescribeRoutes } from '../openapi.js';

/** Meta's event batches are small; a megabyte is far above any of them. */
const MAX_HOOK_BODY = '1mb';

const firstValues = (values: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined]));

const inboundRequest = (req: Request): InboundHttpRequest => ({
  method: req.method === 'GET' ? 'GET' : 'POST',
  query: firstValues(req.query as Record<string, unknown>),
  headers: firstValues(req.headers),
  body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
});

/**
 * `/hooks/<session id>`: where a platform calls a session (Meta's webhook handshake and events). Outside `/api`'s
 * key check, because the platform holds no key of ours: the session's driver checks the call itself (a verify
 * token, a signature over the raw body).
 */
export const hookRoutes = ({ sessions }: { sessions: Pick<SessionManager, 'handleHttp' | 'get'> }) => {
  const answer = async (req: Request, res: Response) => {
    const id = String(req.params.id);
    sessions.get(id);
    const { status, body, contentType } = await sessions.handleHttp(id, inboundRequest(req));
    res.setHeader('Cache-Control', 'no-store');
    if (contentType) res.type(contentType);
    res.status(status).send(body ?? '');
  };
  return Router()
    .get('/hooks/:id', answer)
    .post('/hooks/:id', express.raw({ type: () => true, limit: MAX_HOOK_BODY }), answer);
};

export const describeHookRoutes: DescribeRoutes = (r) => {
  const tags = ['Platform webhooks'];
  const failures = errors({
    400: ['invalid_request'],
    401: ['invalid_signature'],
    403: ['verify_token_mismatch'],
    404: ['session_not_found', 'not_found'],
    413: ['too_large'],
    503: ['session_not_connected'],
  });
  r.registerPath({
    method: 'get',
    path: '/hooks/{id}',
    tags,
    summary: "A platform's webhook verification (Meta's `hub.challenge` handshake)",
    description:
      "No API key: give this URL and the session's `verifyToken` as the Callback URL and Verify token in Meta's app dashboard. Answers `hub.challenge` when `hub.verify_token` matches.",
    security: [],
    request: {
      params: sessionIdParam,
      query: z.object({
        'hub.mode': z.string().optional().meta({ example: 'subscribe' }),
        'hub.verify_token': z.string().optional(),
        'hub.challenge': z.string().optional().meta({ example: '1158201444' }),
      }),
    },
    responses: {
      200: { description: 'The challenge, echoed', content: { 'text/plain': { schema: z.string() } } },
      ...failures,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/hooks/{id}',
    tags,
    summary: "A platform's events for the session (Meta's message statuses and inbound messages)",
    description:
      'No API key: each call must carry `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body with the app secret; without it, or with a wrong one, `401 invalid_signature` and nothing is read.',
    security: [],
    request: {
      params: sessionIdParam,
      headers: z.object({ 'x-hub-signature-256': z.string().optional().meta({ example: 'sha256=5f8c…' }) }),
      body: { content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
    },
    responses: { 200: { description: 'Taken' }, ...failures },
  });
};
