import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { authErrors } from '../http/openapi.js';

/** `GET /metrics`: the registry in Prometheus' text format. */
export const metricsHandler =
  (registry: Registry): RequestHandler =>
  async (_req, res, next) => {
    try {
      const body = await registry.metrics();
      res.type(registry.contentType).send(body);
    } catch (err) {
      next(err);
    }
  };

export const describeMetricsRoute = (registry: OpenAPIRegistry) => {
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    tags: ['Operations'],
    summary: 'Prometheus metrics',
    description:
      'Prometheus text format (needs the API key): `hashsend_media_fetches_total{outcome,busted}`, `hashsend_message_status_total{status}`, `hashsend_queue_depth{session}`, `hashsend_queue_oldest_age_seconds{session}`, `hashsend_sessions{state}`, `hashsend_broadcasts_running`, `hashsend_webhook_backlog{endpoint}`, `hashsend_webhook_dead_letters{endpoint}`, `hashsend_webhook_attempts_total{outcome}`, `hashsend_webhook_dead_total`, and the process metrics (`process_*`, `nodejs_*`).',
    responses: {
      200: {
        description: 'The metrics',
        content: {
          'text/plain': {
            schema: z.string(),
            example: 'hashsend_message_status_total{status="sent"} 42\nhashsend_queue_depth{session="default"} 3\n',
          },
        },
      },
      ...authErrors,
    },
  });
};
