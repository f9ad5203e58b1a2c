import { createHash, randomBytes } from 'node:crypto';
import { encodeWAMessage, parseAndInjectE2ESessions, proto, type BinaryNode } from '@whiskeysockets/baileys';
import type { SimConnection } from './connection.js';
import { encryptMedia } from './media-crypto.js';
import { unixNow } from './nodes.js';
import type { SimUser } from './users.js';

/** How a phone's message reaches a linked device. */
export type IncomingOptions = {
  /** The message id; a fresh one (as a phone makes it) when absent. */
  id?: string;
  /**
   * `lid` (what WhatsApp does today): `from` is the sender's LID and `sender_pn` its phone number, so Baileys
   * gives the message key a LID `remoteJid` and the PN as `remoteJidAlt`. `pn`: `from` is the phone number and
   * `sender_lid` the LID. `lid-only`: the LID alone, as WhatsApp sends when the number is not to be shown;
   * the client has only its own LID mapping to find the number. @default 'lid'
   */
  addressing?: 'lid' | 'pn' | 'lid-only';
  /** The sender's profile name (`notify`). */
  pushName?: string;
  /** How long to wait for every linked device's receipt. @default 10000 */
  timeoutMs?: number;
};

export type PhoneMediaKind = 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker';

export type PhoneMedia = {
  bytes: Buffer;
  mimetype: string;
  kind: PhoneMediaKind;
  caption?: string;
  fileName?: string;
  /** Declare a fileSha256 that is not the bytes' hash (a sender lying about its content). */
  corruptSha?: boolean;
  /** Declare this fileLength instead of the real one (a sender understating the size). */
  declaredLength?: number;
  /** Put this in the message's `url` instead of the media host's (the directPath stays right). */
  url?: string;
  quotedId?: string;
};

/** What the simulator offers the phones that send to linked devices. */
export interface PhoneContext {
  connections(phone: string): SimConnection[];
  /** Hosts an encrypted upload on the media server. */
  hostMedia(enc: Buffer, kind: string): { url: string; direct_path: string };
  /** Resolves when `conn`'s client receipts message `id`; rejects when it asks for a retry or nacks it. */
  clientReceipt(conn: SimConnection, id: string, timeoutMs: number): Promise<void>;
}

const MEDIA_FIELD = {
  image: ['imageMessage', 'image'],
  video: ['videoMessage', 'video'],
  audio: ['audioMessage', 'audio'],
  voice: ['audioMessage', 'ptt'],
  document: ['documentMessage', 'document'],
  sticker: ['stickerMessage', 'sticker'],
} as const;

const ADDRESSING = {
  lid: (u: SimUser) => ({ from: u.lidJid, sender_pn: u.pnJid, addressing_mode: 'lid' }),
  'lid-only': (u: SimUser) => ({ from: u.lidJid, addressing_mode: 'lid' }),
  pn: (u: SimUser) => ({ from: u.pnJid, sender_lid: u.lidJid, addressing_mode: 'pn' }),
};

const newMessageId = () => `3A${randomBytes(9).toString('hex').toUpperCase()}`;

/** A reply names the quoted message and its author: here always the linked account, whose message it quotes. */
const contextInfo = (quotedId: string | undefined, to: SimUser): proto.IContextInfo | undefined =>
  quotedId ? { stanzaId: quotedId, participant: to.pnJid, quotedMessage: { conversation: '' } } : undefined;

export const textMessage = (text: string, to: SimUser, quotedId?: string): proto.IMessage =>
  quotedId ? { extendedTextMessage: { text, contextInfo: contextInfo(quotedId, to) } } : { conversation: text };

/** A reaction to a message the linked account sent in its chat with the phone; an empty emoji takes it back. */
export const reactionMessage = (messageId: string, emoji: string, to: SimUser): proto.IMessage => ({
  reactionMessage: { key: { remoteJid: to.pnJid, fromMe: false, id: messageId }, text: emoji, senderTimestampMs: Date.now() },
});

/** Encrypts and "uploads" the attachment as a phone does; returns the message and the bytes' real sha256. */
export const mediaMessage = (ctx: PhoneContext, media: PhoneMedia, to: SimUser) => {
  const [field, kind] = MEDIA_FIELD[media.kind];
  const sha256 = createHash('sha256').update(media.bytes).digest();
  const declared = media.corruptSha ? createHash('sha256').update(sha256).digest() : undefined;
  const { enc, mediaKey, fileEncSha256, fileSha256 } = encryptMedia(media.bytes, kind, declared);
  const hosted = ctx.hostMedia(enc, kind);
  const inner: Record<string, unknown> = {
    url: media.url ?? hosted.url,
    directPath: hosted.direct_path,
    mediaKey,
    fileEncSha256,
    fileSha256,
    fileLength: media.declaredLength ?? media.bytes.length,
    mimetype: media.mimetype,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    contextInfo: contextInfo(media.quotedId, to),
  };
  if (media.caption !== undefined && field !== 'audioMessage' && field !== 'stickerMessage') inner.caption = media.caption;
  if (field === 'documentMessage') inner.fileName = media.fileName ?? 'file';
  if (media.kind === 'voice') inner.ptt = true;
  return { message: { [field]: inner } as proto.IMessage, sha256: sha256.toString('hex') };
};

const stanzaType = (message: proto.IMessage) =>
  message.reactionMessage ? 'reaction' : message.conversation || message.extendedTextMessage ? 'text' : 'media';

/**
 * The phone of `from` sends `message` to every logged-in device of `to`, as WhatsApp fans a message out:
 * Signal-encrypted per device with the session the phone holds, or, without one, a new session from the
 * device's uploaded prekeys (a `pkmsg`; later messages are `msg`). Resolves once every device sent its
 * delivery receipt, which Baileys does only after it decrypted the message.
 */
export const sendFromPhone = async (ctx: PhoneContext, from: SimUser, to: SimUser, message: proto.IMessage, opts: IncomingOptions = {}) => {
  const id = opts.id ?? newMessageId();
  const devices = ctx.connections(to.phone).filter((c) => c.companion);
  if (devices.length === 0) throw new Error(`no linked device of ${to.phone} is connected`);
  const plaintext = encodeWAMessage(message);
  const addressing = ADDRESSING[opts.addressing ?? 'lid'](from);
  await Promise.all(
    devices.map(async (conn) => {
      const address = conn.lidJid!;
      if (!(await from.repo.validateSession(address)).exists) {
        const bundle = await to.bundle(conn.companion!.device);
        if (!bundle) throw new Error(`device ${address} has no prekeys`);
        const list: BinaryNode = { tag: 'list', attrs: {}, content: [{ tag: 'user', attrs: { jid: address }, content: bundle }] };
        await parseAndInjectE2ESessions({ tag: 'iq', attrs: {}, content: [list] }, from.repo);
      }
      const { type, ciphertext } = await from.repo.encryptMessage({ jid: address, data: plaintext });
      const receipt = ctx.clientReceipt(conn, id, opts.timeoutMs ?? 10_000);
      const kind = stanzaType(message);
      conn.send({
        tag: 'message',
        attrs: {
          id,
          type: kind,
          t: unixNow(),
          ...addressing,
          ...(opts.pushName ? { notify: opts.pushName } : {}),
        },
        content: [
          {
            tag: 'enc',
            attrs: { v: '2', type, ...(kind === 'media' ? { mediatype: Object.keys(message)[0]! } : {}) },
            content: ciphertext,
          },
        ],
      });
      await receipt;
    }),
  );
  return id;
};
