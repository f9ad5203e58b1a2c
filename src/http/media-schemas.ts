import { z } from 'zod';

/** The request and response shapes of media, shared by the media routes and the send route. */
export const sha256Schema = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal digits');
export const httpUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** The error codes resolving a media reference can give, by status, for the routes that resolve one. */
export const MEDIA_RESOLUTION_ERRORS: Record<number, string[]> = {
  400: ['invalid_request', 'blocked_url'],
  404: ['media_not_found'],
  409: ['stale_media'],
  413: ['too_large'],
  422: ['hash_mismatch', 'unsupported_media'],
  502: ['fetch_failed'],
  504: ['fetch_timeout'],
};

/** MEDIA_RESOLUTION_ERRORS with a route's own codes added to the statuses they share. */
export const withMediaResolutionErrors = (own: Record<number, string[]>): Record<number, string[]> => {
  const merged: Record<number, string[]> = { ...MEDIA_RESOLUTION_ERRORS };
  for (const [status, codes] of Object.entries(own)) merged[Number(status)] = [...codes, ...(merged[Number(status)] ?? [])];
  return merged;
};

const EXAMPLE_SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

export const mediaRefSchema = z
  .union([z.object({ sha256: sha256Schema }).strict(), z.object({ url: httpUrlSchema, sha256: sha256Schema.optional() }).strict()])
  .meta({
    id: 'MediaRef',
    description: 'Media held already (`sha256`), or a URL fetched fresh; a pinned `sha256` beside the URL must match what is fetched.',
    example: { url: 'https://cdn.example.com/menu.pdf', sha256: EXAMPLE_SHA },
  });

export const mediaUrlRequestSchema = z
  .object({ url: httpUrlSchema, sha256: sha256Schema.optional() })
  .strict()
  .meta({ id: 'MediaUrlRequest', example: { url: 'https://cdn.example.com/banner.jpg', sha256: EXAMPLE_SHA } });

const attemptSchema = z.object({
  url: z.string(),
  via: z.string().meta({ description: '`direct` or the proxy the request went through' }),
  strategy: z.enum(['plain', 'cache-busted', 'proxy-bypassed']),
  status: z.number().optional(),
  cacheSignals: z.record(z.string(), z.string()),
  cacheVerdict: z.enum(['hit', 'miss', 'unknown']),
  hops: z
    .array(
      z.object({
        url: z.string(),
        status: z.number(),
        cacheSignals: z.record(z.string(), z.string()),
        cacheVerdict: z.enum(['hit', 'miss', 'unknown']),
      }),
    )
    .optional(),
  conditional: z.string().optional().meta({ description: 'The validator a busted request was made conditional on' }),
  sha256: z.string().optional(),
  error: z.string().optional(),
});

export const mediaRecordSchema = z
  .object({
    sha256: z.string().meta({ description: 'sha256 of the bytes that are sent' }),
    size: z.number(),
    mimetype: z.string().meta({ description: 'Sniffed from the bytes, not taken from the header' }),
    declaredMimetype: z.string().optional().meta({ description: 'What the origin or uploader declared, when it differs' }),
    kind: z.enum(['image', 'video', 'audio', 'sticker', 'document']),
    animated: z.boolean().optional(),
    codec: z.string().optional(),
    converted: z.object({ fromSha256: z.string(), fromMimetype: z.string() }).optional(),
    thumbnail: z.string().optional().meta({ description: '32 px JPEG as base64 (images)' }),
    source: z
      .object({
        url: z.string(),
        finalUrl: z.string(),
        etag: z.string().optional(),
        lastModified: z.string().optional(),
        fetchedAt: z.string(),
        freshness: z.enum(['fresh', 'confirmed', 'unverified', 'uploaded']),
        reason: z.string().optional().meta({ description: 'Why freshness is what it is' }),
        obtainedBy: z.enum(['plain', 'cache-busted', 'proxy-bypassed']),
        attempts: z.array(attemptSchema),
      })
      .optional(),
    createdAt: z.string(),
  })
  .meta({
    id: 'MediaRecord',
    example: {
      sha256: EXAMPLE_SHA,
      size: 48213,
      mimetype: 'image/jpeg',
      declaredMimetype: 'binary/octet-stream',
      kind: 'image',
      source: {
        url: 'https://cdn.example.com/banner.jpg',
        finalUrl: 'https://cdn.example.com/banner.jpg',
        etag: '"5f2a"',
        fetchedAt: '2026-11-26T10:00:00.000Z',
        freshness: 'fresh',
        obtainedBy: 'cache-busted',
        attempts: [],
      },
      createdAt: '2026-11-26T10:00:00.000Z',
    },
  });

export const checkReportSchema = z
  .object({
    url: z.string(),
    wouldSend: z.boolean(),
    items: z.array(z.object({ check: z.string(), status: z.enum(['ok', 'warn', 'fail', 'info']), detail: z.string() })),
    sha256: z.string().optional(),
    mimetype: z.string().optional(),
    declaredMimetype: z.string().optional(),
    kind: z.string().optional(),
    size: z.number().optional(),
    limit: z.number().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    attempts: z.array(attemptSchema),
  })
  .meta({ id: 'CheckReport' });
