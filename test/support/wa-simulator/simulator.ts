import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Curve, jidDecode, type BinaryNode } from '@whiskeysockets/baileys';
import { WebSocketServer } from 'ws';
import { SimConnection, type SimContext } from './connection.js';
import {
  mediaMessage,
  reactionMessage,
  sendFromPhone,
  textMessage,
  type IncomingOptions,
  type PhoneContext,
  type PhoneMedia,
} from './incoming.js';
import { MediaServer } from './media-server.js';
import { makeCertChain } from './noise.js';
import { child, children, unixNow } from './nodes.js';
import { normalizePairingCode } from './pairing.js';
import { readRelay } from './read-relay.js';
import { makeTestCertificate } from '../test-certificate.js';
import { Directory, type SimUser } from './users.js';
import { Inbox, type Delivery } from './inbox.js';

export type { Delivery } from './inbox.js';
export type { IncomingOptions, PhoneMedia, PhoneMediaKind } from './incoming.js';

export type ReceiptType = 'delivered' | 'read';

export type WaSimulatorOptions = {
  /** Receipts the recipient phones send back by themselves once a message decrypted. Default none. */
  autoReceipts?: ReceiptType | false;
  /** Sees every node after decryption (in) and before encryption (out); for debugging a client. */
  trace?: (direction: 'in' | 'out', node: BinaryNode) => void;
};

const parseQr = (qr: string) => {
  const [ref, noise, identity, adv] = qr.slice(qr.indexOf('#') + 1).split(',');
  if (!ref || !noise || !identity || !adv) throw new Error('not a WhatsApp pairing QR');
  return {
    ref,
    noiseKey: Buffer.from(noise, 'base64'),
    identityKey: Buffer.from(identity, 'base64'),
    advSecret: Buffer.from(adv, 'base64'),
  };
};

/**
 * A local stand-in for WhatsApp's servers and the phones behind them, for tests: unmodified Baileys connects
 * to `wsUrl` (with the trust preload loaded and the media CA given as its fetchAgent) and cannot tell.
 */
export class WaSimulator extends EventEmitter implements SimContext, PhoneContext {
  readonly serverStatic = Curve.generateKeyPair();
  readonly certChain = makeCertChain(this.serverStatic);
  silenced = false;
  readonly trace?: WaSimulatorOptions['trace'];
  private readonly directory = new Directory();
  private readonly sockets = new Set<SimConnection>();
  private readonly inbox = new Inbox();
  /** Messages still to be taken without a server ack (see dropAcks). */
  private acksToDrop = 0;
  private readonly routes = new Map<string, { account: string; device: number; chat: string }>();
  private wss?: WebSocketServer;
  private media?: MediaServer;
  private tls?: { cert: string; key: string };

  constructor(private readonly opts: WaSimulatorOptions = {}) {
    super();
    this.trace = opts.trace;
  }

  async start() {
    this.tls = await makeTestCertificate();
    this.media = new MediaServer(this.tls);
    await this.media.start();
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(this.wss, 'listening');
    this.wss.on('connection', (ws) => this.sockets.add(new SimConnection(this, ws)));
    return this;
  }

  async stop() {
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await this.media?.stop();
  }

  get port() {
    return (this.wss!.address() as AddressInfo).port;
  }

  /** Pass as Baileys' `waWebSocketUrl`. */
  get wsUrl() {
    return `ws://127.0.0.1:${this.port}/ws/chat`;
  }

  /** PEM of the media host's certificate: the only CA the client needs for uploads. */
  get mediaCa() {
    return this.tls!.cert;
  }

  /** host:port that media_conn names. */
  get mediaHost() {
    return this.media!.host;
  }

  get uploads() {
    return this.media!.uploads;
  }

  get rejectedUploads() {
    return this.media!.rejectedUploads;
  }

  get downloads() {
    return this.media!.downloads;
  }

  /** Logged-in sockets, optionally of one phone number. */
  connections(phone?: string) {
    return [...this.sockets].filter((s) => !s.closed && s.account && (!phone || s.account.phone === phone));
  }

  user(phone: string): SimUser {
    return this.directory.user(phone);
  }

  find(user: string, server: string) {
    return this.directory.find(user, server);
  }

  mediaConn(): BinaryNode {
    return {
      tag: 'media_conn',
      attrs: { auth: this.media!.currentAuth, ttl: '300', auth_ttl: '21600', max_buckets: '12' },
      content: [{ tag: 'host', attrs: { hostname: this.media!.host, maxContentLengthBytes: '104857600' } }],
    };
  }

  /**
   * Logins of a device while another socket of it was still logged in: two clients holding one credential at once
   * (a reconnect after the old socket closed is not one).
   */
  replacedLogins = 0;

