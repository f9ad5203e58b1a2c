import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** AES-256-GCM, a 12-byte random nonce per value, a 16-byte tag; a later format gets a new version. */
const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A 32-byte key for sealing values at rest. Its bytes are kept out of reach of JSON and `util.inspect`, so a
 * config or an options object holding it can be logged without it; `id` names it without revealing it.
 */
export class SealingKey {
  readonly #bytes: Buffer;
  /** HMAC of a fixed label under the key, 8 hex digits: stored beside each value so a rotation can find the old key. */
  readonly id: string;

  constructor(bytes: Buffer) {
    if (bytes.length !== 32) throw new RangeError('a sealing key is 32 bytes');
    this.#bytes = Buffer.from(bytes);
    this.id = createHmac('sha256', this.#bytes).update('hashsend sealing key id').digest('hex').slice(0, 8);
  }

  /** 64 hex digits, or base64 (standard or URL-safe) of 32 bytes; `undefined` for anything else. */
  static parse(text: string): SealingKey | undefined {
    const trimmed = text.trim();
    if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return new SealingKey(Buffer.from(trimmed, 'hex'));
    if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(trimmed)) return undefined;
    const bytes = Buffer.from(trimmed, 'base64');
    return bytes.length === 32 ? new SealingKey(bytes) : undefined;
  }

  /** @internal the cipher's use only */
  bytes(): Buffer {
    return this.#bytes;
  }

  toJSON() {
    return `[sealing key ${this.id}]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toJSON();
  }
}

export type UnsealProblem = 'other_key' | 'not_authentic' | 'malformed';

/** A sealed value that does not open under this key and context; `problem` says which way. */
export class UnsealError extends Error {
  constructor(
    readonly problem: UnsealProblem,
    message: string,
    /** The id of the key the value names as its own (`other_key`): which key a restart needs. */
    readonly sealedWith?: string,
  ) {
    super(message);
    this.name = 'UnsealError';
  }
}

// The version and key id are bound too, so neither can be rewritten to steer which key is tried.
const associated = (keyId: string, context: string) => Buffer.from(`${VERSION}:${keyId}:${context}`, 'utf8');

/**
 * Encrypts `plaintext` as `v1:<key id>:<base64 of nonce, ciphertext, tag>`. `context` (what the value is and whose)
 * is authenticated but not stored: a value opened under another context fails, so it cannot be moved.
 */
export const seal = (key: SealingKey, plaintext: string, context: string): string => {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes(), nonce);
  cipher.setAAD(associated(key.id, context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${VERSION}:${key.id}:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64')}`;
};

/** The plaintext of a `seal` result; throws UnsealError when it was sealed under another key or context, or altered. */
export const unseal = (key: SealingKey, sealed: string, context: string): string => {
  const [version, keyId, payload, extra] = sealed.split(':');
  if (version !== VERSION || !keyId || payload === undefined || extra !== undefined) {
    throw new UnsealError('malformed', `not a sealed value (expected ${VERSION}:<key id>:<data>)`);
  }
  if (keyId !== key.id) {
    throw new UnsealError('other_key', `sealed with key ${keyId}, but the key given is ${key.id}`, keyId);
  }
  const raw = Buffer.from(payload, 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw new UnsealError('malformed', 'the sealed value is too short');
  const decipher = createDecipheriv('aes-256-gcm', key.bytes(), raw.subarray(0, NONCE_BYTES));
  decipher.setAAD(associated(keyId, context));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new UnsealError('not_authentic', `does not authenticate under key ${key.id} for ${context}: altered, or copied from elsewhere`);
  }
};
