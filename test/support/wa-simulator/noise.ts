import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { Curve, proto } from '@whiskeysockets/baileys';
import { TEST_ROOT_KEY, TEST_ROOT_SERIAL } from './root-key.js';

/**
 * The responder's half of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake, written from the protocol
 * (not from Baileys' initiator), so that a mismatch with Baileys shows up as a failed handshake.
 */
const NOISE_MODE = Buffer.from('Noise_XX_25519_AESGCM_SHA256\0\0\0\0');
export const WA_INTRO = Buffer.from([87, 65, 6, 3]);

type KeyPair = { private: Uint8Array; public: Uint8Array };

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

const gcm = (mode: 'enc' | 'dec', key: Buffer, counter: number, aad: Buffer, data: Uint8Array) => {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  if (mode === 'enc') {
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(aad);
    return Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
  }
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(Buffer.from(data.subarray(data.length - 16)));
  return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]);
};

/** The server's signed Noise certificate chain, rooted in the test root key the trust preload installs. */
export const makeCertChain = (serverStatic: KeyPair) => {
  const intermediateKey = Curve.generateKeyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: TEST_ROOT_SERIAL,
    key: intermediateKey.public,
    notBefore: Math.floor(Date.now() / 1000) - 60,
    notAfter: Math.floor(Date.now() / 1000) + 86400,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: serverStatic.public,
    notBefore: Math.floor(Date.now() / 1000) - 60,
    notAfter: Math.floor(Date.now() / 1000) + 86400,
  }).finish();
  return Buffer.from(
    proto.CertChain.encode({
      intermediate: { details: intermediateDetails, signature: Curve.sign(TEST_ROOT_KEY.private, intermediateDetails) },
      leaf: { details: leafDetails, signature: Curve.sign(intermediateKey.private, leafDetails) },
    }).finish(),
  );
};

export class NoiseResponder {
  private hash = NOISE_MODE;
  private salt = NOISE_MODE;
  private key = NOISE_MODE;
  private counter = 0;
  private readonly ephemeral = Curve.generateKeyPair();
  private clientEphemeral?: Buffer;
  private transport?: { enc: Buffer; dec: Buffer; readCounter: number; writeCounter: number };
  /** The client's static Noise key, known once the handshake is finished. */
  clientStatic?: Buffer;

  constructor(
    private readonly serverStatic: KeyPair,
    private readonly certChain: Buffer,
  ) {
    this.authenticate(WA_INTRO);
  }

  get ready() {
    return !!this.transport;
  }

  private authenticate(data: Uint8Array) {
    this.hash = sha256(this.hash, data);
  }

  private mixIntoKey(ikm: Uint8Array) {
    const out = Buffer.from(hkdfSync('sha256', ikm, this.salt, Buffer.alloc(0), 64));
    this.salt = out.subarray(0, 32);
    this.key = out.subarray(32);
    this.counter = 0;
  }

  private encryptHs(plain: Uint8Array) {
    const out = gcm('enc', this.key, this.counter++, this.hash, plain);
    this.authenticate(out);
    return out;
  }

  private decryptHs(cipher: Uint8Array) {
    const out = gcm('dec', this.key, this.counter++, this.hash, cipher);
    this.authenticate(cipher);
    return out;
  }

  /** Answers the client hello with the server hello (ephemeral, encrypted static, encrypted certificates). */
  serverHello(clientHello: Uint8Array): Buffer {
    const { clientHello: hello } = proto.HandshakeMessage.decode(clientHello);
    if (!hello?.ephemeral || hello.ephemeral.length !== 32) throw new Error('noise: no client ephemeral');
    this.clientEphemeral = Buffer.from(hello.ephemeral);
    this.authenticate(this.clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, this.clientEphemeral));
    const staticEnc = this.encryptHs(this.serverStatic.public);
    this.mixIntoKey(Curve.sharedKey(this.serverStatic.private, this.clientEphemeral));
    const payloadEnc = this.encryptHs(this.certChain);
    return Buffer.from(
      proto.HandshakeMessage.encode({
        serverHello: { ephemeral: this.ephemeral.public, static: staticEnc, payload: payloadEnc },
      }).finish(),
    );
  }

  /** Takes the client finish, switches to transport keys, and returns the client's login or registration payload. */
  clientFinish(message: Uint8Array): proto.ClientPayload {
    const { clientFinish } = proto.HandshakeMessage.decode(message);
    if (!clientFinish?.static || !clientFinish.payload) throw new Error('noise: incomplete client finish');
    this.clientStatic = this.decryptHs(clientFinish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, this.clientStatic));
    const payload = proto.ClientPayload.decode(this.decryptHs(clientFinish.payload));
    const keys = Buffer.from(hkdfSync('sha256', Buffer.alloc(0), this.salt, Buffer.alloc(0), 64));
    // the initiator writes with the first half and reads with the second; the responder mirrors it
    this.transport = { enc: keys.subarray(32), dec: keys.subarray(0, 32), readCounter: 0, writeCounter: 0 };
    return payload;
  }

  encrypt(plain: Uint8Array) {
    if (!this.transport) throw new Error('noise: not in transport state');
    return gcm('enc', this.transport.enc, this.transport.writeCounter++, Buffer.alloc(0), plain);
  }

  decrypt(cipher: Uint8Array) {
    if (!this.transport) throw new Error('noise: not in transport state');
    return gcm('dec', this.transport.dec, this.transport.readCounter++, Buffer.alloc(0), cipher);
  }
}

/** Splits WhatsApp's 3-byte length-prefixed frames out of a byte stream; the first client bytes carry the intro. */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private sawIntro = false;

  push(data: Buffer): Buffer[] {
    this.buf = Buffer.concat([this.buf, data]);
    if (!this.sawIntro) {
      if (this.buf.length < WA_INTRO.length) return [];
      if (!this.buf.subarray(0, WA_INTRO.length).equals(WA_INTRO)) throw new Error('noise: bad intro header');
      this.buf = this.buf.subarray(WA_INTRO.length);
      this.sawIntro = true;
    }
    const frames: Buffer[] = [];
    while (this.buf.length >= 3) {
      const size = (this.buf[0]! << 16) | (this.buf[1]! << 8) | this.buf[2]!;
      if (this.buf.length < size + 3) break;
      frames.push(this.buf.subarray(3, size + 3));
      this.buf = this.buf.subarray(size + 3);
    }
    return frames;
  }
}

export const frame = (data: Uint8Array) => {
  const out = Buffer.alloc(3 + data.length);
  out[0] = (data.length >>> 16) & 0xff;
  out[1] = (data.length >>> 8) & 0xff;
  out[2] = data.length & 0xff;
  out.set(data, 3);
  return out;
};
