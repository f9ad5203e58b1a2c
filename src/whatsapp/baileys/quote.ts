import type { proto } from '@whiskeysockets/baileys';
import type { SendRequest } from '../driver.js';

/**
 * The message as a reply to `quoted`: its one content field gets a contextInfo naming the quoted message and
 * its author, as WhatsApp's apps send a reply. The quoted content is not ours to repeat (the driver only has
 * the id), so the snapshot is an empty text; the apps show their own copy of the message with that id.
 * The content field is copied, so a cached upload is never changed by a send.
 */
export const asReply = (content: proto.IMessage, quoted: SendRequest['quoted']): proto.IMessage => {
  if (!quoted) return content;
  const [field, inner] = Object.entries(content)[0] ?? [];
  if (!field || !inner || typeof inner !== 'object') return content;
  const contextInfo: proto.IContextInfo = {
    // What the message says of itself (mentions) stays beside the quote.
    ...(inner as { contextInfo?: proto.IContextInfo }).contextInfo,
    stanzaId: quoted.waMessageId,
    participant: quoted.from,
    quotedMessage: { conversation: '' },
    // a group reply names its chat; in a 1:1 chat the chat is the recipient itself
    ...(quoted.chat !== quoted.from ? { remoteJid: quoted.chat } : {}),
  };
  return { [field]: { ...inner, contextInfo } };
};
