import { createHmac, timingSafeEqual } from 'node:crypto';
import { HashsendError, invalidRequest } from '../../errors.js';
import type { DriverEvent, InboundHttpRequest, InboundHttpResponse, ReceiptStatus } from '../driver.js';
import { mapStatusError } from './meta-errors.js';
import { isObject, list, type Json } from '../../lib/json.js';

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Meta's subscription handshake: the challenge echoed when the verify token is the session's, else 403. */
export const answerHandshake = ({ query }: InboundHttpRequest, verifyToken: string): InboundHttpResponse => {
  const token = query['hub.verify_token'];
  if (query['hub.mode'] !== 'subscribe' || token === undefined || !sameSecret(token, verifyToken)) {
    throw new HashsendError(
      'verify_token_mismatch',
      403,
      "hub.verify_token is not this session's verifyToken (or hub.mode is not subscribe): type the session's verifyToken into Meta's webhook setup",
    );
  }
  return { status: 200, body: query['hub.challenge'] ?? '', contentType: 'text/plain' };
};

/**
 * The notification's JSON, once `X-Hub-Signature-256` proves Meta sent it: `sha256=` and the hex HMAC-SHA256 of
 * the raw body keyed with the app secret, compared in constant time. Unsigned or wrongly signed: 401, and not a
 * byte of the body is read.
 */
export const verifiedNotification = ({ headers, body }: InboundHttpRequest, appSecret: string): unknown => {
  const given = headers['x-hub-signature-256'] ?? '';
  const expected = `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
  if (!sameSecret(given.trim().toLowerCase(), expected)) {
    throw new HashsendError(
      'invalid_signature',
      401,
      given ? "X-Hub-Signature-256 does not match the body: is the appSecret the Meta app's?" : 'X-Hub-Signature-256 is missing',
    );
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidRequest('the notification body is not JSON');
  }
};

/** The `value`s of a notification's `messages` changes that concern this phone number id; others' are ignored. */
export const changesFor = (notification: unknown, phoneNumberId: string): Json[] => {
  if (!isObject(notification)) return [];
  return list(notification.entry)
    .flatMap((entry) => list(entry.changes))
    .filter((change) => change.field === undefined || change.field === 'messages')
    .map((change) => change.value)
    .filter(isObject)
    .filter((value) => isObject(value.metadata) && value.metadata.phone_number_id === phoneNumberId);
};

const RECEIPT_STATUSES: readonly string[] = ['sent', 'delivered', 'read', 'failed'] satisfies ReceiptStatus[];

/** A change's `statuses[]` as receipt events, in the order Meta listed them; `failed` carries the mapped error. */
export const receiptsOf = (value: Json, sessionId: string): Extract<DriverEvent, { type: 'receipt' }>[] =>
  list(value.statuses).flatMap((s) => {
    if (typeof s.id !== 'string' || typeof s.status !== 'string' || !RECEIPT_STATUSES.includes(s.status)) return [];
    const status = s.status as ReceiptStatus;
    return [
      {
        type: 'receipt' as const,
        waMessageId: s.id,
        status,
        ...(status === 'failed' ? { error: mapStatusError(list(s.errors)[0], sessionId) } : {}),
      },
    ];
  });
