import { HashsendError } from '../errors.js';

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** A sha256 as callers write it: 64 hex digits; upper case is accepted and folded. */
export const normaliseSha256 = (value: string): string => {
  const lower = value.trim().toLowerCase();
  if (!SHA256_PATTERN.test(lower)) {
    throw new HashsendError('invalid_request', 400, `sha256 must be 64 hexadecimal digits, got ${JSON.stringify(value.slice(0, 80))}`);
  }
  return lower;
};
