import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/types.js';
import { SESSION_ID_PATTERN } from '../whatsapp/sessions.js';

const eventTypes = z
  .array(z.enum([...WEBHOOK_EVENT_TYPES, '*']))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length + 1)
  .meta({ description: `Event types to receive, or \`["*"]\` for all: ${WEBHOOK_EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}` });
const url = z.string().min(1).max(2048).meta({
  description: 'http(s); private, loopback and link-local hosts are refused unless listed in WEBHOOK_ALLOW_HOSTS',
  example: 'https://hooks.example.com/hashsend',
});
const description = z.string().max(500);

export const createWebhookSchema = z
  .object({
    url,
    events: eventTypes,
    sessionId: z.string().regex(SESSION_ID_PATTERN, 'a session id').optional().meta({ description: "Only this session's events" }),
    description: description.optional(),
  })
  .strict()
  .meta({
    id: 'CreateWebhook',
    example: { url: 'https://hooks.example.com/hashsend', events: ['message.delivered', 'message.failed'], description: 'CRM' },
  });

export const updateWebhookSchema = z
  .object({
    url: url.optional(),
    events: eventTypes.optional(),
    description: description.optional(),
    enabled: z
      .boolean()
      .optional()
      .meta({ description: 'true re-enables a disabled endpoint: its reason is cleared and its pending deliveries go' }),
  })
  .strict()
  .meta({ id: 'UpdateWebhook', example: { enabled: true } });

const stats = z.object({ pending: z.number(), delivered: z.number(), dead: z.number() });

export const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    sessionId: z.string().optional(),
    description: z.string().optional(),
    format: z.string().optional().meta({
      description:
        '`wasender`: kept in step with a WASender session’s webhook fields and rendered in WASenderApi’s format; change it through that session',
    }),
    enabled: z.boolean(),
    disabledReason: z
      .object({ code: z.string(), message: z.string(), at: z.string() })
      .optional()
      .meta({ description: 'Why it was disabled (`failing`: every delivery failed for WEBHOOK_DISABLE_AFTER_MS)' }),
    createdAt: z.string(),
    updatedAt: z.string(),
    stats: stats.optional().meta({ description: 'Deliveries by status' }),
  })
  .meta({
    id: 'Webhook',
    example: {
      id: 'whe_3f1c0a9d2b7e4c58a1d6e0f2b3c4d5e6',
      url: 'https://hooks.example.com/hashsend',
      events: ['*'],
      enabled: true,
      createdAt: '2025-01-01T10:00:00.000Z',
      updatedAt: '2025-01-01T10:00:00.000Z',
      stats: { pending: 0, delivered: 42, dead: 0 },
    },
  });

export const createdWebhookSchema = webhookSchema
  .extend({ secret: z.string().meta({ description: 'The signing secret: shown only here and on rotation' }) })
  .meta({ id: 'CreatedWebhook' });

export const rotatedSecretSchema = z
  .object({
    secret: z.string(),
    previousSecretExpiresAt: z.string().meta({ description: 'Until then deliveries carry a signature with each secret' }),
  })
  .meta({ id: 'RotatedWebhookSecret' });

export const deliverySchema = z
  .object({
    id: z.string(),
    endpointId: z.string(),
    event: z.object({ id: z.string(), type: z.string(), createdAt: z.string() }),
    status: z.enum(['pending', 'delivered', 'dead']),
    attempts: z.number(),
    lastAttemptAt: z.string().optional(),
    nextAttemptAt: z.string().optional().meta({ description: 'Absent while it waits behind an earlier event of the same message' }),
    lastError: z.object({ code: z.string().optional(), status: z.number().optional(), message: z.string() }).optional(),
    deliveredAt: z.string().optional(),
    createdAt: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });

export const deliveriesQuerySchema = z.object({
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: z
    .string()
    .regex(/^\d{1,15}$/, 'a cursor from nextCursor')
    .optional(),
});

export const deadLettersQuerySchema = deliveriesQuerySchema.omit({ status: true });

export const replayAllSchema = z
  .object({ status: z.enum(['dead', 'delivered']) })
  .strict()
  .meta({ id: 'ReplayDeliveries', example: { status: 'dead' } });

export const webhookIdParam = z.object({ id: z.string().meta({ example: 'whe_3f1c0a9d2b7e4c58a1d6e0f2b3c4d5e6' }) });
export const deliveryIdParam = webhookIdParam.extend({
  deliveryId: z.string().meta({ example: 'whd_0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f' }),
});
