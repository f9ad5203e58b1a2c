import { createHmac, randomBytes } from 'node:crypto';
import { Curve, decodeBinaryNode, encodeBinaryNode, jidDecode, proto, type BinaryNode } from '@whiskeysockets/baileys';
import type { WebSocket } from 'ws';
import { FrameReader, frame, NoiseResponder } from './noise.js';
import { iqError, LinkCodeRequest } from './pairing.js';
import { bytes, child, children, iqResult, S_WHATSAPP_NET, uintBE, unixNow } from './nodes.js';
import type { Companion, SimUser } from './users.js';
import { verifyXEdDSA } from './xeddsa.js';

/** What the connection needs from the simulator around it. */
export interface SimContext {
  readonly serverStatic: { private: Uint8Array; public: Uint8Array };
  readonly certChain: Buffer;
  readonly silenced: boolean;
  readonly trace?: (direction: 'in' | 'out', node: BinaryNode) => void;
  user(phone: string): SimUser;
  find(user: string, server: string): SimUser | undefined;
  mediaConn(): BinaryNode;
  onLogin(conn: SimConnection): void;
  onClose(conn: SimConnection): void;
  onMessage(conn: SimConnection, stanza: BinaryNode): Promise<void>;
  /** A registering socket asked to link by pairing code (companion_hello). */
  onLinkCodeRequest(conn: SimConnection): void;
  /** The client's receipt or ack of a message the server relayed to it. */
  onClientReceipt(conn: SimConnection, node: BinaryNode): void;
}

type Registration = {
  noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: Companion['signedPreKey'];
  refs: string[];
};

const QR_REFS = 6;

/**
 * One client socket: the Noise handshake, then the binary-node conversation. A socket is either registering
 * (no credentials yet: it gets pair-device refs and waits for a scan) or logged in as one companion device.
 */
export class SimConnection {
  private readonly noise: NoiseResponder;
  private readonly reader = new FrameReader();
  private chain: Promise<void> = Promise.resolve();
  private readonly pending = new Map<string, (node: BinaryNode) => void>();
  registration?: Registration;
  /** Set while a registering socket waits for its pairing code to be typed on the phone. */
  linkCode?: LinkCodeRequest;
  account?: SimUser;
  companion?: Companion;
  closed = false;

  constructor(
    private readonly ctx: SimContext,
    readonly ws: WebSocket,
  ) {
    this.noise = new NoiseResponder(ctx.serverStatic, ctx.certChain);
    ws.on('message', (data: Buffer) => this.onData(data));
    ws.on('close', () => {
      this.closed = true;
      ctx.onClose(this);
    });
    ws.on('error', () => ws.terminate());
  }

  /** The JID this socket is logged in as (phone:device@s.whatsapp.net). */
  get jid() {
    return this.account && this.companion ? `${this.account.phone}:${this.companion.device}@s.whatsapp.net` : undefined;
  }

  get lidJid() {
    return this.account && this.companion ? `${this.account.lid}:${this.companion.device}@lid` : undefined;
  }

  private onData(data: Buffer) {
    let frames: Buffer[];
    try {
      frames = this.reader.push(data);
    } catch {
      this.ws.terminate();
      return;
    }
    for (const f of frames) {
      // frames are decrypted in arrival order (the Noise counters demand it), then handled one at a time
      if (!this.noise.ready) {
        this.handshake(f);
        continue;
      }
      let plain: Buffer;
      try {
        plain = this.noise.decrypt(f);
      } catch {
        this.ws.terminate();
        return;
      }
      this.chain = this.chain.then(async () => this.handle(await decodeBinaryNode(plain))).catch(() => undefined);
    }
  }

  private rawSend(data: Uint8Array) {
    if (this.closed || this.ctx.silenced) return;
    this.ws.send(frame(data));
  }

  send(node: BinaryNode) {
    if (!this.noise.ready) return;
    this.ctx.trace?.('out', node);
    this.rawSend(this.noise.encrypt(encodeBinaryNode(node)));
  }

