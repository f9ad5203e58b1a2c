import type { MessageRecord, MessageStatus } from '../outbox/types.js';
import type { SendAs } from '../whatsapp/driver.js';
import { cardMessage } from '../whatsapp/card-message.js';

/**
 * WhatsApp's own numbers for a message's state (`proto.WebMessageInfo.Status`), which WASenderApi reports as
 * `status` on a message's info: 0 error, 1 pending, 2 server ack, 3 delivered, 4 read (5 played is never ours).
 */
export const WA_STATUS: Record<MessageStatus, number> = { failed: 0, queued: 1, sending: 1, sent: 2, delivered: 3, read: 4 };

/** The word a send answers with: WASenderApi's `in_progress` until WhatsApp took the message. */
export const sendStatusOf = (status: MessageStatus) => (status === 'queued' || status === 'sending' ? 'in_progress' : status);

const MESSAGE_FIELD: Record<SendAs, string> = {
  image: 'imageMessage',
  video: 'videoMessage',
  audio: 'audioMessage',
  voice: 'audioMessage',
  document: 'documentMessage',
  sticker: 'stickerMessage',
};

/** Media as WhatsApp's protobuf JSON names it (`imageMessage: { mimetype, fileLength, … }`), `extra` fields beside. */
export const waMediaMessage = (
  media: { as: SendAs; mimetype: string; size: number; caption?: string; filename?: string },
  extra: Record<string, unknown> = {},
) => ({
  [MESSAGE_FIELD[media.as]]: {
    mimetype: media.mimetype,
    fileLength: String(media.size),
    ...extra,
    ...(media.caption ? { caption: media.caption } : {}),
    ...(media.filename ? { fileName: media.filename } : {}),
    ...(media.as === 'voice' ? { ptt: true } : {}),
  },
});

/** The message as WhatsApp's protobuf JSON names it, the form WASenderApi's info and webhooks carry. */
export const waMessageOf = ({ content }: MessageRecord): Record<string, unknown> => {
  if (content.type === 'text') return { conversation: content.text };
  if (content.type === 'contact' || content.type === 'location') return cardMessage(content);
  if (content.type === 'template') return { templateMessage: { hydratedTemplate: { templateId: content.name } } };
  return waMediaMessage(content);
};

/**
 * `GET /messages/{msgId}/info`'s data. `messageTimestamp` is a string, as WhatsApp's int64 is in JSON. `hashsend`
 * is ours: the message's own id and status word, what failed, and for media which content (by sha256) was queued
 * and which left.
 */
export const messageInfoOf = (msgId: number, record: MessageRecord) => {
  const waId = record.waMessageId ?? record.id;
  const at = Date.parse(record.sentAt ?? record.createdAt);
  return {
    msgId,
    remoteJid: record.to,
    id: waId,
    key: { remoteJid: record.to, fromMe: true, id: waId },
    message: waMessageOf(record),
    messageTimestamp: String(Math.floor(at / 1000)),
    status: WA_STATUS[record.status],
    hashsend: {
      id: record.id,
      status: record.status,
      ...(record.error ? { error: record.error } : {}),
      ...(record.media ? { media: record.media } : {}),
    },
  };
};
