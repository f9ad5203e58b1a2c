import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Curve, jidDecode, type BinaryNode } from '@whiskeysockets/baileys';
import { bytes, child, iqResult, S_WHATSAPP_NET, unixNow } from './nodes.js';
import type { SimUser } from './users.js';

/** WhatsApp stretches the 8-character code with PBKDF2-SHA256 over 2 << 16 rounds. */
const CODE_ROUNDS = 2 << 16;
const SALT = 32;
const CTR_IV = 16;
const GCM_IV = 12;
const GCM_TAG = 16;
const KEY = 32;
/** How long the phone waits for the companion's companion_finish after it sent primary_hello. */
const FINISH_TIMEOUT_MS = 10_000;

const pbkdf2Async = promisify(pbkdf2);
const codeKey = (code: string, salt: Buffer) => pbkdf2Async(Buffer.from(code, 'utf8'), salt, CODE_ROUNDS, KEY, 'sha256');
const hkdf = (ikm: Buffer, info: string, salt: Buffer = Buffer.alloc(0)) => Buffer.from(hkdfSync('sha256', ikm, salt, info, KEY));

/** What a user types: the code as shown, with or without its dash, in any case. */
export const normalizePairingCode = (typed: string) => typed.replace(/[\s-]/g, '').toUpperCase();

/** salt(32) | iv(16) | AES-256-CTR(PBKDF2(code, salt), key): how each side hands the other its ephemeral key. */
export const wrapWithCode = async (code: string, key: Uint8Array) => {
  const salt = randomBytes(SALT);
  const iv = randomBytes(CTR_IV);
  const cipher = createCipheriv('aes-256-ctr', await codeKey(code, salt), iv);
  return Buffer.concat([salt, iv, cipher.update(key), cipher.final()]);
};

/** The reverse of `wrapWithCode`. CTR has no tag: a wrong code gives a wrong key, noticed only at the key bundle. */
export const unwrapWithCode = async (code: string, wrapped: Buffer) => {
  if (wrapped.length !== SALT + CTR_IV + KEY) throw new Error(`wrapped key is ${wrapped.length} bytes, not ${SALT + CTR_IV + KEY}`);
  const salt = wrapped.subarray(0, SALT);
  const decipher = createDecipheriv('aes-256-ctr', await codeKey(code, salt), wrapped.subarray(SALT, SALT + CTR_IV));
  return Buffer.concat([decipher.update(wrapped.subarray(SALT + CTR_IV)), decipher.final()]);
};

export const iqError = (request: BinaryNode, code: number, text: string): BinaryNode => ({
  tag: 'iq',
  attrs: { from: S_WHATSAPP_NET, type: 'error', id: request.attrs.id ?? '' },
  content: [{ tag: 'error', attrs: { code: String(code), text } }],
});

type Outcome = { advSecret: Buffer } | { error: Error };

type PhoneSide = {
  account: SimUser;
  ephemeral: { private: Uint8Array; public: Uint8Array };
  companionEphemeral: Buffer;
  settle(outcome: Outcome): void;
  outcome?: Outcome;
};

/**
 * A registering client asked to link by code (`link_code_companion_reg` stage `companion_hello`). Holds what
 * the phone needs once its user types the code, and carries the exchange through `primary_hello` and
 * `companion_finish` to the adv secret both sides derive; that secret then keys pair-success as a QR's would.
 */
export class LinkCodeRequest {
  /** The number the client asked to be linked to: only that phone gets the "enter code" prompt. */
  readonly phone: string;
  readonly ref = Buffer.from(randomBytes(18).toString('base64'));
  private readonly wrappedCompanionEphemeral: Buffer;
  private phoneSide?: PhoneSide;

  /** Throws when the hello is malformed or names another Noise key than the socket it came on. */
  constructor(
    hello: BinaryNode,
    private readonly registration: { noiseKey: Buffer; identityKey: Buffer },
  ) {
    const jid = jidDecode(hello.attrs.jid);
    const wrapped = bytes(child(hello, 'link_code_pairing_wrapped_companion_ephemeral_pub'));
    const serverAuthKey = bytes(child(hello, 'companion_server_auth_key_pub'));
    if (!jid?.user || jid.server !== 's.whatsapp.net') throw new Error('companion_hello names no phone number');
    if (wrapped?.length !== SALT + CTR_IV + KEY) throw new Error('companion_hello has no wrapped ephemeral key');
    if (!serverAuthKey?.equals(registration.noiseKey)) throw new Error('companion_hello names another Noise key');
    this.phone = jid.user;
    this.wrappedCompanionEphemeral = wrapped;
  }

  /** True until a code was typed on the phone for this request; a new companion_hello makes a new request. */
  get open() {
    return !this.phoneSide;
  }

