import { z } from 'zod';

/** Laravel reads `true`, `1`, `"1"`, `"true"` (and their opposites) as booleans; scripts written for it send any. */
const flag = z.preprocess(
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
  account_protection: flag,
  log_messages: flag,
  webhook_url: webhookUrl.optional(),
  webhook_enabled: flag.optional(),
  webhook_events: z.array(z.string().min(1).max(100)).max(100).nullable().optional(),
};

/** Unknown fields are dropped, as Laravel's validated input drops them. */
export const createSessionBody = z.object(sessionFields);

export const updateSessionBody = z
  .object({
    ...sessionFields,
    account_protection: flag.optional(),
    log_messages: flag.optional(),
    name: sessionFields.name.optional(),
    phone_number: sessionFields.phone_number.optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'must name at least one field to update', path: ['body'] });

export const connectBody = z.object({ qr_as_image: flag.optional() });

/** WASenderApi's session ids are positive integers; anything else is no session. */
export const sessionIdParam = z.object({ id: z.string().regex(/^\d{1,15}$/, 'must be a session id') });
