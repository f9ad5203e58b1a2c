import type { proto } from '@whiskeysockets/baileys';
import { HashsendError } from '../../errors.js';
import type { MediaMessageKey } from './media-content.js';

/**
 * The last check before media leaves: the plaintext sha256 Baileys computed while encrypting the prepared
 * message (`fileSha256`) must equal the hash of the blob the send was for. Returns that hash (hex) as the
 * sent hash; a mismatch throws `hash_mismatch`, and the caller relays nothing.
 */
export const assertPreparedHash = (prepared: proto.IMessage, key: MediaMessageKey, expectedSha256: string): string => {
  const fileSha256 = prepared[key]?.fileSha256;
  const sent = fileSha256 ? Buffer.from(fileSha256).toString('hex') : undefined;
  if (sent !== expectedSha256.toLowerCase()) {
    throw new HashsendError('hash_mismatch', 422, 'the prepared media does not hash to the blob it was sent for; nothing was sent', {
      expectedSha256,
      preparedSha256: sent ?? null,
    });
  }
  return sent;
};
