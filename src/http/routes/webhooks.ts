import { Router } from 'express';
import { z } from 'zod';
import type { WebhookService } from '../../webhooks/service.js';
import { authErrors, errors, json, type DescribeRoutes } from '../openapi.js';
import { parse } from '../validate.js';
import {
  createdWebhookSchema,
  createWebhookSchema,
  deadLettersQuerySchema,
  deliveriesQuerySchema,
  deliveryIdParam,
  deliverySchema,
  replayAllSchema,
  rotatedSecretSchema,
  updateWebhookSchema,
  webhookIdParam,
  webhookSchema,
} from '../webhook-schemas.js';

export const webhookRoutes = ({ webhooks }: { webhooks: WebhookService }) =>
  Router()
    .post('/webhooks', async (req, res) => {
      res.status(201).json(await webhooks.create(parse(createWebhookSchema, req.body)));
    })
    .get('/webhooks', async (_req, res) => {
      res.json({ items: await webhooks.list() });
    })
    // Before `/webhooks/:id`, which would take `dead-letters` for an id.
    .get('/webhooks/dead-letters', async (req, res) => {
      const { limit, before } = parse(deadLettersQuerySchema, req.query, 'query');
      res.json(await webhooks.deadLetters({ limit, before: before === undefined ? undefined : Number(before) }));
    })
    .get('/webhooks/:id', async (req, res) => {
      res.json(await webhooks.get(req.params.id));
    })
    .patch('/webhooks/:id', async (req, res) => {
      res.json(await webhooks.update(req.params.id, parse(updateWebhookSchema, req.body)));
    })
    .delete('/webhooks/:id', async (req, res) => {
      await webhooks.remove(req.params.id);
      res.status(204).end();
    })
    .post('/webhooks/:id/rotate-secret', async (req, res) => {
      res.json(await webhooks.rotateSecret(req.params.id));
    })
    .get('/webhooks/:id/deliveries', async (req, res) => {
      const { status, limit, before } = parse(deliveriesQuerySchema, req.query, 'query');
      res.json(await webhooks.deliveries(req.params.id, { status, limit, before: before === undefined ? undefined : Number(before) }));
    })
    .post('/webhooks/:id/deliveries/replay', async (req, res) => {
      res.status(202).json(await webhooks.replayAll(req.params.id, parse(replayAllSchema, req.body).status));
    })
    .post('/webhooks/:id/deliveries/:deliveryId/replay', async (req, res) => {
      res.status(202).json(await webhooks.replay(req.params.id, req.params.deliveryId));
    });

export const describeWebhookRoutes: DescribeRoutes = (r) => {
  const tags = ['Webhooks'];
  const notFound = errors({ 404: ['webhook_not_found'] });
  r.registerPath({
    method: 'post',
    path: '/api/webhooks',
    tags,
    summary: 'Add a webhook endpoint',
    description:
      'Every event the endpoint asks for is POSTed as JSON `{ id, type, createdAt, data }` (`data` as our API shows the record), signed in `X-Hashsend-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, with `X-Hashsend-Event-Id` and `X-Hashsend-Event-Type`. Stored before the first attempt; a 2xx answer delivers it, anything else is retried with backoff for WEBHOOK_RETRY_PERIOD_MS, then it is dead (replayable). Events of one message (broadcast, session) reach an endpoint one at a time, in order. With `sessionId`, only that session\'s events. The `secret` is shown only in this answer.',
    request: { body: { content: { 'application/json': { schema: createWebhookSchema } } } },
    responses: {
      201: json(createdWebhookSchema, 'The endpoint, with its secret'),
      ...errors({ 400: ['invalid_request', 'webhook_url_refused'], 404: ['session_not_found'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/webhooks',
    tags,
    summary: 'Webhook endpoints',
    responses: { 200: json(z.object({ items: z.array(webhookSchema) }), 'Every endpoint, with delivery counts'), ...authErrors },
  });
  r.registerPath({
    method: 'get',
    path: '/api/webhooks/dead-letters',
    tags,
    summary: 'Dead deliveries of every endpoint',
    description: 'Newest first; each names its `endpointId` for a replay. Pass `nextCursor` back as `before` for the next page.',
    request: { query: deadLettersQuerySchema },
    responses: {
      200: json(z.object({ items: z.array(deliverySchema), nextCursor: z.string().nullable() }), 'A page of dead deliveries'),
      ...errors({ 400: ['invalid_request'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/webhooks/{id}',
    tags,
    summary: 'A webhook endpoint',
    request: { params: webhookIdParam },
    responses: { 200: json(webhookSchema, 'The endpoint'), ...notFound, ...authErrors },
  });
  r.registerPath({
    method: 'patch',
    path: '/api/webhooks/{id}',
    tags,
    summary: 'Change a webhook endpoint, or enable it again',
    description:
      'An endpoint whose every delivery failed for WEBHOOK_DISABLE_AFTER_MS is disabled (`disabledReason`); its deliveries wait, and new events are still stored for it. `enabled: true` clears the reason and resumes them, each with a new retry period.',
    request: { params: webhookIdParam, body: { content: { 'application/json': { schema: updateWebhookSchema } } } },
    responses: {
      200: json(webhookSchema, 'The endpoint'),
      ...errors({ 400: ['invalid_request', 'webhook_url_refused'], 404: ['webhook_not_found'], 409: ['webhook_managed'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'delete',
    path: '/api/webhooks/{id}',
    tags,
    summary: 'Remove a webhook endpoint and its deliveries',
    request: { params: webhookIdParam },
    responses: { 204: { description: 'Removed' }, ...notFound, ...errors({ 409: ['webhook_managed'] }), ...authErrors },
  });
  r.registerPath({
    method: 'post',
    path: '/api/webhooks/{id}/rotate-secret',
    tags,
    summary: 'A new signing secret',
    description:
      'Until `previousSecretExpiresAt` (WEBHOOK_SECRET_GRACE_MS) each delivery carries two `v1=` signatures, one per secret, so the receiver can switch at its own pace.',
    request: { params: webhookIdParam },
    responses: { 200: json(rotatedSecretSchema, 'The new secret'), ...notFound, ...errors({ 409: ['webhook_managed'] }), ...authErrors },
  });
  r.registerPath({
    method: 'get',
    path: '/api/webhooks/{id}/deliveries',
    tags,
    summary: "An endpoint's deliveries",
    description: 'Newest first; `status=dead` is the dead-letter list. Pass `nextCursor` back as `before` for the next page.',
    request: { params: webhookIdParam, query: deliveriesQuerySchema },
    responses: {
      200: json(z.object({ items: z.array(deliverySchema), nextCursor: z.string().nullable() }), 'A page of deliveries'),
      ...errors({ 400: ['invalid_request'], 404: ['webhook_not_found'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/api/webhooks/{id}/deliveries/replay',
    tags,
    summary: 'Replay every dead (or delivered) delivery',
    request: { params: webhookIdParam, body: { content: { 'application/json': { schema: replayAllSchema } } } },
    responses: {
      202: json(z.object({ replayed: z.number() }), 'Queued again, each with its event id'),
      ...errors({ 400: ['invalid_request'], 404: ['webhook_not_found'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/api/webhooks/{id}/deliveries/{deliveryId}/replay',
    tags,
    summary: 'Replay one delivery',
    description: 'Dead or delivered: queued again with the same event id and body, and a new retry period.',
    request: { params: deliveryIdParam },
    responses: {
      202: json(deliverySchema, 'Queued again'),
      ...errors({ 404: ['webhook_not_found', 'delivery_not_found'] }),
      ...authErrors,
    },
  });
};
