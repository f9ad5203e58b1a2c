import { z } from 'zod';
import type { DriverOptionsSpec } from '../driver.js';

/** Where a Cloud API session's media goes: uploaded once per content and sent by Meta's id, or fetched by Meta from us. */
export type CloudMediaMode = 'upload' | 'link';

export const cloudOptionsSchema = z.object({
  /** Meta's id of the business phone number (WhatsApp Manager → API Setup), not the number itself. */
  phoneNumberId: z.string().regex(/^\d{5,20}$/, 'the phone number id: digits only (WhatsApp Manager → API Setup), not the phone number'),
  /** A system user's (or a temporary) access token with whatsapp_business_messaging. Never shown or logged. */
  accessToken: z.string().trim().min(1, 'an access token from Meta (WhatsApp Manager → API Setup, or a system user token)'),
  /** The Meta app's secret: every webhook call is signed with it. Never shown or logged. */
  appSecret: z.string().trim().min(1, "the Meta app's secret (App settings → Basic)"),
  /** What Meta's webhook setup must echo back; chosen by the operator, typed into Meta's dashboard. */
  verifyToken: z.string().min(8, 'at least 8 characters').max(200),
  /** @default 'upload' */
  mediaMode: z.enum(['upload', 'link']).default('upload'),
});

export type CloudOptions = z.infer<typeof cloudOptionsSchema>;

/** The webhook path a session's Meta app calls, relative to hashsend's public address. */
export const webhookPath = (sessionId: string) => `/hooks/${encodeURIComponent(sessionId)}`;

/**
 * The options as the API shows them: the verify token (the operator types it into Meta's dashboard, and it grants
 * nothing) and where to point Meta; never the access token or the app secret.
 */
export const cloudOptionsSpec = (check?: (options: CloudOptions) => void): DriverOptionsSpec<CloudOptions> => ({
  schema: cloudOptionsSchema,
  view: (o, sessionId) => ({
    phoneNumberId: o.phoneNumberId,
    mediaMode: o.mediaMode,
    verifyToken: o.verifyToken,
    webhookPath: webhookPath(sessionId),
  }),
  ...(check ? { check } : {}),
});
