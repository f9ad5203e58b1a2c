import { SHA256_PATTERN } from '../../media/sha256.js';

/**
 * A sha256 as Meta writes it, as 64 lower-case hex digits: media info answers hex, inbound webhooks base64.
 * Anything that is neither is `undefined`, never a guess.
 */
export const metaSha256 = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined;
  const lower = value.trim().toLowerCase();
  if (SHA256_PATTERN.test(lower)) return lower;
  const bytes = /^[A-Za-z0-9+/_-]{43}=?$/.test(value.trim()) ? Buffer.from(value.trim(), 'base64') : undefined;
  return bytes?.length === 32 ? bytes.toString('hex') : undefined;
};
