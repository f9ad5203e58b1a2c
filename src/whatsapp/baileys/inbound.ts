import {
  isJidBroadcast,
  isJidGroup,
  isJidNewsletter,
  isLidUser,
  isPnUser,
  jidNormalizedUser,
  normalizeMessageContent,
  type MessageUserReceiptUpdate,
  type proto,
  type WAMessage,
  type WAMessageKey,
} from '@whiskeysockets/baileys';
import type { DriverEvent, InboundDriverMessage, SendAs } from '../driver.js';
import type { MediaMessageKey, MediaType } from './media-content.js';

/** The fields of a media message that downloading and checking it needs. */
export interface InboundMediaFields {
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | null;
  fileSha256?: Uint8Array | null;
  fileLength?: number | { toNumber(): number } | null;
  mimetype?: string | null;
  caption?: string | null;
  fileName?: string | null;
  ptt?: boolean | null;
  contextInfo?: proto.IContextInfo | null;
}

/** An inbound message without its content yet: media must still be downloaded, checked and stored. */
export type InboundHeader = Omit<InboundDriverMessage, 'content'>;

/** What a received message asks of the driver: emit it as is, fetch its media first, or nothing. */
export type InboundPlan =
  | { kind: 'ready'; message: InboundDriverMessage }
  | { kind: 'media'; header: InboundHeader; as: SendAs; type: MediaType; media: InboundMediaFields };

const MEDIA_KEYS: readonly MediaMessageKey[] = ['imageMessage', 'videoMessage', 'audioMessage', 'documentMessage', 'stickerMessage'];

/** A phone-number JID where Baileys names the LID and gives the PN beside it; device suffixes dropped. */
const preferPn = (jid: string, alt: string | null | undefined) => jidNormalizedUser(isLidUser(jid) && alt && isPnUser(alt) ? alt : jid);

/** The chat and the sender of a received message: in a group, the group and the participant. */
export const addressOf = (key: WAMessageKey): { chat: string; from: string } | undefined => {
  const remote = key.remoteJid;
  if (!remote) return undefined;
  if (isJidGroup(remote)) {
    if (!key.participant) return undefined;
    return { chat: remote, from: preferPn(key.participant, key.participantAlt) };
  }
  const peer = preferPn(remote, key.remoteJidAlt);
  return { chat: peer, from: peer };
};

const toSeconds = (t: WAMessage['messageTimestamp']) => (typeof t === 'number' ? t : t ? t.toNumber() : undefined);

const replyToOf = (content: proto.IMessage) => {
  for (const inner of Object.values(content)) {
    const id = (inner as { contextInfo?: proto.IContextInfo | null } | null)?.contextInfo?.stanzaId;
    if (id) return id;
  }
  return undefined;
};

/**
 * Reads one upserted message: what arrived for us from someone else, in a chat or a group. Our own messages,
 * status updates, broadcast lists, newsletters, and protocol traffic (revokes, edits, key distribution) are
 * not inbound messages and give `undefined`; so does content hashsend does not model (polls, contacts…).
 */
export const readInbound = (msg: WAMessage): InboundPlan | undefined => {
  const { key } = msg;
  if (key.fromMe || !key.id || !key.remoteJid) return undefined;
  if (isJidBroadcast(key.remoteJid) || isJidNewsletter(key.remoteJid)) return undefined;
  const content = normalizeMessageContent(msg.message);
  if (!content || content.protocolMessage) return undefined;
  const address = addressOf(key);
  if (!address) return undefined;
  const seconds = toSeconds(msg.messageTimestamp);
  const replyTo = replyToOf(content);
  const header: InboundHeader = {
    waMessageId: key.id,
    ...address,
    ...(msg.pushName ? { pushName: msg.pushName } : {}),
    timestamp: new Date(seconds ? seconds * 1000 : Date.now()).toISOString(),
    ...(replyTo ? { replyTo } : {}),
  };
  const text = content.conversation ?? content.extendedTextMessage?.text;
  if (typeof text === 'string') return { kind: 'ready', message: { ...header, content: { type: 'text', text } } };
  const reaction = content.reactionMessage;
  if (reaction?.key?.id) {
    return { kind: 'ready', message: { ...header, content: { type: 'reaction', messageId: reaction.key.id, emoji: reaction.text ?? '' } } };
  }
  for (const field of MEDIA_KEYS) {
    const media = content[field] as InboundMediaFields | null | undefined;
    if (!media) continue;
    const type = field.replace('Message', '') as MediaType;
    const as: SendAs = type === 'audio' && media.ptt ? 'voice' : type;
    return { kind: 'media', header, as, type, media };
  }
  return undefined;
};

/** A receipt of one group member. */
export type GroupReceipt = Extract<DriverEvent, { type: 'receipt' }> & { participant: string };

/**
 * Group receipts, one per member: `message-receipt.update` only carries them for our own messages in groups
 * (1:1 receipts come as `messages.update`). Read and played both count as read.
 */
export const receiptEventsOf = (updates: readonly MessageUserReceiptUpdate[]): GroupReceipt[] => {
  const events: GroupReceipt[] = [];
  for (const { key, receipt } of updates) {
    if (!key.fromMe || !key.id || !receipt.userJid) continue;
    const participant = jidNormalizedUser(receipt.userJid);
    if (receipt.readTimestamp || receipt.playedTimestamp) {
      events.push({ type: 'receipt', waMessageId: key.id, status: 'read', participant });
    } else if (receipt.receiptTimestamp) {
      events.push({ type: 'receipt', waMessageId: key.id, status: 'delivered', participant });
    }
  }
  return events;
};
