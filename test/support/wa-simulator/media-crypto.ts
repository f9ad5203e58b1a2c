import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** HKDF info names per media kind, as WhatsApp defines them (what the mediaKey is expanded with). */
const HKDF_INFO: Record<string, string> = {
  image: 'Image',
  sticker: 'Image',
  video: 'Video',
  gif: 'Video',
  ptv: 'Video',
  audio: 'Audio',
  ptt: 'Audio',
  document: 'Document',
};

export type MediaCheck = { plaintext: Buffer; sha256: string };

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

/**
 * What a phone does with a downloaded attachment: checks the encrypted file's hash, its MAC, decrypts it with
 * keys expanded from the message's mediaKey, and checks the plaintext hash the sender declared.
 * Throws with the failed check named, so a test shows which one it was.
 */
export const decryptMedia = (
  enc: Buffer,
  kind: string,
  { mediaKey, fileEncSha256, fileSha256 }: { mediaKey: Uint8Array; fileEncSha256: Uint8Array; fileSha256: Uint8Array },
): MediaCheck => {
  const info = HKDF_INFO[kind];
  if (!info) throw new Error(`media: unknown kind ${kind}`);
  if (!sha256(enc).equals(Buffer.from(fileEncSha256))) throw new Error('media: fileEncSha256 does not match the downloaded bytes');
  const keys = Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), `WhatsApp ${info} Keys`, 112));
  const iv = keys.subarray(0, 16);
  const cipherKey = keys.subarray(16, 48);
  const macKey = keys.subarray(48, 80);
  const body = enc.subarray(0, enc.length - 10);
  const mac = enc.subarray(enc.length - 10);
  const expected = createHmac('sha256', macKey).update(iv).update(body).digest().subarray(0, 10);
  if (!timingSafeEqual(mac, expected)) throw new Error('media: MAC does not match');
  const d = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const plaintext = Buffer.concat([d.update(body), d.final()]);
  const digest = sha256(plaintext);
  if (!digest.equals(Buffer.from(fileSha256))) throw new Error('media: fileSha256 does not match the decrypted bytes');
  return { plaintext, sha256: digest.toString('hex') };
};

export type EncryptedMedia = {
  enc: Buffer;
  mediaKey: Buffer;
  fileEncSha256: Buffer;
  /** What the message declares as the plaintext's sha256 (WhatsApp's `fileSha256`). */
  fileSha256: Buffer;
};

/**
 * What a phone does before it uploads an attachment: a fresh mediaKey, AES-256-CBC with keys expanded from it,
 * a 10-byte MAC over iv and ciphertext appended, and the hashes the message carries. `declaredSha256` replaces
 * the honest fileSha256, for a sender that lies about its content.
 */
export const encryptMedia = (plaintext: Buffer, kind: string, declaredSha256?: Buffer): EncryptedMedia => {
  const info = HKDF_INFO[kind];
  if (!info) throw new Error(`media: unknown kind ${kind}`);
  const mediaKey = randomBytes(32);
  const keys = Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), `WhatsApp ${info} Keys`, 112));
  const iv = keys.subarray(0, 16);
  const cipher = createCipheriv('aes-256-cbc', keys.subarray(16, 48), iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', keys.subarray(48, 80)).update(iv).update(body).digest().subarray(0, 10);
  const enc = Buffer.concat([body, mac]);
  return { enc, mediaKey, fileEncSha256: sha256(enc), fileSha256: declaredSha256 ?? sha256(plaintext) };
};