  /** An iq from the server to the client, answered by an iq with the same id. */
  query(node: BinaryNode, timeoutMs = 10_000): Promise<BinaryNode> {
    const id = node.attrs.id ?? randomBytes(6).toString('hex');
    node.attrs.id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`client did not answer ${node.tag} ${id}`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.send(node);
    });
  }

  close() {
    if (!this.closed) this.ws.close();
  }

  terminate() {
    this.ws.terminate();
  }

  private handshake(data: Buffer) {
    try {
      if (!this.noise.clientStatic && !this.helloDone) {
        this.helloDone = true;
        this.rawSend(this.noise.serverHello(data));
        return;
      }
      const payload = this.noise.clientFinish(data);
      this.afterHandshake(payload);
    } catch {
      this.ws.terminate();
    }
  }

  private helloDone = false;

  private afterHandshake(payload: proto.ClientPayload) {
    const clientStatic = this.noise.clientStatic!;
    const pairing = payload.devicePairingData;
    if (pairing) {
      this.registration = {
        noiseKey: clientStatic,
        identityKey: Buffer.from(pairing.eIdent ?? []),
        registrationId: Buffer.from(pairing.eRegid ?? []).readUInt32BE(0),
        signedPreKey: {
          id: Buffer.from(pairing.eSkeyId ?? []).readUIntBE(0, 3),
          value: Buffer.from(pairing.eSkeyVal ?? []),
          signature: Buffer.from(pairing.eSkeySig ?? []),
        },
        refs: Array.from({ length: QR_REFS }, () => `2@${randomBytes(24).toString('base64')}`),
      };
      this.send({
        tag: 'iq',
        attrs: { from: S_WHATSAPP_NET, type: 'set', id: randomBytes(6).toString('hex'), xmlns: 'md' },
        content: [
          {
            tag: 'pair-device',
            attrs: {},
            content: this.registration.refs.map((ref) => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) })),
          },
        ],
      });
      return;
    }
    const account = this.ctx.user(String(payload.username ?? ''));
    const companion = account.companions.get(payload.device ?? -1);
    if (!companion || companion.removed || !companion.confirmed || !companion.noiseKey.equals(clientStatic)) {
      this.send({ tag: 'failure', attrs: { reason: '401', location: 'sim' } });
      this.close();
      return;
    }
    this.account = account;
    this.companion = companion;
    this.ctx.onLogin(this);
    this.send({
      tag: 'success',
      attrs: {
        t: unixNow(),
        props: '1',
        abprops: '1',
        location: 'sim',
        creation: unixNow(),
        lid: this.lidJid!,
      },
    });
    // no messages were waiting while the device was away
    this.send({ tag: 'ib', attrs: { from: S_WHATSAPP_NET }, content: [{ tag: 'offline', attrs: { count: '0' } }] });
  }

  /** Completes a QR scan on this (registering) socket; resolves once the client countersigned its identity. */
  async pair(account: SimUser, advSecretKey: Buffer): Promise<Companion> {
    const reg = this.registration;
    if (!reg) throw new Error('socket is not waiting for a QR scan');
    const device = account.allocateDevice();
    const companion: Companion = {
      device,
      keyIndex: device,
      noiseKey: reg.noiseKey,
      identityKey: reg.identityKey,
      registrationId: reg.registrationId,
      signedPreKey: reg.signedPreKey,
      preKeys: new Map(),
      confirmed: false,
      removed: false,
    };
    const details = Buffer.from(
      proto.ADVDeviceIdentity.encode({
        rawId: randomBytes(4).readUInt32BE(0),
        timestamp: Math.floor(Date.now() / 1000),
        keyIndex: companion.keyIndex,
        deviceType: proto.ADVEncryptionType.E2EE,
      }).finish(),
    );
    const accountKey = account.identity;
    const accountSignature = Curve.sign(accountKey.private, Buffer.concat([Buffer.from([6, 0]), details, reg.identityKey]));
    const signed = Buffer.from(
      proto.ADVSignedDeviceIdentity.encode({ details, accountSignatureKey: accountKey.public, accountSignature }).finish(),
    );
    const hmac = createHmac('sha256', advSecretKey).update(signed).digest();
    const reply = await this.query({
      tag: 'iq',
      attrs: { from: S_WHATSAPP_NET, type: 'set', xmlns: 'md', t: unixNow() },
      content: [
        {
          tag: 'pair-success',
          attrs: {},
          content: [
            {
              tag: 'device-identity',
              attrs: { 'key-index': String(companion.keyIndex) },
              content: proto.ADVSignedDeviceIdentityHMAC.encode({
                details: signed,
                hmac,
                accountType: proto.ADVEncryptionType.E2EE,
              }).finish(),
            },
            { tag: 'platform', attrs: { name: 'android' } },
            { tag: 'device', attrs: { jid: `${account.phone}:${device}@s.whatsapp.net`, lid: `${account.lid}:${device}@lid` } },
          ],
        },
      ],
    });
    const identity = bytes(child(child(reply, 'pair-device-sign'), 'device-identity'));
    if (!identity) throw new Error('client did not countersign its device identity');
    const { deviceSignature } = proto.ADVSignedDeviceIdentity.decode(identity);
    const signedByDevice = Buffer.concat([Buffer.from([6, 1]), details, reg.identityKey, accountKey.public]);
    if (!deviceSignature || !verifyXEdDSA(reg.identityKey, signedByDevice, deviceSignature)) {
      throw new Error('device signature does not verify');
    }
    companion.confirmed = true;
    account.companions.set(device, companion);
    this.registration = undefined;
    this.linkCode = undefined;
    // WhatsApp makes a freshly paired client reconnect with its new credentials
    this.send({ tag: 'stream:error', attrs: { code: '515' } });
    return companion;
  }

  private async handle(node: BinaryNode) {
    this.ctx.trace?.('in', node);
    if (node.tag === 'iq') {
      const { type, id } = node.attrs;
      if ((type === 'result' || type === 'error') && id && this.pending.has(id)) {
        const resolve = this.pending.get(id)!;
        this.pending.delete(id);
        resolve(node);
        return;
      }
      if (type === 'get' || type === 'set') {
        this.send(await this.answerIq(node));
        // the phone goes on to pair-success only once the client has its companion_finish answer
        this.linkCode?.settle();
      }
      return;
    }
    if (node.tag === 'message' && this.companion) await this.ctx.onMessage(this, node);
    if (node.tag === 'receipt' || (node.tag === 'ack' && node.attrs.class === 'message')) this.ctx.onClientReceipt(this, node);
  }

  private async answerIq(iq: BinaryNode): Promise<BinaryNode> {
    const first = children(iq)[0];
    switch (iq.attrs.xmlns) {
      case 'encrypt':
        return this.answerEncrypt(iq, first);
      case 'usync':
        return iqResult(iq, [this.answerUsync(child(iq, 'usync'))]);
      case 'w:m':
        return iqResult(iq, [this.ctx.mediaConn()]);
      case 'abt':
        return iqResult(iq, [{ tag: 'props', attrs: { protocol: '1', hash: 'sim-props-1' }, content: [] }]);
      case 'blocklist':
        return iqResult(iq, iq.attrs.type === 'get' ? [{ tag: 'list', attrs: {} }] : undefined);
      case 'privacy':
        if (first?.tag === 'privacy' && iq.attrs.type === 'get') {
          const settings: [string, string][] = [
            ['readreceipts', 'all'],
            ['last', 'all'],
            ['online', 'all'],
            ['profile', 'all'],
            ['status', 'all'],
            ['groupadd', 'all'],
            ['calladd', 'all'],
          ];
          return iqResult(iq, [
            { tag: 'privacy', attrs: {}, content: settings.map(([name, value]) => ({ tag: 'category', attrs: { name, value } })) },
          ]);
        }
        return iqResult(iq);
      case 'md':
        if (first?.tag === 'link_code_companion_reg') return this.answerLinkCode(iq, first);
        if (first?.tag === 'remove-companion-device' && this.companion) this.companion.removed = true;
        return iqResult(iq);
      default:
        // passive, w:p (ping), w:stats and the rest need only an answer, or the client waits for it
        return iqResult(iq);
    }
  }

  private answerLinkCode(iq: BinaryNode, reg: BinaryNode): BinaryNode {
    const refuse = (text: string) => iqError(iq, 400, text);
    if (reg.attrs.stage === 'companion_finish')
      return this.linkCode ? this.linkCode.finish(iq, reg) : refuse('no pairing code was requested');
    if (reg.attrs.stage !== 'companion_hello' || !this.registration) return refuse('bad-request');
    try {
      this.linkCode = new LinkCodeRequest(reg, this.registration);
    } catch (err) {
      return refuse((err as Error).message);
    }
    this.ctx.onLinkCodeRequest(this);
    return this.linkCode.helloAnswer(iq);
  }

  private async answerEncrypt(iq: BinaryNode, first: BinaryNode | undefined): Promise<BinaryNode> {
    const companion = this.companion;
    if (first?.tag === 'count') {
      return iqResult(iq, [{ tag: 'count', attrs: { value: String(companion?.preKeys.size ?? 0) } }]);
    }
    if (first?.tag === 'digest') {
      return iqResult(iq, [{ tag: 'digest', attrs: {}, content: [{ tag: 'type', attrs: {}, content: Buffer.from([5]) }] }]);
    }
    if (first?.tag === 'key') {
      const list: BinaryNode[] = [];
      for (const user of children(first, 'user')) {
        const jid = user.attrs.jid ?? '';
        const decoded = jidDecode(jid);
        const owner = decoded ? this.ctx.find(decoded.user, decoded.server) : undefined;
        const bundle = owner ? await owner.bundle(decoded?.device ?? 0) : undefined;
        list.push(
          bundle
            ? { tag: 'user', attrs: { jid }, content: bundle }
            : { tag: 'user', attrs: { jid }, content: [{ tag: 'error', attrs: { code: '404', text: 'item-not-found' } }] },
        );
      }
      return iqResult(iq, [{ tag: 'list', attrs: {}, content: list }]);
    }
    if (iq.attrs.type === 'set' && companion) {
      // prekey upload: the bundle other devices get for this companion from now on
      for (const key of children(child(iq, 'list'), 'key')) {
        const id = uintBE(child(key, 'id'));
        const value = bytes(child(key, 'value'));
        if (id !== undefined && value) companion.preKeys.set(id, value);
      }
      const skey = child(iq, 'skey') ?? child(first, 'skey');
      const skeyId = uintBE(child(skey, 'id'));
      const skeyValue = bytes(child(skey, 'value'));
      const skeySig = bytes(child(skey, 'signature'));
      if (skeyId !== undefined && skeyValue && skeySig) companion.signedPreKey = { id: skeyId, value: skeyValue, signature: skeySig };
    }
    return iqResult(iq);
  }

  private answerUsync(usync: BinaryNode | undefined): BinaryNode {
    const protocols = children(child(usync, 'query')).map((p) => p.tag);
    const users: BinaryNode[] = [];
    for (const u of children(child(usync, 'list'), 'user')) {
      let jid = u.attrs.jid;
      const contact = child(u, 'contact');
      if (!jid && contact)
        jid = `${bytes(contact)
          ?.toString('utf8')
          .replace(/[^0-9]/g, '')}@s.whatsapp.net`;
      const decoded = jidDecode(jid);
      const who = decoded ? this.ctx.find(decoded.user, decoded.server) : undefined;
      if (!who || !jid) continue;
      const isLid = decoded?.server === 'lid';
      const resultJid = isLid ? who.lidJid : who.pnJid;
      const content: BinaryNode[] = [];
      for (const p of protocols) {
        if (p === 'devices')
          content.push({ tag: 'devices', attrs: {}, content: [{ tag: 'device-list', attrs: {}, content: who.deviceList() }] });
        else if (p === 'lid' && !isLid) content.push({ tag: 'lid', attrs: { val: who.lidJid } });
        else if (p === 'contact') content.push({ tag: 'contact', attrs: { type: 'in' } });
      }
      users.push({ tag: 'user', attrs: { jid: resultJid }, content });
    }
    return {
      tag: 'usync',
      attrs: { ...(usync?.attrs ?? {}), last: 'true', index: '0' },
      content: [{ tag: 'list', attrs: {}, content: users }],
    };
  }
}