  /** Like WhatsApp: a device that logs in again replaces its older socket, which gets a 440 conflict. */
  onLogin(conn: SimConnection) {
    for (const s of this.connections(conn.account!.phone)) {
      if (s !== conn && s.companion === conn.companion) {
        this.replacedLogins++;
        s.send({ tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] });
      }
    }
  }

  onClose(conn: SimConnection) {
    this.sockets.delete(conn);
  }

  onLinkCodeRequest(conn: SimConnection) {
    this.emit('link-code-request', conn);
  }

  /**
   * The user of `phone` types the pairing code the client showed (Linked devices → Link with phone number).
   * Waits up to `timeoutMs` for a client to have asked for a code for that number, then runs the phone's side
   * of the exchange (see pairing.ts) and pair-success as after a QR scan: the client then gets stream error 515
   * and must reconnect to log in. Rejects when the code is not the one the client showed.
   */
  async enterPairingCode(phone: string, code: string, timeoutMs = 10_000) {
    const waiting = () => [...this.sockets].find((s) => !s.closed && s.registration && s.linkCode?.phone === phone && s.linkCode.open);
    const deadline = Date.now() + timeoutMs;
    let socket = waiting();
    while (!socket) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no client asked for a pairing code for ${phone}`);
      await once(this, 'link-code-request', { signal: AbortSignal.timeout(left) }).catch(() => undefined);
      socket = waiting();
    }
    const account = this.user(phone);
    const advSecret = await socket.linkCode!.accept(account, normalizePairingCode(code), (node) => socket.send(node));
    const companion = await socket.pair(account, advSecret);
    return {
      jid: `${account.phone}:${companion.device}@s.whatsapp.net`,
      lid: `${account.lid}:${companion.device}@lid`,
      device: companion.device,
    };
  }

  /**
   * "Scans" a QR the client showed, as the phone of `phone` would: checks the keys in it against the waiting
   * socket, signs the new device's identity with the account key, and sends pair-success. Resolves once the
   * client countersigned; the client then gets stream error 515 and must reconnect to log in.
   */
  async scanQr(qr: string, phone: string) {
    const { ref, noiseKey, identityKey, advSecret } = parseQr(qr);
    const socket = [...this.sockets].find((s) => !s.closed && s.registration?.refs.includes(ref));
    if (!socket?.registration) throw new Error('no client is showing this QR');
    if (!socket.registration.noiseKey.equals(noiseKey) || !socket.registration.identityKey.equals(identityKey)) {
      throw new Error('QR keys do not match the socket that showed it');
    }
    const account = this.user(phone);
    const companion = await socket.pair(account, advSecret);
    return {
      jid: `${account.phone}:${companion.device}@s.whatsapp.net`,
      lid: `${account.lid}:${companion.device}@lid`,
      device: companion.device,
    };
  }

  /**
   * What the recipients' phones show, optionally one recipient's (PN JID or bare number): one entry per
   * (chat, sender, id) however often it was relayed, as a phone keeps them. Own-phone copies excluded.
   */
  received(jid?: string): Delivery[] {
    return this.inbox.received(jid);
  }

  /** Every relay that reached a recipient's phone, one entry per relay: a message relayed twice is here twice. */
  relays(jid?: string): Delivery[] {
    return this.inbox.relays(jid);
  }

  /** How many times each message id was relayed to the recipient(s): `{ [id]: count }`. */
  relayCounts(jid?: string): Record<string, number> {
    return this.inbox.relayCounts(jid);
  }

  /** Copies the senders' own phones decrypted (device-sent messages). */
  ownDeviceCopies(): Delivery[] {
    return this.inbox.ownDeviceCopies();
  }

  /** Resolves once `count` deliveries (to `jid`, if given) exist; rejects after `timeoutMs`. */
  async waitForReceived(count: number, jid?: string, timeoutMs = 10_000): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received(jid).length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} deliveries${jid ? ` to ${jid}` : ''}, got ${this.received(jid).length}`);
      const timer = AbortSignal.timeout(left);
      await once(this, 'delivery', { signal: timer }).catch(() => undefined);
    }
    return this.received(jid);
  }

  async onMessage(conn: SimConnection, stanza: BinaryNode) {
    const id = stanza.attrs.id ?? '';
    const chat = stanza.attrs.to ?? '';
    const sender = conn.account!;
    this.routes.set(id, { account: sender.phone, device: conn.companion!.device, chat });
    let delivered = false;
    for (const to of children(child(stanza, 'participants'), 'to')) {
      const target = jidDecode(to.attrs.jid);
      const recipient = target ? this.find(target.user, target.server) : undefined;
      const enc = child(to, 'enc');
      // other companions of the sender have keys only they hold; only phones (device 0) are simulated
      if (!recipient || !enc || (target?.device ?? 0) !== 0) continue;
      const delivery = await readRelay(this.media!, conn, recipient, id, enc);
      this.inbox.add(delivery);
      if (!delivery.ownDevice && !delivery.error) delivered = true;
      this.emit('delivery', delivery);
    }
    // Acked once the phones have it (WhatsApp acks when it has taken the message): a sender that saw the ack
    // finds every relay of that message counted already.
    if (this.acksToDrop > 0) this.acksToDrop -= 1;
    else conn.send({ tag: 'ack', attrs: { class: 'message', id, from: chat, t: unixNow() } });
    if (delivered && this.opts.autoReceipts) {
      this.sendReceipt(id, 'delivered');
      if (this.opts.autoReceipts === 'read') this.sendReceipt(id, 'read');
    }
  }

  /**
   * The phone of `fromPhone` sends a text to the linked device(s) of `toPhone`; with `quotedId`, as a reply to
   * that message (one the linked account sent). Resolves once every device receipted it (it decrypted).
   */
  async sendText(fromPhone: string, toPhone: string, text: string, opts: IncomingOptions & { quotedId?: string } = {}) {
    const to = this.user(toPhone);
    return { id: await sendFromPhone(this, this.user(fromPhone), to, textMessage(text, to, opts.quotedId), opts) };
  }

  /**
   * The phone sends an attachment: encrypted with a fresh mediaKey, hosted on the media server, downloaded by the
   * client from there. `sha256` is the hash of `media.bytes` (what an honest fileSha256 declares).
   */
  async sendMedia(fromPhone: string, toPhone: string, media: PhoneMedia, opts: IncomingOptions = {}) {
    const to = this.user(toPhone);
    const { message, sha256 } = mediaMessage(this, media, to);
    return { id: await sendFromPhone(this, this.user(fromPhone), to, message, opts), sha256 };
  }

  /** The phone reacts to message `messageId` of the linked account; an empty emoji takes the reaction back. */
  async sendReaction(fromPhone: string, toPhone: string, messageId: string, emoji: string, opts: IncomingOptions = {}) {
    const to = this.user(toPhone);
    return { id: await sendFromPhone(this, this.user(fromPhone), to, reactionMessage(messageId, emoji, to), opts) };
  }

  hostMedia(enc: Buffer, kind: string) {
    return this.media!.store(enc, kind);
  }

  onClientReceipt(conn: SimConnection, node: BinaryNode) {
    this.emit('client-receipt', conn, node);
  }

  clientReceipt(conn: SimConnection, id: string, timeoutMs: number) {
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.off('client-receipt', onReceipt);
        if (error) reject(error);
        else resolve();
      };
      const onReceipt = (from: SimConnection, node: BinaryNode) => {
        if (from !== conn || node.attrs.id !== id) return;
        if (node.tag === 'ack' && node.attrs.error) done(new Error(`the client refused message ${id} (error ${node.attrs.error})`));
        else if (node.attrs.type === 'retry') done(new Error(`the client could not decrypt message ${id} (retry receipt)`));
        else if (node.tag === 'receipt') done();
      };
      const timer = setTimeout(() => done(new Error(`no receipt for message ${id} from ${conn.jid} in ${timeoutMs} ms`)), timeoutMs);
      this.on('client-receipt', onReceipt);
    });
  }

  /** The recipient's phone reports the message delivered or read; the sender's socket gets the receipt. */
  sendReceipt(msgId: string, type: ReceiptType) {
    const route = this.routes.get(msgId);
    if (!route) throw new Error(`no message ${msgId} went through the simulator`);
    const socket = this.connections(route.account).find((s) => s.companion?.device === route.device);
    if (!socket) throw new Error(`the sender of ${msgId} is not connected`);
    socket.send({
      tag: 'receipt',
      attrs: { id: msgId, from: route.chat, t: unixNow(), ...(type === 'read' ? { type: 'read' } : {}) },
    });
  }

  /**
   * Ends logged-in sockets (of `phone`, or all) with a stream error, as WhatsApp does. 440 is sent the way
   * WhatsApp says it (a conflict child, no code); 401 also unlinks the device, so its credentials stop working.
   * 411 (multidevice mismatch) only ends the stream: what the client does about it is the client's business.
   */
  injectStreamError(code: 401 | 408 | 411 | 428 | 440 | 500 | 503 | 515, phone?: string) {
    const targets = this.connections(phone);
    for (const s of targets) {
      if (code === 440) {
        s.send({ tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] });
        continue;
      }
      if (code === 401 && s.companion) s.companion.removed = true;
      s.send({
        tag: 'stream:error',
        attrs: { code: String(code) },
        ...(code === 401 ? { content: [{ tag: 'conflict', attrs: { type: 'device_removed' } }] } : {}),
      });
    }
    return targets.length;
  }

  /** Cuts logged-in sockets without a close frame, like a lost network path. */
  dropSocket(phone?: string) {
    const targets = this.connections(phone);
    for (const s of targets) s.terminate();
    return targets.length;
  }

  /**
   * The next `count` messages are taken and reach their recipients, but their senders never get the server's
   * ack: a lost ack, after which the sender cannot know the message went through. `Infinity` withholds every
   * message ack until `dropAcks(0)`; everything else (pongs, answers) still flows.
   */
  dropAcks(count = 1) {
    this.acksToDrop = count;
  }

  /** While on, the server sends nothing at all: no pongs, no answers, no acks. */
  silence(on: boolean) {
    this.silenced = on;
  }

  failUploads(n: number) {
    this.media!.failUploads(n);
  }

  slowUploads(ms: number) {
    this.media!.slowUploads(ms);
  }

  expireMediaHost() {
    this.media!.expire();
  }
}

export const startWaSimulator = (opts: WaSimulatorOptions = {}) => new WaSimulator(opts).start();
