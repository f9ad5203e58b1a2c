import { HashsendError } from '../../errors.js';
import type { GraphFault } from './graph-client.js';
import { text } from '../../lib/json.js';

interface Mapped {
  code: string;
  status: number;
  /** What it means and what to do, before Meta's own words. */
  say: string;
}

const RATE_LIMITED: Mapped = {
  code: 'rate_limited',
  status: 429,
  say: 'Meta is rate-limiting this number (too many messages, or too many to one recipient): the message is retried with backoff',
};
const INVALID: Mapped = {
  code: 'invalid_parameter',
  status: 422,
  say: 'Meta refused a parameter of the message: correct it and send again',
};
export const TOKEN_EXPIRED: Mapped = {
  code: 'token_expired',
  // 503 like a session that is not connected: the session goes needs_relink and queued messages wait for a new token.
  status: 503,
  say: 'the access token is invalid or expired: give a new one with PATCH /api/sessions/<id> {"options": …}',
};

/** Meta's error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes) as hashsend's codes. */
const TABLE: Record<number, Mapped> = {
  190: TOKEN_EXPIRED,
  100: INVALID,
  131009: INVALID,
  131030: {
    code: 'recipient_not_allowed',
    status: 422,
    say: "the recipient is not in your Meta app's test numbers: add the number to the test numbers of your Meta app, or use a production number",
  },
  131047: {
    code: 'outside_service_window',
    status: 422,
    say: 'more than 24 hours since the customer last wrote: send a template',
  },
  131052: {
    code: 'media_download_failed',
    status: 502,
    say: 'Meta could not download the media: check that the link is reachable from the internet, or send it by upload',
  },
  131053: {
    code: 'media_upload_failed',
    status: 502,
    say: 'Meta could not take the media (not accepted, or its id unknown or expired): it is uploaded again on the next send',
  },
  130429: RATE_LIMITED,
  131056: RATE_LIMITED,
  // Not in the issue's list but the same remedy: the app's and the business account's request limits.
  4: RATE_LIMITED,
  80007: RATE_LIMITED,
};

const OTHER: Mapped = { code: 'cloud_api_error', status: 502, say: "Meta's Cloud API refused the call: see Meta's code and message" };
const UNREACHABLE: Mapped = { code: 'cloud_unreachable', status: 502, say: "Meta's Graph API did not answer: the message is retried" };

const mappedFor = (fault: Pick<GraphFault, 'code' | 'network'>) => (fault.network ? UNREACHABLE : (TABLE[fault.code] ?? OTHER));

/** hashsend's stable code for one of Meta's. */
export const hashsendCodeFor = (metaCode: number) => (TABLE[metaCode] ?? OTHER).code;

const sentence = (m: Mapped, fault: Pick<GraphFault, 'message' | 'details'>, sessionId: string) => {
  const meta = [fault.message, fault.details].filter((s, i, all) => s && all.indexOf(s) === i).join(': ');
  return `${m.say.replace('<id>', sessionId)}${meta ? ` (Meta: ${meta})` : ''}`;
};

/** A refused or failed Graph call as the error a caller sees: a stable code, a fitting status, Meta's code in details. */
export const mapGraphFault = (fault: GraphFault, sessionId: string): HashsendError => {
  const m = mappedFor(fault);
  return new HashsendError(m.code, m.status, sentence(m, fault, sessionId), {
    ...(fault.network ? {} : { metaCode: fault.code }),
    ...(fault.subcode !== undefined ? { metaSubcode: fault.subcode } : {}),
    metaMessage: fault.message,
    ...(fault.details ? { metaDetails: fault.details } : {}),
    ...(fault.fbtraceId ? { fbtraceId: fault.fbtraceId } : {}),
  });
};

/** One entry of a `failed` status's `errors[]`, as a receipt's error. */
export const mapStatusError = (
  error: { code?: unknown; title?: unknown; message?: unknown; error_data?: { details?: unknown } } | undefined,
  sessionId: string,
) => {
  const code = typeof error?.code === 'number' ? error.code : 0;
  const fault = {
    code,
    network: false,
    message: text(error?.message) ?? text(error?.title) ?? 'the message failed',
    details: text(error?.error_data?.details),
  };
  const m = mappedFor(fault);
  return { code: m.code, message: `${sentence(m, fault, sessionId)}${code ? ` [Meta code ${code}]` : ''}` };
};
