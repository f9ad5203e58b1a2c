import { verifySignature } from 'libsignal/src/curve.js';

/**
 * XEdDSA signature check that means it. Baileys' `Curve.verify` (rc14, Utils/crypto.js) counts "libsignal did
 * not throw" as valid, but libsignal's verifySignature returns false for a bad signature without throwing, so
 * Baileys accepts any well-formed signature. This reads the result.
 */
export const verifyXEdDSA = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
  const key = publicKey.length === 33 ? Buffer.from(publicKey) : Buffer.concat([Buffer.from([5]), publicKey]);
  try {
    return verifySignature(key, Buffer.from(message), Buffer.from(signature)) === true;
  } catch {
    return false;
  }
};
