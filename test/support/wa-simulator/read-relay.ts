import { normalizeMessageContent, proto, type BinaryNode } from '@whiskeysockets/baileys';
import type { SimConnection } from './connection.js';
import type { Delivery } from './inbox.js';
import { decryptMedia } from './media-crypto.js';
import type { MediaServer } from './media-server.js';
import { bytes } from './nodes.js';
import type { SimUser } from './users.js';

const MEDIA_FIELDS = [
  ['imageMessage', 'image'],
  ['videoMessage', 'video'],
  ['audioMessage', 'audio'],
  ['documentMessage', 'document'],
  ['stickerMessage', 'sticker'],
] as const;

/** The id of the message this one replies to, wherever its content keeps the contextInfo. */
const quotedIdOf = (content: proto.IMessage | undefined) => {
  for (const inner of Object.values(content ?? {})) {
    const stanzaId = (inner as { contextInfo?: proto.IContextInfo | null } | null)?.contextInfo?.stanzaId;
    if (stanzaId) return stanzaId;
  }
  return undefined;
};

/**
 * What the phone of `recipient` makes of one relayed copy: decrypts it as a message from the sending
 * companion, and for media downloads the attachment and runs every check a phone runs on it.
 */
export const readRelay = async (
  media: MediaServer,
  conn: SimConnection,
  recipient: SimUser,
  id: string,
  enc: BinaryNode,
): Promise<Delivery> => {
  const sender = conn.account!;
  const base = { id, from: sender.pnJid, to: recipient.pnJid, ownDevice: recipient === sender };
  let message: proto.IMessage;
  try {
    const type = enc.attrs.type === 'pkmsg' ? 'pkmsg' : 'msg';
    message = await recipient.decrypt(conn.lidJid!, type, bytes(enc) ?? Buffer.alloc(0));
  } catch (err) {
    return { ...base, type: 'undecryptable', error: (err as Error).message };
  }
  const content = normalizeMessageContent(message.deviceSentMessage?.message ?? message);
  const quotedId = quotedIdOf(content);
  const replyTo = quotedId ? { quotedId } : {};
  const text = content?.conversation ?? content?.extendedTextMessage?.text;
  if (typeof text === 'string') return { ...base, ...replyTo, type: 'text', text };
  for (const [field, type] of MEDIA_FIELDS) {
    const item = content?.[field];
    if (!item) continue;
    const delivery: Delivery = {
      ...base,
      ...replyTo,
      type,
      mimetype: item.mimetype ?? undefined,
      caption: 'caption' in item ? (item.caption ?? undefined) : undefined,
      fileName: 'fileName' in item ? (item.fileName ?? undefined) : undefined,
      ptt: 'ptt' in item ? (item.ptt ?? undefined) : undefined,
    };
    try {
      const path = item.directPath ?? (item.url ? new URL(item.url).pathname : undefined);
      if (!path || !item.mediaKey || !item.fileEncSha256 || !item.fileSha256) throw new Error('media: message lacks keys or path');
      const encrypted = await media.download(path);
      const kind = type === 'video' && 'gifPlayback' in item && item.gifPlayback ? 'gif' : type;
      const { sha256, plaintext } = decryptMedia(encrypted, kind, {
        mediaKey: item.mediaKey,
        fileEncSha256: item.fileEncSha256,
        fileSha256: item.fileSha256,
      });
      return { ...delivery, sha256, size: plaintext.length };
    } catch (err) {
      return { ...delivery, error: (err as Error).message };
    }
  }
  return { ...base, type: 'other' };
};
