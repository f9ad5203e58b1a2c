import { z } from 'zod';
import { httpUrlSchema, mediaRefSchema, sha256Schema } from './media-schemas.js';

/** Meta's limits: a parameter's text, a template's name (lower case, digits, `_`). */
const text = z.string().min(1).max(32_768);
const filename = z.string().min(1).max(255).optional();

const parameterSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text }).strict(),
  z.object({ type: z.literal('payload'), payload: z.string().min(1).max(128) }).strict(),
  z
    .object({
      type: z.literal('currency'),
      currency: z
        .object({ fallback_value: z.string().min(1).max(256), code: z.string().regex(/^[A-Z]{3}$/), amount_1000: z.int() })
        .strict(),
    })
    .strict(),
  z.object({ type: z.literal('date_time'), date_time: z.object({ fallback_value: z.string().min(1).max(256) }).strict() }).strict(),
  z.object({ type: z.literal('image'), image: mediaRefSchema }).strict(),
  z.object({ type: z.literal('video'), video: mediaRefSchema }).strict(),
  z
    .object({
      type: z.literal('document'),
      document: z.union([
        z.object({ sha256: sha256Schema, filename }).strict(),
        z.object({ url: httpUrlSchema, sha256: sha256Schema.optional(), filename }).strict(),
      ]),
    })
    .strict(),
]);

export const templateSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_]{1,512}$/, "the approved template's name: lower-case letters, digits and _"),
    language: z
      .union([
        z.string(),
        z
          .object({ code: z.string() })
          .strict()
          .transform((l) => l.code),
      ])
      .pipe(z.string().regex(/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/, "Meta's language code of the approved translation, e.g. en_US")),
    components: z
      .array(
        z
          .object({
            type: z.enum(['header', 'body', 'button']),
            sub_type: z.string().min(1).max(32).optional(),
            index: z.union([z.int().min(0).max(9), z.string().regex(/^\d$/).transform(Number)]).optional(),
            parameters: z.array(parameterSchema).max(100).optional(),
          })
          .strict(),
      )
      .max(20)
      .optional(),
  })
  .strict()
  .meta({
    id: 'Template',
    description:
      "A message template approved in Meta's WhatsApp Manager (`cloud` sessions). Components and parameters are Meta's, except that header media (`image`, `video`, `document`) is a hashsend media reference: fetched fresh, verified, and sent by media id, so a file replaced under the same URL never goes out stale.",
    example: {
      name: 'order_shipped',
      language: 'en_US',
      components: [
        { type: 'header', parameters: [{ type: 'image', image: { url: 'https://cdn.example.com/parcel.jpg' } }] },
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'Ada' },
            { type: 'text', text: '#1042' },
          ],
        },
      ],
    },
  });