  /** The server's answer to companion_hello: the ref the client echoes in companion_finish. */
  helloAnswer(iq: BinaryNode): BinaryNode {
    return iqResult(iq, [
      { tag: 'link_code_companion_reg', attrs: {}, content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: this.ref }] },
    ]);
  }

  /**
   * The phone's user typed `code`: unwrap the companion's ephemeral key with it, send `primary_hello` (the
   * phone's own ephemeral, wrapped the same way, and its identity key) through `notify`, and resolve with the
   * adv secret once the companion's key bundle decrypted. A wrong code rejects: the bundle does not decrypt.
   */
  async accept(account: SimUser, code: string, notify: (node: BinaryNode) => void): Promise<Buffer> {
    if (this.phoneSide) throw new Error('a code was already entered for this request');
    const companionEphemeral = await unwrapWithCode(code, this.wrappedCompanionEphemeral);
    const ephemeral = Curve.generateKeyPair();
    const wrappedPrimary = await wrapWithCode(code, ephemeral.public);
    const outcome = new Promise<Outcome>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('client did not answer primary_hello with companion_finish')), FINISH_TIMEOUT_MS);
      timer.unref();
      this.phoneSide = {
        account,
        ephemeral,
        companionEphemeral,
        settle: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      };
    });
    notify({
      tag: 'notification',
      attrs: { from: S_WHATSAPP_NET, type: 'link_code_companion_reg', id: randomBytes(8).toString('hex'), t: unixNow() },
      content: [
        {
          tag: 'link_code_companion_reg',
          attrs: { stage: 'primary_hello' },
          content: [
            { tag: 'link_code_pairing_ref', attrs: {}, content: this.ref },
            { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: wrappedPrimary },
            { tag: 'primary_identity_pub', attrs: {}, content: account.identity.public },
          ],
        },
      ],
    });
    const result = await outcome;
    if ('error' in result) throw result.error;
    return result.advSecret;
  }

  /**
   * companion_finish: salt(32) | iv(12) | AES-GCM(HKDF(ephemeral shared, salt), companion identity | primary
   * identity | random). Answers the iq; the phone learns the outcome from `settle()`, once the answer is out.
   */
  finish(iq: BinaryNode, reg: BinaryNode): BinaryNode {
    const side = this.phoneSide;
    if (!side || side.outcome) return iqError(iq, 400, 'no code was entered on the phone');
    try {
      side.outcome = { advSecret: this.openBundle(side, reg) };
      return iqResult(iq);
    } catch (err) {
      side.outcome = { error: err as Error };
      return iqError(iq, 401, 'not-authorized');
    }
  }

  /** Hands the phone the companion_finish outcome; the connection calls it after sending its answer. */
  settle() {
    const side = this.phoneSide;
    if (side?.outcome) side.settle(side.outcome);
  }

  private openBundle(side: PhoneSide, reg: BinaryNode): Buffer {
    const ref = bytes(child(reg, 'link_code_pairing_ref'));
    const bundle = bytes(child(reg, 'link_code_pairing_wrapped_key_bundle'));
    const companionIdentity = bytes(child(reg, 'companion_identity_public'));
    if (!ref?.equals(this.ref)) throw new Error('companion_finish names another pairing ref');
    if (!bundle || bundle.length !== SALT + GCM_IV + 3 * KEY + GCM_TAG) throw new Error('companion_finish has no key bundle');
    const shared = Buffer.from(Curve.sharedKey(side.ephemeral.private, side.companionEphemeral));
    const key = hkdf(shared, 'link_code_pairing_key_bundle_encryption_key', bundle.subarray(0, SALT));
    const decipher = createDecipheriv('aes-256-gcm', key, bundle.subarray(SALT, SALT + GCM_IV));
    decipher.setAuthTag(bundle.subarray(bundle.length - GCM_TAG));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(bundle.subarray(SALT + GCM_IV, bundle.length - GCM_TAG)), decipher.final()]);
    } catch {
      throw new Error('the key bundle does not decrypt: the code typed on the phone is not the one the client showed');
    }
    const bundledCompanion = plain.subarray(0, KEY);
    const bundledPrimary = plain.subarray(KEY, 2 * KEY);
    const random = plain.subarray(2 * KEY);
    if (!bundledCompanion.equals(this.registration.identityKey) || !companionIdentity?.equals(this.registration.identityKey)) {
      throw new Error('key bundle names another companion identity than the registering socket');
    }
    if (!bundledPrimary.equals(Buffer.from(side.account.identity.public))) throw new Error('key bundle names another primary identity');
    const identityShared = Buffer.from(Curve.sharedKey(side.account.identity.private, bundledCompanion));
    return hkdf(Buffer.concat([shared, identityShared, random]), 'adv_secret');
  }
}
