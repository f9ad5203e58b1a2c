import type { AnyMediaMessageContent, proto } from '@whiskeysockets/baileys';
import type { OutboundMedia, SendAs } from '../driver.js';

/** Baileys' media kinds, as `prepareWAMessageMedia` takes them. */
export type MediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

/** The `proto.Message` field that carries each kind. */
export type MediaMessageKey = 'imageMessage' | 'videoMessage' | 'audioMessage' | 'documentMessage' | 'stickerMessage';

/** A voice note is audio with `ptt`: uploaded as audio, shown as a recorded message. */
export const mediaTypeOf = (as: SendAs): MediaType => (as === 'voice' ? 'audio' : as);
export const messageKeyOf = (as: SendAs): MediaMessageKey => `${mediaTypeOf(as)}Message`;

/**
 * What `prepareWAMessageMedia` gets: the verified bytes and the fields that are the same for every
 * recipient (never a URL: Baileys would fetch it with no limits, or open it as a local path).
 */
export const uploadContent = (media: OutboundMedia, bytes: Buffer): AnyMediaMessageContent => {
  const { mimetype, thumbnail: jpegThumbnail } = media;
  switch (media.as) {
    case 'image':
      return { image: bytes, mimetype, jpegThumbnail };
    case 'video':
      return { video: bytes, mimetype, jpegThumbnail };
    case 'audio':
      return { audio: bytes, mimetype };
    case 'voice':
      return { audio: bytes, mimetype, ptt: true };
    case 'sticker':
      return { sticker: bytes, mimetype };
    case 'document':
      return { document: bytes, mimetype };
  }
};

/**
 * One recipient's message from a prepared upload: the shared media fields, plus this send's own caption
 * and file name. The inner object is copied so a cached upload is never changed by a send.
 */
export const personalise = (prepared: proto.IMessage, media: OutboundMedia): proto.IMessage => {
  const key = messageKeyOf(media.as);
  const inner: Record<string, unknown> = { ...prepared[key] };
  if (media.caption !== undefined && key !== 'audioMessage' && key !== 'stickerMessage') inner.caption = media.caption;
  if (key === 'documentMessage' && media.filename !== undefined) inner.fileName = media.filename;
  return { [key]: inner };
};
