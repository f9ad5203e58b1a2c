import { randomBytes } from 'node:crypto';

/**
 * Meta's error codes as the Cloud API answers them: HTTP status, Graph `type` and the code's title (which Meta
 * puts in `message` as "(#code) Title"). Statuses follow the table at
 * https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/ (rate limits
 * 130429/131056/131048 are HTTP 400 there, not 429; auth 190 is 401; permission 10 and 200 are 403).
 */
const TABLE: Record<number, { status: number; title: string; type?: string }> = {
  4: { status: 400, title: 'Application request limit reached' },
  10: { status: 403, title: 'Application does not have permission for this action' },
  100: { status: 400, title: 'Invalid parameter' },
  190: { status: 401, title: 'Invalid OAuth access token - Cannot parse access token' },
  200: { status: 403, title: 'Permissions error' },
  368: { status: 403, title: 'Temporarily blocked for policies violations' },
  2500: { status: 401, title: 'An active access token must be used to query information about the current user.' },
  80007: { status: 400, title: 'Rate limit issues' },
  130429: { status: 400, title: 'Rate limit hit' },
  130472: { status: 400, title: "User's number is part of an experiment" },
  131000: { status: 500, title: 'Something went wrong' },
  131005: { status: 403, title: 'Access denied' },
  131008: { status: 400, title: 'Required parameter is missing' },
  131009: { status: 400, title: 'Parameter value is not valid' },
  131016: { status: 503, title: 'Service unavailable' },
  131021: { status: 400, title: 'Recipient cannot be sender' },
  131026: { status: 400, title: 'Message undeliverable' },
  131030: { status: 400, title: 'Recipient phone number not in allowed list' },
  131031: { status: 403, title: 'Account has been locked' },
  131042: { status: 400, title: 'Business eligibility payment issue' },
  131047: { status: 400, title: 'Re-engagement message' },
  131048: { status: 400, title: 'Spam rate limit hit' },
  131051: { status: 400, title: 'Unsupported message type' },
  131052: { status: 400, title: 'Media download error' },
  131053: { status: 400, title: 'Media upload error' },
  131056: { status: 400, title: '(Business Account, Consumer Account) pair rate limit hit' },
  132000: { status: 400, title: 'Number of parameters does not match the expected number of params' },
  132001: { status: 404, title: 'Template does not exist' },
  133010: { status: 400, title: 'Phone number not registered' },
};

/** Meta's documentation of every code, which its webhook errors link to as `href`. */
export const ERROR_CODES_HREF = 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/';

export const httpStatusFor = (code: number): number => TABLE[code]?.status ?? 400;
export const titleFor = (code: number): string => TABLE[code]?.title ?? 'Error';

export interface GraphErrorOptions {
  /** What exactly is wrong, as Meta puts it in `error_data.details`. */
  details?: string;
  subcode?: number;
  /** Replaces "(#code) Title" (Graph's own auth and lookup errors word it differently). */
  message?: string;
  /** @default 'OAuthException' */
  type?: string;
  /** @default the code's status in Meta's table */
  status?: number;
}

export interface GraphErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    error_subcode?: number;
    error_data?: { messaging_product: 'whatsapp'; details: string };
    fbtrace_id: string;
  };
}

/** A Graph API error answer, thrown by handlers and written by the router. */
export class GraphFailure extends Error {
  readonly status: number;
  readonly body: GraphErrorBody;
  constructor(code: number, opts: GraphErrorOptions = {}) {
    const message = opts.message ?? `(#${code}) ${titleFor(code)}`;
    super(message);
    this.status = opts.status ?? httpStatusFor(code);
    this.body = {
      error: {
        message,
        type: opts.type ?? 'OAuthException',
        code,
        ...(opts.subcode === undefined ? {} : { error_subcode: opts.subcode }),
        ...(opts.details === undefined ? {} : { error_data: { messaging_product: 'whatsapp', details: opts.details } }),
        fbtrace_id: randomBytes(8).toString('base64url'),
      },
    };
  }
}

/** One entry of a status webhook's `errors[]` (and of an inbound `messages[].errors`). */
export interface WebhookError {
  code: number;
  title: string;
  message: string;
  error_data: { details: string };
  href: string;
}

export const webhookError = (code: number, details?: string): WebhookError => ({
  code,
  title: titleFor(code),
  message: titleFor(code),
  error_data: { details: details ?? titleFor(code) },
  href: ERROR_CODES_HREF,
});

/** Graph's answer for an id that is unknown, gone, or not visible to the token. */
export const noSuchObject = (id: string, method: string): GraphFailure =>
  new GraphFailure(100, {
    subcode: 33,
    type: 'GraphMethodException',
    message:
      `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing ` +
      'permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api',
  });

/** A Graph parameter error, worded as Graph words them ("(#100) The parameter to is required."). */
export const badParam = (text: string): GraphFailure => new GraphFailure(100, { message: `(#100) ${text}`, details: text });

/** A WhatsApp value error: 131009 with `details` naming the field. */
export const badValue = (details: string): GraphFailure => new GraphFailure(131009, { details });
