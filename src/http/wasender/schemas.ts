import { z } from 'zod';
import { OPTION_FLAGS } from '../../wasender/store.js';

/** Laravel reads `true`, `1`, `"1"`, `"true"` (and their opposites) as booleans; scripts written for it send any. */
const yesNo = z.preprocess(
  (v) => (v === 1 || v === '1' || v === 'true' ? true : v === 0 || v === '0' || v === 'false' ? false : v),
  z.boolean('must be true or false'),
);

const webhookUrl = z
  .string()
  .max(2048)
  .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), 'must be a valid http(s) URL')
  .nullable();

const sessionFields = {
  name: z.string('is required').trim().min(1, 'is required').max(255, 'may not be greater than 255 characters'),
  phone_number: z
    .string('is required')
    .trim()
    .regex(/^\+?[\d\s().-]{7,24}$/, 'must be a phone number in international format'),
  account_protection: yesNo,
  log_messages: yesNo,
  webhook_url: webhookUrl.optional(),
  webhook_enabled: yesNo.optional(),
  webhook_events: z.array(z.string().min(1).max(100)).max(100).nullable().optional(),
  ...Object.fromEntries(OPTION_FLAGS.map((flag) => [flag, yesNo.optional()])),
  // Sessions reach WhatsApp through the server's own network settings (HTTP(S)_PROXY); taking a per-session proxy
  // and not using it would mislead, so only its absence is accepted.
  proxy_url: z.null('is not supported by hashsend; sessions use the server’s own HTTPS_PROXY').optional(),
} as const;

/** Checked, then left out of what is stored. */
const withoutProxy = <T extends { proxy_url?: null }>({ proxy_url: _unused, ...rest }: T) => rest;

/** Unknown fields are dropped, as Laravel's validated input drops them. */
export const createSessionBody = z.object(sessionFields).transform(withoutProxy);

export const updateSessionBody = z
  .object({
    ...sessionFields,
    account_protection: yesNo.optional(),
    log_messages: yesNo.optional(),
    name: sessionFields.name.optional(),
    phone_number: sessionFields.phone_number.optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'must name at least one field to update', path: ['body'] })
  .transform(withoutProxy);

export const connectBody = z.object({ qr_as_image: yesNo.optional() });
