import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header every delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, a v1 per secret. */
export const SIGNATURE_HEADER = 'X-Hashsend-Signature';

const hmac = (secret: string, timestamp: number, payload: string | Buffer) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest('hex');

/**
 * The signature header for `payload` at `timestamp`: one `v1=` per secret, so during a rotation's grace period
 * a receiver holding either the old or the new secret accepts it.
 */
export const signatureHeader = (payload: string | Buffer, secrets: readonly string[], timestamp = Math.floor(Date.now() / 1000)) =>
  [`t=${timestamp}`, ...secrets.map((s) => `v1=${hmac(s, timestamp, payload)}`)].join(',');

export interface VerifyOptions {
  /** The raw request body, exactly as received (before any JSON parsing). */
  payload: string | Buffer;
  /** The `X-Hashsend-Signature` header. */
  header: string | undefined;
  /** The endpoint's signing secret. */
  secret: string;
  /** How old (or how far ahead) the signed timestamp may be, against replays of a captured request. @default 300 */
  toleranceSeconds?: number;
  /** Unix seconds now. @default the clock */
  now?: number;
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

/**
 * Checks a delivery the way a receiver should: the header parses, its timestamp is within `toleranceSeconds` of
 * now (a replayed capture is refused), and one of its `v1` signatures is the HMAC-SHA256 of `"<t>.<payload>"`
 * under `secret`, compared in constant time.
 */
export const verifyWebhookSignature = ({
  payload,
  header,
  secret,
  toleranceSeconds = 300,
  now = Math.floor(Date.now() / 1000),
}: VerifyOptions): VerifyResult => {
  const parts = (header ?? '').split(',').map((p) => p.trim().split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  const signatures = parts.filter(([k, v]) => k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)).map(([, v]) => Buffer.from(v, 'hex'));
  if (!t || !/^\d+$/.test(t) || signatures.length === 0) return { ok: false, reason: 'malformed' };
  const timestamp = Number(t);
  if (Math.abs(now - timestamp) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(hmac(secret, timestamp, payload), 'hex');
  // Every candidate is compared, so the time taken says nothing about which one matched.
  let matched = false;
  for (const s of signatures) matched = timingSafeEqual(s, expected) || matched;
  return matched ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' };
};
