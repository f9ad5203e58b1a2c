import {
  addTransactionCapability,
  Curve,
  DEFAULT_CONNECTION_CONFIG,
  initAuthCreds,
  proto,
  unpadRandomMax16,
  type BinaryNode,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import { pino } from 'pino';

const silent = pino({ level: 'silent' });

const memoryKeyStore = (): SignalKeyStore => {
  const data = new Map<string, Map<string, unknown>>();
  return {
    get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const bucket = data.get(type);
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const value = bucket?.get(id);
        if (value !== undefined) out[id] = value as SignalDataTypeMap[T];
      }
      return out;
    },
    set(set: SignalDataSet) {
      for (const [type, values] of Object.entries(set)) {
        const bucket = data.get(type) ?? new Map<string, unknown>();
        data.set(type, bucket);
        for (const [id, value] of Object.entries(values ?? {})) {
          if (value === null || value === undefined) bucket.delete(id);
          else bucket.set(id, value);
        }
      }
    },
  };
};

const be = (value: number, bytes: number) => {
  const out = Buffer.alloc(bytes);
  out.writeUIntBE(value, 0, bytes);
  return out;
};

const bin = (tag: string, content: Uint8Array): BinaryNode => ({ tag, attrs: {}, content });

/** A linked device of an account (what Baileys becomes after the QR is scanned), as the server knows it. */
export type Companion = {
  device: number;
  keyIndex: number;
  noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: { id: number; value: Buffer; signature: Buffer };
  preKeys: Map<number, Buffer>;
  /** Set once the client has countersigned its device identity (pair-device-sign). */
  confirmed: boolean;
  removed: boolean;
};

/**
 * One WhatsApp user with its phone (device 0): a Signal identity with prekeys, like a real phone holds, so it
 * can hand out bundles and decrypt what is sent to it. When a QR is scanned "as" this user, the same identity
 * key is the account signature key that signs the companion's device identity, as on a real phone.
 */
export class SimUser {
  readonly creds = initAuthCreds();
  readonly keys = addTransactionCapability(memoryKeyStore(), silent, { maxCommitRetries: 1, delayBetweenTriesMs: 1 });
  readonly repo = DEFAULT_CONNECTION_CONFIG.makeSignalRepository({ creds: this.creds, keys: this.keys }, silent, async () => []);
  readonly companions = new Map<number, Companion>();
  private nextPreKeyId = 1;
  private nextDevice = 1;

  constructor(
    readonly phone: string,
    readonly lid: string,
  ) {}

  get pnJid() {
    return `${this.phone}@s.whatsapp.net`;
  }

  get lidJid() {
    return `${this.lid}@lid`;
  }

  get identity() {
    return this.creds.signedIdentityKey;
  }

  allocateDevice() {
    return this.nextDevice++;
  }

  /** Devices a usync shows: the phone, and each companion that finished pairing. */
  deviceList(): BinaryNode[] {
    const devices: BinaryNode[] = [{ tag: 'device', attrs: { id: '0' } }];
    for (const c of this.companions.values()) {
      if (c.confirmed && !c.removed) devices.push({ tag: 'device', attrs: { id: String(c.device), 'key-index': String(c.keyIndex) } });
    }
    return devices;
  }

  /** A prekey bundle for one device, consuming a one-time prekey the way the server does. */
  async bundle(device: number): Promise<BinaryNode[] | undefined> {
    if (device === 0) {
      const id = this.nextPreKeyId++;
      const pair = Curve.generateKeyPair();
      await this.keys.set({ 'pre-key': { [id]: pair } });
      const { signedPreKey, registrationId, signedIdentityKey } = this.creds;
      return [
        bin('registration', be(registrationId, 4)),
        bin('type', Buffer.from([5])),
        bin('identity', signedIdentityKey.public),
        {
          tag: 'skey',
          attrs: {},
          content: [
            bin('id', be(signedPreKey.keyId, 3)),
            bin('value', signedPreKey.keyPair.public),
            bin('signature', signedPreKey.signature),
          ],
        },
        { tag: 'key', attrs: {}, content: [bin('id', be(id, 3)), bin('value', pair.public)] },
      ];
    }
    const c = this.companions.get(device);
    if (!c || c.removed) return undefined;
    const nodes: BinaryNode[] = [
      bin('registration', be(c.registrationId, 4)),
      bin('type', Buffer.from([5])),
      bin('identity', c.identityKey),
      {
        tag: 'skey',
        attrs: {},
        content: [bin('id', be(c.signedPreKey.id, 3)), bin('value', c.signedPreKey.value), bin('signature', c.signedPreKey.signature)],
      },
    ];
    const next = c.preKeys.entries().next();
    if (!next.done) {
      const [id, value] = next.value;
      c.preKeys.delete(id);
      nodes.push({ tag: 'key', attrs: {}, content: [bin('id', be(id, 3)), bin('value', value)] });
    }
    return nodes;
  }

  /** Decrypts one Signal message addressed to this user's phone, as the phone would, and unpads it. */
  async decrypt(senderJid: string, type: 'pkmsg' | 'msg', ciphertext: Uint8Array): Promise<proto.IMessage> {
    const plain = await this.repo.decryptMessage({ jid: senderJid, type, ciphertext });
    return proto.Message.decode(unpadRandomMax16(plain));
  }
}

/** Every phone number is a WhatsApp user here; each gets a LID the first time it is seen. */
export class Directory {
  private readonly byPhone = new Map<string, SimUser>();
  private readonly byLid = new Map<string, SimUser>();
  private nextLid = 100000000000001;

  user(phone: string): SimUser {
    const found = this.byPhone.get(phone);
    if (found) return found;
    const user = new SimUser(phone, String(this.nextLid++));
    this.byPhone.set(phone, user);
    this.byLid.set(user.lid, user);
    return user;
  }

  /** Looks a user up by the user part of a PN or LID JID; LIDs only exist once handed out. */
  find(user: string, server: string): SimUser | undefined {
    if (server === 'lid') return this.byLid.get(user);
    if (server === 's.whatsapp.net' || server === 'c.us') return this.user(user);
    return undefined;
  }
}
