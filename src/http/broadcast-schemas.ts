import { z } from 'zod';
import { mediaRefSchema } from './media-schemas.js';
import { templateSchema } from './template-schemas.js';

const SEND_AS = ['image', 'video', 'audio', 'voice', 'document', 'sticker'] as const;
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time HH:MM');
const vars = z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a variable name: letters, digits, _ . -'), z.string().max(1024));

export const broadcastMessageSchema = z
  .object({
    text: z.string().min(1).max(65_536).optional(),
    media: mediaRefSchema.optional(),
    caption: z.string().max(1024).optional(),
    filename: z.string().min(1).max(255).optional(),
    as: z.enum(SEND_AS).optional(),
    template: templateSchema.optional(),
  })
  .strict()
  .refine((m) => [m.text, m.media, m.template].filter((x) => x !== undefined).length === 1, 'give one of text, media or template')
  .meta({
    id: 'BroadcastMessage',
    description:
      "`text`, `media` with an optional `caption`, or a `template` (`cloud` sessions); the text, the caption and a template's text parameters may hold `{{placeholders}}` filled from each recipient's `vars`.",
    example: { text: 'Hello {{name}}, our sale starts today' },
  });

export const paceSchema = z
  .object({
    perMinute: z.number().min(0).max(6000).meta({ description: 'Messages a minute at most; 0 turns pacing off' }),
    jitter: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .meta({ description: 'Each gap varies at random by up to this fraction (0 to 1). @default 0' }),
  })
  .strict()
  .meta({ id: 'Pace', example: { perMinute: 6, jitter: 0.3 } });

export const quietHoursSchema = z
  .object({ start: hhmm, end: hhmm, timezone: z.string().min(1).max(64).meta({ example: 'Europe/Berlin' }) })
  .strict()
  .meta({ id: 'QuietHours', description: 'No sends from `start` to `end` local time (may cross midnight); the broadcast waits.' });

const options = {
  name: z.string().min(1).max(200),
  message: broadcastMessageSchema,
  schedule: z
    .object({ at: z.iso.datetime({ offset: true }) })
    .strict()
    .optional(),
  pace: paceSchema.optional().meta({ description: 'Absent: the default pace, 6 a minute ±30 %. `{ "perMinute": 0 }`: no pacing.' }),
  dailyCap: z.int().min(1).max(1_000_000).optional().meta({ description: "The session's broadcast sends a day at most" }),
  quietHours: quietHoursSchema.optional(),
};

export const createBroadcastSchema = z
  .object({
    ...options,
    recipients: z
      .array(z.object({ to: z.string().max(128), vars: vars.optional() }).strict())
      .min(1)
      .max(10_000),
  })
  .strict()
  .meta({
    id: 'CreateBroadcast',
    example: {
      name: 'Spring sale',
      recipients: [{ to: '+4915123456789', vars: { name: 'Ada' } }],
      message: { text: 'Hello {{name}}, our sale starts today' },
      dailyCap: 500,
      quietHours: { start: '21:00', end: '08:00', timezone: 'Europe/Berlin' },
    },
  });

/** The rest of a broadcast beside a CSV of recipients (the multipart `broadcast` field). */
export const broadcastOptionsSchema = z.object(options).strict().meta({ id: 'BroadcastOptions' });

/** A `text/csv` body's options, as query parameters. */
export const csvQuerySchema = z
  .object({
    name: z.string().min(1).max(200),
    text: z.string().min(1).max(65_536).optional(),
    mediaUrl: z.string().max(4096).optional(),
    mediaSha256: z.string().max(128).optional(),
    caption: z.string().max(1024).optional(),
    filename: z.string().min(1).max(255).optional(),
    as: z.enum(SEND_AS).optional(),
    perMinute: z.coerce.number().min(0).max(6000).optional(),
    jitter: z.coerce.number().min(0).max(1).optional(),
    at: z.iso.datetime({ offset: true }).optional(),
    dailyCap: z.coerce.number().int().min(1).max(1_000_000).optional(),
    quietStart: hhmm.optional(),
    quietEnd: hhmm.optional(),
    timezone: z.string().min(1).max(64).optional(),
  })
  .strict();

const countsSchema = z.object({
  pending: z.number(),
  queued: z.number(),
  sent: z.number(),
  delivered: z.number(),
  read: z.number(),
  failed: z.number(),
  skipped: z.number(),
});

export const broadcastSchema = z
  .object({
    id: z.string(),
    sessionId: z.string(),
    name: z.string(),
    status: z.enum(['scheduled', 'running', 'paused', 'completed', 'cancelled']),
    message: z
      .object({
        type: z.enum(['text', 'media', 'template']),
        text: z.string().optional(),
        caption: z.string().optional(),
        template: z.string().optional(),
      })
      .passthrough(),
    media: z
      .object({ sha256: z.string(), sourceSha256: z.string().optional() })
      .optional()
      .meta({ description: 'What every recipient gets' }),
    scheduledAt: z.string().optional(),
    pace: paceSchema.optional().meta({ description: 'Absent: no pacing' }),
    dailyCap: z.number().optional(),
    quietHours: quietHoursSchema.optional(),
    pausedReason: z.object({ code: z.string(), message: z.string() }).optional(),
    total: z.number(),
    counts: countsSchema,
    progress: z.object({ done: z.number(), total: z.number(), percent: z.number() }),
    expectedEndAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
  })
  .meta({ id: 'Broadcast' });

const place = { row: z.number().meta({ description: 'Place in the list, from 1' }), line: z.number().optional(), to: z.string() };
export const createdBroadcastSchema = broadcastSchema
  .extend({
    duplicates: z.array(z.object({ ...place, firstRow: z.number() })),
    invalid: z.array(z.object({ ...place, message: z.string() })),
  })
  .meta({ id: 'CreatedBroadcast', description: 'The broadcast; duplicates and invalid numbers were left out and are listed' });

export const reportRowSchema = z
  .object({
    index: z.number(),
    to: z.string(),
    status: z.enum(['pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped']),
    messageId: z.string().nullable(),
    sha256: z.string().nullable().meta({ description: 'The sha256 sent (media)' }),
    errorCode: z.string().nullable(),
    error: z.string().nullable(),
    queuedAt: z.string().nullable(),
    sentAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    readAt: z.string().nullable(),
  })
  .meta({ id: 'BroadcastReportRow' });

export const reportQuerySchema = z.object({
  from: z.coerce.number().int().min(0).max(10_000).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'csv']).optional(),
});

export const listBroadcastsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: z.iso.datetime().optional().meta({ description: '`createdAt` of the last broadcast of the previous page' }),
});

export const broadcastIdParam = z.object({ id: z.string().meta({ description: 'Broadcast id', example: 'bc_5f2b9c1e0a7d4e3b8c6a' }) });
